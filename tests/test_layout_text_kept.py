"""No text-layer text is lost to the layout model (layout_page + held_text): pure functions, then real runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from textlayer_pages import lines_at, span

from docray.datamodel import Crop, Formula, LayoutBox, Line, PageText, TableRegion, bbox_union
from docray.evaluation.word_recall import prose_words, word_recall
from docray.operators.textlayer.document import assemble_document
from docray.operators.textlayer.held_text import html_text, latex_text, tokens, unheld_lines
from docray.schema import BlockType, FormulaKind
from docray.testing.latex import compile_latex, pdflatex
from docray.testing.latex_book import book_source

W, H = 612.0, 792.0
ROWS = ["Algeria 33 003", "Angola 15 421", "Benin 7 606", "Zimbabwe 12 160"]
TABLE_HTML = "<table><tr><td>Algeria</td><td>33 003</td></tr><tr><td>Angola</td><td>15 421</td></tr></table>"


def _lines(texts: list[str], x: float, y: float) -> list[Line]:
    spans, _ = lines_at(texts, x, y)
    return [Line(spans=[s], bbox=s.bbox) for s in spans]


def _around(spans, pad: float = 3.0):
    x0, y0, x1, y1 = bbox_union([s.bbox for s in spans])
    return (x0 - pad, y0 - pad, x1 + pad, y1 + pad)


def _text(pages: list[PageText]) -> str:
    layouts = assemble_document(pages)
    return "\n".join(b.text or b.latex or "" for layout in layouts for b in layout.blocks)


# --------------------------------------------------------------------------- held_text


def test_tokens_count_words_by_length_and_numbers_on_request():
    assert tokens("Where x_1 = 42, the Ångström ratio", 4, numbers=False) == ["where", "ångström", "ratio"]
    assert tokens("Benin 7 606", 1, numbers=True) == ["benin", "7", "606"]
    assert html_text("<td>A&amp;B</td><td>2</td>").split() == ["A&B", "2"]
    assert tokens(latex_text(r"x \text{where} y"), 1, numbers=False) == ["x", "where", "y"]


def test_rows_a_table_lost_are_unheld():
    lines = _lines(ROWS, 72, 100)
    lost = unheld_lines(lines, html_text(TABLE_HTML))
    assert [ln.text for ln in lost] == ["Benin 7 606", "Zimbabwe 12 160"]


def test_a_repeated_row_is_held_once():
    lines = _lines(["Angola 15 421", "Angola 15 421"], 72, 100)
    assert [ln.text for ln in unheld_lines(lines, html_text(TABLE_HTML))] == ["Angola 15 421"]


def test_equation_leftovers_keep_words_not_glyphs():
    lines = _lines(["where each term is bounded", "x 2 + y", "(3)"], 72, 100)
    kept = unheld_lines(lines, latex_text(r"\sum_i x_i^2 + y"), min_letters=4, numbers=False)
    assert [ln.text for ln in kept] == ["where each term is bounded"]
    held = unheld_lines(lines[:1], latex_text(r"\text{where each term is bounded}"), min_letters=4, numbers=False)
    assert held == []


# --------------------------------------------------------------------------- layout_page through the assembler


def test_table_rows_missing_from_its_html_come_out_as_text():
    spans, _ = lines_at(ROWS, 100, 200)
    page = PageText(0, W, H, spans=spans, layout=[LayoutBox(BlockType.TABLE, _around(spans), 0.9)])
    page.tables = [TableRegion(bbox=page.layout[0].bbox, html=TABLE_HTML)]
    layouts = assemble_document([page])
    tables = [b for b in layouts[0].blocks if b.type == BlockType.TABLE]
    assert len(tables) == 1 and "Algeria" in (tables[0].html or "")
    text = "\n".join(b.text for b in layouts[0].blocks if b.type == BlockType.TEXT)
    assert "Benin 7 606" in text and "Zimbabwe 12 160" in text and "Algeria" not in text


def test_a_table_with_only_a_crop_keeps_its_text():
    spans, _ = lines_at(ROWS, 100, 200)
    box = _around(spans)
    page = PageText(0, W, H, spans=spans, layout=[LayoutBox(BlockType.TABLE, box, 0.9)])
    page.crops = [Crop(BlockType.TABLE, box, b"\xff\xd8 not really a jpeg")]
    layouts = assemble_document([page])
    assert any(b.type == BlockType.TABLE and b.img_path for b in layouts[0].blocks)
    assert all(row in _text([page]) for row in ROWS)


def test_words_inside_an_equation_region_beside_its_formula_are_text():
    prose, _ = lines_at(["We remark that the sum below is bounded by the norm."], 72, 300)
    formula_box = (200.0, 320.0, 400.0, 345.0)
    region = bbox_union([prose[0].bbox, formula_box])
    page = PageText(0, W, H, spans=prose, layout=[LayoutBox(BlockType.INTERLINE_EQUATION, region, 0.8)])
    page.formulas = [Formula(FormulaKind.DISPLAY, formula_box, latex=r"\sum_i x_i \le \|x\|")]
    text = _text([page])
    assert "We remark that the sum below is bounded by the norm." in text
    assert r"\sum_i x_i \le \|x\|" in text


def test_a_second_formula_in_one_equation_region_is_kept():
    first, second = (200.0, 300.0, 400.0, 320.0), (200.0, 330.0, 400.0, 350.0)
    page = PageText(0, W, H, layout=[LayoutBox(BlockType.INTERLINE_EQUATION, (150.0, 295.0, 450.0, 355.0), 0.8)])
    page.formulas = [
        Formula(FormulaKind.DISPLAY, first, latex="a = b"),
        Formula(FormulaKind.DISPLAY, second, latex="c = d"),
    ]
    latex = [b.latex for b in assemble_document([page])[0].blocks if b.type == BlockType.INTERLINE_EQUATION]
    assert sorted(latex) == ["a = b", "c = d"]


def test_figure_labels_stay_but_a_sentence_in_the_figure_is_text():
    labels = [span("axis", 120, 200, 8), span("time (s)", 200, 260, 8)]
    sentence = [span("The sampled values drift slowly upward across every recorded day of the trial.", 90, 300)]
    box = _around(labels + sentence, 10)
    page = PageText(0, W, H, spans=labels + sentence, layout=[LayoutBox(BlockType.IMAGE, box, 0.9)])
    text = _text([page])
    assert "drift slowly upward" in text
    assert "axis" not in text and "time (s)" not in text


def test_a_page_sized_figure_is_the_background_of_its_text():
    title = [span("THE POWER OF STORYTELLING", 150, 60, 24), span("FOR LEADERS", 220, 90, 24)]
    page = PageText(0, W, H, spans=title, layout=[LayoutBox(BlockType.IMAGE, (5.0, 5.0, W - 5, H - 5), 0.9)])
    text = _text([page])
    assert "THE POWER OF STORYTELLING" in text and "FOR LEADERS" in text


# --------------------------------------------------------------------------- real runs

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "olmocr_bench_sample" / "extra_sample_dataset"
EVAL = EVAL / "synth_table"


@pytest.mark.skipif(not (EVAL / "untable.pdf").is_file(), reason="../shared/eval not present")
def test_standard_keeps_the_text_of_a_long_table_that_fast_reads(tmp_path):
    """A 60-row statistical table: the structure model's HTML loses rows; standard must still give their text."""
    from docray.pipelines.executors import LocalExecutor
    from docray.pipelines.runner import run_pipeline
    from docray.pipelines.spec import load_pipeline

    markdown, discarded = {}, ""
    for name in ("fast", "standard"):
        out = tmp_path / name
        run_pipeline(load_pipeline(name), [str(EVAL / "untable.pdf")], str(out), executor=LocalExecutor())
        markdown[name] = next((out / "files").rglob("*.md")).read_text(encoding="utf-8")
        if name == "standard":
            middle = json.loads(next((out / "files").rglob("*_middle.json")).read_text(encoding="utf-8"))
            discarded = " ".join(
                span.get("content", "")
                for page in middle["pdf_info"]
                for block in page.get("discarded_blocks", [])
                for line in block.get("lines", [])
                for span in line.get("spans", [])
            )
    recall = word_recall(prose_words(markdown["fast"]), prose_words(markdown["standard"] + "\n" + discarded))
    assert recall.recall >= 0.97, recall.missing[:20]


