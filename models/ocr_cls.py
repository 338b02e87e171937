"""Line orientation (0 or 180 degrees) with PP-OCR's direction classifier.

Each line crop is resized to height 48 keeping its aspect ratio, clipped to width 192 and padded
(zero after normalisation); the classifier's two classes are ``0`` and ``180``.
"""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from docray.models.ocr_rec import as_rgb, normalize_bgr

CLS_HEIGHT, CLS_WIDTH = 48, 192


def cls_tensor(crops: Sequence[np.ndarray]) -> np.ndarray:
    """The classifier's ``(N, 3, 48, 192)`` input for RGB line crops."""
    tensor = np.zeros((len(crops), 3, CLS_HEIGHT, CLS_WIDTH), dtype=np.float32)
    for row, crop in enumerate(crops):
        h, w = crop.shape[:2]
        width = min(CLS_WIDTH, max(1, int(math.ceil(CLS_HEIGHT * w / max(h, 1)))))
        resized = cv2.resize(as_rgb(crop), (width, CLS_HEIGHT), interpolation=cv2.INTER_LINEAR)
        tensor[row, :, :, :width] = normalize_bgr(resized)
    return tensor


class OrientationClassifier:
    """Tells upside-down lines (0 or 180 degrees)."""

    def __init__(self, session, *, threshold: float = 0.9, batch_size: int = 16):
        self.session = session
        self.threshold = threshold
        self.batch_size = batch_size
        self.input_name = session.get_inputs()[0].name

    def prob_180(self, crops: Sequence[np.ndarray]) -> list[float]:
        """For each crop: the probability that it is upside down."""
        probs: list[float] = []
        for start in range(0, len(crops), self.batch_size):
            out = self.session.run(None, {self.input_name: cls_tensor(crops[start : start + self.batch_size])})[0]
            probs.extend(float(p[1]) for p in out)
        return probs

    def rotated_180(self, crops: Sequence[np.ndarray]) -> list[bool]:
        """For each crop: is it upside down (probability of class 180 above the threshold)?"""
        return [p > self.threshold for p in self.prob_180(crops)]
