"""Formula recognition with a Hugging Face ``VisionEncoderDecoderModel`` folder from the local models directory.

Put the model's folder (``config.json``, ``model.safetensors``, the tokenizer files and
``preprocessor_config.json``) under the models directory and name it ``model: models-dir:<folder>``.
Nothing downloads: every ``from_pretrained`` runs with ``local_files_only=True``.

What loads, and what does not:

* **loads** — plain ``vision-encoder-decoder`` folders whose encoder and decoder are model types that
  transformers ships (ViT/DeiT/Swin/Donut-Swin encoders; TrOCR/RoBERTa/BERT/GPT-2/MBart decoders), with
  a tokenizer and an image-processor config: TrOCR-style formula models such as pix2text-mfr (MIT).
  Encoders with one input channel (e.g. TexTeller's ViT) get grey images.  A folder without
  ``preprocessor_config.json`` (TexTeller's own preprocessing is code, not config) fails with a message
  asking for one: its resize/normalisation must be written there by the user.
* **does not load** — UniMERNet as MinerU ships it (``unimernet_hf_small_2503``): its ``config.json``
  names encoder/decoder model types (``unimer-swin``, ``unimer-mbart`` with squeeze attention) that only
  MinerU's own Python code registers; the folder has no ``auto_map`` remote code and its image
  processor is code too.  Such folders are refused with a clear error rather than loaded with random
  layers.  PP-FormulaNet is a PaddlePaddle model (MinerU runs it through Paddle or an ONNX export), not a
  transformers folder, so it does not load here either.

Decoding is greedy (``num_beams=1``, no sampling, no repetition penalties) with the KV cache; the
score is the mean probability of the decoded tokens (the end token included).  TrOCR-style formula
tokenizers decode with a space between tokens: :func:`tidy_latex` removes the spaces LaTeX does not
need (math mode ignores them) and keeps those it does (after a control word before a letter, and
inside text-mode groups such as ``\\text{...}``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
from pydantic import Field

from docray.config import StrictModel
from docray.models.protocols import FormulaText
from docray.models.torch_engine import first_set, token_ids, torch_placement
from docray.models.weights import model_folder

INSTALL_HINT = "the vision_encoder_decoder formula model needs torch and transformers: pip install 'docray[formula]'"
TEXT_MODE = {"text", "textrm", "textit", "textbf", "textsf", "texttt", "textnormal", "mbox", "hbox"}
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\s+|.", re.DOTALL)


class VedFormulaOptions(StrictModel):
    """A transformers VisionEncoderDecoder formula recogniser (pix2text-mfr, TrOCR-style) from the models directory."""

    kind: Literal["vision_encoder_decoder"] = "vision_encoder_decoder"
    model: str = Field(
        "models-dir:pix2text-mfr", description="weight spec (models-dir:, wheel: or a path) of the model's folder"
    )
    batch_size: int = Field(16, ge=1, description="formula crops per generate call")
    max_new_tokens: int = Field(256, ge=1, description="stop a formula after this many generated tokens")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="'auto' uses CUDA when torch sees a GPU")
    threads: int | None = Field(None, ge=1, description="torch CPU threads; None: the CPUs the worker reserved (>= 1)")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="weights and activations; 'auto' is float16 on CUDA and float32 on CPU"
    )


def tidy_latex(text: str) -> str:
    """LaTeX with the spaces between tokens removed where LaTeX ignores them.

    A space stays after a control word followed by a letter (``\\alpha b``), and inside text-mode
    groups (``\\text{a b}``, collapsed to one); ``\\ `` (a control space) is kept as it is.
    """
    tokens = _TOKEN.findall(text)
    out: list[str] = []
    depth = 0
    text_depths: list[int] = []  # brace depths at which a text-mode group is open
    pending_text_group = False
    for i, token in enumerate(tokens):
        if token.isspace():
            prev = out[-1] if out else ""
            nxt = next((t for t in tokens[i + 1 :] if not t.isspace()), "")
            in_text = bool(text_depths) and not pending_text_group
            if in_text and prev != "{" and nxt != "}":
                out.append(" ")
            elif re.fullmatch(r"\\[A-Za-z]+", prev) and nxt[:1].isalpha():
                out.append(" ")
            continue
        if token == "{":
            depth += 1
            if pending_text_group:
                text_depths.append(depth)
                pending_text_group = False
        elif token == "}":
            if text_depths and text_depths[-1] == depth:
                text_depths.pop()
            depth -= 1
        pending_text_group = token.startswith("\\") and token[1:] in TEXT_MODE
        out.append(token)
    return "".join(out).strip()


def check_loadable(folder: Path) -> None:
    """Raise a clear error when ``folder`` is not a VisionEncoderDecoder of model types transformers ships."""
    from transformers import CONFIG_MAPPING

    config = json.loads((folder / "config.json").read_text())
    if config.get("model_type") != "vision-encoder-decoder":
        raise ValueError(f"{folder} is a {config.get('model_type')!r} model, not a vision-encoder-decoder folder")
    unknown = [
        config.get(part, {}).get("model_type")
        for part in ("encoder", "decoder")
        if config.get(part, {}).get("model_type") not in CONFIG_MAPPING
    ]
    if unknown:
        raise ValueError(
            f"{folder}: transformers has no model type {unknown} (custom classes such as UniMERNet's unimer-swin/"
            "unimer-mbart are registered by their own project's code); docray loads only model types transformers ships"
        )


def image_processor(folder: Path):
    from transformers import AutoImageProcessor, AutoProcessor

    try:
        return AutoImageProcessor.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as first:
        try:
            return AutoProcessor.from_pretrained(folder, local_files_only=True).image_processor
        except (OSError, ValueError, AttributeError):
            raise ValueError(
                f"{folder} has no usable image-processor config (preprocessor_config.json): add one with the "
                f"model's resize and normalisation ({first})"
            ) from None


def grey(image: np.ndarray) -> np.ndarray:
    """An RGB image as grey replicated into three channels (for one-channel encoders)."""
    luma = image[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.repeat(np.clip(luma.round(), 0, 255).astype(np.uint8)[..., None], 3, axis=2)


class VedFormula:
    """A :class:`~docray.models.protocols.FormulaModel` over a transformers VisionEncoderDecoderModel."""

    def __init__(self, model, processor, tokenizer, options: VedFormulaOptions):
        import torch

        self.torch = torch
        self.model = model.eval()
        self.processor = processor
        self.tokenizer = tokenizer
        self.options = options
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        self.channels = int(getattr(model.config.encoder, "num_channels", 3) or 3)
        config = model.generation_config
        self.start_id = first_set(config.decoder_start_token_id, model.config.decoder_start_token_id, tokenizer.bos_token_id)
        self.eos_ids = set(token_ids(config.eos_token_id) or token_ids(model.config.eos_token_id) or token_ids(tokenizer.eos_token_id))
        self.pad_id = first_set(config.pad_token_id, model.config.pad_token_id, tokenizer.pad_token_id, *self.eos_ids)
        if self.start_id is None:
            raise ValueError("the model names no decoder start token (decoder_start_token_id or the tokenizer's bos)")

    @classmethod
    def from_options(cls, options: VedFormulaOptions, threads: int = 1) -> VedFormula:
        try:
            import torch
            from transformers import AutoTokenizer, VisionEncoderDecoderModel
        except ImportError as exc:
            raise ImportError(f"{INSTALL_HINT} ({exc})") from exc
        folder = model_folder(options.model)
        check_loadable(folder)
        device, dtype = torch_placement(torch, options.device, options.dtype, options.threads or threads, "float16")
        model = VisionEncoderDecoderModel.from_pretrained(folder, local_files_only=True, dtype=dtype)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        return cls(model.to(device), image_processor(folder), tokenizer, options)

    def recognize(self, images: Sequence[np.ndarray]) -> list[FormulaText]:
        """LaTeX for each RGB uint8 formula crop, in order; an empty crop gives ``FormulaText("", 0.0)``."""
        results = [FormulaText("", 0.0)] * len(images)
        todo = [i for i, image in enumerate(images) if image.size > 0]
        size = self.options.batch_size
        for start in range(0, len(todo), size):
            batch = todo[start : start + size]
            ids, scores = self.generate(self.pixel_values([images[i] for i in batch]))
            texts = self.tokenizer.batch_decode(ids, skip_special_tokens=True)
            for i, text, score in zip(batch, texts, scores):
                results[i] = FormulaText(tidy_latex(text), score)
        return results

    def pixel_values(self, images: Sequence[np.ndarray]):
        """The processor's batched input tensor on the model's device and dtype."""
        rgb = [im[..., :3] if im.ndim == 3 else np.repeat(im[..., None], 3, axis=2) for im in images]
        prepared = [np.ascontiguousarray(grey(im) if self.channels == 1 else im) for im in rgb]
        values = self.processor(images=prepared, return_tensors="pt")["pixel_values"]
        if self.channels == 1 and values.shape[1] != 1:
            values = values.mean(dim=1, keepdim=True)
        return values.to(self.device, self.dtype)

    def generate(self, pixel_values) -> tuple[list[list[int]], list[float]]:
        """Greedy token ids per image (start and end tokens removed) and the mean probability of each sequence."""
        with self.torch.inference_mode():
            out = self.model.generate(
                pixel_values=pixel_values,
                max_new_tokens=self.options.max_new_tokens,
                num_beams=1,
                do_sample=False,
                use_cache=True,
                repetition_penalty=1.0,
                no_repeat_ngram_size=0,
                decoder_start_token_id=self.start_id,
                eos_token_id=sorted(self.eos_ids) or None,
                pad_token_id=self.pad_id,
                return_dict_in_generate=True,
                output_logits=True,
            )
        steps = out.sequences[:, 1 : 1 + len(out.logits)].cpu()
        logits = self.torch.stack(out.logits, dim=1).float().cpu()  # [B, steps, vocab], raw (not processed)
        probs = logits.softmax(-1).gather(-1, steps[..., None])[..., 0].numpy()
        ids, scores = [], []
        for row, row_probs in zip(steps.tolist(), probs):
            end = next((k for k, t in enumerate(row) if t in self.eos_ids), None)
            used = len(row) if end is None else end + 1
            ids.append(row if end is None else row[:end])
            scores.append(float(row_probs[:used].mean()) if used else 0.0)
        return ids, scores
