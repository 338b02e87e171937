"""Page orientation (0/90/180/270 degrees) from the text detector's line boxes and the recogniser's confidence.

A page scanned sideways has text lines that are taller than wide; the detector finds them all the
same (DB text maps do not depend on the writing direction).  So:

* **sideways or not**: the line boxes' long sides, summed, vertical vs horizontal (:func:`is_sideways`);
* **which way up**: the 0/180 line classifier votes on the longest lines; when the votes split, those
  lines are read upright and turned 180 degrees, and the reading with the higher mean confidence wins
  (the recogniser is sure of text it can read, unsure of upside-down glyphs).

``rotation`` is the clockwise angle the image is turned to make its text upright.  Quads map between
the original image and the turned one with :func:`turn_points` (exact, pixel-centre-free geometry:
a point at ``x`` on a ``width``-wide image is at ``width - x`` after a half turn).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

ROTATIONS = (0, 90, 180, 270)


def quad_sides(quad: np.ndarray) -> tuple[float, float]:
    """(length along the first edge, length along the second edge) of a ``(4, 2)`` quad."""
    q = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    return float(np.linalg.norm(q[1] - q[0])), float(np.linalg.norm(q[3] - q[0]))


def is_sideways(quads: Sequence[np.ndarray], tall_ratio: float = 1.5) -> bool:
    """Do the lines run vertically?  Long sides of clearly elongated boxes, summed, vertical vs horizontal.

    Boxes near square (single characters, short numbers) vote for neither direction.
    """
    vertical = horizontal = 0.0
    for quad in quads:
        q = np.asarray(quad, dtype=np.float32).reshape(4, 2)
        width = float(q[:, 0].max() - q[:, 0].min())
        height = float(q[:, 1].max() - q[:, 1].min())
        if height >= tall_ratio * width:
            vertical += height
        elif width >= tall_ratio * height:
            horizontal += width
    return vertical > horizontal


def turn_image(image: np.ndarray, rotation: int) -> np.ndarray:
    """``image`` turned clockwise by ``rotation`` degrees (a multiple of 90)."""
    if rotation % 360 == 0:
        return image
    return np.ascontiguousarray(np.rot90(image, k=-(rotation // 90) % 4))


def turn_points(points: np.ndarray, rotation: int, width: float, height: float) -> np.ndarray:
    """Points ``(N, 2)`` of a ``width`` x ``height`` image, where they lie after turning it clockwise by ``rotation``."""
    p = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    turns = (rotation // 90) % 4
    if turns == 0:
        out = np.stack([x, y], axis=1)
    elif turns == 1:
        out = np.stack([height - y, x], axis=1)
    elif turns == 2:
        out = np.stack([width - x, height - y], axis=1)
    else:
        out = np.stack([y, width - x], axis=1)
    return out.astype(np.float32)


def longest_lines(quads: Sequence[np.ndarray], count: int) -> list[int]:
    """Indices of the ``count`` longest quads (the lines that say most about which way is up)."""
    lengths = [max(quad_sides(q)) for q in quads]
    return sorted(range(len(quads)), key=lambda i: -lengths[i])[:count]


def upside_down(scores_upright: Sequence[float], scores_turned: Sequence[float], margin: float) -> bool:
    """Is the sample better read turned 180 degrees (mean confidence higher by more than ``margin``)?"""
    if not scores_upright:
        return False
    return float(np.mean(scores_turned)) > float(np.mean(scores_upright)) + margin
