"""Detached accents (TeX's OT1 ``\\'a``) folded into their letters: pure geometry and real PDFs read by pdfium."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from reportlab.pdfgen import canvas

from docray.operators.textlayer.extract import page_spans
from docray.operators.textlayer.pdf_accents import accented, pair_accents, same_word
from docray.testing.latex import compile_latex, pdflatex


def test_accented_composes_and_restores_dotless_i():
    assert accented("a", ["\u00b4"]) == "\u00e1"
    assert accented("c", ["\u02c7"]) == "\u010d"
    assert accented("S", ["\u02c7"]) == "\u0160"
    assert accented("c", ["\u00b8"]) == "\u00e7"
    assert accented("\u0131", ["\u00b4"]) == "\u00ed"  # \'\i
    assert accented("u", ["\u00a8", "\u00b4"]) == "\u01d8"  # two marks: u with diaeresis and acute


def test_pair_accents_by_geometry():
    # boxes: (x0, y0, x1, y1), y down; letters 'a' 'c' on one line, accents just above them, cedilla just below
    letters = [("a", (10.0, 100.0, 15.0, 106.0)), ("c", (15.5, 100.0, 20.0, 106.0)), ("t", (21.0, 98.0, 24.0, 106.0))]
    accents = [
        ("\u00b4", (11.5, 96.0, 14.0, 98.5)),  # over 'a'
        ("\u00b8", (16.5, 106.5, 18.5, 108.5)),  # under 'c'
        ("\u00b4", (20.3, 96.0, 20.9, 98.0)),  # between 'c' and 't': a prime or a quote, not an accent
        ("\u00b4", (11.5, 80.0, 14.0, 82.5)),  # far above 'a' (a line higher)
    ]
    assert pair_accents(accents, letters) == {0: 0, 1: 1}


def test_same_word_gap():
    assert same_word((0, 0, 5, 10), (5.5, 0, 10, 10))
    assert not same_word((0, 0, 5, 10), (8.0, 0, 12, 10))  # a word gap
    assert not same_word((0, 0, 5, 10), (5.5, 20, 10, 30))  # another line


def _spans_text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(s.text for page in doc for s in page_spans(page))
    finally:
        doc.close()


def test_reportlab_accents_drawn_apart_from_their_letters():
    """Accents drawn after the line (out of text order) over their letters, and a quote beside a letter."""
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(400, 200))
    c.setFont("Helvetica", 12)
    text = "Jan Minac met Zoe at the cafe"
    c.drawString(40, 120, text)
    c.drawString(40, 90, "don\u00b4t move")  # a spacing acute used as an apostrophe stays
    for k, accent in ((1, "\u00b4"), (7, "\u00b4"), (8, "\u00b8"), (16, "\u00a8"), (len(text) - 1, "\u00b4")):
        x = 40 + c.stringWidth(text[:k], "Helvetica", 12)
        w = c.stringWidth(text[k], "Helvetica", 12)
        # on the letter's baseline: the font's accent glyph sits above the letter (a cedilla below)
        c.drawString(x + (w - c.stringWidth(accent, "Helvetica", 12)) / 2, 120, accent)
    c.save()
    out = _spans_text(buffer.getvalue())
    assert "J\u00e1n Min\u00e1\u00e7 met Zo\u00eb at the caf\u00e9" in out
    assert "don\u00b4t move" in out
    assert "\u00b8" not in out and "\u00a8" not in out


@pytest.mark.skipif(pdflatex() is None, reason="pdflatex not installed")
def test_pdflatex_ot1_accents():
    pdf = compile_latex(r"J\'an Min\'a\v{c}, \'Etude na\"\i ve, Fran\c{c}ois and \v{S}im\r{u}nek wrote \'\i.")
    out = _spans_text(pdf)
    assert "J\u00e1n Min\u00e1\u010d, \u00c9tude na\u00efve, Fran\u00e7ois and \u0160im\u016fnek wrote \u00ed." in out
