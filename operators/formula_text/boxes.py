"""The layout box: one symbol or one built structure of a formula, with its geometry (points, top-left origin)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

AXIS = 0.25  # TeX's math axis above the baseline, in ems (cmsy10 axis_height)


@dataclass(slots=True)
class Box:
    """A laid-out piece of the formula: one symbol, or a built structure (fraction, radical, group...)."""

    x0: float
    y0: float
    x1: float
    y1: float
    tex: str
    kind: str  # see symbols.py; also "word", "delim" (big delimiter), "struct" (built structure)
    size: float  # font size the box is set in (points)
    base: float  # its baseline, estimated for boxes centred on the math axis
    centred: bool = False  # set on the math axis (big operators and delimiters, fractions, matrices)
    style: str = ""
    char: str = ""  # the delimiter drawn by a delimiter box
    limits: bool = False  # an operator that may take limits above and below
    scripted: bool = False  # tex already ends in scripts
    glyph: bool = True  # a single glyph (its size and baseline are trustworthy)
    reach: float = 0.0  # right edge of what the box sets around it (an operator's limits)

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def union(boxes: Sequence[Box]) -> tuple[float, float, float, float]:
    return (min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes), max(b.y1 for b in boxes))


def h_overlap(a: Box, b: Box) -> float:
    return min(a.x1, b.x1) - max(a.x0, b.x0)


def v_overlap(a: Box, b: Box) -> float:
    return min(a.y1, b.y1) - max(a.y0, b.y0)
