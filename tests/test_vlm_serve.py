"""docray's OpenAI-compatible VLM server (docray.vlm_serve) over real HTTP on loopback: a scripted engine in
process, and ``python -m docray.vlm_serve`` with a real tiny transformers model in a subprocess."""

from __future__ import annotations

import argparse
import base64
import importlib.util
import io
import json
import threading
import urllib.error
import urllib.request

import pytest
from PIL import Image

from docray.models.protocols import VlmRequest
from docray.models.vlm_http import HttpVlm, HttpVlmOptions
from docray.testing.servers import VlmServeProcess
from docray.testing.vlm_scripted import ScriptedVlm, chunk_text, scripted_logprob
from docray.vlm_serve import VlmServer, add_arguments, parse_chat_request


def png(color: str = "white", size: tuple[int, int] = (24, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "gray").save(out, format="JPEG")
    return out.getvalue()


def data_url(image: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(image).decode()}"


def chat_body(prompt: str, *images: bytes, **fields) -> dict:
    content = [{"type": "image_url", "image_url": {"url": data_url(i)}} for i in images]
    content.append({"type": "text", "text": prompt})
    return {"model": "scripted-vlm", "messages": [{"role": "user", "content": content}], **fields}


def post(url: str, body: dict | bytes, headers: dict | None = None) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}/v1/chat/completions", data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, json.loads(answer.read())


def echo(request: VlmRequest) -> str:
    return f"system={request.system}|prompt={request.prompt}|image={len(request.image)}"


@pytest.fixture
def engine() -> ScriptedVlm:
    return ScriptedVlm(
        [
            ("Text Recognition", "Hello, wörld ✓ done"),
            ("Echo", echo),
            ("Fields", lambda r: json.dumps({"schema_keys": sorted(r.json_schema or {})})),
            ("Broken", lambda r: 1 / 0),
            ("Item", lambda r: f"answer to {r.prompt}"),
        ],
        chunk_chars=2,
    )


@pytest.fixture
def server(engine):
    with VlmServer(engine, served_name="tiny-scripted") as running:
        yield running


def test_models_and_health(server):
    status, models = get(f"{server.url}/v1/models")
    assert status == 200
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["tiny-scripted"]
    assert models["data"][0]["object"] == "model"
    assert get(f"{server.url}/health") == (200, {"status": "ok"})


def test_chat_round_trip(server, engine):
    status, body = post(server.url, chat_body("Text Recognition:", png()))
    assert status == 200, body
    assert body["object"] == "chat.completion"
    assert body["model"] == "tiny-scripted"
    assert body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["index"] == 0
    assert choice["message"] == {"role": "assistant", "content": "Hello, wörld ✓ done"}
    assert choice["finish_reason"] == "stop"
    assert choice["logprobs"] is None  # not asked
    seen = engine.requests[-1]
    assert seen.image == png() and seen.prompt == "Text Recognition:"
    assert seen.system is None and seen.max_tokens == 1024 and seen.temperature == 0.0  # docray's defaults


def test_fields_reach_the_engine(server, engine):
    body = chat_body("Echo this", jpeg(), max_completion_tokens=77, temperature=0.3, top_p=0.9, stop=["</s>", "##"],
                     repetition_penalty=1.05)  # fmt: skip
    body["messages"].insert(0, {"role": "system", "content": [{"type": "text", "text": "be brief"}]})
    status, answer = post(server.url, body)
    assert status == 200, answer
    assert answer["choices"][0]["message"]["content"] == f"system=be brief|prompt=Echo this|image={len(jpeg())}"
    seen = engine.requests[-1]
    assert (seen.max_tokens, seen.temperature, seen.top_p, seen.repetition_penalty) == (77, 0.3, 0.9, 1.05)
    assert seen.stop == ("</s>", "##") and seen.image == jpeg()
    status, answer = post(server.url, chat_body("Text Recognition:", png(), stop="wö"))
    assert answer["choices"][0]["message"]["content"] == "Hello, "  # the scripted engine honours stop strings
    status, answer = post(server.url, chat_body("Text Recognition:", png(), max_tokens=3))
    assert answer["choices"][0]["message"]["content"] == "Hello,"  # 3 two-character tokens
    assert answer["choices"][0]["finish_reason"] == "length"


