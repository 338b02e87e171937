"""A document's bytes to its page-row fields: the pure work of the ``render`` operator.

:func:`iter_pdf_page_fields` (streaming), :func:`pdf_page_fields` and :func:`image_page_fields` give,
per selected page, a dict of the page columns of :data:`docray.schema.PAGES` other than the
document's identity columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Literal

import pypdfium2 as pdfium

from docray.datamodel import Span
from docray.operators.base import DocrayError, error_fields
from docray.operators.formula_text.detect_glyphs import page_has_math
from docray.operators.textlayer.extract import page_spans, text_quality
from docray.operators.textlayer.pdf_geometry import (
    PageFrame,
    image_boxes,
    image_coverage,
    page_frame,
)
from docray.operators.textlayer.pdf_glyphs import page_glyphs, page_rules
from docray.operators.textlayer.pdf_image import image_pages, render_page_image
from docray.operators.textlayer.pdf_open import open_pdf
from docray.operators.textlayer.pdf_route import route_page
from docray.operators.textlayer.pdf_segments import (
    is_vertical_span,
    page_segments,
    turned_spans,
    vertical_text_angle,
)
from docray.schema import ErrorCode, ParseMethod, Route, RouteReason, Status

PageFields = dict[str, Any]
GlyphCapture = Literal["none", "math", "all"]


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What to make of a document's pages (the render settings, free of pydantic)."""

    dpi: float = 144.0
    ocr_dpi: float | None = None  # pages routed to OCR are rendered at this dpi instead, when set
    image_format: Literal["png", "jpeg", "none"] = "png"
    jpeg_quality: int = 90
    method: ParseMethod = ParseMethod.AUTO
    start_page: int = 0
    end_page: int | None = None  # inclusive
    max_pages: int = 5000
    max_pixels: int = 25_000_000
    password: str | None = None
    gap_factor: float = 1.0
    glyphs: GlyphCapture = "none"  # per-character records for the formula stage (see RenderConfig.glyphs)
    line_segments: bool = False  # line pieces of the paths of txt pages, for ruled tables (see RenderConfig.line_segments)
    route_thresholds: tuple[tuple[str, float], ...] = ()  # keyword arguments of route_page

    def page_range(self, num_pages: int) -> range:
        """The selected pages of a ``num_pages`` document, clipped to it; raises if none or too many."""
        last = num_pages - 1 if self.end_page is None else min(self.end_page, num_pages - 1)
        selected = range(self.start_page, last + 1)
        if len(selected) == 0:
            wanted = f"{self.start_page}..{'end' if self.end_page is None else self.end_page}"
            raise DocrayError(
                ErrorCode.EMPTY_PAGE_RANGE, f"no pages in the range {wanted}: the document has {num_pages} pages"
            )
        if len(selected) > self.max_pages:
            raise DocrayError(
                ErrorCode.TOO_MANY_PAGES, f"{len(selected)} pages selected, more than max_pages={self.max_pages}"
            )
        return selected


def pdf_page_fields(data: bytes, request: PageRequest) -> list[PageFields]:
    """:func:`iter_pdf_page_fields` as a list."""
    return list(iter_pdf_page_fields(data, request))


def iter_pdf_page_fields(data: bytes, request: PageRequest) -> Iterator[PageFields]:
    """One entry per selected page of a PDF, in page order, computed as they are asked for.

    A page that fails is an error entry (RENDER_FAILED).  Raises :class:`DocrayError` on the first
    ``next()`` when the document itself cannot be used (see :func:`open_pdf`,
    :meth:`PageRequest.page_range`).  The document stays open until the iterator is exhausted or closed.
    """
    document = open_pdf(data, request.password)
    try:
        num_pages = len(document)
        for page_idx in request.page_range(num_pages):
            try:
                fields = _pdf_page(document, page_idx, request)
            except Exception as exc:
                failure = error_fields("render", exc)
                failure["error"] = f"render: page {page_idx}: {failure['error'].removeprefix('render: ')}"
                failure["error_code"] = ErrorCode.RENDER_FAILED.value
                fields = failure
            yield {"num_pages": num_pages, "page_idx": page_idx, **fields}
    finally:
        document.close()


def _pdf_page(document: pdfium.PdfDocument, page_idx: int, request: PageRequest) -> PageFields:
    page = document[page_idx]
    try:
        frame = page_frame(page)
        width, height = page.get_size()
        spans = page_spans(page, gap_factor=request.gap_factor)
        boxes = image_boxes(page, frame)
        coverage = image_coverage(boxes, width, height)
        num_chars, garbled = text_quality(spans)
        route, reason = route_page(request.method, num_chars, garbled, coverage, **dict(request.route_thresholds))
        glyph_fields = _glyph_fields(page, frame, spans, request.glyphs)
        if request.line_segments:
            segments = page_segments(page, frame) if route is Route.TXT else []
            glyph_fields["line_segments"] = [list(segment) for segment in segments]
            vertical = route is Route.TXT and any(is_vertical_span(s.text, s.bbox) for s in spans)
            glyph_fields["vertical_text"] = vertical_text_angle(page, frame.rotation) if vertical else None
            glyph_fields["turned_spans"] = turned_spans(page, frame, spans) if vertical else None
        image, dpi = None, None
        if request.image_format != "none":
            wanted = request.ocr_dpi if (route is Route.OCR and request.ocr_dpi) else request.dpi
            image, dpi = render_page_image(page, wanted, request.image_format, request.jpeg_quality, request.max_pixels)
        return {
            "width": width,
            "height": height,
            "rotation": page.get_rotation(),
            "image": image,
            "image_dpi": dpi,
            "route": route.value,
            "route_reason": reason.value,
            "num_chars": num_chars,
            "garbled_ratio": garbled,
            "image_coverage": coverage,
            "spans": [span.to_row() for span in spans],
            "image_boxes": [list(box) for box in boxes],
            **glyph_fields,
            **_ok(),
        }
    finally:
        page.close()


def _glyph_fields(page: pdfium.PdfPage, frame: PageFrame, spans: list[Span], capture: GlyphCapture) -> PageFields:
    """``glyphs`` and ``rules`` of a page when asked for (``math``: only where the text layer shows math), else null."""
    if capture == "none":
        return {}
    if capture == "math" and not page_has_math(spans):
        return {"glyphs": None, "rules": None}
    return {
        "glyphs": [glyph.to_row() for glyph in page_glyphs(page, frame)],
        "rules": [list(rule) for rule in page_rules(page, frame)],
    }


def image_page_fields(data: bytes, request: PageRequest) -> list[PageFields]:
    """One entry per selected frame of an image document, routed to OCR (``IMAGE_INPUT``)."""
    frames = image_pages(data, request.image_format, request.jpeg_quality, request.max_pixels, select=request.page_range)
    return [
        {
            "num_pages": frame.num_pages,
            "page_idx": frame.page_idx,
            "width": frame.width,
            "height": frame.height,
            "rotation": 0,
            "image": frame.image,
            "image_dpi": frame.image_dpi if frame.image is not None else None,
            "route": Route.OCR.value,
            "route_reason": RouteReason.IMAGE_INPUT.value,
            "num_chars": 0,
            "garbled_ratio": 0.0,
            "image_coverage": 1.0,  # the whole page is the image
            "spans": [],
            "image_boxes": [],
            **_ok(),
        }
        for frame in frames
    ]


def _ok() -> PageFields:
    return {"status": Status.OK.value, "error": None, "error_code": None}
