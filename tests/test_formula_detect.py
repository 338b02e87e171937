"""Formula detection on born-digital pages (docray.operators.formula_text.detect).

Documents come from docray.testing.inline_math: LaTeX (Computer Modern; Times + Symbol via mathptmx) compiled
with pdflatex, and a reportlab page in DejaVu Sans; every formula and distractor is set in a marker fill colour
so its glyphs are known exactly (the detector never sees colours).
"""

from __future__ import annotations

import functools

import pypdfium2 as pdfium
import pytest

from docray.datamodel import Span
from docray.operators.formula_text.detect import (
    FormulaKind,
    FormulaRegion,
    detect_formulas,
    page_has_math,
)
from docray.operators.textlayer.extract import page_spans
from docray.operators.textlayer.pdf_glyphs import Glyph, is_math_font, page_glyphs, page_rules
from docray.testing import inline_math, inline_math_ops, inline_math_score
from docray.testing.latex import pdflatex

needs_latex = pytest.mark.skipif(pdflatex() is None, reason="pdflatex not installed (texlive)")


@functools.cache
def _document(name: str) -> inline_math.MathDocument:
    if name in ("unicode", "sans"):
        pytest.importorskip("reportlab")
        pytest.importorskip("matplotlib")
        return inline_math.unicode_document() if name == "unicode" else inline_math_ops.sans_document()
    if pdflatex() is None:
        pytest.skip("pdflatex not installed (texlive)")
    if name.startswith("ops-"):
        return inline_math_ops.operator_document(name.removeprefix("ops-"))
    return inline_math.latex_document(font=name.split("-")[0], twocolumn=name.endswith("2col"))


@functools.cache
def _pages(name: str) -> list[tuple[list[Glyph], list, float, float]]:
    doc = pdfium.PdfDocument(_document(name).pdf)
    try:
        return [(page_glyphs(page), page_rules(page), page.get_width(), page.get_height()) for page in doc]
    finally:
        doc.close()


def _detect(name: str, boxes: bool = False) -> list[tuple[list[Glyph], inline_math.PageTruth, list[FormulaRegion]]]:
    out = []
    for (glyphs, rules, width, height), truth in zip(_pages(name), _document(name).pages, strict=True):
        display_boxes = [inline_math_score.layout_box(glyphs, t) for t in truth.display] if boxes else ()
        regions = detect_formulas(glyphs, rules, page_width=width, page_height=height, display_boxes=display_boxes)
        out.append((glyphs, truth, regions))
    return out


def _scores(name: str, kind: FormulaKind, boxes: bool = False) -> inline_math_score.Score:
    attr = "inline" if kind == FormulaKind.INLINE else "display"
    return inline_math_score.merge(
        [inline_math_score.score(g, getattr(t, attr), r, kind) for g, t, r in _detect(name, boxes)]
    )


@pytest.mark.parametrize(
    ("name", "recall", "precision"),
    [("cm", 0.95, 0.95), ("cm-2col", 0.9, 0.9), ("times", 0.9, 0.9), ("pazo", 0.9, 0.9), ("unicode", 0.9, 0.9)],
)
def test_inline_recall_and_precision(name, recall, precision):
    score = _scores(name, FormulaKind.INLINE)
    assert score.truth >= 25
    assert score.recall >= recall, (score, name)
    assert score.precision >= precision, score.false_positive


@pytest.mark.parametrize("name", ["cm", "times", "unicode", "cm-2col"])
def test_displays_found_from_text_layer_alone(name):
    for glyphs, truth, regions in _detect(name):
        displays = [set(r.glyphs) for r in regions if r.kind == FormulaKind.DISPLAY]
        exact = sum(set(t.glyphs) in displays for t in truth.display)
        assert exact >= len(truth.display) - (1 if len(truth.display) > 3 else 0), [t.latex for t in truth.display]
        assert len(displays) <= len(truth.display) + 1


@pytest.mark.parametrize("name", ["cm", "cm-2col", "unicode"])
def test_displays_from_layout_boxes_leave_equation_numbers_out(name):
    numbered = 0
    for glyphs, truth, regions in _detect(name, boxes=True):
        displays = [r for r in regions if r.kind == FormulaKind.DISPLAY]
        assert sorted(r.glyphs for r in displays) == sorted(t.glyphs for t in truth.display)
        taken = {i for r in displays for i in r.glyphs}
        for region in regions:
            if region.kind == FormulaKind.INLINE:
                assert not taken & set(region.glyphs)
        for t in truth.display:
            if t.number:  # the layout box takes the number at the right: its glyphs stay out of the region
                assert inline_math_score.layout_box(glyphs, t)[2] > t.bbox[2] + 5
                numbered += 1
                number = [
                    i
                    for i, g in enumerate(glyphs)
                    if g.text in "()"
                    and t.bbox[2] < g.bbox[0]
                    and t.bbox[1] <= (g.bbox[1] + g.bbox[3]) / 2 <= t.bbox[3]
                ]
                assert number and not taken & set(number)
        for region in displays:  # the box covers its fraction bars
            assert region.bbox[0] <= min(glyphs[i].bbox[0] for i in region.glyphs)
    assert numbered >= 3


