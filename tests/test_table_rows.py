"""A structure model's rows checked against the text layer (models.table_rows) and row labels beside a ruled grid
(ruled_tables.with_side_labels), on the words of reportlab-generated PDFs."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest

from docray.models.protocols import TableCell
from docray.models.table_cells import Word, assign_words, cell_text, table_html, words_of
from docray.models.table_rows import drop_empty_rows, split_stacked_rows
from docray.operators.textlayer.extract import page_spans
from docray.operators.textlayer.pdf_segments import page_segments
from docray.operators.textlayer.ruled_tables import grid_html, is_fully_ruled, ruled_grids, with_side_labels

pytest.importorskip("reportlab")
from docray.testing.tables import SALES, row_labels_table_pdf, table_pdf  # noqa: E402

HEADINGS = (("Region name", "Units sold", "Revenue total", "Market share"),)
ROWS = HEADINGS + SALES[1:]


def page_words(pdf: bytes) -> tuple[list[Word], list]:
    page = pdfium.PdfDocument(pdf)[0]
    return words_of((s.text, s.bbox) for s in page_spans(page)), page_segments(page)


def body(rows) -> str:
    return "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)


def model_cells(
    words: list[Word], glue: tuple[int, ...] = (), empty_rows_below: int = 0, gap_before: tuple[int, ...] = ()
) -> list[TableCell]:
    """The cells a structure model would give for the table whose words these are: one row per text line, but the
    text lines in ``glue`` joined to the line above them, a thin empty row above the lines in ``gap_before`` and
    ``empty_rows_below`` rows below the text."""
    lines = sorted({round((w.box[1] + w.box[3]) / 2) for w in words})
    left = min(w.box[0] for w in words) - 6  # table_pdf: columns 90 points wide, text 6 points in
    rows: list[list[float]] = []
    for k, y in enumerate(lines):
        if k in gap_before:
            rows[-1][1] = y - 9
            rows.append([y - 9, y - 6])
        if k in glue:
            rows[-1][1] = y + 8
        else:
            rows.append([y - 6 if k in gap_before else y - 8, y + 8])
    for _ in range(empty_rows_below):
        rows.append([rows[-1][1], rows[-1][1] + 16])
    return [
        TableCell(row=r, col=c, box=(left + 90 * c, top, left + 90 * (c + 1), bottom))
        for r, (top, bottom) in enumerate(rows)
        for c in range(4)
    ]


def html_of(cell_words) -> str:
    return table_html([c for c, _ in cell_words], [cell_text(ws) for _, ws in cell_words])


def w(text: str, x: float, line: int) -> Word:
    """A word 30 points wide on text line ``line`` (lines 12 points apart from y=100)."""
    return Word(text, (x, 100.0 + 12 * line, x + 30, 110.0 + 12 * line))


def column_cells(rows: list[tuple[float, float]], num_cols: int) -> list[TableCell]:
    """Cells of the rows ``(top, bottom)`` and columns 50 points wide from x=8."""
    return [
        TableCell(row=r, col=c, box=(8 + 50 * c, top, 58 + 50 * c, bottom))
        for r, (top, bottom) in enumerate(rows)
        for c in range(num_cols)
    ]


@pytest.fixture(scope="module")
def table_words() -> list[Word]:
    words, _ = page_words(table_pdf(ROWS, rules="none", title="Sales"))
    note = min(w.box[1] for w in words if w.text == "preliminary")  # the paragraph below the table
    return [w for w in words if w.text != "Sales" and w.box[1] < note - 6]


def test_a_glued_row_is_split_into_its_lines_and_empty_rows_go(table_words):
    cells = model_cells(table_words, glue=(3,), empty_rows_below=2, gap_before=(2,))  # "South" and "East" one row
    glued = list(zip(cells, assign_words(table_words, cells, region=(0, 0, 600, 800))))
    empty = "<tr><td></td><td></td><td></td><td></td></tr>"
    assert "South East" in html_of(glued) and html_of(glued).endswith(empty + "</table>")
    assert f"21%</td></tr>{empty}<tr><td>South" in html_of(glued)
    fixed = drop_empty_rows(split_stacked_rows(glued))
    assert html_of(fixed) == "<table>" + body(ROWS) + "</table>"


def test_rows_whose_cells_differ_in_lines_stay_one_row():
    # a header whose headings wrap onto two lines but one, and a body row with one wrapped cell
    header = [w("Region", 10, 0), w("name", 10, 1), w("Units", 60, 0), w("sold", 60, 1), w("Share", 110, 0)]
    wrapped = [w("North", 10, 2), w("and", 10, 3), w("1200", 60, 2), w("21%", 110, 2)]
    single = [w("South", 10, 4), w("980", 60, 4), w("18%", 110, 4)]
    rows = [(100, 124), (124, 148), (148, 160)]
    cells = column_cells(rows, 3)
    cell_words = list(zip(cells, assign_words(header + wrapped + single, cells, region=(0, 0, 200, 200))))
    assert split_stacked_rows(cell_words) == cell_words
    assert drop_empty_rows(cell_words) == cell_words


def test_a_header_row_whose_headings_all_wrap_is_not_split():
    words = [w("Units", 10, 0), w("sold", 10, 1), w("Share", 60, 0), w("held", 60, 1)]
    words += [w("1200", 10, 2), w("21%", 60, 2)]
    cells = column_cells([(98, 122), (122, 136)], 2)
    cell_words = list(zip(cells, assign_words(words, cells, region=(0, 0, 200, 200))))
    assert split_stacked_rows(cell_words) == cell_words  # above the first row of single lines: the header


@pytest.mark.parametrize("side", ["left", "right"])
def test_row_labels_beside_a_ruled_grid_are_its_first_or_last_column(side):
    rows = [list(r) if side == "left" else list(r[1:] + r[:1]) for r in SALES]
    rows[0][0 if side == "left" else -1] = ""  # the label column has no heading
    words, segments = page_words(row_labels_table_pdf(rows, side=side))
    (grid,) = ruled_grids(segments, words)
    assert (grid.num_rows, grid.num_cols) == (5, 4)
    assert is_fully_ruled(grid, words)
    assert grid_html(grid, words) == "<table>" + body(rows) + "</table>"


def test_prose_beside_a_ruled_grid_is_not_taken_for_row_labels():
    words, segments = page_words(table_pdf(rules="grid"))
    (grid,) = ruled_grids(segments, words)
    x0, y0, _, y1 = grid.bbox
    height = words[0].box[3] - words[0].box[1]
    # lines of a text column beside the table, 7 points apart: several lines per row band, some across the rules
    prose = [Word("text", (x0 - 80, y, x0 - 20, y + height)) for y in [y0 + 7 * k for k in range(int((y1 - y0) / 7))]]
    assert with_side_labels(grid, words + prose, text_height=height) == grid
    mids = [(a[1] + b[0]) / 2 for a, b in zip(grid.rows, grid.rows[1:])]
    far = [Word("far", (x0 - 200, y - 4, x0 - 170, y + 4)) for y in mids]
    assert with_side_labels(grid, words + far, text_height=height) == grid  # one word per row, but far away


def test_empty_rows_cut_the_spans_that_reach_into_them_and_a_filled_span_keeps_its_rows():
    def cell(r, c, rowspan=1):
        return TableCell(row=r, col=c, rowspan=rowspan, box=(50.0 * c, 20.0 * r, 50.0 * (c + 1), 20.0 * (r + rowspan)))

    def word(text):
        return [Word(text, (0.0, 0.0, 10.0, 10.0))]

    # rows: 0 "A" | "Note" (rowspan 3, filled: keeps rows 1 and 2); 1 empty; 2 empty; 3 "B" | empty cell (rowspan 2);
    # 4 empty: the empty rowspan cell is cut to row 3
    cell_words = [
        (cell(0, 0), word("A")), (cell(0, 1, 3), word("Note")), (cell(1, 0), []), (cell(2, 0), []),
        (cell(3, 0), word("B")), (cell(3, 1, 2), []), (cell(4, 0), []),
    ]  # fmt: skip
    out = drop_empty_rows(cell_words)
    expected = [(0, 0, 1), (0, 1, 3), (1, 0, 1), (2, 0, 1), (3, 0, 1), (3, 1, 1)]
    assert [(c.row, c.col, c.rowspan) for c, _ in out] == expected


def test_rows_that_all_stack_two_lines_are_kept_as_designed():
    header = [w("Name", 10, 0), w("Phone", 60, 0)]
    people = [w(f"P{k}", 10, 1 + 2 * k) for k in range(4)] + [w(f"Dr{k}", 10, 2 + 2 * k) for k in range(4)]
    numbers = [w(f"55{k}", 60, 1 + 2 * k) for k in range(4)] + [w(f"66{k}", 60, 2 + 2 * k) for k in range(4)]
    rows = [(98, 111)] + [(111 + 24 * k, 135 + 24 * k) for k in range(4)]
    cells = column_cells(rows, 2)
    cell_words = list(zip(cells, assign_words(header + people + numbers, cells, region=(0, 0, 200, 300))))
    assert split_stacked_rows(cell_words) == cell_words  # a name over a title and two numbers in every row
    glued_once = cell_words[:2] + [(c, ws[:1]) for c, ws in cell_words[2:8]] + cell_words[8:]  # only the last stacks
    assert len(split_stacked_rows(glued_once)) == len(cell_words) + 2
