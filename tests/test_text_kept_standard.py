"""Text that `fast` keeps and the layout path used to lose: turned text, sentences a layout model calls a header."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest

from docray.datamodel import LayoutBox, PageText, bbox_union
from docray.operators.textlayer.document import assemble_document
from docray.operators.textlayer.extract import page_spans
from docray.operators.textlayer.lines import group_lines, line_text
from docray.schema import BlockType

NOTES = ["Note: only the most effective method is counted", "na = Not available", "ns = Not shown; see footnote"]
ROW_LABELS = ["Wealth index", "Number of living children", "Scheduled tribe"]
SHORT_CELLS = ["74.8", "55.8", "42.9"]


def _turned_table_pdf() -> bytes:
    """A page whose table and notes are set top to bottom (turned a quarter clockwise), as a report prints a wide
    table on a portrait page: label columns, number columns, and the notes as three narrow columns at the left."""
    canvas = pytest.importorskip("reportlab.pdfgen.canvas")
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(612, 792))
    c.setFont("Helvetica", 8)
    for k, text in enumerate(ROW_LABELS + ["12.5 33.1 8.4", "71.2 0.6 4.0", "44.4 52.3 9.9"]):
        c.saveState()
        c.translate(400 - 10 * k, 700)
        c.rotate(-90)  # the text runs down the page
        c.drawString(0, 0, text)
        c.restoreState()
    for k, text in enumerate(SHORT_CELLS):  # cells too short to tell their direction on their own
        c.saveState()
        c.translate(300 - 10 * k, 500)
        c.rotate(-90)
        c.drawString(0, 0, text)
        c.restoreState()
    for k, text in enumerate(NOTES):
        c.saveState()
        c.translate(200 - 10 * k, 700)
        c.rotate(-90)
        c.drawString(0, 0, text)
        c.restoreState()
    c.showPage()
    c.save()
    return buffer.getvalue()


def _spans(pdf: bytes):
    document = pdfium.PdfDocument(pdf)
    try:
        return page_spans(document[0])
    finally:
        document.close()


def test_side_by_side_vertical_lines_are_not_glued_into_one():
    lines = [line_text(line) for line in group_lines(_spans(_turned_table_pdf()))]
    for text in NOTES + ROW_LABELS + SHORT_CELLS:  # on a turned page, short cells are vertical lines too
        assert text in lines, (text, lines)


def test_turned_notes_beside_a_turned_table_region_are_kept():
    spans = _spans(_turned_table_pdf())
    table = [s for s in spans if s.bbox[0] > 300]  # the label and number columns
    x0, y0, x1, y1 = bbox_union([s.bbox for s in table])
    page = PageText(0, 612.0, 792.0, spans=spans, layout=[LayoutBox(BlockType.TABLE, (x0 - 3, y0 - 3, x1 + 3, y1 + 3), 0.9)])
    text = " ".join(b.text or "" for layout in assemble_document([page]) for b in layout.blocks)
    for note in NOTES:
        assert note in text, text
    assert "footnotena" not in text.lower()  # the notes are lines of their own, not one line


# --------------------------------------------------------------------------- header and footer regions

BODY = [
    "The special registers hold the user profiles that a statement runs under and that it adopted.",
    "Each of them can be read in a query, in a view or in a row permission of the table.",
]
SENTENCE = "Table 3-2 lists the nine built-in global variables."


def _page_with_header(header: str, header_y: float, body_y: float) -> PageText:
    from textlayer_pages import lines_at

    head, _ = lines_at([header], 72, header_y)
    body, _ = lines_at(BODY, 72, body_y)
    box = bbox_union([s.bbox for s in head])
    region = LayoutBox(BlockType.HEADER, (box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2), 0.8)
    return PageText(0, 612.0, 792.0, spans=head + body, layout=[region])


def _kept_and_discarded(page: PageText) -> tuple[str, str]:
    (layout,) = assemble_document([page])
    return " ".join(b.text or "" for b in layout.blocks), " ".join(b.text or "" for b in layout.discarded)


def test_a_sentence_the_layout_model_calls_a_header_is_body_text():
    kept, discarded = _kept_and_discarded(_page_with_header(SENTENCE, 72, 100))
    assert SENTENCE in kept and SENTENCE not in discarded


def test_a_header_below_body_text_is_body_text():
    kept, discarded = _kept_and_discarded(_page_with_header("Row and column access control", 140, 60))
    assert "Row and column access control" in kept and not discarded


def test_a_running_title_at_the_top_stays_a_discarded_header():
    kept, discarded = _kept_and_discarded(_page_with_header("Row and column access control", 40, 100))
    assert "Row and column access control" in discarded and "Row and column" not in kept


# --------------------------------------------------------------------------- equation regions that took a line of text


def _glyph_line(text: str, x: float, baseline: float, size: float = 10.0, advance: float = 5.0):
    from docray.operators.textlayer.pdf_glyphs import Glyph

    out = []
    for k, ch in enumerate(text):
        if ch != " ":
            x0 = x + k * advance
            out.append(Glyph(ch, "CMR10", size, (x0, baseline - 7.0, x0 + advance - 0.4, baseline), (x0, baseline)))
    return out


def test_an_equation_box_that_cuts_a_word_leaves_that_line():
    """A layout box whose left edge falls inside 'representation' took a line of the paragraph: the line (and a
    script set on it) stays out of the display; the display line below stays in."""
    from docray.operators.formula_text.detect_display import cut_lines, from_boxes
    from docray.operators.textlayer.pdf_glyphs import Glyph

    text = _glyph_line("representation of the form s = ux where", 72.0, 210.0)
    script = [Glyph("x", "CMMI7", 7.0, (250.0, 200.0, 254.0, 205.0), (250.0, 205.0))]
    display = _glyph_line("a + b = c", 200.0, 240.0)
    glyphs = text + script + display
    box = (78.0, 195.0, 400.0, 245.0)  # from the 'e' of 'representation' (the 'r' is outside) to the display
    members = [i for i, g in enumerate(glyphs) if box[0] <= (g.bbox[0] + g.bbox[2]) / 2 <= box[2]]
    cut = cut_lines(glyphs, members)
    assert cut == {i for i in members if i < len(text) + len(script)}
    ((taken, _),) = from_boxes(glyphs, [box], [], 10.0)
    assert sorted(taken) == list(range(len(text) + len(script), len(glyphs)))


def test_a_paragraph_line_in_an_equation_region_comes_out_whole_with_its_inline_math():
    from textlayer_pages import lines_at

    from docray.datamodel import Formula, Span
    from docray.schema import FontFlags, FormulaKind

    spans, _ = lines_at(["representation of the form"], 72, 300)
    x = spans[0].bbox[2] + 3
    spans.append(Span(r"s=\hat{u}x_{i}", (x, 300.0, x + 30.0, 310.0), "CMMI10", 10.0, FontFlags.MATH))
    formula_box = (200.0, 320.0, 400.0, 345.0)
    region = bbox_union([spans[0].bbox, formula_box])
    page = PageText(0, 612.0, 792.0, spans=spans, layout=[LayoutBox(BlockType.INTERLINE_EQUATION, region, 0.8)])
    page.formulas = [Formula(FormulaKind.DISPLAY, formula_box, latex=r"\sum_i x_i \le 1")]
    (layout,) = assemble_document([page])
    text = " ".join(b.text or "" for b in layout.blocks)
    assert "representation of the form" in text and r"\hat{u}x_{i}" in text
    (equation,) = [b for b in layout.blocks if b.type == BlockType.INTERLINE_EQUATION]
    assert equation.bbox == formula_box  # the block is its formula, not the region that took the line in
