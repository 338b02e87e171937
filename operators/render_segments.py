"""The ``render`` operator's work as a stream of page-range segments, and the page rows made from it.

Child side (what runs isolated, see :mod:`docray.operators.isolation`): :func:`document_segments`
turns a :class:`RenderJob` into lists of at most ``segment_pages`` page-field dicts, so a
3,000-page document never exists as one message or one table; a document that cannot be used
ends its stream with a :class:`DocumentFailure` instead of raising.

Parent side: :func:`document_rows` turns the events of one document into page rows: identity
columns, timings (earlier stages' on the first row only), and the rows a timeout or a crash leaves:
one document error row (``page_idx = -1``) when no page came out, else one error row per selected
page not yet emitted, so the document comes out ``partial``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterator

from docray.operators.base import DocrayError, Row, add_timing, error_fields
from docray.operators.convert import converted_page_fields
from docray.operators.convert.libreoffice import PDF_KINDS, office_to_pdf
from docray.operators.isolation import Chunk, Completed, Event, FailureKind, IsolationFailure, Raised
from docray.operators.textlayer.pdf_pages import PageFields, PageRequest, image_page_fields, iter_pdf_page_fields
from docray.schema import PAGE_COLUMNS, DocKind, ErrorCode, Status

CONVERTED_KINDS = frozenset(kind.value for kind in DocKind if kind.converted)

STAGE = "render"
IDENTITY_COLUMNS = ("doc_id", "source", "name", "mime", "kind", "size_bytes")


@dataclass(frozen=True)
class RenderJob:
    """One document for :func:`document_segments` (what is sent to the isolated process)."""

    kind: str
    data: bytes | None
    request: PageRequest
    segment_pages: int
    office_pdf: bool = False  # Office/OpenDocument files printed to PDF by LibreOffice, then the PDF route


@dataclass(frozen=True)
class DocumentFailure:
    """The document could not be used (bad bytes, a password, the page range): its error columns."""

    fields: dict[str, Any]  # status, error, error_code (see docray.operators.base.error_fields)


Segment = list[PageFields] | DocumentFailure


# ----------------------------------------------------------------------------- child side


def document_segments(job: RenderJob) -> Iterator[Segment]:
    """The selected pages' fields in page order, ``job.segment_pages`` at a time; never raises."""
    segment: list[PageFields] = []
    try:
        for page in _page_fields(job):
            segment.append(page)
            if len(segment) >= job.segment_pages:
                yield segment
                segment = []
    except Exception as exc:  # the document fails as data, with the same message in and out of isolation
        if segment:
            yield segment
        yield DocumentFailure(error_fields(STAGE, exc))
        return
    if segment:
        yield segment


def _page_fields(job: RenderJob) -> Iterator[PageFields]:
    if not job.data:
        raise DocrayError(ErrorCode.EMPTY_FILE, "the document has no bytes")
    if job.kind == DocKind.PDF.value:
        yield from iter_pdf_page_fields(job.data, job.request)
    elif job.kind == DocKind.IMAGE.value:
        yield from image_page_fields(job.data, job.request)
    elif job.office_pdf and DocKind(job.kind) in PDF_KINDS:  # render_office: pdf
        yield from iter_pdf_page_fields(office_to_pdf(job.data, DocKind(job.kind)), job.request)
    elif job.kind in CONVERTED_KINDS:  # Office/web/e-book: blocks from the document's structure, no rendering
        yield from converted_page_fields(job.kind, job.data, job.request.page_range)
    else:
        raise DocrayError(ErrorCode.UNSUPPORTED_FORMAT, f"render cannot read documents of kind {job.kind!r}")


# ----------------------------------------------------------------------------- parent side


def timed(events: Iterator[tuple[int, Event[Segment]]]) -> Iterator[tuple[int, Event[Segment], float]]:
    """``events`` with the seconds spent waiting for each (the render work, isolated or not)."""
    while True:
        start = time.perf_counter()
        try:
            index, event = next(events)
        except StopIteration:
            return
        yield index, event, time.perf_counter() - start


