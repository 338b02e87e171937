"""The VisionEncoderDecoder formula engine, through a tiny randomly initialised model saved as a models-dir folder.

Random weights test the code path (loading from the models directory, preprocessing, batched greedy
generation with the KV cache, scores, decoding), not recognition accuracy.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'docray[formula]')")
transformers = pytest.importorskip("transformers", reason="transformers is not installed (pip install 'docray[formula]')")

from docray.models import registry  # noqa: E402
from docray.models.formula_ved import VedFormula, VedFormulaOptions, check_loadable, model_folder, tidy_latex  # noqa: E402
from docray.models.weights import WeightNotFoundError  # noqa: E402

VOCAB = ["<s>", "<pad>", "</s>", "<unk>", "\\frac", "{", "}", "x", "y", "^", "2", "+", "\\alpha", "=", "1", "a", "b", "\\,"]
SPECIALS = {"<s>", "<pad>", "</s>", "<unk>"}


def save_tiny_model(folder, channels: int = 3, seed: int = 0) -> None:
    """A ViT encoder + TrOCR decoder (hidden 32, 1-2 layers), a word-level LaTeX tokenizer and a ViT image processor."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        PreTrainedTokenizerFast,
        TrOCRConfig,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    tokenizer = Tokenizer(models.WordLevel({t: i for i, t in enumerate(VOCAB)}, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()  # decodes with a space between tokens, as TrOCR-style ones do
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    encoder = ViTConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        image_size=32, patch_size=8, num_channels=channels, initializer_range=0.5,
    )  # fmt: skip
    decoder = TrOCRConfig(
        vocab_size=len(VOCAB), d_model=32, decoder_layers=2, decoder_attention_heads=2, decoder_ffn_dim=64,
        max_position_embeddings=64, init_std=0.5, pad_token_id=1, bos_token_id=0, eos_token_id=2,
    )  # fmt: skip
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id, config.pad_token_id, config.eos_token_id = 0, 1, 2
    torch.manual_seed(seed)
    VisionEncoderDecoderModel(config=config).save_pretrained(folder)
    fast.save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3).save_pretrained(folder)


@pytest.fixture(scope="module")
def models_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    save_tiny_model(root / "tiny-mfr")
    save_tiny_model(root / "tiny-grey", channels=1)
    return root


@pytest.fixture
def engine(models_root, monkeypatch):
    monkeypatch.setenv("DOCRAY_MODELS_DIR", str(models_root))
    options = VedFormulaOptions(model="models-dir:tiny-mfr", batch_size=4, max_new_tokens=12, threads=1)
    return registry.create("formula", options, threads=1)  # the engine the formula operator builds


def crops(count: int) -> list[np.ndarray]:
    """Formula-like crops of different sizes and contents (the processor resizes them all to 32 x 32)."""
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (12 + 9 * i, 40 + 13 * i, 3), dtype=np.uint8) for i in range(count)]


def argmax_chain(model, pixel_values, start: int, eos: int, steps: int) -> list[int]:
    """Greedy decoding by hand, one full forward pass per step (no cache): the reference for generate."""
    ids = torch.tensor([[start]])
    out: list[int] = []
    with torch.inference_mode():
        for _ in range(steps):
            logits = model(pixel_values=pixel_values, decoder_input_ids=ids).logits[0, -1]
            token = int(logits.argmax())
            if token == eos:
                break
            out.append(token)
            ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
    return out


def test_loads_from_the_models_dir_and_recognises_a_batch(engine):
    assert isinstance(engine, VedFormula) and engine.channels == 3
    images = crops(6)  # more than batch_size: two generate calls
    results = engine.recognize(images)
    assert len(results) == 6
    for result in results:
        assert 0.0 < result.score <= 1.0
        assert "  " not in result.latex and not any(s in result.latex for s in SPECIALS)
        assert result.latex == tidy_latex(result.latex)  # already tidy
    assert len({r.latex for r in results}) > 1  # the crops differ, so do the random model's outputs
    assert engine.recognize([]) == []
    empty = np.zeros((0, 5, 3), dtype=np.uint8)
    assert [r.latex for r in engine.recognize([empty, images[0]])] == ["", results[0].latex]


def test_batched_results_equal_one_by_one(engine):
    images = crops(5)
    batched = engine.recognize(images)
    single = [engine.recognize([image])[0] for image in images]
    assert [r.latex for r in batched] == [r.latex for r in single]
    assert [r.score for r in batched] == pytest.approx([r.score for r in single], abs=1e-5)


def test_decoding_is_greedy_and_bounded_by_max_new_tokens(engine):
    images = crops(4)
    pixel_values = engine.pixel_values(images)
    ids, scores = engine.generate(pixel_values)
    assert all(len(row) <= engine.options.max_new_tokens for row in ids)
    for k, row in enumerate(ids):
        assert row == argmax_chain(engine.model, pixel_values[k : k + 1], 0, 2, engine.options.max_new_tokens)
    assert engine.generate(pixel_values) == (ids, scores)  # deterministic
    engine.options = engine.options.model_copy(update={"max_new_tokens": 3})
    short, _ = engine.generate(pixel_values)
    assert all(len(row) <= 3 for row in short)
    assert [row[:3] for row in ids] == short  # the same greedy chain, cut


def test_score_is_the_mean_probability_of_the_decoded_tokens(engine):
    pixel_values = engine.pixel_values(crops(1))
    (row,), (score,) = engine.generate(pixel_values)
    sequence = torch.tensor([[0, *row, 2]]) if len(row) < engine.options.max_new_tokens else torch.tensor([[0, *row]])
    with torch.inference_mode():
        logits = engine.model(pixel_values=pixel_values, decoder_input_ids=sequence[:, :-1]).logits[0]
    probs = logits.softmax(-1).gather(-1, sequence[0, 1:, None])[:, 0]
    assert score == pytest.approx(float(probs.mean()), abs=1e-5)


def test_one_channel_encoder_gets_grey_images(models_root, monkeypatch):
    monkeypatch.setenv("DOCRAY_MODELS_DIR", str(models_root))
    engine = VedFormula.from_options(VedFormulaOptions(model="models-dir:tiny-grey", max_new_tokens=4, threads=1))
    assert engine.channels == 1 and engine.pixel_values(crops(2)).shape == (2, 1, 32, 32)
    assert len(engine.recognize(crops(2))) == 2


def test_folders_transformers_cannot_load_are_refused(models_root, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCRAY_MODELS_DIR", str(models_root))
    assert model_folder("models-dir:tiny-mfr") == models_root / "tiny-mfr"
    with pytest.raises(WeightNotFoundError):
        model_folder("models-dir:missing")
    config = json.loads((models_root / "tiny-mfr" / "config.json").read_text())
    config["encoder"]["model_type"], config["decoder"]["model_type"] = "unimer-swin", "unimer-mbart"  # UniMERNet's
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="unimer-swin"):
        check_loadable(tmp_path)


@pytest.mark.parametrize(
    ("decoded", "tidy"),
    [
        (r"\frac { a } { b }", r"\frac{a}{b}"),
        (r"\alpha b + \beta 2", r"\alpha b+\beta2"),  # the space ends the control word before a letter
        (r"\text { a   b } \quad y", r"\text{a b}\quad y"),  # text mode keeps one space
        (r"a \, b \\ c", r"a\,b\\c"),
        (r"\ x", r"\ x"),  # a control space stays
        (r"x ^ { 2 }", r"x^{2}"),
    ],
)
def test_tidy_latex(decoded, tidy):
    assert tidy_latex(decoded) == tidy
