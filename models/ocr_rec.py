"""Line recognition: perspective crops of detected quads, batched CTC recognition sorted by width.

Crops are resized to the recogniser's height (48 for PP-OCRv4) keeping their aspect ratio, sorted by
width and run in batches padded to the batch's widest crop (padding is zero after normalisation, as
PP-OCR trains); each crop decodes only its own time steps.  Input is BGR, ``(x / 255 - 0.5) / 0.5``.
"""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from docray.models.ocr_ctc import DecodedLine, ctc_greedy

STEP_PX = 8  # input pixels per output time step of PP-OCR recognisers


def crop_quad(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quad's content warped to an upright rectangle; tall crops (h >= 1.5 w) are turned to read left-to-right."""
    quad = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    width = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[3] - quad[2])))
    height = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    width, height = max(width, 1), max(height, 1)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    crop = cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    if height >= 1.5 * width:
        crop = np.rot90(crop)  # counter-clockwise: vertical lines of rotated Latin text
    return np.ascontiguousarray(crop)


def resized_width(crop: np.ndarray, height: int, width_scale: float = 1.0) -> int:
    """Width of ``crop`` at the recogniser's ``height`` (times ``width_scale``), at least one time step."""
    h, w = crop.shape[:2]
    return max(STEP_PX, int(math.ceil(height * w / max(h, 1) * width_scale)))


def normalize_bgr(image_rgb: np.ndarray) -> np.ndarray:
    """``(3, H, W)`` float32 of an RGB uint8 image in BGR order, scaled to [-1, 1]."""
    return (image_rgb[:, :, ::-1].astype(np.float32) * (2.0 / 255.0) - 1.0).transpose(2, 0, 1)


def width_batches(widths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar width (sorted ascending), ``batch_size`` at most each."""
    order = sorted(range(len(widths)), key=lambda i: widths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def as_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 4:
        return image[:, :, :3]
    return image


class TextRecognizer:
    """A CTC line recogniser on an onnxruntime session."""

    def __init__(
        self, session, charset: Sequence[str], *, batch_size: int = 8, height: int = 48, width_scale: float = 1.0
    ):
        self.session = session
        self.charset = list(charset)
        self.batch_size = batch_size
        self.height = height
        self.width_scale = width_scale
        self.input_name = session.get_inputs()[0].name
        classes = session.get_outputs()[0].shape[-1]
        if isinstance(classes, int) and classes != len(self.charset):
            raise ValueError(f"the recogniser has {classes} classes but its dictionary gives {len(self.charset)}")

    def recognize(self, crops: Sequence[np.ndarray]) -> list[DecodedLine]:
        """Decode each RGB line crop; batches sorted by width across all crops given."""
        crops = [as_rgb(c) for c in crops]
        widths = [resized_width(c, self.height, self.width_scale) for c in crops]
        results: list[DecodedLine | None] = [None] * len(crops)
        for batch in width_batches(widths, self.batch_size):
            batch_width = int(math.ceil(max(widths[i] for i in batch) / STEP_PX) * STEP_PX)
            tensor = np.zeros((len(batch), 3, self.height, batch_width), dtype=np.float32)
            for row, i in enumerate(batch):
                resized = cv2.resize(crops[i], (widths[i], self.height), interpolation=cv2.INTER_LINEAR)
                tensor[row, :, :, : widths[i]] = normalize_bgr(resized)
            probs = self.session.run(None, {self.input_name: tensor})[0]
            step_px = batch_width / probs.shape[1]
            for row, i in enumerate(batch):
                steps = min(probs.shape[1], int(math.ceil(widths[i] / step_px)) + 1)
                results[i] = ctc_greedy(probs[row], self.charset, steps, step_px)
        return [r for r in results if r is not None]