@pytest.mark.skipif(pdflatex() is None, reason="pdflatex not installed")
def test_standard_keeps_a_latex_books_text(tmp_path):
    """A book chapter (theorems, definitions, a figure with labels, captions, running heads, TeX accents) through
    fast and standard: standard's Markdown and discarded blocks hold all of fast's words but the figure's labels."""
    from docray.pipelines.executors import LocalExecutor
    from docray.pipelines.runner import run_pipeline
    from docray.pipelines.spec import load_pipeline

    body, preamble = book_source(chapters=1, sections=2, seed=3)
    pdf = tmp_path / "book.pdf"
    pdf.write_bytes(compile_latex(body, preamble))
    texts = {}
    for name in ("fast", "standard"):
        out = tmp_path / name
        run_pipeline(load_pipeline(name), [str(pdf)], str(out), executor=LocalExecutor())
        texts[name] = next((out / "files").rglob("*.md")).read_text(encoding="utf-8")
        if name == "standard":
            middle = json.loads(next((out / "files").rglob("*_middle.json")).read_text(encoding="utf-8"))
            texts[name] += " ".join(
                span.get("content", "")
                for page in middle["pdf_info"]
                for block in page.get("discarded_blocks", [])
                for line in block.get("lines", [])
                for span in line.get("spans", [])
            )
    labels = {w.casefold() for w in re.findall(r"\\put\([^)]*\)\{(\w+)\}", body)}
    recall = word_recall(prose_words(texts["fast"]), prose_words(texts["standard"]))
    assert {word for word, _ in recall.missing} <= labels, recall.missing
    assert recall.recall >= 0.99
    assert "Ján Mináč" in texts["fast"] and "Ján Mináč" in texts["standard"]
    for heading in ("Definition 1.1 (", "Theorem 1.2.", "Lemma 1.3.", "Figure 1.1:", "Table 1.1:"):
        assert heading in texts["standard"], heading
