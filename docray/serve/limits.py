"""What a request must pass before any work is queued: its API key, its rate, and its files' bytes."""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from dataclasses import dataclass

from docray.operators.ingest import describe_head, sniff_format
from docray.schema import DocKind

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


def check_upload(filename: str, data: bytes) -> CheckedFile:
    """400 for an empty file; 415 for bytes that are not a PDF or a supported image (the name is never trusted)."""
    if not data:
        raise Refusal(400, f"{filename!r} is empty")
    found = sniff_format(data[:2048])
    if found is None:
        raise Refusal(415, f"{filename!r} is not a PDF or a supported image (PNG, JPEG, TIFF, WebP): {describe_head(data[:64])}")
    kind, mime = found
    return CheckedFile(filename=filename, data=data, kind=kind, mime=mime, pages=0)


def pages_in_range(data: bytes, kind: DocKind, start: int, end: int | None) -> int:
    """Pages the task will parse: the PDF's pages within ``start..end`` (one for an image); 0 when the PDF cannot
    be opened here (encrypted, damaged: the run makes its error row)."""
    if kind != DocKind.PDF:
        return 1 if start == 0 else 0
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except Exception:
        return 0
    try:
        total = len(document)
    finally:
        document.close()
    last = total - 1 if end is None else min(end, total - 1)
    return max(0, last - start + 1)
