"""Scores of detected formula regions against the truth of :mod:`docray.testing.inline_math` documents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from docray.datamodel import BBox
from docray.schema import FormulaKind
from docray.testing.inline_math import TruthFormula


@dataclass(frozen=True, slots=True)
class Score:
    """How detected regions of one kind compare with the truth on a set of pages."""

    truth: int  # ground-truth formulas
    found: int  # of them, covered by one region (one per line when a line break splits it) taking nothing else but punctuation
    detected: int  # regions
    correct: int  # regions that meet a formula and take nothing but punctuation and brackets from outside formulas
    exact: int  # regions whose letters, digits and symbols are exactly one formula's
    false_positive: list[str]  # text of the regions that take text

    @property
    def recall(self) -> float:
        return self.found / self.truth if self.truth else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.detected if self.detected else 1.0


def _solid(text: str) -> bool:
    return text.isalnum() or not (text.isspace() or text in ",.;:")


def score(glyphs, truth: Sequence[TruthFormula], regions, kind: FormulaKind) -> Score:
    """Compare ``regions`` (objects with ``kind`` and ``glyphs``) of ``kind`` with ``truth`` on one page."""
    mine = [set(r.glyphs) for r in regions if r.kind == kind]
    owner: dict[int, int] = {i: k for k, t in enumerate(truth) for i in t.glyphs}
    found = 0
    for t in truth:
        wanted = set(t.glyphs)
        cover = [r for r in mine if r & wanted]
        clean = all(
            not any(_solid(glyphs[i].text) and glyphs[i].text not in "()[]{}" for i in r - wanted) for r in cover
        )
        if clean and cover and wanted <= set().union(*cover) and (len(cover) == 1 or _line_split(glyphs, t, cover)):
            found += 1
    correct = exact = 0
    false: list[str] = []
    for region in mine:
        outside = [i for i in region if i not in owner and _solid(glyphs[i].text) and glyphs[i].text not in "()[]{}"]
        owners = {owner[i] for i in region if i in owner}
        if owners and not outside:
            correct += 1
        else:
            false.append("".join(glyphs[i].text for i in sorted(region)))
        solid = {i for i in region if _solid(glyphs[i].text)}
        if len(owners) == 1:
            target = {i for i in truth[owners.pop()].glyphs if _solid(glyphs[i].text)}
            exact += solid == target
    return Score(len(truth), found, len(mine), correct, exact, false)


def _line_split(glyphs, formula: TruthFormula, cover: list[set[int]]) -> bool:
    """True when ``formula`` was broken across lines by the typesetter and each region holds one line's part."""

    def line_of(i: int) -> int:  # lines counted by the formula's own line breaks (down and back left), in glyph order
        return sum(
            1
            for a, b in zip(formula.glyphs, formula.glyphs[1:])
            if b <= i and glyphs[b].bbox[1] > glyphs[a].bbox[3] + 2 and glyphs[b].bbox[0] < glyphs[a].bbox[0] - 20
        )

    parts = [{line_of(i) for i in region if i in formula.glyphs} for region in cover]
    return all(len(p) == 1 for p in parts) and len({next(iter(p)) for p in parts}) == len(parts)


def merge(scores: Sequence[Score]) -> Score:
    return Score(
        *(sum(getattr(s, f) for s in scores) for f in ("truth", "found", "detected", "correct", "exact")),
        [t for s in scores for t in s.false_positive],
    )


def layout_box(glyphs, formula: TruthFormula) -> BBox:
    """A layout model's box for a display: its truth box, widened to take its equation number when it has one."""
    x0, y0, x1, y1 = formula.bbox
    if not formula.number:
        return formula.bbox
    right = sorted(
        (
            g
            for i, g in enumerate(glyphs)
            if g.bbox[0] > x1 and y0 <= (g.bbox[1] + g.bbox[3]) / 2 <= y1 and i not in formula.glyphs
        ),
        key=lambda g: g.bbox[0],
    )
    text, end = "", x1
    for g in right:
        if text and g.bbox[0] - end > 0.5 * g.size:
            break
        text, end = text + g.text, g.bbox[2]
        if text == formula.number:
            return (x0, y0, end + 1.0, y1)
    return formula.bbox