def test_display_numbers_excluded_without_boxes():
    glyphs, truth, regions = _detect("cm")[0]
    for t in truth.display:
        match = [r for r in regions if r.kind == FormulaKind.DISPLAY and set(t.glyphs) <= set(r.glyphs)]
        assert match
        text = "".join(glyphs[i].text for i in match[0].glyphs)
        if t.number:
            assert not text.endswith(t.number), text


@pytest.mark.parametrize("name", ["cm", "cm-2col", "unicode", "ops-cm", "ops-pazo", "sans"])
def test_distractors_not_detected(name):
    hits = []
    for glyphs, truth, regions in _detect(name):
        taken = {i for r in regions for i in r.glyphs}
        hits += [d.latex for d in truth.distractors if taken & set(d.glyphs)]
        bullets = [i for i, g in enumerate(glyphs) if g.text == "•"]
        assert not taken & set(bullets)
    assert not hits


@pytest.mark.parametrize("name", ["ops-cm", "ops-pazo", "ops-times", "sans"])
def test_operator_names_and_function_terms_join_their_formula(name):
    # Ann_R(x_i) between math, Hom(A, B), max_i, a script of a script; F(b) - F(a) in text fonts: one region each
    missed = []
    for glyphs, truth, regions in _detect(name):
        for t in truth.inline:
            if not inline_math_score.score(glyphs, [t], regions, FormulaKind.INLINE).found:
                missed.append(t.latex)
        assert inline_math_score.score(glyphs, truth.inline, regions, FormulaKind.INLINE).precision == 1.0
    assert not missed


def test_text_font_terms_need_a_chain():
    # upright F(b) - F(a) and f(x) = 2x + 1 are formulas; "see (a) and (b)", "important (b)", "Smith(2019)" are not
    glyphs, truth, regions = _detect("sans")[0]
    upright = [t for t in truth.inline if all(glyphs[i].font == "Helvetica" for i in t.glyphs)]
    assert len(upright) >= 4
    taken = {i for r in regions for i in r.glyphs}
    assert all(set(t.glyphs) <= taken for t in upright)
    parenthesised = [d for d in truth.distractors if "(" in d.latex]
    assert len(parenthesised) >= 5 and not any(taken & set(d.glyphs) for d in parenthesised)


def test_italic_emphasis_is_not_a_variable_when_math_has_its_own_italic():
    # Computer Modern sets variables in CMMI: a one-letter italic word in CMTI (\emph{I}) is emphasis
    for glyphs, truth, regions in _detect("cm"):
        emphasis = [d for d in truth.distractors if d.latex.startswith(r"\emph")]
        assert emphasis
        taken = {i for r in regions for i in r.glyphs}
        assert not any(taken & set(d.glyphs) for d in emphasis)


@needs_latex
def test_page_has_math_on_spans_and_glyphs():
    math_doc = pdfium.PdfDocument(_document("cm").pdf)
    plain_doc = pdfium.PdfDocument(inline_math.plain_latex_document())
    try:
        assert page_has_math(page_spans(math_doc[0]))
        assert not page_has_math(page_spans(plain_doc[0]))
    finally:
        math_doc.close()
        plain_doc.close()


def test_page_has_math_on_unicode_and_bullets():
    assert page_has_math([Span("where α ≤ β holds", (0, 0, 10, 10), font="DejaVuSans")])
    assert not page_has_math(
        [Span("\uf0b7", (0, 0, 10, 10), font="Symbol"), Span("A plain item, 2024", (0, 0, 10, 10), font="Arial")]
    )
    assert page_has_math([Span("\uf0b7 x \uf0a3", (0, 0, 10, 10), font="Symbol")])


def test_math_fonts_by_name():
    for font in ("STIXTwoMath-Regular", "CambriaMath", "LatinModernMath-Regular", "CMMI10", "STIXGeneral-Italic", "XITSMath"):
        assert is_math_font(font), font
    for font in ("STIXTwoText-Regular", "STIXTwoText-Bold", "LMRoman10-Regular", "Aptos", "CMR10"):
        assert not is_math_font(font), font  # text faces, also of math font families


def test_no_glyphs_no_regions():
    assert detect_formulas([], page_width=612, page_height=792) == []


@needs_latex
def test_a_layout_box_that_took_a_line_of_text_gives_the_display_only():
    """An equation box grown over the sentence above it (the layout model's mistake): the sentence stays text."""
    grown = exact = 0
    for (glyphs, rules, width, height), truth in zip(_pages("cm"), _document("cm").pages, strict=True):
        for t in truth.display:
            x0, y0, x1, y1 = inline_math_score.layout_box(glyphs, t)
            above = [g for g in glyphs if y0 - 16 < (g.bbox[1] + g.bbox[3]) / 2 < y0 - 2]
            if len(above) < 30:  # no full line of text right above this display
                continue
            box = (min(x0, *(g.bbox[0] for g in above)), y0 - 16, max(x1, *(g.bbox[2] for g in above)), y1)
            regions = detect_formulas(glyphs, rules, page_width=width, page_height=height, display_boxes=[box])
            displays = [r for r in regions if r.kind == FormulaKind.DISPLAY]
            grown += 1
            exact += len(displays) == 1 and set(displays[0].glyphs) == set(t.glyphs)
    assert grown >= 3 and exact >= 0.8 * grown, (exact, grown)
