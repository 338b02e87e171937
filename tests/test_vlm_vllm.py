"""The vLLM engine: its pure builders everywhere, the engine itself on a CUDA machine with vLLM installed."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import math
from types import SimpleNamespace

import pytest
from PIL import Image
from pydantic import ValidationError

from docray.models import registry
from docray.models.protocols import VlmRequest
from docray.models.vlm_common import token_pieces
from docray.models.vlm_vllm import (
    VllmVlmOptions,
    chat_messages,
    engine_args,
    fit_pieces,
    image_part,
    sampling_kwargs,
    structured_kwargs,
    token_logprobs,
)


def png(width: int = 48, height: int = 32, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 0, 255)).save(buffer, format="JPEG")
    return buffer.getvalue()


# --------------------------------------------------------------------------- options and builders


def test_options_defaults_and_validation():
    options = VllmVlmOptions()
    assert options.kind == "vllm" and options.model == "models-dir:MinerU2.5-2509-1.2B"
    assert options.gpu_memory_utilization == 0.5 and options.limit_images_per_prompt == 1
    with pytest.raises(ValidationError):
        VllmVlmOptions(gpu_memory_utilization=1.5)
    with pytest.raises(ValidationError):
        VllmVlmOptions(max_batch=3)  # unknown fields are refused


def test_engine_args_pass_options_and_let_engine_kwargs_win():
    options = VllmVlmOptions(max_num_seqs=64, engine_kwargs={"enforce_eager": True, "mm_processor_kwargs": {"max_pixels": 1000}})
    args = engine_args(options, "/models/m")
    assert args["model"] == args["tokenizer"] == "/models/m"
    assert args["limit_mm_per_prompt"] == {"image": 1}
    assert args["gpu_memory_utilization"] == 0.5 and args["max_num_seqs"] == 64
    assert args["enforce_eager"] is True and args["mm_processor_kwargs"] == {"max_pixels": 1000}
    assert "max_model_len" not in args  # None: vLLM takes the model's own


def test_chat_messages_carry_the_image_then_the_prompt():
    image = png()
    messages = chat_messages(VlmRequest(image=image, prompt="Text Recognition:"))
    assert [m["role"] for m in messages] == ["user"]  # no system: the chat template's own default
    part, text = messages[0]["content"]
    assert text == {"type": "text", "text": "Text Recognition:"}
    prefix, _, data = part["image_url"]["url"].partition(",")
    assert part["type"] == "image_url" and prefix == "data:image/png;base64"
    assert base64.b64decode(data) == image
    assert image_part(jpeg())["image_url"]["url"].startswith("data:image/jpeg;base64,")

    messages = chat_messages(VlmRequest(image=image, prompt="p", system="be exact"), system="default", image_format="pil")
    assert messages[0] == {"role": "system", "content": "be exact"}  # the request's system wins
    pil = messages[1]["content"][0]
    assert pil["type"] == "image_pil" and pil["image_pil"].mode == "RGB" and pil["image_pil"].size == (48, 32)
    assert chat_messages(VlmRequest(image=image, prompt="p"), system="default")[0]["content"] == "default"


def test_a_broken_image_fails_before_the_engine():
    for image_format in ("data_url", "pil"):
        with pytest.raises(OSError):  # PIL's UnidentifiedImageError
            image_part(b"not an image", image_format)


def test_sampling_kwargs():
    request = VlmRequest(image=b"", prompt="p", max_tokens=77, temperature=0.3, top_p=0.9, repetition_penalty=1.05,
                         logprobs=True, stop=("</s>", "\n\n"))
    assert sampling_kwargs(request) == {
        "temperature": 0.3,
        "top_p": 0.9,
        "max_tokens": 77,
        "repetition_penalty": 1.05,
        "stop": ["</s>", "\n\n"],
        "logprobs": 0,  # the sampled token only: vLLM adds it to the N most likely
        "skip_special_tokens": True,
    }
    plain = sampling_kwargs(VlmRequest(image=b"", prompt="p"))
    assert plain["logprobs"] is None and plain["stop"] is None and plain["temperature"] == 0.0


def test_structured_kwargs_follow_the_vllm_api_present():
    schema = {"type": "object"}
    new = SimpleNamespace(StructuredOutputsParams=dict, GuidedDecodingParams=list)  # vLLM >= 0.10.2 has both for a while
    assert structured_kwargs(schema, new) == {"structured_outputs": {"json": schema}}
    old = SimpleNamespace(GuidedDecodingParams=dict)
    assert structured_kwargs(schema, old) == {"guided_decoding": {"json": schema}}
    assert structured_kwargs(None, new) == {}


# --------------------------------------------------------------------------- tokens


@pytest.fixture(scope="module")
def byte_bpe():
    """A real byte-level BPE tokenizer (Qwen's kind), trained here on ASCII so that CJK falls apart in bytes."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=["<|im_end|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(['{"name": "Amlodipine", "dosage": "5 mg", "frequency": "qd"}'] * 20, trainer)
    return tokenizer


def test_token_pieces_join_to_the_text_across_split_characters(byte_bpe):
    text = '{"patient_name": "张某某", "dosage": "5mg qd"}'
    ids = byte_bpe.encode(text).ids + [byte_bpe.token_to_id("<|im_end|>")]
    alone = [byte_bpe.decode([i]) for i in ids]
    assert "".join(alone) != text  # decoded one by one, the CJK bytes are replacement characters

    def decode(x):
        return byte_bpe.decode(list(x), skip_special_tokens=True)

    pieces = token_pieces(decode, ids, decode(ids))
    assert len(pieces) == len(ids) and "".join(pieces) == text
    assert "张" in pieces and pieces[-1] == ""  # a whole character on the token that completes it; the end token adds nothing

    logprobs = [-0.1 * (i + 1) for i in range(len(ids))]
    tokens = token_logprobs(text, logprobs, alone, rebuild=lambda: token_pieces(decode, ids, decode(ids)))
    assert "".join(t.token for t in tokens) == text
    assert [t.logprob for t in tokens] == pytest.approx(logprobs)


def test_token_logprobs_prefer_vllm_pieces_and_cut_at_stop_strings():
    tokens = token_logprobs("ab", [-1.0, -2.0], ["a", "b"], rebuild=lambda: pytest.fail("not needed"))
    assert [(t.token, t.logprob) for t in tokens] == [("a", -1.0), ("b", -2.0)]
    # the stop string "\n\n" ended the text inside the last token, which vLLM still reports
    assert fit_pieces(["x", "y\n", "\nz"], "xy") == ["x", "y", ""]
    assert fit_pieces(["x", "q"], "xy") is None
    assert token_logprobs("xy", [0.0, 0.0], ["x", "q"]) == ()  # no pieces fit: no tokens rather than wrong ones
    assert token_logprobs("x", [0.0], [None], rebuild=lambda: ["x"])[0].token == "x"


def test_without_vllm_the_engine_says_how_to_install():
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here")
    with pytest.raises(ImportError, match=r"docray\[gpu\]"):
        registry.create("vlm", VllmVlmOptions())


# --------------------------------------------------------------------------- the engine on a GPU


def _gpu_reason() -> str | None:
    if importlib.util.find_spec("vllm") is None:
        return "vLLM is not installed (pip install 'docray[gpu]')"
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return "no CUDA GPU: the vLLM engine runs only on one"
    return None


@pytest.mark.skipif(_gpu_reason() is not None, reason=_gpu_reason() or "")
def test_vllm_engine_on_a_tiny_qwen2_vl(tmp_path):
    from docray.testing.tiny_vlm import save_tiny_qwen2_vl

    folder = save_tiny_qwen2_vl(tmp_path / "tiny")
    options = VllmVlmOptions(
        model=str(folder), gpu_memory_utilization=0.15, max_model_len=2048, enforce_eager=True, dtype="float32"
    )
    engine = registry.create("vlm", options)
    try:
        images = [png(color=(255, 0, 0)), png(64, 64, (0, 255, 0)), png(32, 48, (0, 0, 255))]
        requests = [
            VlmRequest(image=images[0], prompt="Text Recognition:", max_tokens=12, logprobs=True),
            VlmRequest(image=images[1], prompt="Layout Detection:", max_tokens=1),
            VlmRequest(image=images[2], prompt="Table Recognition:", max_tokens=6, logprobs=True),
            VlmRequest(image=b"broken", prompt="x"),
        ]
        batch = engine.generate(requests)
        assert len(batch) == 4
        assert batch[3].finish_reason == "error" and batch[3].error  # alone: the others still answer
        alone = [engine.generate([r])[0] for r in requests[:3]]
        assert [r.text for r in batch[:3]] == [r.text for r in alone]  # greedy: the same answers, in order
        for response, request in zip(batch[:3], requests):
            assert response.error is None and response.finish_reason in ("stop", "length")
            if request.logprobs:
                assert 0 < len(response.tokens) <= request.max_tokens
                assert "".join(t.token for t in response.tokens) == response.text
                assert all(t.logprob <= 0 and math.isfinite(t.logprob) for t in response.tokens)
            else:
                assert response.tokens == ()
        assert batch[1].finish_reason == "length" or len(batch[1].text) <= 8

        schema = {
            "type": "object",
            "properties": {"unit": {"enum": ["mg", "mcg"]}, "ok": {"type": "boolean"}},
            "required": ["unit", "ok"],
            "additionalProperties": False,
        }
        answer = engine.generate([VlmRequest(image=images[0], prompt="Fields:", max_tokens=256, json_schema=schema)])[0]
        assert answer.error is None
        value = json.loads(answer.text)
        assert value["unit"] in ("mg", "mcg") and isinstance(value["ok"], bool) and set(value) == {"unit", "ok"}
    finally:
        engine.close()
        engine.close()  # idempotent
    assert engine.generate([requests[0]])[0].finish_reason == "error"
