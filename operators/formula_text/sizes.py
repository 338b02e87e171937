"""Font-independent sizes: the sizes pdfium reports differ between the fonts one formula mixes, so they are
snapped to the formula's size levels before layout.

A font family scales the fonts it borrows (mathpazo sets Computer Modern's ``=`` and ``(`` at 1.04 times the
Palatino size and CMEX at 0.9; mathptmx does likewise), and a big operator from a text-size font such as PazoMath
or Adobe Symbol reports the scaled size it was drawn at (15 pt in 11 pt text). TeX's own size steps (text, script,
scriptscript) are 0.7 apart, so sizes within :data:`LEVEL_RATIO` of a level's largest are that level. Big
operators, big delimiters, radical signs and delimiter pieces are drawn at the size their content needs: they take
the level within that ratio of their size (keeping their own when none is), a big operator at most the largest
level; the baseline of those set on the math axis follows.
"""

from __future__ import annotations

import math

from docray.operators.formula_text.boxes import AXIS, Box

LEVEL_RATIO = 0.86  # a size at least this share of a level's largest size belongs to that level
BIG_KINDS = frozenset({"bigop", "delim", "piece", "radical"})


def size_levels(boxes: list[Box]) -> list[float]:
    """The formula's size levels, largest first: each the largest size of a group of near-equal sizes."""
    sizes = sorted((b.size for b in boxes if b.kind not in BIG_KINDS and b.size > 0), reverse=True)
    levels: list[float] = []
    for size in sizes:
        if not levels or size < LEVEL_RATIO * levels[-1]:
            levels.append(size)
    return levels


def nearest_level(size: float, levels: list[float], *, clamp: bool) -> float:
    """The level nearest ``size``; ``size`` itself when no level is within :data:`LEVEL_RATIO` of it, unless
    ``clamp`` (then sizes above the largest level are that level)."""
    if clamp and size >= levels[0]:
        return levels[0]
    level = min(levels, key=lambda level: abs(math.log(size / level)))
    return level if LEVEL_RATIO <= size / level <= 1 / LEVEL_RATIO else size


def normalise_sizes(boxes: list[Box]) -> list[Box]:
    """Every glyph box's size snapped to its level (see the module docstring), in place; ``boxes`` returned."""
    levels = size_levels(boxes)
    if not levels:
        return boxes
    for box in boxes:
        if box.size <= 0:
            box.size = levels[0]
            continue
        if box.kind in BIG_KINDS:
            box.size = nearest_level(box.size, levels, clamp=box.kind == "bigop")
            if box.centred:
                box.base = (box.y0 + box.y1) / 2 + AXIS * box.size
        else:
            box.size = next(level for level in levels if box.size >= LEVEL_RATIO * level)
    return boxes
