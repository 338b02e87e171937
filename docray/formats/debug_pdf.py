"""MinerU's debug renderings: ``<name>_layout.pdf`` and ``<name>_span.pdf``.

Both draw onto a copy of the original PDF with pdfium (the original content is kept; boxes are
added as page objects on top of it):

* :func:`layout_pdf`: every block of ``para_blocks`` (image and table blocks as their sub-blocks:
  body, caption, footnote) filled with a translucent colour per block type and outlined, with its
  reading-order number (the block's ``index``) in red at the box's top right; ``discarded_blocks``
  (headers, footers, page numbers) in grey, without a number.
* :func:`span_pdf`: every line box (thin, light blue, 1 pt outside the line) and span box (outlined, one colour per span
  type: text, inline_equation, interline_equation, image, table); spans of discarded blocks in
  grey.  A span marked ``cross_page`` (MinerU's flag for a span moved onto the previous page's
  paragraph) is drawn on the page after the one that lists it.

middle.json boxes are points on the page *as displayed*: origin top-left, after ``/Rotate``,
relative to the visible (crop) box.  They are mapped back to PDF user space through the page's
:class:`~docray.operators.textlayer.pdf_geometry.PageFrame`, so rotated and cropped pages are
marked where the boxes were found; order numbers are counter-rotated to read upright.  When a
``page_size`` differs from the page's displayed size, boxes are scaled to the page.  Only pages
listed in ``pdf_info`` (by ``page_idx``) are marked; the others stay as they are.
"""

from __future__ import annotations

import ctypes
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from docray.operators.textlayer.pdf_geometry import PageFrame, page_frame

RGB = tuple[int, int, int]
Box = tuple[float, float, float, float]

GREY: RGB = (158, 158, 158)
NUMBER_COLOUR: RGB = (255, 0, 0)
LINE_COLOUR: RGB = (0, 160, 255)
LINE_OUTSET = 1.0  # line boxes are drawn this much outside the line so span boxes stay visible
FILL_ALPHA = 77  # 0.3 of 255
NUMBER_SIZE = 8.0  # points
_DIGIT_WIDTH = 0.556  # Helvetica digit advance, in em
_DIGIT_ASCENT = 0.72  # Helvetica digit height, in em

BLOCK_COLOURS: dict[str, RGB] = {
    "title": (60, 100, 255),
    "text": (200, 60, 160),
    "list": (40, 170, 90),
    "index": (40, 170, 90),
    "image": (90, 200, 60),
    "image_body": (90, 200, 60),
    "image_caption": (255, 150, 0),
    "image_footnote": (255, 210, 0),
    "table": (230, 200, 0),
    "table_body": (230, 200, 0),
    "table_caption": (0, 170, 200),
    "table_footnote": (0, 200, 150),
    "interline_equation": (0, 220, 0),
}
OTHER_BLOCK_COLOUR: RGB = (128, 0, 255)

SPAN_COLOURS: dict[str, RGB] = {
    "text": (255, 0, 0),
    "inline_equation": (0, 200, 0),
    "interline_equation": (0, 0, 255),
    "image": (255, 170, 0),
    "table": (200, 0, 255),
}
OTHER_SPAN_COLOUR: RGB = (0, 0, 0)


@dataclass(frozen=True, slots=True)
class Mark:
    """One box to draw, in displayed page points (top-left origin)."""

    bbox: Box
    colour: RGB
    fill: bool = False  # translucent fill (and outline) rather than an outline only
    width: float = 0.5  # outline width in points
    label: str | None = None  # text at the box's top right


# ---------------------------------------------------------------------------- what to draw


def _box(value: Any) -> Box | None:
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        return None
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _block_key(block: dict[str, Any]) -> tuple[Any, ...]:
    return (block.get("type"), tuple(block.get("bbox") or ()))


def content_blocks(page: dict[str, Any]) -> list[dict[str, Any]]:
    """The page's content blocks in reading order: ``para_blocks`` (or ``preproc_blocks``), plus
    image, table and interline-equation blocks listed only in their own lists."""
    blocks = list(page.get("para_blocks") or page.get("preproc_blocks") or [])
    seen = {_block_key(b) for b in blocks}
    for key in ("images", "tables", "interline_equations"):
        for block in page.get(key) or []:
            if _block_key(block) not in seen:
                seen.add(_block_key(block))
                blocks.append(block)
    return blocks


