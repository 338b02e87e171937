"""Pure box helpers shared by the layout detectors: IoU, greedy per-class NMS, scaling, clipping.

Boxes are ``float`` numpy arrays of shape (N, 4) as ``x0, y0, x1, y1``.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from docray.models.protocols import Detection
from docray.schema import BlockType


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one box with each of ``boxes``."""
    ix0 = np.maximum(box[0], boxes[:, 0])
    iy0 = np.maximum(box[1], boxes[:, 1])
    ix1 = np.minimum(box[2], boxes[:, 2])
    iy1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = max(float(box[2] - box[0]), 0.0) * max(float(box[3] - box[1]), 0.0)
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the kept boxes, best score first.

    A box is dropped when its IoU with an already kept, higher-scoring box is above ``iou_threshold``.
    """
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        if not rest.size:
            break
        order = rest[iou_one_to_many(boxes[best], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def per_class_nms(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float, max_keep: int | None = None
) -> np.ndarray:
    """NMS within each class (boxes of different classes never suppress each other); best score first overall."""
    kept = [np.flatnonzero(classes == c)[nms(boxes[classes == c], scores[classes == c], iou_threshold)] for c in np.unique(classes)]
    if not kept:
        return np.zeros(0, dtype=np.int64)
    merged = np.concatenate(kept)
    merged = merged[np.argsort(-scores[merged], kind="stable")]
    return merged[:max_keep] if max_keep else merged


def clip_boxes(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """Boxes clipped to ``[0, width] x [0, height]``."""
    out = boxes.astype(np.float64, copy=True)
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height)
    return out


def to_detections(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, labels: Sequence[str]
) -> list[Detection]:
    """Detections for rows of ``boxes``; boxes with no area are dropped."""
    out = []
    for box, score, cls in zip(boxes, scores, classes):
        x0, y0, x1, y1 = (float(v) for v in box)
        if x1 - x0 > 0 and y1 - y0 > 0:
            label = labels[int(cls)] if 0 <= int(cls) < len(labels) else str(int(cls))
            out.append(Detection(label=label, box=(x0, y0, x1, y1), score=float(score)))
    return out


def candidates(class_scores: np.ndarray, score_threshold: float, multi_label: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, classes and scores of the (N, C) class scores that pass ``score_threshold``.

    ``multi_label``: a row competes in every class that passes (PaddleDetection's PicoDet post-processing);
    otherwise only in its best class (Ultralytics' default).
    """
    if multi_label:
        rows, classes = np.nonzero(class_scores > score_threshold)
        return rows, classes, class_scores[rows, classes]
    classes = np.argmax(class_scores, axis=1) if class_scores.size else np.zeros(0, dtype=np.int64)
    best = class_scores[np.arange(len(classes)), classes]
    rows = np.flatnonzero(best > score_threshold)
    return rows, classes[rows], best[rows]


def postprocess(
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    labels: Sequence[str],
    *,
    nms_iou: float,
    max_detections: int,
    image_size: tuple[float, float],
    cross_class_iou: float | None = None,
) -> list[Detection]:
    """Candidate boxes in image pixels (already thresholded) to detections: clip to ``image_size``
    ``(width, height)``, per-class NMS, then (when ``cross_class_iou`` is set) drop a box that overlaps
    a better box of another class above that IoU (the same region labelled twice); keep the
    ``max_detections`` best."""
    if not len(boxes):
        return []
    boxes = clip_boxes(boxes, *image_size)
    keep = per_class_nms(boxes, scores, classes, nms_iou)
    if cross_class_iou is not None:
        keep = keep[nms(boxes[keep], scores[keep], cross_class_iou)]
    keep = keep[:max_detections]
    return to_detections(boxes[keep], scores[keep], classes[keep], labels)


def block_type_of(label: str, block_types: Mapping[str, BlockType | str]) -> BlockType | None:
    """The MinerU block type a detector class maps to; None when the mapping leaves the class out."""
    value = block_types.get(label)
    return BlockType(value) if value is not None else None


def in_batches(
    images: Sequence[np.ndarray], max_batch: int | None, run_batch: Callable[[Sequence[np.ndarray]], list[list[Detection]]]
) -> list[list[Detection]]:
    """Run ``run_batch`` over ``images`` in chunks of ``max_batch`` (None: all at once), results in order."""
    step = max_batch or max(1, len(images))
    results: list[list[Detection]] = []
    for start in range(0, len(images), step):
        results.extend(run_batch(images[start : start + step]))
    return results
