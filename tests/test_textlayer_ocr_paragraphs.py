"""Paragraphs of OCR lines (no font size): box heights that vary with the letters do not cut a paragraph."""

from __future__ import annotations

from docray.datamodel import Line, Span
from docray.operators.textlayer.paragraphs import split_paragraphs


def _line(y: float, height: float, text: str, size: float = 0.0, x0: float = 132.0, x1: float = 482.0) -> Line:
    box = (x0, y, x1, y + height)
    return Line(spans=[Span(text=text, bbox=box, size=size)], bbox=box)


# box heights of one paragraph's OCR lines, as PP-OCR boxes them (a line without descenders is lower)
HEIGHTS = [13.0, 11.0, 13.0, 13.0, 11.0, 12.5]


def test_ocr_box_heights_do_not_split_a_paragraph():
    lines, y = [], 100.0
    for k, height in enumerate(HEIGHTS):
        lines.append(_line(y, height, f"line {k} of running text that goes on", x1=482.0 if k < 5 else 300.0))
        y += 11.8
    assert len(split_paragraphs(lines, gap_em=0.0)) == 1


def test_a_real_size_change_still_splits():
    ocr = [_line(100.0, 20.0, "A Heading Set Large"), _line(124.0, 12.0, "body text below it"), _line(136, 12, "more")]
    assert [len(p) for p in split_paragraphs(ocr, gap_em=0.0)] == [1, 2]
    # text-layer lines keep the strict rule: 11 pt after 13 pt is a new paragraph
    typed = [_line(100.0, 13.0, "thirteen point line", size=13.0), _line(113.0, 11.0, "eleven point line", size=11.0)]
    assert len(split_paragraphs(typed, gap_em=0.0)) == 2