def page_row(doc_row: Row, page: dict[str, Any], carry_timings: bool = True) -> Row:
    """A PAGES row: the document's identity, its timings (or none), the page's fields."""
    out: Row = {c: None for c in PAGE_COLUMNS}
    out.update({c: doc_row.get(c) for c in IDENTITY_COLUMNS})
    out["timings"] = dict(doc_row.get("timings") or ()) if carry_timings else {}
    out.update(page)
    return out


@dataclass
class _Progress:
    """What has come out of one document so far."""

    num_pages: int | None = None
    last_page: int | None = None
    seconds: float = 0.0  # render time not yet put on a row

    @property
    def started(self) -> bool:
        return self.last_page is not None


def document_rows(
    doc_row: Row, events: Iterator[tuple[int, Event[Segment], float]], request: PageRequest, timeout_s: float | None
) -> Iterator[list[Row]]:
    """Page rows of one document from ``events``, consumed up to and including its terminal event."""
    progress = _Progress()
    for _, event, seconds in events:
        progress.seconds += seconds
        if isinstance(event, Chunk):
            value = event.value
            if isinstance(value, DocumentFailure):
                yield from _failure_rows(doc_row, progress, value.fields, request)
            elif value:
                yield _page_rows(doc_row, progress, value)
        elif isinstance(event, Raised):
            yield from _failure_rows(doc_row, progress, error_fields(STAGE, event.error), request)
            return
        elif isinstance(event, IsolationFailure):
            yield from _failure_rows(doc_row, progress, _isolation_fields(event, progress, timeout_s), request)
            return
        elif isinstance(event, Completed):
            return
    # the stream ended without this document's terminal event (a bug, not bad input): it still gets its rows
    lost = DocrayError(ErrorCode.INTERNAL, "the render stream ended before the document's result")
    yield from _failure_rows(doc_row, progress, error_fields(STAGE, lost), request)


def _page_rows(doc_row: Row, progress: _Progress, pages: list[PageFields]) -> list[Row]:
    share = progress.seconds / len(pages)
    rows = []
    for page in pages:
        row = page_row(doc_row, page, carry_timings=not progress.started)  # earlier stages' timings: first row only
        add_timing(row, STAGE, share)
        progress.num_pages, progress.last_page = page["num_pages"], page["page_idx"]
        rows.append(row)
    progress.seconds = 0.0
    return rows


def _failure_rows(doc_row: Row, progress: _Progress, fields: Row, request: PageRequest) -> Iterator[list[Row]]:
    """No page out yet: one document error row; else an error row for every selected page still missing."""
    if not progress.started or progress.num_pages is None:
        row = page_row(doc_row, {"page_idx": -1, **fields})
        add_timing(row, STAGE, progress.seconds)
        progress.seconds = 0.0
        yield [row]
        return
    reason = str(fields.get("error") or "").removeprefix(f"{STAGE}: ")
    missing = [p for p in request.page_range(progress.num_pages) if p > progress.last_page]
    for start in range(0, len(missing), 256):  # small rows, but a long document may miss thousands
        rows = []
        for page_idx in missing[start : start + 256]:
            page = {
                "num_pages": progress.num_pages,
                "page_idx": page_idx,
                "status": Status.ERROR.value,
                "error": f"{STAGE}: page {page_idx}: not rendered: {reason}",
                "error_code": fields.get("error_code"),
            }
            row = page_row(doc_row, page, carry_timings=False)
            add_timing(row, STAGE, progress.seconds)
            progress.seconds = 0.0
            rows.append(row)
        yield rows


def _isolation_fields(failure: IsolationFailure, progress: _Progress, timeout_s: float | None) -> Row:
    if progress.started:
        where = f"while rendering the pages after page {progress.last_page}"
    else:
        where = "while opening the document or rendering its first pages"
    if failure.kind is FailureKind.TIMEOUT:
        code = ErrorCode.RENDER_TIMEOUT
        limit = f"render.timeout_s={timeout_s:g} s" if timeout_s is not None else "the start-up limit"
        text = f"no progress within {limit} {where}"
    else:
        code = ErrorCode.RENDER_CRASHED
        text = f"the isolated render process crashed {where} ({failure.detail})"
    return {"status": Status.ERROR.value, "error": f"{STAGE}: {text}", "error_code": code.value}
