"""Image-to-LaTeX with the checkpoint of the ``latex-ocr-junia`` PyPI wheel, re-implemented in plain torch.

**Licence warning**: latex-ocr-junia 0.1.3 declares no licence (no licence field, classifier or file), so docray
does not install it by default; ``pip install 'docray[formula-junia]'`` opts in, and using its weights is the
user's decision.

The wheel's model (a 4+4-layer transformer, 94 MB checkpoint, character-level vocabulary of 166 tokens) is run
here by docray's own modules (:mod:`.formula_junia_net`) whose parameter names equal the checkpoint's, with batched
greedy decoding and a KV cache (:mod:`.formula_junia_decode`) instead of the package's beam search.

Pre-processing equals the package's: RGB -> grey (Pillow ``L``), scaled with Pillow's bilinear filter to fit
128x512 keeping the aspect ratio (sizes rounded), pasted centred (offsets rounded down) on a black canvas, 0..1.
Accuracy depends on the crop's resolution (the model reads sharp renderings much better): on 30 formulas of
:mod:`docray.testing.formula_set` cropped with a 2 pt margin, 29 read back render-equal (KaTeX) from 300-dpi crops but
21 from 144-dpi ones (``benchmarks/bench_formula_image.py``).  Crop born-digital formulas from a >= 300 dpi rendering.

The model often wraps its output in a display environment (``\\[...\\]``, ``\\begin{equation*}...``); those
wrappers are removed (:func:`unwrap_math`) so :class:`FormulaText` holds bare LaTeX.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Sequence

import numpy as np
from pydantic import Field

from docray.config import StrictModel
from docray.models.protocols import FormulaText
from docray.models.weights import WeightNotFoundError, resolve

if TYPE_CHECKING:
    from docray.models.formula_junia_decode import Decoded
    from docray.models.formula_junia_net import FormulaNet

INSTALL_HINT = "pip install 'docray[formula-junia]'"
CONFIG_NAME = "model_config.json"


class JuniaOptions(StrictModel):
    """The latex-ocr-junia formula recogniser (unlicensed weights: opt-in extra ``formula-junia``)."""

    kind: Literal["latex_ocr_junia"] = Field("latex_ocr_junia", description="engine: latex-ocr-junia weights in torch")
    weights: str = Field(
        "wheel:latex_ocr_junia/assets/best.pt",
        description="checkpoint spec (wheel:, models-dir: or a path): a torch dict with model_state_dict and config",
    )
    tokenizer: str = Field(
        "wheel:latex_ocr_junia/assets/tokenizer.json", description="tokenizer spec: JSON with token_to_id and specials"
    )
    batch_size: int = Field(8, ge=1, description="formula images decoded together")
    max_tokens: int = Field(
        256, ge=1, description="stop a formula after this many characters (capped by the model's 511)"
    )
    threads: int | None = Field(None, ge=1, description="torch CPU threads; None: the CPUs the worker reserved")
    device: Literal["cpu", "cuda"] = Field("cpu", description="torch device")


@dataclass(frozen=True)
class CharTokenizer:
    """The package's character vocabulary: one token per character plus four specials."""

    tokens: dict[int, str]
    pad: int
    bos: int
    eos: int
    unk: int

    @classmethod
    def from_json(cls, text: str) -> CharTokenizer:
        payload = json.loads(text)
        ids: dict[str, int] = {token: int(i) for token, i in payload["token_to_id"].items()}
        specials = payload.get("specials", {})
        names = {key: specials.get(key, f"<{key}>") for key in ("pad", "bos", "eos", "unk")}
        return cls({i: token for token, i in ids.items()}, **{key: ids[name] for key, name in names.items()})

    def text(self, ids: Sequence[int]) -> str:
        """The characters of ``ids``, special tokens left out."""
        skip = {self.pad, self.bos, self.eos, self.unk}
        return "".join(self.tokens.get(i, "") for i in ids if i not in skip)