def test_logprobs_join_to_content(server):
    status, body = post(server.url, chat_body("Text Recognition:", png(), logprobs=True))
    assert status == 200, body
    content = body["choices"][0]["message"]["content"]
    entries = body["choices"][0]["logprobs"]["content"]
    assert "".join(e["token"] for e in entries) == content == "Hello, wörld ✓ done"
    assert [e["token"] for e in entries] == chunk_text(content, 2)
    assert [e["logprob"] for e in entries] == [scripted_logprob(c) for c in chunk_text(content, 2)]
    assert all(bytes(e["bytes"]) == e["token"].encode("utf-8") and e["top_logprobs"] == [] for e in entries)
    assert body["usage"]["completion_tokens"] == len(entries)


def test_json_schema_passed_through(server, engine):
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    body = chat_body("Fields", png(), response_format={"type": "json_schema",
                                                       "json_schema": {"name": "fields", "schema": schema}})  # fmt: skip
    status, answer = post(server.url, body)
    assert status == 200, answer
    assert engine.requests[-1].json_schema == schema
    assert json.loads(answer["choices"][0]["message"]["content"]) == {"schema_keys": ["properties", "required", "type"]}
    post(server.url, chat_body("Fields", png(), response_format={"type": "json_object"}))
    assert engine.requests[-1].json_schema == {"type": "object"}


@pytest.mark.parametrize(
    "body, message",
    [
        (chat_body("Text Recognition:"), "exactly one image"),
        (chat_body("Text Recognition:", png(), png("black")), "exactly one image"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
                                                    {"type": "text", "text": "Text Recognition:"}]}]}, "remote image"),
        (b"{not json", "not valid JSON"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,%%"}}]}]},
         "base64"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url",
                                                     "image_url": {"url": data_url(b"GIF89a....")}}]}]}, "PNG or JPEG"),
        ({"messages": []}, "messages"),
        (chat_body("Text Recognition:", png(), stream=True), "stream"),
        (chat_body("Text Recognition:", png(), max_tokens=0), "max_tokens"),
        (chat_body("Text Recognition:", png(), temperature="hot"), "temperature"),
    ],
)  # fmt: skip
def test_bad_requests_get_400(server, engine, body, message):
    status, answer = post(server.url, body)
    assert status == 400
    assert answer["error"]["type"] == "invalid_request_error"
    assert message in answer["error"]["message"]
    assert engine.calls == []  # nothing reached the engine


def test_engine_errors_are_500(server):
    status, body = post(server.url, chat_body("Broken", png()))
    assert status == 500
    assert body["error"]["type"] == "server_error"
    assert "ZeroDivisionError" in body["error"]["message"]
    status, body = post(server.url, chat_body("nothing matches this", png()))
    assert status == 500 and "no scripted rule" in body["error"]["message"]


