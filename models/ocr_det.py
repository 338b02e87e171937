"""Text-line detection with a DB (differentiable binarisation) model: docray's own pre- and post-processing.

The PP-OCR detector maps an image to a per-pixel text probability.  Lines are found by
thresholding that map, taking each connected region's minimum-area rectangle, scoring it by the mean
probability inside, and growing it back to the full text height (DB trains on text shrunk by
``area * (1 - r^2) / perimeter``; growing a rectangle by ``area * unclip_ratio / perimeter`` on every
side undoes it).  Quads come back in pixels of the image given, in reading order.

Facts used (PP-OCR's published inference settings): input ``(x / 255 - 0.5) / 0.5`` per channel, BGR
channel order, sides multiple of 32; binarisation threshold 0.3, box threshold 0.5, unclip ratio 1.6,
a 2x2 dilation of the binary map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import cv2
import numpy as np

Quad = np.ndarray  # (4, 2) float32: top-left, top-right, bottom-right, bottom-left


@dataclass(frozen=True, slots=True)
class DetParams:
    """How images are sized for the detector and how its probability map becomes boxes."""

    limit: int = 1280  # side limit in pixels
    limit_type: Literal["max", "min"] = "max"  # max: shrink so the long side <= limit, never upscale
    thresh: float = 0.3  # probability -> binary
    box_thresh: float = 0.5  # mean probability a box needs
    unclip_ratio: float = 1.6
    max_candidates: int = 1000
    min_size: float = 3.0  # shortest side of a kept box, in map pixels
    dilate: bool = True


def det_scale(height: int, width: int, params: DetParams) -> float:
    """The resize factor for an image of ``height`` x ``width``."""
    if params.limit_type == "max":
        long_side = max(height, width)
        return min(1.0, params.limit / long_side) if long_side else 1.0
    short_side = min(height, width)
    return params.limit / short_side if short_side and short_side < params.limit else 1.0


def det_input(image: np.ndarray, params: DetParams) -> tuple[np.ndarray, float]:
    """The detector's input tensor ``(1, 3, H, W)`` for an RGB image, and the resize factor used.

    The image is resized keeping its aspect ratio and padded with white to sides multiple of 32
    (padding, not stretching: small regions keep their shape).
    """
    height, width = image.shape[:2]
    scale = det_scale(height, width, params)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = (
        image
        if (new_w, new_h) == (width, height)
        else cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    )
    pad_h, pad_w = max(32, math.ceil(new_h / 32) * 32), max(32, math.ceil(new_w / 32) * 32)
    canvas = np.full((pad_h, pad_w, 3), 255, dtype=np.uint8)
    canvas[:new_h, :new_w] = resized[:, :, ::-1]  # RGB -> BGR, as the model was trained
    tensor = canvas.astype(np.float32) * (2.0 / 255.0) - 1.0  # (x / 255 - 0.5) / 0.5
    return tensor.transpose(2, 0, 1)[np.newaxis], scale


def order_quad(points: np.ndarray) -> Quad:
    """Four corners as top-left, top-right, bottom-right, bottom-left."""
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    by_x = pts[np.argsort(pts[:, 0], kind="stable")]
    left, right = by_x[:2], by_x[2:]
    top_left, bottom_left = left[np.argsort(left[:, 1], kind="stable")]
    top_right, bottom_right = right[np.argsort(right[:, 1], kind="stable")]
    return np.array([top_left, top_right, bottom_right, bottom_left], dtype=np.float32)


def unclip_rect(rect: tuple, ratio: float) -> tuple:
    """Grow a ``cv2.minAreaRect`` rectangle by ``area * ratio / perimeter`` on every side."""
    (cx, cy), (w, h), angle = rect
    perimeter = 2.0 * (w + h)
    distance = w * h * ratio / perimeter if perimeter > 0 else 0.0
    return (cx, cy), (w + 2 * distance, h + 2 * distance), angle


def box_score(prob: np.ndarray, quad: Quad) -> float:
    """Mean probability inside ``quad`` (map pixels)."""
    h, w = prob.shape
    x0 = int(np.clip(np.floor(quad[:, 0].min()), 0, w - 1))
    x1 = int(np.clip(np.ceil(quad[:, 0].max()), 0, w - 1))
    y0 = int(np.clip(np.floor(quad[:, 1].min()), 0, h - 1))
    y1 = int(np.clip(np.ceil(quad[:, 1].max()), 0, h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    local = (quad - np.array([x0, y0], dtype=np.float32)).round().astype(np.int32)
    cv2.fillPoly(mask, [local], 1)
    return float(cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], mask)[0])


def boxes_from_probability(
    prob: np.ndarray, params: DetParams, scale_x: float = 1.0, scale_y: float = 1.0
) -> list[tuple[Quad, float]]:
    """Quads (divided by ``scale_x``/``scale_y``: map pixels -> image pixels) and scores from a probability map."""
    binary = (prob > params.thresh).astype(np.uint8)
    if params.dilate:
        binary = cv2.dilate(binary, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    found: list[tuple[Quad, float]] = []
    for contour in contours[: params.max_candidates]:
        rect = cv2.minAreaRect(contour)
        if min(rect[1]) < params.min_size:
            continue
        score = box_score(prob, order_quad(cv2.boxPoints(rect)))
        if score < params.box_thresh:
            continue
        grown = unclip_rect(rect, params.unclip_ratio)
        if min(grown[1]) < params.min_size + 2:
            continue
        quad = order_quad(cv2.boxPoints(grown))
        quad[:, 0] /= scale_x
        quad[:, 1] /= scale_y
        found.append((quad, score))
    return found


def clip_quad(quad: Quad, width: int, height: int) -> Quad:
    out = quad.copy()
    out[:, 0] = np.clip(out[:, 0], 0, width)
    out[:, 1] = np.clip(out[:, 1], 0, height)
    return out


def reading_order(quads: Sequence[Quad]) -> list[int]:
    """Indices of ``quads`` top-to-bottom, then left-to-right within a line (tops closer than half a line height)."""
    if not quads:
        return []
    tops = [float(q[:, 1].min()) for q in quads]
    heights = [max(1.0, float(q[:, 1].max() - q[:, 1].min())) for q in quads]
    lefts = [float(q[:, 0].min()) for q in quads]
    order = sorted(range(len(quads)), key=lambda i: (tops[i], lefts[i]))
    rows: list[list[int]] = []
    for i in order:
        if rows and abs(tops[i] - tops[rows[-1][0]]) < 0.5 * min(heights[i], heights[rows[-1][0]]):
            rows[-1].append(i)
        else:
            rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda j: lefts[j])]


class TextDetector:
    """A DB text detector on an onnxruntime session."""

    def __init__(self, session, params: DetParams):
        self.session = session
        self.params = params
        self.input_name = session.get_inputs()[0].name

    def detect(self, image: np.ndarray) -> list[tuple[Quad, float]]:
        """Line quads (image pixels, reading order) and their scores for one RGB image."""
        height, width = image.shape[:2]
        if height < 2 or width < 2:
            return []
        tensor, scale = det_input(image, self.params)
        prob = self.session.run(None, {self.input_name: tensor})[0][0, 0]
        found = boxes_from_probability(prob, self.params, scale, scale)
        kept = []
        for quad, score in found:
            quad = clip_quad(quad, width, height)
            if np.linalg.norm(quad[0] - quad[1]) > 3 and np.linalg.norm(quad[0] - quad[3]) > 3:
                kept.append((quad, score))
        return [kept[i] for i in reading_order([q for q, _ in kept])]
