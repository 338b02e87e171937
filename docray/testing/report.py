"""A one-page report with a title, paragraphs, a ruled table and a figure with a caption.

:func:`report_with_table_and_figure` draws it with reportlab and returns the PDF with its ground
truth, so tests of the model stages (layout, tables, crops, layout-driven assembly) can check
what came out against what was drawn.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

PAGE = (612.0, 792.0)


@dataclass
class SyntheticReport:
    pdf: bytes
    title: str
    paragraphs: list[str]
    table: list[list[str]]  # rows of cell texts, header first
    table_caption: str
    figure_caption: str
    table_box: tuple[float, float, float, float]  # points, top-left origin
    figure_box: tuple[float, float, float, float]


TITLE = "Quarterly Measurements of the Test Station"
PARAGRAPHS = [
    "This report summarises the measurements taken at the test station during the last quarter. "
    "The values below were read from calibrated instruments and checked twice by the operators.",
    "Temperatures stayed within the expected range, while rainfall was higher than in the same quarter "
    "of the previous year. The figure shows the station layout used for the readings.",
]
TABLE = [
    ["Month", "Temperature", "Rainfall", "Wind"],
    ["January", "4.5", "61", "12"],
    ["February", "5.1", "48", "14"],
    ["March", "8.9", "55", "11"],
]
TABLE_CAPTION = "Table 1: Monthly averages at the test station."
FIGURE_CAPTION = "Figure 1: Layout of the test station instruments."


def _figure_image():
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 300), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 580, 280), outline=(30, 30, 30), width=4)
    draw.ellipse((60, 60, 240, 240), fill=(200, 60, 40))
    draw.rectangle((300, 80, 540, 220), fill=(40, 90, 200))
    draw.polygon([(420, 40), (560, 260), (280, 260)], outline=(20, 140, 60), width=6)
    return image


def report_with_table_and_figure() -> SyntheticReport:
    """Draw the report; deterministic bytes."""
    from reportlab.lib import colors
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    from reportlab.platypus import Table, TableStyle

    width, height = PAGE
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=PAGE, invariant=1)
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawString(72, height - 80, TITLE)
    y = height - 120
    pdf.setFont("Times-Roman", 11)
    for paragraph in PARAGRAPHS:
        line = ""
        for word in paragraph.split():
            if pdf.stringWidth(f"{line} {word}".strip(), "Times-Roman", 11) > width - 144:
                pdf.drawString(72, y, line)
                y -= 14
                line = word
            else:
                line = f"{line} {word}".strip()
        pdf.drawString(72, y, line)
        y -= 24

    table = Table(TABLE, colWidths=[110, 100, 90, 70], rowHeights=22)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.8, colors.black),
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 10),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 10),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    table_w, table_h = table.wrap(0, 0)
    table_top = y - 10
    pdf.setFont("Helvetica-Oblique", 10)
    pdf.drawString(72, table_top, TABLE_CAPTION)
    table_top -= 12
    table.drawOn(pdf, 72, table_top - table_h)
    table_box = (72.0, height - table_top, 72.0 + table_w, height - table_top + table_h)

    figure_top = table_top - table_h - 40
    figure_w, figure_h = 360.0, 180.0
    pdf.drawImage(ImageReader(_figure_image()), 72, figure_top - figure_h, figure_w, figure_h)
    figure_box = (72.0, height - figure_top, 72.0 + figure_w, height - figure_top + figure_h)
    pdf.setFont("Helvetica-Oblique", 10)
    pdf.drawString(72, figure_top - figure_h - 16, FIGURE_CAPTION)
    pdf.showPage()
    pdf.save()
    return SyntheticReport(
        pdf=buffer.getvalue(),
        title=TITLE,
        paragraphs=list(PARAGRAPHS),
        table=[list(row) for row in TABLE],
        table_caption=TABLE_CAPTION,
        figure_caption=FIGURE_CAPTION,
        table_box=table_box,
        figure_box=figure_box,
    )
