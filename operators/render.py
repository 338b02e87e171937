"""``render``: fan each document out into page rows (page image, text-layer spans, route).

One document row in, one row per selected page out, with every column of
:data:`docray.schema.PAGES`.  PDFs are opened once with pdfium; each page is rendered, its text
layer grouped into spans and its route (text layer or OCR) decided.  Image documents become one
page per frame, routed to OCR.  Office, web and e-book documents are converted
(:mod:`docray.operators.convert`): their pages carry ``converted_blocks`` and ``converted_images``
and no image, so model stages pass them by (``render_office: pdf`` prints Office files to PDF with
LibreOffice instead and takes the PDF route).  A document that cannot be opened (or arrived in
error) becomes a single error row with ``page_idx = -1``; a page that fails becomes its own error
row (``RENDER_FAILED``) while the other pages go on.

pdfium runs in a child process per batch (``timeout_s``; :mod:`docray.operators.isolation`): a
document that makes no progress for ``timeout_s`` seconds, or crashes the child, costs that
document (``RENDER_TIMEOUT`` / ``RENDER_CRASHED``), not the worker.  Calling the operator yields
tables of at most ``segment_pages`` rows, so a long document's page images are never all in
memory at once (Ray Data ``map_batches`` accepts a generator).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, ClassVar, Iterator, Literal

import pyarrow as pa
from pydantic import Field, model_validator

from docray.config import OperatorConfig
from docray.operators.base import Level, Operator, Row, _rows_of, is_error, to_table
from docray.operators.convert import CONVERTERS
from docray.operators.isolation import direct_map, isolated_map
from docray.operators.render_segments import (
    IDENTITY_COLUMNS,
    RenderJob,
    document_rows,
    document_segments,
    page_row,
    timed,
)
from docray.operators.textlayer.pdf_pages import GlyphCapture, PageRequest
from docray.operators.textlayer.pdf_route import (
    DEFAULT_MAX_GARBLED_RATIO,
    DEFAULT_MIN_CHARS,
    DEFAULT_SCAN_COVERAGE,
    DEFAULT_SCAN_MAX_CHARS,
)
from docray.schema import PAGE_COLUMNS, PAGES, DocKind, ParseMethod, Status, field
from docray.secrets import SecretText, secret_value

# what the isolated children's fork server imports once, so each child starts with it: pdfium's module and the
# converters' libraries (python-docx, python-pptx, openpyxl, odfpy, lxml: about a second to import, once per process)
RENDER_PRELOAD = ("docray.operators.render_segments", *sorted({f"docray.operators.convert.{m}" for m in CONVERTERS.values()}))


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
    password: SecretText | None = Field(
        None, description="password for encrypted PDFs (docray parse --password); never written to run records"
    )
    passwords: dict[str, SecretText] = Field(
        default_factory=dict,
        description="per-document passwords by source (from --password-file or a manifest's password column); a "
        "document listed here is opened with its own password instead of `password`",
    )
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
    timeout_s: float | None = Field(
        120.0,
        gt=0,
        description="render in a child process and give up on a document when opening it or rendering one segment "
        "of segment_pages pages takes longer (render_timeout; a crash of the child is render_crashed); "
        "None renders in the worker process, unprotected",
    )
    glyphs: GlyphCapture = Field(
        "none",
        description="store each character (font, size, box, baseline) and the page's rules for the formula stage: "
        "'math' on pages whose text layer has math fonts or math symbols, 'all' on every page, 'none' never",
    )
    line_segments: bool = Field(
        False,
        description="store the horizontal and vertical line pieces of the paths of txt pages (column line_segments) "
        "and the direction of their vertical text (vertical_text) and which spans are turned (turned_spans), from "
        "which the table stage reads ruled and turned tables",
    )
    segment_pages: int = Field(
        64, ge=1, description="pages per emitted table (and per message from the child), bounding memory on long documents"
    )
    render_office: Literal["native", "pdf"] = Field(
        "native",
        description="Office and OpenDocument files (docx, pptx, xlsx, odt, ods, odp): 'native' reads their structure "
        "(operators/convert); 'pdf' prints them to PDF with LibreOffice (soffice on PATH) and takes the PDF route, "
        "for page-faithful layouts. HTML, EPUB and CSV are always read natively",
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
    writes: ClassVar[tuple[str, ...]] = tuple(c for c in PAGE_COLUMNS if c not in (*IDENTITY_COLUMNS, "status", "error", "error_code", "timings"))
    drops: ClassVar[tuple[str, ...]] = ("bytes",)

    @classmethod
    def output_schema_for(cls, input_schema: pa.Schema, config: OperatorConfig) -> pa.Schema:
        extra = [] if getattr(config, "glyphs", "none") == "none" else [field("glyphs"), field("rules")]
        if getattr(config, "line_segments", False):
            extra += [field("line_segments"), field("vertical_text"), field("turned_spans")]
        return pa.schema([*PAGES, *extra]) if extra else PAGES

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
            password=secret_value(c.password),
            gap_factor=c.gap_factor,
            glyphs=c.glyphs,
            line_segments=c.line_segments,
            route_thresholds=thresholds,
        )

    # ---------------------------------------------------------------- entry points
    def __call__(self, batch: pa.Table) -> Iterator[pa.Table]:  # type: ignore[override]
        """Tables of at most ``segment_pages`` page rows, in document and page order (at least one table)."""
        self.ensure_setup()
        size = self.config.segment_pages
        pending: list[Row] = []
        emitted = False
        for rows in self.iter_page_rows(*_documents(batch)):
            pending.extend(rows)
            while len(pending) >= size:
                yield to_table(pending[:size], self.output_schema)
                del pending[:size]
                emitted = True
        if pending or not emitted:
            yield to_table(pending, self.output_schema)

    def render_table(self, batch: pa.Table) -> pa.Table:
        """All the page rows of ``batch`` in one table (tests and small jobs; unbounded memory)."""
        self.ensure_setup()
        rows = [row for segment in self.iter_page_rows(*_documents(batch)) for row in segment]
        return to_table(rows, self.output_schema)

    def process_rows(self, rows: list[Row]) -> list[Row]:
        return [r for out in self.iter_page_rows(rows, lambda i: rows[i].get("bytes")) for r in out]

    def iter_page_rows(self, docs: list[Row], data_of: Callable[[int], Any]) -> Iterator[list[Row]]:
        """Page rows of each document, a segment at a time; ``data_of(i)``: the bytes of ``docs[i]``."""
        request = self.page_request()
        todo = [i for i, doc in enumerate(docs) if not is_error(doc)]
        jobs = (
            RenderJob(
                docs[i].get("kind") or DocKind.PDF.value,
                _as_bytes(data_of(i)),
                self.request_for(docs[i], request),
                self.config.segment_pages,
                office_pdf=self.config.render_office == "pdf",
            )
            for i in todo
        )
        if self.config.timeout_s is None:
            events = direct_map(document_segments, jobs)
        else:
            events = isolated_map(document_segments, jobs, timeout_s=self.config.timeout_s, preload=RENDER_PRELOAD)
        try:
            stream = timed(events)
            for doc in docs:
                if is_error(doc):
                    yield self.process_error_row(doc)
                else:
                    yield from document_rows(doc, stream, request, self.config.timeout_s)
        finally:
            events.close()  # ends the child now rather than when the generator is collected

    def request_for(self, doc: Row, request: PageRequest) -> PageRequest:
        """``request`` with the document's own password when ``passwords`` lists its source."""
        own = self.config.passwords.get(doc.get("source") or "")
        return replace(request, password=secret_value(own)) if own is not None else request

    def process_error_row(self, row: Row) -> list[Row]:
        """A document already in error: one page row (``page_idx = -1``) that carries its error."""
        outcome = {"status": row.get("status") or Status.ERROR.value, "error": row.get("error"), "error_code": row.get("error_code")}
        return [page_row(row, {"page_idx": -1, **outcome})]


def _documents(batch: Any) -> tuple[list[Row], Callable[[int], Any]]:
    """The batch's document rows without their bytes, and a function reading one row's bytes."""
    if isinstance(batch, pa.Table):
        if "bytes" not in batch.column_names:
            return batch.to_pylist(), lambda i: None
        column = batch.column("bytes")
        return batch.drop_columns(["bytes"]).to_pylist(), lambda i: column[i].as_py()
    rows = _rows_of(batch)
    return rows, lambda i: rows[i].get("bytes")


def _as_bytes(data: Any) -> bytes | None:
    return bytes(data) if data else None
