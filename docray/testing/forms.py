"""Synthetic documents that are not papers: receipts, forms and slides (label/value rows), for tests and checks.

A receipt or a form is a stack of rows, each a label at the left and its value at the right edge
(``TOTAL`` ... ``12.50``), with a few centred lines (shop name, address) above.  Each builder returns
the document's bytes and the rows as ``(label, value)`` pairs, so a test can check that every label
is followed by its value on one line.  reportlab and Pillow are imported lazily (``docray[dev]``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from docray.testing.pdfs import _canvas_module, _font

RECEIPT_HEADER = ("CORNER HARDWARE SDN BHD", "No. 12, Jalan Besar, 81620 Pengerang", "TAX INVOICE")
RECEIPT_ROWS = (
    ("Invoice No:", "CS00012345"),
    ("Date:", "23-01-2019"),
    ("Cashier:", "ALICE TAN"),
    ("Steel Nails 2in", "4.50"),
    ("Wood Glue 500ml", "12.90"),
    ("Paint Brush Set", "8.00"),
    ("Subtotal:", "25.40"),
    ("Rounding:", "0.00"),
    ("TOTAL:", "25.40"),
    ("Cash:", "30.00"),
    ("Change:", "4.60"),
)
FORM_TITLE = "Membership Application"
FORM_ROWS = (
    ("Name:", "Jane Example"),
    ("Member number:", "00042-B"),
    ("Street:", "Harbour Road 7"),
    ("City:", "Port Smith"),
    ("Phone:", "+1 555 0100"),
    ("Email:", "jane@example.org"),
    ("Date of birth:", "1980-02-29"),
    ("Signature:", "J. Example"),
)


@dataclass(frozen=True, slots=True)
class RowsDocument:
    data: bytes  # the PDF or image bytes
    header: tuple[str, ...]  # lines above the rows
    rows: tuple[tuple[str, str], ...]  # (label, value), top to bottom


def receipt_pdf(rows: tuple[tuple[str, str], ...] = RECEIPT_ROWS, header: tuple[str, ...] = RECEIPT_HEADER) -> RowsDocument:
    """A born-digital till receipt (a narrow page): centred header lines, then label/value rows, values right-aligned."""
    width, size, leading = 230.0, 8.0, 13.0
    height = 60 + leading * (len(header) + len(rows) + 2)
    buffer = io.BytesIO()
    pdf = _canvas_module().Canvas(buffer, pagesize=(width, height), invariant=1)
    y = height - 30
    for line in header:
        pdf.setFont("Helvetica-Bold", size + 1)
        pdf.drawCentredString(width / 2, y, line)
        y -= leading
    y -= leading
    pdf.setFont("Courier", size)
    for label, value in rows:
        pdf.drawString(14, y, label)
        pdf.drawRightString(width - 14, y, value)
        y -= leading
    pdf.showPage()
    pdf.save()
    return RowsDocument(buffer.getvalue(), header, rows)


def form_pdf(rows: tuple[tuple[str, str], ...] = FORM_ROWS, title: str = FORM_TITLE) -> RowsDocument:
    """A filled-in form on a letter page: a title, then labels at the left margin and values in a column to their right."""
    width, height = 612.0, 792.0
    buffer = io.BytesIO()
    pdf = _canvas_module().Canvas(buffer, pagesize=(width, height), invariant=1)
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawString(72, height - 90, title)
    y = height - 140
    for label, value in rows:
        pdf.setFont("Helvetica-Bold", 11)
        pdf.drawString(72, y, label)
        pdf.setFont("Helvetica", 11)
        pdf.drawString(300, y, value)
        pdf.line(295, y - 4, 540, y - 4)
        y -= 34
    pdf.showPage()
    pdf.save()
    return RowsDocument(buffer.getvalue(), (title,), rows)


def receipt_image(rows: tuple[tuple[str, str], ...] = RECEIPT_ROWS, header: tuple[str, ...] = RECEIPT_HEADER, *, scale: int = 3) -> RowsDocument:
    """A scanned receipt as a PNG: the layout of :func:`receipt_pdf` drawn in pixels (no text layer)."""
    from PIL import Image, ImageDraw

    font_px, leading, margin, width = 12 * scale, 20 * scale, 16 * scale, 300 * scale
    height = margin * 2 + leading * (len(header) + len(rows) + 1)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = _font(font_px)
    y = margin
    for line in header:
        text_width = draw.textlength(line, font=font)
        draw.text(((width - text_width) / 2, y), line, fill=0, font=font)
        y += leading
    y += leading
    for label, value in rows:
        draw.text((margin, y), label, fill=0, font=font)
        draw.text((width - margin - draw.textlength(value, font=font), y), value, fill=0, font=font)
        y += leading
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return RowsDocument(buffer.getvalue(), header, rows)
