"""One Protocol per model task, and the plain result types they return.

Models take RGB ``uint8`` numpy images (H, W, 3) and return results in *pixel* coordinates of the
image they were given; operators convert to PDF points.  Every method is batched: a list of images
in, a list of results out, in order.  Engines are one class per backend (no ``if backend == ...``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

PixelBox = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels


@dataclass(frozen=True, slots=True)
class Detection:
    """A layout region found by a detector."""

    label: str  # the detector's own class name
    box: PixelBox
    score: float


@dataclass(frozen=True, slots=True)
class RecognizedLine:
    """One OCR text line."""

    text: str
    quad: tuple[float, ...]  # 8 numbers: top-left, top-right, bottom-right, bottom-left (x, y) in pixels
    score: float  # mean character confidence, 0..1
    rotation: int = 0  # clockwise degrees (0/90/180/270) the image was turned to read the line upright

    @property
    def box(self) -> PixelBox:
        xs, ys = self.quad[0::2], self.quad[1::2]
        return (min(xs), min(ys), max(xs), max(ys))


@dataclass(frozen=True, slots=True)
class TableCell:
    row: int
    col: int
    box: PixelBox
    rowspan: int = 1
    colspan: int = 1


@dataclass(slots=True)
class TableStructure:
    """A table's grid: the structure tokens (``<tr>``, ``<td>``, ...) and one box per cell."""

    tokens: list[str] = field(default_factory=list)
    cells: list[TableCell] = field(default_factory=list)
    score: float = 0.0


@runtime_checkable
class LayoutModel(Protocol):
    labels: tuple[str, ...]

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]: ...


@runtime_checkable
class OcrModel(Protocol):
    def read(self, images: Sequence[np.ndarray]) -> list[list[RecognizedLine]]:
        """Detect and recognise the text lines of each image (a page or a region)."""
        ...

    def recognize(self, lines: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Recognise single-line crops: ``(text, confidence)`` each."""
        ...


@runtime_checkable
class TableModel(Protocol):
    def structure(self, images: Sequence[np.ndarray]) -> list[TableStructure]: ...


@dataclass(frozen=True, slots=True)
class FormulaText:
    """A formula recognised from an image: LaTeX (no ``$`` delimiters) and a confidence."""

    latex: str
    score: float  # 0..1, e.g. the mean probability of the decoded tokens


@runtime_checkable
class FormulaModel(Protocol):
    def recognize(self, images: Sequence[np.ndarray]) -> list[FormulaText]:
        """Recognise one formula per image (an RGB crop of a formula): LaTeX each, in order."""
        ...


# --------------------------------------------------------------------------- vision-language models


@dataclass(frozen=True, slots=True)
class VlmRequest:
    """One chat turn for a vision-language model: an image, a prompt, and how to sample the answer."""

    image: bytes  # an encoded PNG or JPEG (a page, or a block cropped from it)
    prompt: str  # the user text that follows the image
    system: str | None = None  # system message; None: the model's own default
    max_tokens: int = 1024
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    logprobs: bool = False  # return each generated token's log-probability (when the engine can)
    json_schema: dict | None = None  # constrain the answer to JSON of this schema where the engine supports it
    stop: tuple[str, ...] = ()
    skip_special_tokens: bool = True  # False: keep the tokenizer's special tokens in the text (MinerU2.5's
    # layout answers are made of them); end-of-turn and padding tokens never appear in the text


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One generated token as text, and the log-probability the model gave it."""

    token: str
    logprob: float


@dataclass(frozen=True, slots=True)
class VlmResponse:
    """A model's answer to one :class:`VlmRequest`.

    ``tokens`` is empty when log-probabilities were not asked for or the engine cannot give them; when
    present, ``"".join(t.token for t in tokens)`` is ``text`` (the engine's detokenisation, token by
    token).  A request that failed (after the engine's own retries) has ``error`` set and empty text;
    engines never raise for one failed request.
    """

    text: str
    tokens: tuple[TokenLogprob, ...] = ()
    finish_reason: str = "stop"  # stop | length | error
    error: str | None = None


@runtime_checkable
class VlmEngine(Protocol):
    """A vision-language model behind one batched call (vLLM, transformers, an OpenAI-compatible server)."""

    model_name: str

    def generate(self, requests: Sequence[VlmRequest]) -> list[VlmResponse]:
        """Answer every request, in order; batching and concurrency are the engine's business."""
        ...

    def close(self) -> None:
        """Release the model, sessions and threads (idempotent)."""
        ...
