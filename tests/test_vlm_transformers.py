"""The transformers VLM engine, through a tiny *random* Qwen2-VL model saved as a model folder.

Random weights test the code paths (loading, chat prompts, batching with left padding, per-request token
budgets, greedy and sampled decoding, log-probabilities, stop strings, error isolation), never accuracy:
the model's answers are meaningless tokens.
"""

from __future__ import annotations

import io
import json
import unicodedata

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'docray[vlm]')")
pytest.importorskip("transformers", reason="transformers is not installed (pip install 'docray[vlm]')")

from PIL import Image  # noqa: E402

from docray.models import registry  # noqa: E402
from docray.models.protocols import VlmEngine, VlmRequest  # noqa: E402
from docray.models.vlm_common import token_pieces  # noqa: E402
from docray.models.vlm_transformers import (  # noqa: E402
    PlaceholderProcessor,
    TransformersVlm,
    TransformersVlmOptions,
    cut_at_stop,
)
from docray.models.weights import WeightNotFoundError  # noqa: E402
from docray.testing.tiny_vlm import MINERU25_TOKENS, QWEN2_VL_TOKENS, save_tiny_qwen2_vl  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_qwen2_vl(tmp_path_factory.mktemp("models") / "tiny-qwen2-vl")


@pytest.fixture(scope="module")
def engine(model_dir):
    vlm = registry.create("vlm", TransformersVlmOptions(model=str(model_dir), batch_size=2), threads=1)
    yield vlm
    vlm.close()