def prepare(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """An RGB (or grey) uint8 image as the model's input: float32 [height, width] in 0..1 (see the module doc)."""
    from PIL import Image

    grey = Image.fromarray(np.ascontiguousarray(image)).convert("L")
    old_w, old_h = grey.size
    if old_w == 0 or old_h == 0:
        raise ValueError(f"empty formula image of shape {image.shape}")
    scale = min(width / old_w, height / old_h)
    new_w, new_h = max(1, round(old_w * scale)), max(1, round(old_h * scale))
    resized = np.asarray(grey.resize((new_w, new_h), resample=Image.Resampling.BILINEAR), dtype=np.float32)
    canvas = np.zeros((height, width), dtype=np.float32)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = resized / 255.0
    return canvas


_ENVIRONMENT = re.compile(r"^\\begin\{(\w+)(\*?)\}(.*)\\end\{\1\2\}$", re.DOTALL)
_DELIMITERS = ((r"\[", r"\]"), (r"\(", r"\)"), ("$$", "$$"), ("$", "$"))
_DROPPED_ENVIRONMENTS = {"equation", "displaymath", "math", "multline"}
_ALIGNED_ENVIRONMENTS = {
    "align": "aligned", "flalign": "aligned", "split": "aligned", "aligned": "aligned", "gather": "gathered",
    "gathered": "gathered", "eqnarray": "aligned",
}  # fmt: skip
_ALIGNMENT_POINT = re.compile(r"(?<!\\)&")


def unwrap_math(latex: str) -> str:
    r"""``latex`` without outer math delimiters: ``\[..\]``, ``\(..\)``, ``$$..$$``, ``$..$``, ``equation(*)``,
    ``displaymath``, ``multline(*)``.  ``align(*)``, ``split``, ``gather(*)`` (and ``aligned``/``gathered``) of one row
    are unwrapped too (their ``&`` dropped); of several rows they become ``aligned``/``gathered`` (renderable inline)."""
    text = latex.strip()
    changed = True
    while changed:
        changed = False
        for opening, closing in _DELIMITERS:
            inner = text[len(opening) : len(text) - len(closing)]
            wrapped = len(text) >= len(opening) + len(closing) and text.startswith(opening) and text.endswith(closing)
            if wrapped and closing not in inner:  # "$a$ + $b$" is not one wrapped formula
                text, changed = inner.strip(), True
                break
        match = _ENVIRONMENT.match(text)
        if match and match.group(1) in _DROPPED_ENVIRONMENTS:
            text, changed = match.group(3).strip(), True
        elif match and match.group(1) in _ALIGNED_ENVIRONMENTS:
            body = match.group(3).strip()
            if "\\\\" not in body:  # one row: alignment points mean nothing
                return _ALIGNMENT_POINT.sub(" ", body).strip()
            inner = _ALIGNED_ENVIRONMENTS[match.group(1)]
            return f"\\begin{{{inner}}}{body}\\end{{{inner}}}"
    return text


def _import_torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError(f"the latex_ocr_junia formula engine needs torch: {INSTALL_HINT}") from exc
    return torch


def _resolve(spec: str) -> Path:
    try:
        return resolve(spec)
    except WeightNotFoundError as exc:
        raise WeightNotFoundError(f"{exc} (latex-ocr-junia declares no licence; opt in with {INSTALL_HINT})") from None


class JuniaFormula:
    """:class:`~docray.models.protocols.FormulaModel` over the latex-ocr-junia checkpoint."""

    def __init__(self, net: FormulaNet, tokenizer: CharTokenizer, options: JuniaOptions):
        if net.config.vocab_size != len(tokenizer.tokens):
            raise ValueError(f"the tokenizer has {len(tokenizer.tokens)} tokens, the model {net.config.vocab_size}")
        self.net = net
        self.tokenizer = tokenizer
        self.options = options

    @classmethod
    def from_options(cls, options: JuniaOptions, threads: int = 1) -> JuniaFormula:
        torch = _import_torch()
        from docray.models.formula_junia_net import load_net

        if options.device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' asked for but torch sees no GPU (a CUDA build of torch is needed)")
        torch.set_num_threads(options.threads or max(1, threads))  # process-wide, like every torch engine
        weights = _resolve(options.weights)
        sibling = weights.with_name(CONFIG_NAME)
        net = load_net(str(weights), str(sibling) if sibling.is_file() else None, device=options.device)
        tokenizer = CharTokenizer.from_json(_resolve(options.tokenizer).read_text(encoding="utf-8"))
        return cls(net, tokenizer, options)

    def decode(self, images: Sequence[np.ndarray], *, use_cache: bool = True) -> list[Decoded]:
        """Greedy token ids of each image, in batches of ``batch_size``; ``use_cache=False`` is the slow reference."""
        import torch

        from docray.models.formula_junia_decode import greedy_decode

        config, tokenizer = self.net.config, self.tokenizer
        results: list[Decoded] = []
        size = self.options.batch_size
        with torch.inference_mode():
            for start in range(0, len(images), size):
                chunk = [
                    prepare(image, config.image_height, config.image_width) for image in images[start : start + size]
                ]
                batch = torch.from_numpy(np.stack(chunk)[:, None]).to(self.options.device)
                results += greedy_decode(
                    self.net,
                    batch,
                    bos=tokenizer.bos,
                    eos=tokenizer.eos,
                    banned=(tokenizer.pad, tokenizer.bos),
                    max_tokens=self.options.max_tokens,
                    use_cache=use_cache,
                )
        return results

    def recognize(self, images: Sequence[np.ndarray]) -> list[FormulaText]:
        """LaTeX (outer delimiters removed) and the mean probability of the decoded tokens, per image."""
        return [
            FormulaText(unwrap_math(self.tokenizer.text(result.tokens)), result.score) for result in self.decode(images)
        ]