def test_unknown_route_is_404(server):
    request = urllib.request.Request(f"{server.url}/v2/chat/completions", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(request, timeout=10)
    assert failure.value.code == 404
    assert json.loads(failure.value.read())["error"]["type"] == "not_found_error"


def test_api_key_required_when_set(engine):
    with VlmServer(engine, api_key="s3cret") as server:
        status, body = post(server.url, chat_body("Item 1", png()))
        assert status == 401 and body["error"]["type"] == "authentication_error"
        status, body = post(server.url, chat_body("Item 1", png()), {"Authorization": "Bearer s3cret"})
        assert status == 200 and body["choices"][0]["message"]["content"] == "answer to Item 1"
        assert get(f"{server.url}/health")[0] == 200  # health needs no key


def test_concurrent_requests_are_micro_batched():
    engine = ScriptedVlm([("Item", lambda r: f"answer to {r.prompt}")], delay_s=0.2)
    with VlmServer(engine, max_batch=16, batch_wait_ms=100) as server:
        results: dict[int, tuple[int, dict]] = {}

        def call(i: int) -> None:
            results[i] = post(server.url, chat_body(f"Item {i}", png()))

        threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert {i: r[1]["choices"][0]["message"]["content"] for i, r in results.items()} == {
        i: f"answer to Item {i}" for i in range(8)
    }
    assert sum(engine.batch_sizes) == 8
    assert len(engine.calls) < 8 and max(engine.batch_sizes) > 1
    assert server.max_in_flight > 1 and server.served == 8


def test_max_batch_caps_a_generate_call():
    engine = ScriptedVlm([("Item", lambda r: f"answer to {r.prompt}")], delay_s=0.1)
    with VlmServer(engine, max_batch=2, batch_wait_ms=50) as server:
        threads = [threading.Thread(target=post, args=(server.url, chat_body(f"Item {i}", png()))) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(engine.batch_sizes) == 6 and max(engine.batch_sizes) == 2


def test_parse_chat_request_joins_text_parts():
    body = chat_body("second", png())
    body["messages"][0]["content"].insert(0, {"type": "text", "text": "first"})
    body["messages"].insert(0, {"role": "system", "content": "sys"})
    request = parse_chat_request(body)
    assert (request.system, request.prompt, request.logprobs, request.stop) == ("sys", "first\nsecond", False, ())


def test_cli_arguments():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--model", "models-dir:x", "--port", "0", "--max-batch", "4", "--device", "cpu"])
    assert (args.engine, args.model, args.host, args.port, args.max_batch, args.device) == (
        "transformers", "models-dir:x", "127.0.0.1", 0, 4, "cpu"
    )
    assert args.func.__name__ == "run"


# --------------------------------------------------------------------------- a real tiny model in a subprocess

HAVE_TORCH = all(importlib.util.find_spec(name) is not None for name in ("torch", "transformers"))


@pytest.mark.skipif(not HAVE_TORCH, reason="needs torch and transformers (pip install 'docray[vlm]')")
def test_subprocess_server_with_a_real_tiny_model(tmp_path):
    from docray.testing.tiny_vlm import save_tiny_qwen2_vl

    folder = tmp_path / "tiny-qwen2-vl"
    save_tiny_qwen2_vl(folder)
    server = VlmServeProcess("--engine", "transformers", "--model", str(folder), "--device", "cpu",
                          "--served-model-name", "tiny-qwen2-vl")  # fmt: skip
    with server:
        engine = HttpVlm(HttpVlmOptions(url=f"{server.url}/v1", api_key_env=None, timeout_s=120, max_retries=0))
        try:
            assert engine.model_name == "tiny-qwen2-vl"  # discovered from /v1/models
            request = VlmRequest(image=png("white", (56, 56)), prompt="Text Recognition:", max_tokens=12,
                                 logprobs=True)  # fmt: skip
            plain = VlmRequest(image=png("black", (56, 56)), prompt="Text Recognition:", max_tokens=8)
            with_logprobs, without = engine.generate([request, plain])
        finally:
            engine.close()
        assert server.stop() == 0, server.output()  # SIGTERM: a clean shutdown
    assert with_logprobs.error is None, with_logprobs.error
    assert with_logprobs.text
    assert with_logprobs.tokens and "".join(t.token for t in with_logprobs.tokens) == with_logprobs.text
    assert all(t.logprob <= 0.0 for t in with_logprobs.tokens)
    assert len(with_logprobs.tokens) <= 12
    assert without.error is None and without.tokens == ()  # no logprobs asked


def test_cli_refuses_what_it_cannot_serve(tmp_path, monkeypatch, capsys):
    from docray.vlm_serve import main

    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    assert main(["--model", str(tmp_path), "--port", "0", "--api-key-env", "NO_SUCH_KEY_VAR"]) == 2
    assert "NO_SUCH_KEY_VAR holds no API key" in capsys.readouterr().err
    if HAVE_TORCH:
        assert main(["--model", str(tmp_path / "missing"), "--port", "0"]) == 2
        assert "cannot load the transformers VLM engine" in capsys.readouterr().err
