"""A tiny *random* Qwen2-VL model folder for tests: the real architecture and file layout, meaningless weights.

:func:`save_tiny_qwen2_vl` writes, in about a second, a folder of about one megabyte that loads like a
real Qwen2-VL / MinerU2.5 checkpoint from the models directory:

* ``config.json`` + ``model.safetensors`` + ``generation_config.json`` — a randomly initialised
  ``Qwen2VLForConditionalGeneration`` (text: hidden 64, 2 layers, 2 query heads and 1 key/value head of 32,
  M-RoPE sections ``[4, 6, 6]``; vision: patch 14, merge 2, temporal patch 2 as the real model, embed 32 in
  one head, depth 2);
* ``tokenizer.json`` + ``tokenizer_config.json`` — a byte-level BPE built here with the ``tokenizers``
  library from a small built-in text (every byte is a token, so ANY text encodes and decodes; like Qwen's
  tokenizer it normalises text to NFC first), with Qwen2-VL's special tokens and MinerU2.5's layout tokens
  (``<|box_start|>`` ... ``<|rotate_left|>``) as added tokens;
* ``chat_template.jinja`` — Qwen2-VL's chat format (an image is ``<|vision_start|><|image_pad|><|vision_end|>``,
  the default system message is ``You are a helpful assistant.``);
* ``preprocessor_config.json`` — Qwen2-VL's image processor with small pixel bounds (a page image becomes at most
  :data:`MAX_PIXELS` / 28² = 128 language-model tokens), so CPU tests stay fast.

Nothing is downloaded.  The weights are random: the model's answers are meaningless tokens, and no accuracy
is measured with it — it tests the code paths (loading, batching, padding, sampling, log-probabilities,
stop handling, servers and pipelines), never recognition quality.

Loading the folder with ``AutoProcessor`` needs torchvision under transformers 5.x (Qwen2-VL's video
processor); :mod:`docray.models.vlm_transformers` also loads it without torchvision.
"""

from __future__ import annotations

import json
from pathlib import Path

QWEN2_VL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
MINERU25_TOKENS = (
    "<|box_start|>",
    "<|box_end|>",
    "<|ref_start|>",
    "<|ref_end|>",
    "<|rotate_up|>",
    "<|rotate_right|>",
    "<|rotate_down|>",
    "<|rotate_left|>",
)
DEFAULT_SYSTEM = "You are a helpful assistant."
MIN_PIXELS = 4 * 28 * 28
MAX_PIXELS = 128 * 28 * 28
PATCH_SIZE, MERGE_SIZE, TEMPORAL_PATCH_SIZE = 14, 2, 2
BPE_VOCAB = 512  # byte alphabet (256) plus merges learnt from CORPUS, before the added tokens

# Qwen2-VL's chat format, written for this module: system (default when absent), turns, an image as a
# vision span, and the assistant header when a generation prompt is asked for.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\n" + DEFAULT_SYSTEM + "<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' or 'image' in part %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}"
    "{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Text the BPE merges are learnt from: prose, numbers, Markdown, HTML tables, LaTeX and a few scripts, so
# that tokens are of mixed lengths (multi-byte characters split across byte-level tokens included).
CORPUS = (
    "The quick brown fox jumps over the lazy dog. Page 12 of 340, section 3.2.1 (continued).",
    "# Introduction\n\nDocument parsing turns page images into text, tables and formulas.\n- item one\n- item two",
    "<table><tr><td>Name</td><td>Value</td></tr><tr><td>alpha</td><td>0.25</td></tr></table>",
    "\\frac{a}{b} + \\sum_{i=1}^{n} x_i^2 = \\int_0^1 f(x)\\,dx \\quad \\alpha \\beta \\gamma",
    "<|box_start|>120 45 880 97<|box_end|><|ref_start|>title<|ref_end|> 0 1 2 3 4 5 6 7 8 9 100 1000",
    "Größe, naïve café, über, façade — “quoted” ‘text’ … ½ ° € £ ¥",
    "数学公式与表格解析 文档 页面 文字识别",
    "Handwritten notes: Name: Jane Doe, Date: 2024-03-17, Amount: $1,234.56; signed.",
)


