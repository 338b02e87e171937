"""What a request must pass before any work is queued: its API key, its rate, and its files' bytes."""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from dataclasses import dataclass

from docray.operators.base import DocrayError
from docray.operators.convert.sniff import sniff_container
from docray.operators.ingest import PDF_HEADER_WINDOW, describe_head, sniff_format
from docray.schema import DocKind, ErrorCode

ANONYMOUS = "anonymous"


class Refusal(Exception):
    """An HTTP error answer: ``status`` with ``detail`` (and headers such as Retry-After)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


class ApiKeys:
    """The Bearer keys a server accepts; none: every request is anonymous."""

    def __init__(self, keys: list[str]):
        self._keys = [k.encode() for k in keys if k]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def client_of(self, authorization: str | None) -> str:
        """The client id (a hash of its key) for an ``Authorization`` header; 401 without a valid key."""
        if not self._keys:
            return ANONYMOUS
        scheme, _, token = (authorization or "").partition(" ")
        given = token.strip().encode()
        # compare with every key (constant time each) so the answer's timing tells nothing about which key is close
        matched = [hmac.compare_digest(given, key) for key in self._keys]
        if scheme.lower() != "bearer" or not any(matched):
            raise Refusal(401, "a valid API key is required: Authorization: Bearer <key>", {"WWW-Authenticate": "Bearer"})
        return "key-" + hashlib.sha256(given).hexdigest()[:16]


class RateLimiter:
    """Per-client token bucket: ``per_minute`` requests a minute, bursts up to ``per_minute``; 0: no limit."""

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        """Spend one request of ``client``'s allowance; 429 with Retry-After (whole seconds) when none is left."""
        if self.per_minute <= 0:
            return
        rate = self.per_minute / 60.0
        with self._lock:
            now = self._clock()
            tokens, when = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - when) * rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / rate)
                raise Refusal(429, f"rate limit: {self.per_minute} requests a minute", {"Retry-After": str(max(1, wait))})
            self._buckets[client] = (tokens - 1.0, now)


@dataclass
class CheckedFile:
    """An upload that passed the checks: its bytes, sniffed kind and pages in the asked range."""

    filename: str  # as the client sent it: a label only, never a path
    data: bytes
    kind: DocKind
    mime: str
    pages: int


# sniffer error codes for a file of a kind docray parses that cannot be read (400); any other code: a kind it does not
# parse (legacy .doc/.xls/.ppt, a macro-only add-in, an OOXML package that is no document), 415
UNREADABLE = frozenset({ErrorCode.CORRUPT, ErrorCode.ENCRYPTED})
FORMATS = "a PDF, an image (PNG, JPEG, TIFF, WebP), or an Office, OpenDocument, HTML, EPUB or CSV document"


def check_upload(filename: str, data: bytes) -> CheckedFile:
    """The upload's sniffed kind, as ``ingest`` sniffs it (the same two sniffers, in the same order; the name is never
    trusted, except that a one-column text file is CSV only when named ``.csv``/``.tsv``, as for ingest).

    400: an empty file, or an Office/OpenDocument/EPUB container that cannot be read (``corrupt``, ``encrypted``);
    415: bytes of no format the pipelines read, or a container kind they do not (``legacy_office``, ``macro_only``)."""
    if not data:
        raise Refusal(400, f"{filename!r} is empty")
    try:
        found = sniff_format(data[:PDF_HEADER_WINDOW]) or sniff_container(data, filename)
    except DocrayError as exc:
        raise Refusal(400 if exc.code in UNREADABLE else 415, f"{filename!r}: {exc.code.value}: {exc}") from exc
    if found is None:
        raise Refusal(415, f"{filename!r} is not {FORMATS}: {describe_head(data[:64])}")
    kind, mime = found
    return CheckedFile(filename=filename, data=data, kind=kind, mime=mime, pages=0)


def pages_in_range(data: bytes, kind: DocKind, start: int, end: int | None) -> int:
    """Pages the task will parse: the document's pages within ``start..end``; 0 when it cannot be opened here
    (encrypted, damaged: the run makes its error row).  An image is one page; a converted document's pages are
    counted by converting it (:func:`docray.operators.convert.convert_document`, the run's own code: a slide, a sheet,
    a chapter ...), which costs one extra conversion of each such upload (no rendering, no models)."""
    if kind == DocKind.IMAGE:
        return 1 if start == 0 else 0
    total = _converted_pages(data, kind) if kind.converted else _pdf_pages(data)
    last = total - 1 if end is None else min(end, total - 1)
    return max(0, last - start + 1)


def _pdf_pages(data: bytes) -> int:
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except Exception:
        return 0
    try:
        return len(document)
    finally:
        document.close()


def _converted_pages(data: bytes, kind: DocKind) -> int:
    from docray.operators.convert import convert_document

    try:
        return len(convert_document(kind, data))
    except DocrayError:
        return 0
