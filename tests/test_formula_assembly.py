"""Formulas put in place: inline spans in text, display formulas as equation blocks, MinerU outputs, delimiters."""

from __future__ import annotations

import json

import pytest

from docray.datamodel import Formula, LatexDelimiters, LayoutBox, PageText, Span
from docray.formats.mineru import to_content_list, to_markdown, to_middle_json
from docray.operators.assemble import AssembleConfig
from docray.operators.formula_page import FoundFormula, place_formulas
from docray.operators.textlayer.document import AssembleOptions, assemble_document
from docray.operators.textlayer.lines import group_lines, line_text
from docray.operators.textlayer.pdf_glyphs import Glyph
from docray.pipelines.spec import PipelineError, PipelineSpec, StageSpec
from docray.schema import BlockType, FontFlags, FormulaKind, FormulaSource


def _glyphs(text: str, font: str, x: float, size: float = 10.0, baseline: float = 100.0) -> list[Glyph]:
    out = []
    for char in text:
        if char != " ":
            out.append(Glyph(char, font, size, (x, baseline - 7, x + 5, baseline), (x, baseline)))
        x += 5
    return out


def _line_spans() -> tuple[list[Span], list[Glyph]]:
    """ "is x=2 here": 'x' in CMMI10, '=2 here' in one CMR10 span (as pdfium groups them)."""
    first = _glyphs("is ", "CMR10", 50)
    var = _glyphs("x", "CMMI10", 65)
    rest = _glyphs("=2 here", "CMR10", 70)
    spans = [
        Span("is ", (50, 90, 65, 102), "CMR10", 10.0),
        Span("x", (65, 90, 70, 102), "CMMI10", 10.0, FontFlags.ITALIC),
        Span("=2 here", (70, 90, 105, 102), "CMR10", 10.0),
    ]
    return spans, first + var + rest


def test_inline_formula_replaces_its_glyphs_inside_a_text_span():
    spans, glyphs = _line_spans()
    formula_glyphs = tuple(i for i, g in enumerate(glyphs) if g.text in "x=2")
    found = [FoundFormula(Formula(FormulaKind.INLINE, (65, 93, 80, 100), "x=2", 0.9, FormulaSource.TEXT_LAYER), formula_glyphs)]
    placed = place_formulas(spans, glyphs, found)
    math = [s for s in placed if s.flags & FontFlags.MATH]
    assert [s.text for s in math] == ["x=2"]
    (line,) = group_lines(placed)
    assert line_text(line) == "is $x=2$ here"
    assert line_text(line, ("\\(", "\\)")) == "is \\(x=2\\) here"


def test_formula_without_latex_leaves_the_text_alone():
    spans, glyphs = _line_spans()
    found = [FoundFormula(Formula(FormulaKind.INLINE, (65, 93, 80, 100)), (2, 3, 4))]
    assert place_formulas(spans, glyphs, found) == spans


def test_span_that_cannot_be_matched_glyph_by_glyph_goes_whole():
    spans, glyphs = _line_spans()
    spans[2] = Span("=2 here!", spans[2].bbox, "CMR10", 10.0)  # one character more than its glyphs
    own = tuple(i for i, g in enumerate(glyphs) if g.text in "x=2")
    found = [FoundFormula(Formula(FormulaKind.INLINE, (65, 93, 80, 100), "x=2", 0.9, FormulaSource.TEXT_LAYER), own)]
    placed = place_formulas(spans, glyphs, found)
    texts = [s.text for s in placed]
    assert "=2 here!" in texts  # most of it is not the formula: kept whole ...
    assert not any(s.flags & FontFlags.MATH for s in placed)  # ... so the formula stays text, never written twice


def _page(formulas: list[Formula], layout: list[LayoutBox] | None = None) -> PageText:
    spans = [
        Span("Energy and mass are related by the formula below, which holds in every frame we use", (72, 90, 540, 102), "CMR10", 10.0),
        Span("for every body at rest, and with its momentum added for a moving body in the same way.", (72, 150, 540, 162), "CMR10", 10.0),
    ]
    return PageText(page_idx=0, width=612, height=792, spans=spans, formulas=formulas, layout=layout or [])


