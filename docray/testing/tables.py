"""Born-digital PDFs with tables for tests: ruled, partly ruled and unruled grids (reportlab), and prose pages.

Every builder returns the PDF bytes of one A4 page; ``rows`` are the cell texts, ``spans`` reportlab
``SPAN`` ranges ``((col0, row0), (col1, row1))`` (the cells a spanning cell covers hold ``""``).
"""

from __future__ import annotations

import io
from typing import Literal, Sequence

Rules = Literal["grid", "columns", "none"]

SALES = (
    ("Region", "Units", "Revenue", "Share"),
    ("North", "1200", "45.3", "21%"),
    ("South", "980", "38.1", "18%"),
    ("East", "1430", "52.7", "25%"),
    ("West", "2010", "77.9", "36%"),
)


def table_pdf(
    rows: Sequence[Sequence[str]] = SALES,
    *,
    rules: Rules = "grid",
    spans: Sequence[tuple[tuple[int, int], tuple[int, int]]] = (),
    title: str = "Table 1: Sales by region",
) -> bytes:
    """A page with a title paragraph and one table: ``grid`` draws every rule, ``columns`` only the outer box,
    the header rule and the column rules (the body rows are not ruled), ``none`` no rule at all."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    style: list[tuple] = [("FONT", (0, 0), (-1, -1), "Helvetica", 10)]
    if rules == "grid":
        style.append(("GRID", (0, 0), (-1, -1), 0.5, colors.black))
    elif rules == "columns":
        style += [
            ("BOX", (0, 0), (-1, -1), 0.5, colors.black),
            ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
            ("LINEAFTER", (0, 0), (-2, -1), 0.5, colors.black),
        ]
    style += [("SPAN", start, end) for start, end in spans]
    buffer = io.BytesIO()
    sheet = getSampleStyleSheet()
    story = [Paragraph(title, sheet["Heading2"]), Spacer(1, 12), Table([list(r) for r in rows], colWidths=90, style=TableStyle(style))]
    story += [Spacer(1, 18), Paragraph("The figures above are preliminary and may change in the final report.", sheet["Normal"])]
    SimpleDocTemplate(buffer, pagesize=A4).build(story)
    return buffer.getvalue()


def prose_pdf() -> bytes:
    """A page of paragraphs, a bulleted list and a numbered reference list: no table."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer

    sheet = getSampleStyleSheet()
    sentence = "Born-digital reports mix prose with lists, references and the occasional table of figures. "
    story = [Paragraph("Introduction", sheet["Heading2"]), Paragraph(sentence * 6, sheet["Normal"]), Spacer(1, 12)]
    story.append(ListFlowable([ListItem(Paragraph(f"Item {k}: {sentence}", sheet["Normal"])) for k in range(1, 5)], bulletType="bullet"))
    story.append(Spacer(1, 12))
    story.append(
        ListFlowable(
            [ListItem(Paragraph(f"A. Author{k}, B. Writer. A study of tables in documents, volume {k}. Journal of Tests, 20{k:02d}.", sheet["Normal"])) for k in range(1, 7)],
            bulletType="1",
        )
    )
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4).build(story)
    return buffer.getvalue()


def sideways_table_pdf(
    rows: Sequence[Sequence[str]], *, angle: Literal[90, 270] = 90, heading: Sequence[tuple[int, str]] = ()
) -> bytes:
    """A page with one unruled table set sideways (turned ``angle`` degrees anticlockwise: 90 reads bottom to
    top), one string per cell, the first column 110 points wide, the others 56; ``heading`` is a row above the
    table of ``(column, text)`` pieces, each starting at its column and as long as its text (a long one crosses
    the gutters to its right, as a heading over several columns does)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    width, height = A4
    page.translate(width / 2, 60 if angle == 90 else height - 60)
    page.rotate(angle)
    page.setFont("Helvetica", 9)
    rows = ([heading] if heading else []) + [list(enumerate(row)) for row in rows]
    for r, pieces in enumerate(rows):
        for k, text in pieces:
            page.drawString(0 if k == 0 else 110 + 56 * (k - 1), -20.0 - 12 * r, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def vertical_header_pdf(rows: Sequence[Sequence[str]]) -> bytes:
    """A page with one unruled table whose first row is set vertically (each heading reads bottom to top above
    its column, as in election returns) and whose other rows are horizontal, columns 30 points apart."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    _, height = A4
    page.setFont("Helvetica", 9)
    top = height - 200
    for k, text in enumerate(rows[0]):
        page.saveState()
        page.translate(80 + 30 * k + 9, top)
        page.rotate(90)
        page.drawString(0, 0, text)
        page.restoreState()
    for r, row in enumerate(rows[1:]):
        for k, text in enumerate(row):
            page.drawString(80 + 30 * k, top - 14 - 12 * r, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def row_labels_table_pdf(rows: Sequence[Sequence[str]] = SALES, *, side: Literal["left", "right"] = "left") -> bytes:
    """A page with one table whose cells are ruled but for its label column (the first, or with ``side="right"``
    the last), set just outside the grid, as statistical tables print their row names; ``rows`` include it."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    ruled = ((1, 0), (-1, -1)) if side == "left" else ((0, 0), (-2, -1))
    style = [("FONT", (0, 0), (-1, -1), "Helvetica", 10), ("GRID", *ruled, 0.5, colors.black)]
    label_column = 0 if side == "left" else -1
    style.append(("ALIGN", (label_column, 0), (label_column, -1), "RIGHT" if side == "left" else "LEFT"))
    buffer = io.BytesIO()
    sheet = getSampleStyleSheet()
    widths = [60 if k == (0 if side == "left" else len(rows[0]) - 1) else 70 for k in range(len(rows[0]))]
    story = [Paragraph("Table 2: Sales by region", sheet["Heading2"]), Spacer(1, 12)]
    story.append(Table([list(r) for r in rows], colWidths=widths, style=TableStyle(style)))
    SimpleDocTemplate(buffer, pagesize=A4).build(story)
    return buffer.getvalue()
