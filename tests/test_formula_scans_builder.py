"""The scanned-formula benchmark's ground truth: formula boxes found by compiling the paper with and without its formulas."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from PIL import Image

from docray.operators.formula_text.reconstruct import reconstruct_latex
from docray.operators.textlayer.pdf_glyphs import page_glyphs, page_rules
from docray.testing.formula_scans import build_paper, pick_formulas, scan_image
from docray.testing.latex import pdflatex

pytestmark = pytest.mark.skipif(pdflatex() is None, reason="pdflatex not installed (make install installs texlive)")


def test_formula_boxes_hold_exactly_their_formula():
    formulas = pick_formulas(4)
    pdf, (truth,) = build_paper(formulas, per_page=4)
    assert [f.latex for f in truth] == [latex for _, latex in formulas]
    boxes = [f.bbox for f in truth]
    assert all(a[3] <= b[1] for a, b in zip(boxes, boxes[1:]))  # top to bottom, disjoint
    document = pdfium.PdfDocument(pdf)
    glyphs, rules = page_glyphs(document[0]), page_rules(document[0])
    document.close()
    for formula in truth:  # the glyphs inside a box are that formula's, and rebuild to a confident formula
        x0, y0, x1, y1 = formula.bbox
        inside = [g for g in glyphs if x0 <= (g.bbox[0] + g.bbox[2]) / 2 <= x1 and y0 <= (g.bbox[1] + g.bbox[3]) / 2 <= y1]
        own_rules = [r for r in rules if x0 - 1 <= r[0] and r[2] <= x1 + 1 and y0 - 1 <= r[1] and r[3] <= y1 + 1]
        assert inside and reconstruct_latex(inside, own_rules).confidence >= 0.5


def test_scan_image_is_a_png_at_its_dpi():
    pdf, _ = build_paper(pick_formulas(2), per_page=2)
    image = Image.open(io.BytesIO(scan_image(pdf, 0, 200.0)))
    assert image.mode == "L" and round(image.info["dpi"][0]) == 200
    assert image.width == pytest.approx(612 / 72 * 200, abs=2) or image.width == pytest.approx(595 / 72 * 200, abs=2)