def build_tokenizer():
    """A Qwen2-style byte-level BPE tokenizer (transformers ``Qwen2Tokenizer``) with the added tokens."""
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_VOCAB, min_frequency=1, show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(list(CORPUS) * 4, trainer)
    learnt = json.loads(bpe.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in learnt["merges"]]
    tokenizer = Qwen2Tokenizer(
        vocab=learnt["vocab"], merges=merges, eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token=None
    )
    added = [AddedToken(t, special=True, normalized=False) for t in QWEN2_VL_TOKENS + MINERU25_TOKENS]
    tokenizer.add_tokens(added, special_tokens=True)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def model_config(token_ids: dict[str, int], vocab_size: int):
    """A small ``Qwen2VLConfig`` whose token ids are the tokenizer's."""
    from transformers import Qwen2VLConfig

    text = {
        "vocab_size": vocab_size,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,  # head dim 32 (attention kernels such as vLLM's take it); M-RoPE sections sum to 16
        "num_key_value_heads": 1,
        "max_position_embeddings": 8192,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [4, 6, 6]},
        "initializer_range": 0.2,  # wider than real models': a random model with sharper, less uniform predictions
        "bos_token_id": None,
        "eos_token_id": token_ids["<|im_end|>"],
        "pad_token_id": token_ids["<|endoftext|>"],
    }
    vision = {
        "depth": 2,
        "embed_dim": 32,
        "num_heads": 1,  # head dim 32
        "mlp_ratio": 2,
        "hidden_size": 64,  # the merger projects to the language model's width
        "patch_size": PATCH_SIZE,
        "spatial_merge_size": MERGE_SIZE,
        "temporal_patch_size": TEMPORAL_PATCH_SIZE,
        "initializer_range": 0.2,
    }
    return Qwen2VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=token_ids["<|image_pad|>"],
        video_token_id=token_ids["<|video_pad|>"],
        vision_start_token_id=token_ids["<|vision_start|>"],
        vision_end_token_id=token_ids["<|vision_end|>"],
    )


def image_processor_config(min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS) -> dict:
    """Qwen2-VL's ``preprocessor_config.json`` (CLIP normalisation, 14-pixel patches merged 2 x 2)."""
    return {
        "image_processor_type": "Qwen2VLImageProcessor",
        "processor_class": "Qwen2VLProcessor",
        "do_resize": True,
        "resample": 3,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "do_convert_rgb": True,
        "patch_size": PATCH_SIZE,
        "temporal_patch_size": TEMPORAL_PATCH_SIZE,
        "merge_size": MERGE_SIZE,
        "min_pixels": min_pixels,
        "max_pixels": max_pixels,
        "size": {"shortest_edge": min_pixels, "longest_edge": max_pixels},
    }


def save_tiny_qwen2_vl(path: Path, seed: int = 0) -> Path:
    """Write a tiny random Qwen2-VL model folder at ``path`` (created if needed) and return ``path``.

    The same ``seed`` gives the same weights; the caller's torch random state is left as it was.
    """
    import torch
    from transformers import GenerationConfig, Qwen2VLForConditionalGeneration

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    token_ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN2_VL_TOKENS + MINERU25_TOKENS}
    config = model_config(token_ids, vocab_size=len(tokenizer))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2VLForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        eos_token_id=[token_ids["<|im_end|>"], token_ids["<|endoftext|>"]],
        pad_token_id=token_ids["<|endoftext|>"],
        do_sample=False,
    )
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    (path / "chat_template.jinja").write_text(CHAT_TEMPLATE, encoding="utf-8")
    (path / "preprocessor_config.json").write_text(json.dumps(image_processor_config(), indent=2), encoding="utf-8")
    return path