def png(width: int, height: int, seed: int) -> bytes:
    """An encoded PNG of random pixels (different seeds and sizes give the model different inputs)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def requests3(max_tokens: int = 12, **kwargs) -> list[VlmRequest]:
    """Three requests of different image sizes and prompts (a page, a wide block, a small crop)."""
    return [
        VlmRequest(image=png(612, 792, 1), prompt="\nLayout Detection:", max_tokens=max_tokens, **kwargs),
        VlmRequest(image=png(300, 60, 2), prompt="\nText Recognition:", max_tokens=max_tokens, **kwargs),
        VlmRequest(image=png(40, 30, 3), prompt="Formula:", system="Read formulas.", max_tokens=max_tokens, **kwargs),
    ]


def test_the_tiny_model_folder_is_small_deterministic_and_its_tokenizer_takes_any_text(model_dir, tmp_path):
    from transformers import AutoTokenizer

    files = {p.name for p in model_dir.iterdir()}
    expected = {"config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json", "chat_template.jinja"}
    assert expected <= files
    assert sum(p.stat().st_size for p in model_dir.iterdir()) < 20 * 2**20
    again = save_tiny_qwen2_vl(tmp_path / "again")
    assert (again / "model.safetensors").read_bytes() == (model_dir / "model.safetensors").read_bytes()
    other = save_tiny_qwen2_vl(tmp_path / "other", seed=1)
    assert (other / "model.safetensors").read_bytes() != (model_dir / "model.safetensors").read_bytes()

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    config = json.loads((model_dir / "config.json").read_text())
    vocab = config.get("text_config", config)["vocab_size"]
    assert vocab == len(tokenizer)
    for token in QWEN2_VL_TOKENS + MINERU25_TOKENS:
        assert len(tokenizer.encode(token)) == 1, token
    assert config["image_token_id"] == tokenizer.convert_tokens_to_ids("<|image_pad|>")
    text = "Größe ½ 数学公式 😀 <|box_start|>12 34 56 78<|box_end|><|ref_start|>title<|ref_end|>\n\t~"
    assert tokenizer.decode(tokenizer.encode(text)) == text
    rng = np.random.default_rng(0)
    points = [int(c) for c in rng.integers(1, 0x30000, 400) if not 0xD800 <= c < 0xE000]  # no lone surrogates
    text = "".join(map(chr, points))
    assert tokenizer.decode(tokenizer.encode(text)) == unicodedata.normalize("NFC", text)


def test_loads_through_the_registry(engine, model_dir):
    assert isinstance(engine, TransformersVlm) and isinstance(engine, VlmEngine)
    assert engine.model_name == model_dir.name
    assert engine.dtype == torch.float32 and engine.device.type == "cpu"


def test_a_batch_answers_in_order_like_one_by_one_and_greedy_is_deterministic(engine):
    requests = requests3()
    batched = engine.generate(requests)  # batch_size 2, sorted by size: two generate calls, one padded
    assert len(batched) == 3 and all(r.error is None and r.finish_reason in ("stop", "length") for r in batched)
    single = [engine.generate([request])[0] for request in requests]
    assert [r.text for r in batched] == [r.text for r in single]
    assert [r.finish_reason for r in batched] == [r.finish_reason for r in single]
    assert engine.generate([requests[0], requests[0]])[1].text == batched[0].text
    assert len({r.text for r in batched}) == 3  # different inputs, different (random) answers
    assert all(r.tokens == () for r in batched)  # no log-probabilities asked for
    assert engine.generate([]) == []


def test_max_tokens_is_each_requests_own_budget(engine):
    short, long_ = 4, 16
    base = requests3()[0]
    answers = engine.generate(
        [
            VlmRequest(image=base.image, prompt=base.prompt, max_tokens=short, logprobs=True),
            VlmRequest(image=base.image, prompt=base.prompt, max_tokens=long_, logprobs=True),
        ]
    )
    assert answers[0].finish_reason == "length" and len(answers[0].tokens) == short
    assert answers[1].finish_reason == "length" and len(answers[1].tokens) == long_
    assert answers[1].text.startswith(answers[0].text)  # greedy: the short answer is the long one's prefix
    one = engine.generate([VlmRequest(image=base.image, prompt=base.prompt, max_tokens=1, logprobs=True)])[0]
    assert len(one.tokens) == 1 and one.finish_reason == "length"


def greedy_by_hand(engine, request: VlmRequest, steps: int) -> tuple[list[int], list[float]]:
    """Greedy decoding with one full forward pass per step (no cache): token ids and their log-probabilities."""
    inputs = engine.prompt_inputs([request])
    ids, logprobs = [], []
    with torch.inference_mode():
        for _ in range(steps):
            logits = engine.model(**inputs).logits[0, -1].float()
            token = int(logits.argmax())
            if token in engine.end_ids:
                break
            ids.append(token)
            logprobs.append(float(logits.log_softmax(-1)[token]))
            grow = torch.tensor([[token]])
            inputs["input_ids"] = torch.cat([inputs["input_ids"], grow], dim=1)
            inputs["attention_mask"] = torch.cat([inputs["attention_mask"], torch.ones_like(grow)], dim=1)
            if "mm_token_type_ids" in inputs:
                inputs["mm_token_type_ids"] = torch.cat([inputs["mm_token_type_ids"], torch.zeros_like(grow)], dim=1)
    return ids, logprobs


def test_logprobs_are_the_chosen_tokens_log_softmax_and_join_to_the_text(engine):
    request = VlmRequest(image=png(200, 260, 5), prompt="\nText Recognition:", max_tokens=10, logprobs=True)
    answer = engine.generate([request])[0]
    ids, expected = greedy_by_hand(engine, request, request.max_tokens)
    assert answer.text == engine.processor.tokenizer.decode(ids, skip_special_tokens=False)
    assert "".join(t.token for t in answer.tokens) == answer.text
    assert [t.logprob for t in answer.tokens] == pytest.approx(expected, abs=1e-4)
    assert all(t.logprob <= 0.0 for t in answer.tokens)  # greedy picks each step's most probable token (above)
    batched = engine.generate(requests3(max_tokens=10, logprobs=True) + [request])
    assert batched[-1].text == answer.text
    assert [t.logprob for t in batched[-1].tokens] == pytest.approx(expected, abs=1e-4)


def test_sampling_reports_probabilities_of_the_sampled_tokens(engine):
    requests = requests3(max_tokens=24, temperature=0.8, top_p=0.9, logprobs=True)
    torch.manual_seed(3)
    first = engine.generate(requests)
    torch.manual_seed(3)
    assert [r.text for r in engine.generate(requests)] == [r.text for r in first]
    for answer in first:
        assert answer.error is None and answer.tokens
        assert "".join(t.token for t in answer.tokens) == answer.text
        assert all(-50.0 < t.logprob <= 0.0 for t in answer.tokens)
    greedy = engine.generate(requests3(max_tokens=24))
    config = engine.model.generation_config
    config.top_k = 1  # a model default that would make sampling greedy: the request's settings replace it
    try:
        sampled = engine.generate(requests)
    finally:
        config.top_k = None
    assert [r.text for r in sampled] != [r.text for r in greedy]


def test_stop_strings_cut_the_text_before_the_first_one(engine):
    base = VlmRequest(image=png(320, 240, 9), prompt="Describe.", max_tokens=40, logprobs=True)
    full = engine.generate([base])[0].text
    stop = next(c for c in full[3:] if c.isalnum() and c != "\ufffd")
    cut = full.index(stop)
    request = VlmRequest(image=base.image, prompt=base.prompt, max_tokens=40, logprobs=True, stop=(stop, "never-seen"))
    stopped = engine.generate([request])[0]
    assert stopped.text == full[:cut] and stopped.finish_reason == "stop"
    assert "".join(t.token for t in stopped.tokens) == stopped.text


def test_a_bad_request_fails_alone(engine):
    good = requests3()
    corrupt = VlmRequest(image=b"\x89PNG\r\n\x1a\n not really a png", prompt="x")
    too_thin = VlmRequest(image=png(1, 400, 4), prompt="x")  # aspect ratio > 200: the image processor refuses it
    truncated = VlmRequest(image=png(64, 64, 5)[:300], prompt="x")  # a readable header, then the data stops
    answers = engine.generate([good[0], corrupt, good[1], too_thin, good[2], truncated])
    assert [a.finish_reason for a in answers[1::2]] == ["error", "error", "error"]
    assert all(a.text == "" and a.error for a in answers[1::2])
    assert "decode" in answers[1].error and "aspect ratio" in answers[3].error and "truncated" in answers[5].error
    expected = [engine.generate([r])[0].text for r in good]
    assert [a.text for a in answers[0::2]] == expected  # failed batches were retried one by one


def test_pixel_bounds_change_the_image_tokens(model_dir, engine):
    request = VlmRequest(image=png(612, 792, 1), prompt="x")
    options = TransformersVlmOptions(model=str(model_dir), max_pixels=16 * 28 * 28)
    small = TransformersVlm.from_options(options, threads=1)
    image_id = engine.processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    default_tokens = int((engine.prompt_inputs([request])["input_ids"] == image_id).sum())
    small_tokens = int((small.prompt_inputs([request])["input_ids"] == image_id).sum())
    assert small_tokens <= 16 < default_tokens <= 128
    assert small.generate([request])[0].error is None
    small.close()
    small.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        small.generate([request])
    with pytest.raises(ValueError, match="min_pixels"):
        TransformersVlmOptions(model=str(model_dir), min_pixels=4096, max_pixels=1024)
    with pytest.raises(ValueError, match="min_pixels"):  # above the processor's own max_pixels
        TransformersVlm.from_options(TransformersVlmOptions(model=str(model_dir), min_pixels=10**6), threads=1)


def test_the_fallback_processor_builds_the_inputs_transformers_qwen2_vl_processor_builds(engine, monkeypatch):
    """PlaceholderProcessor against transformers' own Qwen2VLProcessor (its torchvision-only video part left out)."""
    from transformers import Qwen2VLProcessor
    from transformers.processing_utils import ProcessorMixin

    try:
        import torchvision  # noqa: F401
    except ImportError:
        assert isinstance(engine.processor, PlaceholderProcessor)  # AutoProcessor needs torchvision for Qwen2-VL
    else:
        assert not isinstance(engine.processor, PlaceholderProcessor)
    tokenizer = engine.processor.tokenizer
    image_processor = engine.processor.image_processor
    monkeypatch.setattr(ProcessorMixin, "check_argument_for_proper_class", lambda self, name, value: None)
    reference = Qwen2VLProcessor(image_processor=image_processor, tokenizer=tokenizer, video_processor=None,
                                 chat_template=tokenizer.chat_template)  # fmt: skip
    fallback = PlaceholderProcessor(tokenizer, image_processor, tokenizer.chat_template, token_types=True)
    requests = requests3()
    images = [Image.open(io.BytesIO(r.image)).convert("RGB") for r in requests]
    chats = [
        [
            {"role": "system", "content": "S"},
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": r.prompt}]},
        ]
        for r in requests
    ]
    texts = [reference.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) for chat in chats]
    assert texts == [fallback.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) for chat in chats]
    for extra in ({}, {"images_kwargs": {"size": {"shortest_edge": 4 * 28 * 28, "longest_edge": 16 * 28 * 28}}}):
        expected = reference(text=texts, images=images, padding=True, return_tensors="pt", **extra)
        got = fallback(text=texts, images=images, padding=True, return_tensors="pt", **extra)
        assert set(got) == set(expected)
        for key in expected:
            assert torch.equal(torch.as_tensor(got[key]), torch.as_tensor(expected[key])), key


