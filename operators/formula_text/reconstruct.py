"""Rebuild the LaTeX of a formula from its text-layer glyphs (born-digital PDFs).

:func:`reconstruct_latex` takes the glyphs and rules of ONE formula region (display or inline), identifies each
symbol (:mod:`.symbols`, :mod:`.atoms`) and reads the two-dimensional layout (:mod:`.layout2d`, :mod:`.arrays`):
scripts from baseline offsets and sizes, limits, fractions, radicals, big delimiters, matrices and cases. The
confidence (:mod:`.confidence`) drops with every glyph it could not identify or place, every close layout call,
and every sign that the region is not one whole formula, so a caller can fall back to an image recogniser below
about 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from docray.datamodel import BBox
from docray.operators.formula_text.atoms import attach_accents, build_atoms
from docray.operators.formula_text.confidence import confidence
from docray.operators.formula_text.layout2d import Issues, layout
from docray.operators.textlayer.pdf_glyphs import Glyph


@dataclass(frozen=True, slots=True)
class Reconstruction:
    latex: str  # no $ delimiters
    confidence: float  # 0..1; the caller falls back to an image model below ~0.5


def reconstruct_latex(glyphs: Sequence[Glyph], rules: Sequence[BBox] = ()) -> Reconstruction:
    """LaTeX of the formula drawn by ``glyphs`` (one region's) and the ``rules`` inside it, with a confidence."""
    if not glyphs:
        return Reconstruction("", 0.0)
    boxes, unknown = build_atoms(glyphs)
    boxes, lost = attach_accents(boxes)
    issues = Issues(unknown=unknown, unplaced=lost, text_size=max(b.size for b in boxes))
    latex = layout(list(boxes), [tuple(r) for r in rules], issues).strip()
    return Reconstruction(latex, confidence(issues, boxes, latex))
