"""``render``: fan each document out into page rows (page image, text-layer spans, route).

One document row in, one row per selected page out, with every column of
:data:`docray.schema.PAGES`.  PDFs are opened once with pdfium; each page is rendered, its text
layer grouped into spans and its route (text layer or OCR) decided.  Image documents become one
page per frame, routed to OCR.  A document that cannot be opened (or arrived in error) becomes a
single error row with ``page_idx = -1``; a page that fails becomes its own error row
(``RENDER_FAILED``) while the other pages go on.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pyarrow as pa
from pydantic import Field, model_validator

from docray.config import OperatorConfig
from docray.operators.base import DocrayError, Level, Operator, Row, error_fields
from docray.operators.textlayer.pdf_pages import (
    PageRequest,
    image_page_fields,
    pdf_page_fields,
)
from docray.operators.textlayer.pdf_route import (
    DEFAULT_MAX_GARBLED_RATIO,
    DEFAULT_MIN_CHARS,
    DEFAULT_SCAN_COVERAGE,
    DEFAULT_SCAN_MAX_CHARS,
)
from docray.schema import PAGE_COLUMNS, PAGES, DocKind, ErrorCode, ParseMethod, Status

_IDENTITY = ("doc_id", "source", "name", "mime", "kind", "size_bytes")


class RenderConfig(OperatorConfig):
    """Settings of the ``render`` operator."""

    op: Literal["render"] = "render"
    dpi: float = Field(144.0, gt=0, le=1200, description="resolution of the page images, dots per inch")
    ocr_dpi: float | None = Field(
        None, gt=0, le=1200, description="resolution for pages routed to OCR (small print needs more); None: dpi"
    )
    image_format: Literal["png", "jpeg", "none"] = Field(
        "png", description="encoding of the page images; 'none' renders no image (text-layer-only pipelines)"
    )
    jpeg_quality: int = Field(90, ge=1, le=100, description="JPEG quality when image_format is 'jpeg'")
    method: ParseMethod = Field(
        ParseMethod.AUTO, description="MinerU's -m: 'txt' trusts the text layer, 'ocr' forces OCR, 'auto' decides per page"
    )
    start_page: int = Field(0, ge=0, description="first page to process, 0-based (MinerU's -s)")
    end_page: int | None = Field(None, ge=0, description="last page to process, 0-based and inclusive (MinerU's -e); None: the last page")
    max_pages: int = Field(
        5000, ge=1, description="a document with more selected pages than this becomes an error row (TOO_MANY_PAGES)"
    )
    max_pixels: int = Field(
        25_000_000, ge=10_000, description="largest page image in pixels; bigger pages are rendered at a lower dpi"
    )
    password: str | None = Field(None, description="password for encrypted PDFs (the same for every document)")
    gap_factor: float = Field(
        1.0, gt=0, description="a horizontal gap wider than this many font sizes starts a new text span"
    )
    min_chars: int = Field(
        DEFAULT_MIN_CHARS, ge=0, description="auto: a page with fewer text-layer characters is OCRed (no_text_layer)"
    )
    max_garbled_ratio: float = Field(
        DEFAULT_MAX_GARBLED_RATIO, ge=0, le=1, description="auto: a page with a larger share of undecodable characters is OCRed"
    )
    scan_coverage: float = Field(
        DEFAULT_SCAN_COVERAGE, ge=0, le=1, description="auto: images covering this share of a page make it scan-like"
    )
    scan_max_chars: int = Field(
        DEFAULT_SCAN_MAX_CHARS, ge=0, description="auto: a scan-like page with fewer characters is OCRed (image_only)"
    )

    @model_validator(mode="after")
    def _page_range(self) -> RenderConfig:
        if self.end_page is not None and self.end_page < self.start_page:
            raise ValueError(f"end_page ({self.end_page}) is before start_page ({self.start_page})")
        return self


class RenderOperator(Operator[RenderConfig]):
    """Documents to pages: page images, text-layer spans, image boxes and the OCR/text route."""

    name: ClassVar[str] = "render"
    Config: ClassVar[type[OperatorConfig]] = RenderConfig
    consumes: ClassVar[Level] = Level.DOCUMENTS
    produces: ClassVar[Level] = Level.PAGES
    reads: ClassVar[tuple[str, ...]] = ("doc_id", "source", "name", "kind", "bytes")
    writes: ClassVar[tuple[str, ...]] = tuple(c for c in PAGE_COLUMNS if c not in (*_IDENTITY, "status", "error", "error_code", "timings"))
    drops: ClassVar[tuple[str, ...]] = ("bytes",)

    @classmethod
    def output_schema_for(cls, input_schema: pa.Schema, config: OperatorConfig) -> pa.Schema:
        return PAGES

    def page_request(self) -> PageRequest:
        """The config as the pure page functions take it."""
        c = self.config
        thresholds = (
            ("min_chars", c.min_chars),
            ("max_garbled_ratio", c.max_garbled_ratio),
            ("scan_coverage", c.scan_coverage),
            ("scan_max_chars", c.scan_max_chars),
        )
        return PageRequest(
            dpi=c.dpi,
            ocr_dpi=c.ocr_dpi,
            image_format=c.image_format,
            jpeg_quality=c.jpeg_quality,
            method=c.method,
            start_page=c.start_page,
            end_page=c.end_page,
            max_pages=c.max_pages,
            max_pixels=c.max_pixels,
            password=c.password,
            gap_factor=c.gap_factor,
            route_thresholds=thresholds,
        )

    def process_row(self, row: Row) -> list[Row]:
        try:
            data = row.get("bytes")
            if not data:
                raise DocrayError(ErrorCode.EMPTY_FILE, "the document has no bytes")
            kind = row.get("kind") or DocKind.PDF.value
            if kind == DocKind.PDF.value:
                pages = pdf_page_fields(bytes(data), self.page_request())
            elif kind == DocKind.IMAGE.value:
                pages = image_page_fields(bytes(data), self.page_request())
            else:
                raise DocrayError(ErrorCode.UNSUPPORTED_FORMAT, f"render cannot read documents of kind {kind!r}")
        except Exception as exc:  # the document fails as one page row, never as a document row
            return [self._document_error_row(row, error_fields(self.name, exc))]
        # earlier stages' timings ride on the first page only, so summing a document's pages counts them once
        return [self._page_row(row, page, carry_timings=(i == 0)) for i, page in enumerate(pages)]

    def process_error_row(self, row: Row) -> list[Row]:
        """A document already in error: one page row (``page_idx = -1``) that carries its error."""
        outcome = {"status": row.get("status") or Status.ERROR.value, "error": row.get("error"), "error_code": row.get("error_code")}
        return [self._document_error_row(row, outcome)]

    def _page_row(self, doc_row: Row, page: dict[str, Any], carry_timings: bool = True) -> Row:
        out: Row = {c: None for c in PAGE_COLUMNS}
        out.update({c: doc_row.get(c) for c in _IDENTITY})
        out["timings"] = dict(doc_row.get("timings") or ()) if carry_timings else {}
        out.update(page)
        return out

    def _document_error_row(self, doc_row: Row, outcome: Row) -> Row:
        return self._page_row(doc_row, {"page_idx": -1, **outcome})