def test_display_formula_becomes_an_equation_block_in_every_output():
    display = Formula(FormulaKind.DISPLAY, (250, 115, 330, 135), "E=mc^{2}", 0.95, FormulaSource.TEXT_LAYER)
    layouts = assemble_document([_page([display])], AssembleOptions())
    kinds = [b.type for b in layouts[0].blocks]
    assert BlockType.INTERLINE_EQUATION in kinds
    assert kinds.index(BlockType.INTERLINE_EQUATION) == 1  # between the two paragraphs, in reading order
    markdown = to_markdown(layouts)
    assert "$$\nE=mc^{2}\n$$" in markdown
    (item,) = [i for i in to_content_list(layouts) if i["type"] == "equation"]
    assert item["text"] == "$$\nE=mc^{2}\n$$" and item["text_format"] == "latex"
    middle = to_middle_json(layouts, parse_method="txt", version="test")
    (equation,) = middle["pdf_info"][0]["interline_equations"]
    assert equation["lines"][0]["spans"][0]["content"] == "E=mc^{2}"
    custom = LatexDelimiters(display=("\\[", "\\]"))
    assert "\\[\nE=mc^{2}\n\\]" in to_markdown(layouts, delimiters=custom)


def test_layout_equation_region_takes_the_formula_latex():
    display = Formula(FormulaKind.DISPLAY, (252, 117, 328, 133), "E=mc^{2}", 0.95, FormulaSource.TEXT_LAYER)
    region = LayoutBox(BlockType.INTERLINE_EQUATION, (245, 110, 335, 140), 0.9)
    layouts = assemble_document([_page([display], [region])], AssembleOptions())
    equations = [b for b in layouts[0].blocks if b.type == BlockType.INTERLINE_EQUATION]
    assert len(equations) == 1 and equations[0].latex == "E=mc^{2}"
    assert equations[0].bbox == region.bbox


def test_inline_formula_is_an_inline_equation_span_in_middle_json():
    spans, glyphs = _line_spans()
    own = tuple(i for i, g in enumerate(glyphs) if g.text in "x=2")
    found = [FoundFormula(Formula(FormulaKind.INLINE, (65, 93, 80, 100), "x=2", 0.9, FormulaSource.TEXT_LAYER), own)]
    page = PageText(page_idx=0, width=612, height=792, spans=place_formulas(spans, glyphs, found))
    layouts = assemble_document([page], AssembleOptions(inline_delimiters=("\\(", "\\)")))
    assert layouts[0].blocks[0].text == "is \\(x=2\\) here"
    middle = to_middle_json(layouts, parse_method="txt", version="test")
    spans_json = middle["pdf_info"][0]["para_blocks"][0]["lines"][0]["spans"]
    assert [(s["type"], s["content"].strip()) for s in spans_json if s["type"] == "inline_equation"] == [("inline_equation", "x=2")]


def test_delimiters_come_from_the_user_config_file(tmp_path, monkeypatch):
    config = {"latex-delimiter-config": {"display": {"left": "\\[", "right": "\\]"}, "inline": {"left": "\\(", "right": "\\)"}}}
    path = tmp_path / "docray.json"
    path.write_text(json.dumps(config))
    monkeypatch.setenv("DOCRAY_CONFIG", str(path))
    delimiters = AssembleConfig().delimiters()
    assert delimiters.inline == ("\\(", "\\)") and delimiters.display == ("\\[", "\\]")
    explicit = AssembleConfig.model_validate({"latex_delimiters": {"inline": {"left": "@", "right": "@"}}})
    assert explicit.delimiters().inline == ("@", "@") and explicit.delimiters().display == ("$$", "$$")


def test_formula_stage_needs_render_glyphs():
    from docray.pipelines.plan import build_plan

    stages = [StageSpec(op="ingest"), StageSpec(op="render"), StageSpec(op="formula"), StageSpec(op="assemble")]
    with pytest.raises(PipelineError, match="glyphs"):
        build_plan(PipelineSpec(name="t", stages=stages))
    stages[1] = StageSpec(op="render", config={"glyphs": "math"})
    plan = build_plan(PipelineSpec(name="t", stages=stages))
    assert "glyphs" not in plan.stage("formula").output_schema.names  # dropped after use
    assert "formulas" in plan.stage("formula").output_schema.names
