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
    for text in NOTES + ROW_LABELS:
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