def layout_marks(page: dict[str, Any]) -> list[Mark]:
    """The boxes of one ``pdf_info`` page for the layout PDF: discarded first, numbers last on top."""
    marks = [Mark(b, GREY, fill=True) for b in (_box(d.get("bbox")) for d in page.get("discarded_blocks") or []) if b]
    labels: list[Mark] = []
    for position, block in enumerate(content_blocks(page)):
        bbox = _box(block.get("bbox"))
        parts = block.get("blocks") or [block]  # two-level image/table blocks: draw their parts
        for part in parts:
            part_box = _box(part.get("bbox"))
            if part_box:
                marks.append(Mark(part_box, BLOCK_COLOURS.get(part.get("type"), OTHER_BLOCK_COLOUR), fill=True))
        index = block.get("index")
        number = index if isinstance(index, int) and not isinstance(index, bool) else position
        if bbox is None and parts:
            bbox = next((b for b in (_box(p.get("bbox")) for p in parts) if b), None)
        if bbox is not None:
            labels.append(Mark(bbox, NUMBER_COLOUR, width=0.0, label=str(number)))
    return marks + labels


def _outset(box: Box, by: float) -> Box:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def _lines(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for part in block.get("blocks") or []:
        yield from part.get("lines") or []
    yield from block.get("lines") or []


def span_marks(page: dict[str, Any]) -> tuple[list[Mark], list[Mark]]:
    """The line and span boxes of one ``pdf_info`` page: (this page's, the next page's)."""
    here: list[Mark] = []
    spans: list[Mark] = []
    carried: list[Mark] = []
    groups = [(b, False) for b in content_blocks(page)] + [(b, True) for b in page.get("discarded_blocks") or []]
    for block, discarded in groups:
        for line in _lines(block):
            line_box = _box(line.get("bbox"))
            line_spans = line.get("spans") or []
            if line_box and not all(s.get("cross_page") for s in line_spans):
                here.append(Mark(_outset(line_box, LINE_OUTSET), LINE_COLOUR, width=0.3))
            for span in line_spans:
                box = _box(span.get("bbox"))
                if box is None:
                    continue
                colour = GREY if discarded else SPAN_COLOURS.get(span.get("type"), OTHER_SPAN_COLOUR)
                (carried if span.get("cross_page") else spans).append(Mark(box, colour, width=0.6))
    return here + spans, carried


# ---------------------------------------------------------------------------- drawing


def layout_pdf(pdf_bytes: bytes, middle: dict[str, Any]) -> bytes:
    """The original PDF with every layout block boxed, coloured by type and numbered in reading order."""
    marks = {int(page["page_idx"]): layout_marks(page) for page in _pages(middle)}
    return draw_marks(pdf_bytes, marks, _page_sizes(middle))


def span_pdf(pdf_bytes: bytes, middle: dict[str, Any]) -> bytes:
    """The original PDF with every line and span boxed, spans coloured by type."""
    pages = _pages(middle)
    marks: dict[int, list[Mark]] = {int(page["page_idx"]): [] for page in pages}
    for page, following in zip(pages, pages[1:] + [None]):
        here, carried = span_marks(page)
        marks[int(page["page_idx"])].extend(here)
        if following is not None:
            marks[int(following["page_idx"])].extend(carried)
    return draw_marks(pdf_bytes, marks, _page_sizes(middle))


def _pages(middle: dict[str, Any]) -> list[dict[str, Any]]:
    pages = middle.get("pdf_info") if isinstance(middle, dict) else None
    if not isinstance(pages, list):
        raise ValueError("middle.json has no pdf_info list")
    return [p for p in pages if isinstance(p, dict) and isinstance(p.get("page_idx"), int)]


def _page_sizes(middle: dict[str, Any]) -> dict[int, tuple[float, float]]:
    sizes = {}
    for page in _pages(middle):
        size = page.get("page_size")
        if (
            isinstance(size, (list, tuple))
            and len(size) == 2
            and all(isinstance(v, (int, float)) and v > 0 for v in size)
        ):
            sizes[int(page["page_idx"])] = (float(size[0]), float(size[1]))
    return sizes


def draw_marks(
    pdf_bytes: bytes, marks: dict[int, list[Mark]], page_sizes: dict[int, tuple[float, float]] | None = None
) -> bytes:
    """A copy of ``pdf_bytes`` with ``marks[page_idx]`` drawn on each listed page.

    ``page_sizes`` (displayed width, height of each page as the boxes were measured) scales the
    boxes to the page where it differs; pages outside the document are ignored.
    """
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        font = pdfium_c.FPDFText_LoadStandardFont(pdf.raw, b"Helvetica")
        if not font:
            raise RuntimeError("pdfium could not load the standard font Helvetica")
        try:
            for page_idx, page_marks in sorted(marks.items()):
                if not page_marks or not 0 <= page_idx < len(pdf):
                    continue
                page = pdf[page_idx]
                try:
                    frame = page_frame(page)
                    size = (page_sizes or {}).get(page_idx)
                    scale = (frame.width / size[0], frame.height / size[1]) if size else (1.0, 1.0)
                    for mark in page_marks:
                        _draw_mark(pdf, page, frame, font, _scaled(mark.bbox, scale), mark)
                    page.gen_content()
                finally:
                    page.close()
        finally:
            pdfium_c.FPDFFont_Close(font)
        buffer = io.BytesIO()
        pdf.save(buffer)
        return buffer.getvalue()
    finally:
        pdf.close()


def _scaled(box: Box, scale: tuple[float, float]) -> Box:
    sx, sy = scale
    return (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)


def to_user(frame: PageFrame, x: float, y: float) -> tuple[float, float]:
    """A displayed point (top-left origin, after rotation) in PDF user space: the inverse of
    :meth:`PageFrame.point`."""
    if frame.rotation == 90:
        u, v = y, frame.box_height - x
    elif frame.rotation == 180:
        u, v = frame.box_width - x, frame.box_height - y
    elif frame.rotation == 270:
        u, v = frame.box_width - y, x
    else:
        u, v = x, y
    return frame.left + u, frame.top - v


def _draw_mark(
    pdf: pdfium.PdfDocument, page: pdfium.PdfPage, frame: PageFrame, font: Any, box: Box, mark: Mark
) -> None:
    if mark.fill or mark.width > 0:
        _insert_rect(page, frame, box, mark)
    if mark.label:
        _insert_label(pdf, page, frame, font, box, mark.label)


def _insert_rect(page: pdfium.PdfPage, frame: PageFrame, box: Box, mark: Mark) -> None:
    xa, ya = to_user(frame, box[0], box[1])
    xb, yb = to_user(frame, box[2], box[3])
    left, bottom = min(xa, xb), min(ya, yb)
    rect = pdfium_c.FPDFPageObj_CreateNewRect(left, bottom, max(xa, xb) - left, max(ya, yb) - bottom)
    if not rect:
        return
    r, g, b = mark.colour
    if mark.fill:
        pdfium_c.FPDFPageObj_SetFillColor(rect, r, g, b, FILL_ALPHA)
    stroke = mark.width > 0
    if stroke:
        pdfium_c.FPDFPageObj_SetStrokeColor(rect, r, g, b, 255)
        pdfium_c.FPDFPageObj_SetStrokeWidth(rect, mark.width)
    fill_mode = pdfium_c.FPDF_FILLMODE_WINDING if mark.fill else pdfium_c.FPDF_FILLMODE_NONE
    pdfium_c.FPDFPath_SetDrawMode(rect, fill_mode, stroke)
    pdfium_c.FPDFPage_InsertObject(page.raw, rect)


def _insert_label(
    pdf: pdfium.PdfDocument, page: pdfium.PdfPage, frame: PageFrame, font: Any, box: Box, text: str
) -> None:
    """``text`` in red, upright on the displayed page, just right of the box's top-right corner
    (inside the box's top-right corner when there is no room on the right)."""
    obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, NUMBER_SIZE)
    if not obj:
        return
    encoded = (text + "\x00").encode("utf-16-le")
    buffer = ctypes.create_string_buffer(encoded, len(encoded))
    pdfium_c.FPDFText_SetText(obj, ctypes.cast(buffer, pdfium_c.FPDF_WIDESTRING))
    pdfium_c.FPDFPageObj_SetFillColor(obj, *NUMBER_COLOUR, 255)
    width = _DIGIT_WIDTH * NUMBER_SIZE * len(text)
    x = box[2] + 1.0 if box[2] + 1.0 + width <= frame.width else max(0.0, box[2] - width - 1.0)
    baseline = box[1] + _DIGIT_ASCENT * NUMBER_SIZE + 0.5
    origin_x, origin_y = to_user(frame, x, baseline)
    angle = math.radians(frame.rotation)  # counter-rotate: the page is shown turned clockwise
    cos, sin = round(math.cos(angle)), round(math.sin(angle))
    pdfium_c.FPDFPageObj_Transform(obj, cos, sin, -sin, cos, origin_x, origin_y)
    pdfium_c.FPDFPage_InsertObject(page.raw, obj)
