"""The OpenAI-compatible HTTP VLM engine (docray.models.vlm_http) against real loopback servers: docray's own
``VlmServer`` over a scripted engine, behind a ``FlakyUpstream`` that answers 429/503/400, slow or dropped."""

from __future__ import annotations

import base64
import email.utils
import io
import json
import random
import time

import pytest
from PIL import Image

from docray.models import registry
from docray.models.protocols import VlmEngine, VlmRequest
from docray.models.vlm_common import data_url, image_mime
from docray.models.vlm_http import (
    HttpVlm,
    HttpVlmOptions,
    api_base,
    chat_payload,
    error_text,
    logprob_tokens,
    retry_after_s,
    retry_delay,
)
from docray.testing.servers import free_port
from docray.testing.vlm_scripted import Fault, FlakyUpstream, ScriptedVlm, chunk_text, scripted_logprob
from docray.vlm_serve import VlmServer

CHAT = "/v1/chat/completions"


def png(color: str = "white") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 12), color).save(out, format="PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (12, 12), "gray").save(out, format="JPEG")
    return out.getvalue()


def options(url: str, **fields) -> HttpVlmOptions:
    fast = {"backoff_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 10.0, "api_key_env": None}
    return HttpVlmOptions(url=url, **{**fast, **fields})


def engine_for(url: str, **fields) -> HttpVlm:
    return HttpVlm.from_options(options(url, **fields))


def item(request: VlmRequest) -> str:
    return f"answer to {request.prompt} ({len(request.image)} bytes)"


@pytest.fixture
def scripted() -> ScriptedVlm:
    return ScriptedVlm(
        [
            ("Item", item),
            ("Text Recognition", "Grüße, 世界 — done"),
            ("Echo", lambda r: json.dumps({"system": r.system, "schema": r.json_schema, "stop": list(r.stop),
                                           "penalty": r.repetition_penalty, "top_p": r.top_p})),  # fmt: skip
            ("Broken", lambda r: 1 / 0),
        ],
        model_name="scripted-vlm",
        chunk_chars=2,
        delay_s=0.02,
    )


@pytest.fixture
def server(scripted):
    with VlmServer(scripted, served_name="served-vlm", batch_wait_ms=20) as running:
        yield running


# --------------------------------------------------------------------------- pure helpers


def test_api_base_accepts_both_forms():
    assert api_base("http://127.0.0.1:30000") == "http://127.0.0.1:30000/v1"
    assert api_base("http://127.0.0.1:30000/") == "http://127.0.0.1:30000/v1"
    assert api_base("http://h:1/v1/") == "http://h:1/v1"
    assert api_base("https://h/prefix/v1") == "https://h/prefix/v1"


def test_images_are_sniffed():
    assert image_mime(png()) == "image/png" and image_mime(jpeg()) == "image/jpeg"
    assert image_mime(b"GIF89a") is None
    assert data_url(jpeg()).startswith("data:image/jpeg;base64,")
    assert base64.b64decode(data_url(png()).split(",", 1)[1]) == png()
    with pytest.raises(ValueError, match="not a PNG or JPEG"):
        data_url(b"BM not an image")


def test_chat_payload_shape():
    request = VlmRequest(image=png(), prompt="Table Recognition:", system="sys", max_tokens=50, stop=("<|im_end|>",))
    payload = chat_payload(request, "m")
    assert payload["model"] == "m" and payload["max_tokens"] == 50
    assert payload["temperature"] == 0.0 and payload["top_p"] == 1.0 and payload["stop"] == ["<|im_end|>"]
    assert payload["messages"][0] == {"role": "system", "content": "sys"}
    image_part, text_part = payload["messages"][1]["content"]
    assert image_part == {"type": "image_url", "image_url": {"url": data_url(png())}}
    assert text_part == {"type": "text", "text": "Table Recognition:"}
    assert not {"logprobs", "repetition_penalty", "response_format"} & payload.keys()
    schema = {"type": "object"}
    payload = chat_payload(VlmRequest(image=png(), prompt="p", logprobs=True, repetition_penalty=1.05,
                                      json_schema=schema), "m")  # fmt: skip
    assert payload["logprobs"] is True and payload["repetition_penalty"] == 1.05
    assert payload["response_format"] == {"type": "json_schema",
                                          "json_schema": {"name": "fields", "schema": schema, "strict": True}}
    assert [m["role"] for m in chat_payload(VlmRequest(image=png(), prompt="p"), "m")["messages"]] == ["user"]


def test_logprob_tokens_rebuilt_from_bytes():
    entries = [{"token": "a", "logprob": -0.1, "bytes": [97]},
               {"token": "bytes:\\xc3", "logprob": -0.2, "bytes": [0xC3]},
               {"token": "bytes:\\xa9", "logprob": -0.3, "bytes": [0xA9]}]  # fmt: skip
    tokens = logprob_tokens(entries, "aé")
    assert [(t.token, t.logprob) for t in tokens] == [("a", -0.1), ("", -0.2), ("é", -0.3)]
    without_bytes = [{k: v for k, v in e.items() if k != "bytes"} for e in entries]
    kept = logprob_tokens(without_bytes, "aé")  # nothing to rebuild from: kept as sent, documented
    assert [t.token for t in kept] == ["a", "bytes:\\xc3", "bytes:\\xa9"]
    assert [t.logprob for t in logprob_tokens([{"token": "x", "logprob": None}], "x")] == [-9999.0]


def test_retry_timing_helpers():
    assert retry_after_s("2") == 2.0 and retry_after_s(None) is None and retry_after_s("soon") is None
    now = time.time()
    assert 9 <= retry_after_s(email.utils.formatdate(now + 10, usegmt=True), now=now) <= 11
    rng = random.Random(0)
    waits = [retry_delay(a, 1.0, 30.0, None, rng) for a in range(8)]
    assert all(0.5 * min(30, 2**a) <= w <= min(30, 2**a) for a, w in enumerate(waits))
    assert retry_delay(0, 1.0, 30.0, 7.0, rng) == 7.0 and retry_delay(0, 1.0, 5.0, 70.0, rng) == 5.0
    assert error_text(503, b'{"error": {"message": "overloaded"}}') == "HTTP 503: overloaded"
    assert error_text(502, b"<html>bad gateway</html>") == "HTTP 502: <html>bad gateway</html>"


# --------------------------------------------------------------------------- against docray's server


def test_batch_in_order_with_bounded_concurrency(server, scripted):
    scripted.delay_s = 0.1  # slow enough that all three client threads are waiting at once
    engine = engine_for(server.url, model="served-vlm", max_concurrency=3)
    try:
        requests = [VlmRequest(image=png() if i % 2 else jpeg(), prompt=f"Item {i}") for i in range(10)]
        responses = engine.generate(requests)
    finally:
        engine.close()
    assert [r.text for r in responses] == [item(r) for r in requests]
    assert all(r.error is None and r.finish_reason == "stop" and r.tokens == () for r in responses)
    assert server.max_in_flight == 3  # the client's bound, reached and never passed
    assert max(scripted.batch_sizes) <= 3 and sum(scripted.batch_sizes) == 10
    assert isinstance(engine, VlmEngine)


@pytest.mark.parametrize("suffix", ["", "/v1", "/v1/"])
def test_model_discovered_once(server, suffix):
    upstream = FlakyUpstream(server.url)
    with upstream:
        engine = engine_for(upstream.url + suffix)
        try:
            assert engine.model_name == "served-vlm"
            (response,) = engine.generate([VlmRequest(image=png(), prompt="Item 1")])
            engine.generate([VlmRequest(image=png(), prompt="Item 2")])
        finally:
            engine.close()
    assert response.text == item(VlmRequest(image=png(), prompt="Item 1"))
    assert len(upstream.attempts_at("/v1/models")) == 1
    sent = json.loads(json.dumps(upstream.attempts_at(CHAT)[0].headers))
    assert "Authorization" not in sent  # api_key_env=None sends no key


def test_registry_builds_the_engine(server):
    engine = registry.create("vlm", options(server.url))
    try:
        assert isinstance(engine, HttpVlm) and engine.model_name == "served-vlm"
    finally:
        engine.close()


def test_logprobs_join_to_text(server):
    engine = engine_for(server.url)
    try:
        with_lp, without = engine.generate([VlmRequest(image=png(), prompt="Text Recognition:", logprobs=True),
                                            VlmRequest(image=png(), prompt="Text Recognition:")])  # fmt: skip
        (cut,) = engine.generate([VlmRequest(image=png(), prompt="Text Recognition:", logprobs=True, max_tokens=4)])
    finally:
        engine.close()
    assert with_lp.text == "Grüße, 世界 — done" == without.text and without.tokens == ()
    assert "".join(t.token for t in with_lp.tokens) == with_lp.text
    assert [(t.token, t.logprob) for t in with_lp.tokens] == [(c, scripted_logprob(c)) for c in chunk_text(with_lp.text, 2)]
    assert cut.text == "Grüße, 世" and cut.finish_reason == "length" and len(cut.tokens) == 4


def test_fields_reach_the_served_engine(server, scripted):
    schema = {"type": "object", "properties": {"date": {"type": "string"}}}
    request = VlmRequest(image=png(), prompt="Echo", system="be exact", json_schema=schema, stop=("\n\n",),
                         repetition_penalty=1.05, top_p=0.8)  # fmt: skip
    engine = engine_for(server.url)
    try:
        (response,) = engine.generate([request])
    finally:
        engine.close()
    assert json.loads(response.text) == {"system": "be exact", "schema": schema, "stop": ["\n\n"], "penalty": 1.05,
                                         "top_p": 0.8}  # fmt: skip
    assert scripted.requests[-1].image == png()


def test_bad_image_fails_alone(server):
    engine = engine_for(server.url)
    try:
        bad, good = engine.generate([VlmRequest(image=b"GIF89a...", prompt="Item 0"),
                                     VlmRequest(image=png(), prompt="Item 1")])  # fmt: skip
    finally:
        engine.close()
    assert bad.finish_reason == "error" and bad.text == "" and "not a PNG or JPEG" in bad.error
    assert good.error is None and good.text.startswith("answer to Item 1")


# --------------------------------------------------------------------------- retries and failures


def test_429_with_retry_after_then_success(server):
    with FlakyUpstream(server.url, [Fault(429, {"Retry-After": "0.3"}, "slow down")]) as upstream:
        engine = engine_for(upstream.url, backoff_s=0.001, backoff_max_s=5.0)
        try:
            (response,) = engine.generate([VlmRequest(image=png(), prompt="Item 7")])
        finally:
            engine.close()
    attempts = upstream.attempts_at(CHAT)
    assert response.error is None and response.text.startswith("answer to Item 7")
    assert [a.fault.status if a.fault else None for a in attempts] == [429, None]
    assert attempts[1].time - attempts[0].time >= 0.28  # waited as Retry-After said, not the 1 ms backoff


def test_503_twice_then_success(server):
    with FlakyUpstream(server.url, [Fault(503), Fault(503)]) as upstream:
        engine = engine_for(upstream.url, max_retries=2)
        try:
            (response,) = engine.generate([VlmRequest(image=png(), prompt="Item 3")])
        finally:
            engine.close()
    assert response.error is None and response.text.startswith("answer to Item 3")
    assert len(upstream.attempts_at(CHAT)) == 3


def test_400_is_not_retried(server):
    with FlakyUpstream(server.url, [Fault(400, message="prompt too long"), Fault(400)]) as upstream:
        engine = engine_for(upstream.url)
        try:
            (response,) = engine.generate([VlmRequest(image=png(), prompt="Item 1")])
        finally:
            engine.close()
    assert response.finish_reason == "error" and response.text == ""
    assert response.error == "HTTP 400: prompt too long"
    assert len(upstream.attempts_at(CHAT)) == 1


def test_exhausted_retries_report_the_status(server):
    with FlakyUpstream(server.url, [Fault(503, message="overloaded")] * 5) as upstream:
        engine = engine_for(upstream.url, max_retries=2)
        try:
            failed, = engine.generate([VlmRequest(image=png(), prompt="Item 1")])
        finally:
            engine.close()
    assert failed.finish_reason == "error" and failed.error == "HTTP 503: overloaded (after 3 attempts)"
    assert len(upstream.attempts_at(CHAT)) == 3


def test_engine_error_is_500_and_retried(server, scripted):
    engine = engine_for(server.url, max_retries=1)
    try:
        (failed,) = engine.generate([VlmRequest(image=png(), prompt="Broken")])
    finally:
        engine.close()
    assert failed.finish_reason == "error"
    assert failed.error.startswith("HTTP 500: ZeroDivisionError") and failed.error.endswith("(after 2 attempts)")
    assert [r.prompt for r in scripted.requests] == ["Broken", "Broken"]


def test_timeouts_and_dropped_connections(server):
    faults = [Fault(200, delay_s=1.0), Fault(200, delay_s=1.0), Fault(drop=True)]
    with FlakyUpstream(server.url, faults) as upstream:
        engine = engine_for(upstream.url, timeout_s=0.2, max_retries=1)
        try:
            t0 = time.monotonic()
            (timed_out,) = engine.generate([VlmRequest(image=png(), prompt="Item 1")])
            elapsed = time.monotonic() - t0
            (after_drop,) = engine.generate([VlmRequest(image=png(), prompt="Item 2")])  # dropped once, then fine
        finally:
            engine.close()
    assert timed_out.finish_reason == "error" and "Timeout" in timed_out.error and "after 2 attempts" in timed_out.error
    assert elapsed < 1.5
    assert after_drop.error is None and after_drop.text.startswith("answer to Item 2")
    assert len(upstream.attempts_at(CHAT)) == 4


def test_nothing_listening_is_an_error_response():
    engine = engine_for(f"http://127.0.0.1:{free_port()}", model="m", max_retries=1)
    try:
        (failed,) = engine.generate([VlmRequest(image=png(), prompt="Item 1")])
    finally:
        engine.close()
    assert failed.finish_reason == "error" and "ConnectionError" in failed.error


def test_model_discovery_retries_then_fails_as_responses(server):
    with FlakyUpstream(server.url, [Fault(503)], paths=("/v1/models",)) as upstream:
        engine = engine_for(upstream.url)
        try:
            assert engine.model_name == "served-vlm"
        finally:
            engine.close()
    assert len(upstream.attempts_at("/v1/models")) == 2
    with FlakyUpstream(None) as nowhere:  # no upstream: /v1/models answers 502
        engine = engine_for(nowhere.url, max_retries=0)
        try:
            failed = engine.generate([VlmRequest(image=png(), prompt="Item 1")] * 2)
        finally:
            engine.close()
    assert [r.finish_reason for r in failed] == ["error", "error"]
    assert failed[0].error == "model discovery failed: HTTP 502: no upstream (after 1 attempts)"


def test_api_key_and_headers_are_sent(scripted, monkeypatch):
    monkeypatch.setenv("MY_VLM_KEY", "k-123")
    with VlmServer(scripted, api_key="k-123") as server, FlakyUpstream(server.url) as upstream:
        engine = engine_for(upstream.url, api_key_env="MY_VLM_KEY", headers={"X-Trace": "t1"})
        monkeypatch.delenv("MY_VLM_KEY")  # read when the engine was created, not later
        try:
            (ok,) = engine.generate([VlmRequest(image=png(), prompt="Item 1")])
        finally:
            engine.close()
        keyless = engine_for(upstream.url, api_key_env="MY_VLM_KEY", model="scripted-vlm")
        try:
            (refused,) = keyless.generate([VlmRequest(image=png(), prompt="Item 1")])
        finally:
            keyless.close()
    assert ok.error is None and ok.text.startswith("answer to Item 1")
    chat = upstream.attempts_at(CHAT)
    assert chat[0].headers["Authorization"] == "Bearer k-123" and chat[0].headers["X-Trace"] == "t1"
    assert refused.error == "HTTP 401: invalid or missing API key"  # not retried: 401 is a client error
    assert len(chat) == 2 and "Authorization" not in chat[1].headers


def test_default_key_variable_and_close(server, monkeypatch):
    monkeypatch.setenv("DOCRAY_VLM_API_KEY", "from-default-env")
    with FlakyUpstream(server.url) as upstream:
        engine = HttpVlm(HttpVlmOptions(url=upstream.url))
        engine.generate([VlmRequest(image=png(), prompt="Item 1")])
        engine.close()
        engine.close()  # idempotent
    assert upstream.attempts_at(CHAT)[0].headers["Authorization"] == "Bearer from-default-env"
    (closed,) = engine.generate([VlmRequest(image=png(), prompt="Item 1")])
    assert closed.finish_reason == "error" and "closed" in closed.error
    assert engine.generate([]) == []