def test_missing_or_wrong_model_folders_fail_clearly(tmp_path, monkeypatch):
    with pytest.raises(WeightNotFoundError, match="no model folder for .*absent"):
        registry.create("vlm", TransformersVlmOptions(model=str(tmp_path / "absent")))
    monkeypatch.setenv("DOCRAY_MODELS_DIR", str(tmp_path))
    with pytest.raises(WeightNotFoundError, match="MinerU2.5-2509-1.2B"):
        registry.create("vlm", TransformersVlmOptions())
    text_only = tmp_path / "text-only"
    text_only.mkdir()
    (text_only / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="not a vision-language"):
        registry.create("vlm", TransformersVlmOptions(model="models-dir:text-only"))


def test_token_pieces_join_exactly_across_split_utf8_characters(engine):
    tokenizer = engine.processor.tokenizer
    text = "a数学 😀 <|box_start|>1 2<|box_end|> é"
    ids = tokenizer.encode(text)

    def decode(part):
        return tokenizer.decode(part, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    pieces = token_pieces(decode, ids, decode(ids))
    assert len(pieces) == len(ids) and "".join(pieces) == text
    assert "" in pieces  # the emoji's bytes are separate tokens: the first ones carry no text
    assert "<|box_start|>" in pieces
    assert token_pieces(decode, [], "") == []

    cut_text, cut_pieces, found = cut_at_stop(text, pieces, ["😀", "数"])
    assert found and cut_text == "a" and "".join(cut_pieces) == "a"
    assert cut_at_stop(text, pieces, ["zzz"]) == (text, pieces, False)
