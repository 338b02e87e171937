"""Ruled grids that frame running text (a cover page's bands, a box around a paragraph) are no tables
(operators/textlayer/text_frames.py, page_tables.from_grid), on reportlab-generated PDFs."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest

from docray.models.table_cells import Word, words_of
from docray.operators.textlayer.extract import page_spans
from docray.operators.textlayer.page_tables import FRAME_LABEL, RULED_LABEL, from_grid, merge_tables
from docray.operators.textlayer.pdf_segments import page_segments
from docray.operators.textlayer.ruled_tables import ruled_grids
from docray.operators.textlayer.text_frames import frames_running_text, is_running_text, text_lines

pytest.importorskip("reportlab")
from docray.testing.tables import table_pdf  # noqa: E402

PROSE = ("This publication describes how the service controls access to the records of a database in a way that is "
         "both complete and transparent to the applications that read them. It explains the rules, shows how they "
         "are written and activated, and walks through an example from start to end. It is meant for engineers, "
         "developers and security officers who design the controls of their data.")  # fmt: skip
REGISTERS = (("Register", "Value"),
             ("USER", "The effective user of the thread, without the authority it adopted from a procedure."),
             ("CURRENT_USER", "The effective user of the thread with adopted authority; without, the same as USER."),
             ("SYSTEM_USER", "The authorisation name that started the connection to the database server."))  # fmt: skip


def _grid_pdf(rows, widths, style) -> bytes:
    """One reportlab table of wrapped cells (Paragraphs) with the given rules."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    body = getSampleStyleSheet()["BodyText"]
    table = Table([[Paragraph(c, body) if c else "" for c in row] for row in rows], colWidths=widths)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), *style]))
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4).build([table])
    return buf.getvalue()


def _cover_pdf() -> bytes:
    """A cover page's frame: a paragraph in a box, a band beside it with a heading and a link, red rules."""
    from reportlab.lib import colors

    rows = [[PROSE, "INTERNATIONAL TECHNICAL SUPPORT ORGANIZATION"], ["", "For more information: example.com"]]
    style = [("BOX", (0, 0), (-1, -1), 1, colors.red), ("LINEAFTER", (0, 0), (0, -1), 1, colors.red),
             ("LINEBELOW", (1, 0), (1, 0), 1, colors.red), ("SPAN", (0, 0), (0, 1))]  # fmt: skip
    return _grid_pdf(rows, [300, 160], style)


def _grids(pdf: bytes):
    page = pdfium.PdfDocument(pdf)[0]
    words = words_of((s.text, s.bbox) for s in page_spans(page))
    return ruled_grids(page_segments(page), words), words


def test_a_frame_around_a_paragraph_is_no_table_and_merge_drops_it():
    (grid,), words = _grids(_cover_pdf())
    assert grid.num_rows * grid.num_cols >= 4  # the rules do enclose cells
    assert frames_running_text(grid, words)
    found = from_grid(grid, words)
    assert found.label == FRAME_LABEL and found.html is None
    layout = [{"type": "text", "bbox": [60.0, 60.0, 500.0, 80.0], "score": 0.9, "label": "plain text"}]
    merged = merge_tables(layout, [found])
    assert merged.layout_blocks == layout and merged.ruled == []  # nothing added: its text is read as text


@pytest.mark.parametrize("name", ["numbers", "descriptions"])
def test_tables_of_short_cells_or_of_several_descriptions_stay_tables(name):
    from reportlab.lib import colors

    ruled = [("GRID", (0, 0), (-1, -1), 0.5, colors.black)]
    pdf = table_pdf(rules="grid") if name == "numbers" else _grid_pdf(REGISTERS, [110, 300], ruled)
    (grid,), words = _grids(pdf)
    assert not frames_running_text(grid, words)
    assert from_grid(grid, words).label == RULED_LABEL


def _words(rows: list[str], top: float = 100.0) -> list[Word]:
    out: list[Word] = []
    for k, row in enumerate(rows):
        x = 50.0
        for text in row.split():
            out.append(Word(text, (x, top + 14 * k, x + 6 * len(text), top + 14 * k + 10)))
            x += 6 * len(text) + 4
    return out


def test_running_text_is_lines_of_several_words():
    assert len(text_lines(_words(["a b", "c d e"]))) == 2
    assert is_running_text(_words(["one two three four five six"] * 3))
    assert not is_running_text(_words(["one two three four five six"] * 2))  # two lines: a cell's wrapped value
    assert not is_running_text(_words(["Total", "25.40", "Cash", "30.00"]))  # stacked labels and values
