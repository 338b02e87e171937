"""Numbers inside right-to-left text: laid out left to right as a unit, read whole and in logical order.

The PDFs are drawn as a bidi-aware writer draws them: characters in logical order, each set at its visual place
(right-to-left letters leftwards from the right margin, a number's digits left to right inside the room the number
takes), in DejaVu Sans, which has Hebrew and Arabic glyphs.  pdfium reads them back in content order.
"""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from docray.operators.textlayer.extract import page_spans
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import load_pipeline

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SIZE = 12.0
pytestmark = pytest.mark.skipif(not DEJAVU.exists(), reason="needs DejaVu Sans (fonts-dejavu-core)")


def _draw_rtl_line(c: canvas.Canvas, parts: list[str], right: float, y: float) -> None:
    """Draws the logical-order ``parts`` (words of a right-to-left script, numbers, separated by parts " ")
    right-to-left from ``right``: a right-to-left word's letters leftwards, a number's characters left to right."""
    x = right
    for part in parts:
        width = pdfmetrics.stringWidth(part, "DejaVu", SIZE)
        if part[0].isdigit() or part[0] in "-+" or part.isascii():
            x -= width
            for ch in part:  # left to right, one glyph at a time, as a bidi layout sets them
                c.drawString(x, y, ch)
                x += pdfmetrics.stringWidth(ch, "DejaVu", SIZE)
            x -= width
        else:
            for ch in part:
                x -= pdfmetrics.stringWidth(ch, "DejaVu", SIZE)
                c.drawString(x, y, ch)


def _rtl_pdf(lines: list[list[str]]) -> bytes:
    """A page of right-to-left lines, the first at the top."""
    pdfmetrics.registerFont(TTFont("DejaVu", str(DEJAVU)))
    buffer = io.BytesIO()
    height = 100 + 30 * len(lines)
    c = canvas.Canvas(buffer, pagesize=(500, height))
    c.setFont("DejaVu", SIZE)
    for i, parts in enumerate(lines):
        _draw_rtl_line(c, parts, 450, height - 60 - 30 * i)
    c.save()
    return buffer.getvalue()


def _spans_of(lines: list[list[str]]) -> list[str]:
    pdf = pdfium.PdfDocument(_rtl_pdf(lines))
    try:
        return [span.text for span in page_spans(pdf[0])]
    finally:
        pdf.close()


ARABIC_CATS = ["عندي", " ", "47", " ", "قطط"]  # "I have 47 cats"
HEBREW_PRICE = ["המחיר", " ", "3.5", " ", "שקל"]  # "the price 3.5 shekel"
HEBREW_THOUSANDS = ["שילמנו", " ", "1,250,000", " ", "דולר", " ", "בשנת", " ", "2024"]  # a long number, a year
ARABIC_FIRST = ["47", " ", "قطة", " ", "عندي"]  # the line starts (logically) with the number


def test_numbers_in_right_to_left_lines_stay_whole_and_in_logical_order():
    spans = _spans_of([ARABIC_CATS, HEBREW_PRICE, HEBREW_THOUSANDS, ARABIC_FIRST])
    assert spans == ["عندي 47 قطط", "המחיר 3.5 שקל", "שילמנו 1,250,000 דולר בשנת 2024", "47 قطة عندي"]


def test_a_latin_word_in_right_to_left_text_is_read_whole_as_a_word_of_its_own():
    """A Latin word set left to right inside a Hebrew line, the next Hebrew word touching it (no space glyph
    where the direction changes, as bidi layouts often leave it out): one span, the word whole, spaced."""
    assert _spans_of([["כתוב", " ", "Python", "היום"]]) == ["כתוב Python היום"]


def test_two_right_to_left_columns_with_numbers_stay_apart():
    """Two columns on one baseline, each a right-to-left line ending (logically) in a number: the number of the
    right column is set left of its words, yet it never reaches over the gap into the left column."""
    pdfmetrics.registerFont(TTFont("DejaVu", str(DEJAVU)))
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(500, 100))
    c.setFont("DejaVu", SIZE)
    _draw_rtl_line(c, ["עמוד", " ", "12"], 450, 50)
    _draw_rtl_line(c, ["סעיף", " ", "3.5"], 250, 50)
    c.save()
    pdf = pdfium.PdfDocument(buffer.getvalue())
    try:
        spans = [span.text for span in page_spans(pdf[0])]
    finally:
        pdf.close()
    assert sorted(spans) == sorted(["עמוד 12", "סעיף 3.5"])


def test_fast_pipeline_markdown_reads_numbers_whole_in_right_to_left_lines(tmp_path):
    pdf = tmp_path / "rtl.pdf"
    pdf.write_bytes(_rtl_pdf([ARABIC_CATS, [], HEBREW_THOUSANDS]))
    run_pipeline(load_pipeline("fast"), [str(pdf)], str(tmp_path / "out"), executor=LocalExecutor())
    markdown = next((tmp_path / "out" / "files").rglob("*.md")).read_text(encoding="utf-8")
    assert "عندي 47 قطط" in markdown
    assert "שילמנו 1,250,000 דולר בשנת 2024" in markdown
