"""``ingest``: sources (URIs and/or bytes) to document rows.

Reads each document through fsspec (unless a Parquet input already carried its bytes), checks its
size, sniffs its format from magic bytes (never the file name; Office, OpenDocument, EPUB, HTML and CSV
documents by :mod:`docray.operators.convert.sniff`) and fills the documents table:
``doc_id`` (sha256 of the bytes), ``kind``, ``mime``, ``size_bytes`` and ``bytes``.  A document
that cannot be used becomes an error row (``not_found``, ``read_failed``, ``empty_file``,
``too_large``, ``unsupported_format``, and for Office containers ``corrupt``, ``encrypted``, ``macro_only``,
``legacy_office``) carrying its ``source``/``name`` (and ``doc_id`` once its
bytes were read).  Input expansion on the driver lives in :mod:`docray.operators.ingest_inputs`.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Literal

import pyarrow as pa
from pydantic import Field

from docray.config import OperatorConfig
from docray.operators.base import (
    SOURCE_COLUMNS,
    DocrayError,
    Level,
    Operator,
    Row,
    error_fields,
)
from docray.operators.convert.sniff import sniff_container
from docray.operators.ingest_inputs import (
    PARQUET_SUFFIX,
    SUPPORTED_SUFFIXES,
    ExpandedInputs,
    expand_inputs,
    safe_name,
    sources_from_parquet,
    stem_of,
    unique_names,
)
from docray.schema import DOCUMENT_COLUMNS, DOCUMENTS, DocKind, ErrorCode, Status
from docray.secrets import SecretOptions
from docray.storage import url_to_fs

__all__ = [
    "PARQUET_SUFFIX",
    "SUPPORTED_SUFFIXES",
    "TooLargeError",
    "ExpandedInputs",
    "IngestConfig",
    "IngestOperator",
    "describe_head",
    "expand_inputs",
    "read_document",
    "safe_name",
    "sniff_format",
    "sources_from_parquet",
    "stem_of",
    "unique_names",
]

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
PDF_HEADER_WINDOW = 1024  # "%PDF-" may follow some junk; readers accept it within the first KiB


class IngestConfig(OperatorConfig):
    """How documents are read."""

    op: Literal["ingest"] = Field("ingest", description="operator name")
    max_bytes: int = Field(
        DEFAULT_MAX_BYTES, ge=1, description="documents larger than this become too_large error rows, unread"
    )
    storage_options: SecretOptions = Field(
        default_factory=dict,
        description="fsspec storage options (credentials, endpoint) for reading sources; credentials are redacted in records"
    )
    bytes_column: str = Field("bytes", description="Parquet input: the binary column holding document bytes")
    source_column: str | None = Field(
        None,
        description="Parquet input: column naming each document (path/URL); default: the first of "
        "source, path, url, uri present, else a sha256-based name",
    )


class TooLargeError(DocrayError):
    """``too_large``, with the document's size when it is known."""

    def __init__(self, source: str, size: int | None, max_bytes: int):
        actual = f"{size} bytes" if size is not None else "more bytes"
        super().__init__(ErrorCode.TOO_LARGE, f"{source} has {actual}, over max_bytes={max_bytes}")
        self.size = size


# --------------------------------------------------------------------------- pure functions


def sniff_format(head: bytes) -> tuple[DocKind, str] | None:
    """``(kind, mime)`` of a document from its first bytes, or None when it is not supported."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return DocKind.IMAGE, "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return DocKind.IMAGE, "image/jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return DocKind.IMAGE, "image/tiff"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return DocKind.IMAGE, "image/webp"
    if b"%PDF-" in head[:PDF_HEADER_WINDOW]:
        return DocKind.PDF, "application/pdf"
    return None


_LOOKALIKES = (
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"PK\x03\x04", "a ZIP archive that is not an Office, OpenDocument or EPUB file"),
    (b"{\\rtf", "an RTF document"),
    (b"\x1f\x8b", "a gzip archive"),
)


def describe_head(head: bytes) -> str:
    """What an unsupported document looks like, for its error message."""
    start = head[:16]
    stripped = head.lstrip()[:64].lower()
    what = next((label for magic, label in _LOOKALIKES if head.startswith(magic)), None)
    if what is None and stripped.startswith((b"<!doctype html", b"<html", b"<?xml", b"<")):
        what = "HTML/XML text"
    elif what is None and _is_text(head[:512]):
        what = "plain text"
    return f"starts with {start!r}" + (f", looks like {what}" if what else "")


def _is_text(sample: bytes) -> bool:
    try:
        decoded = sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(decoded) and all(ch.isprintable() or ch in "\r\n\t" for ch in decoded)


def read_document(source: str, storage_options: dict[str, Any] | None, max_bytes: int) -> bytes:
    """The bytes of ``source`` (any fsspec URL), checking its size before reading it.

    Raises :class:`DocrayError` with ``not_found``, ``too_large`` or ``read_failed``.
    """
    try:
        fs, path = url_to_fs(source, storage_options)
    except (ImportError, ValueError) as exc:
        raise DocrayError(ErrorCode.READ_FAILED, f"cannot open {source}: {exc}") from exc
    try:
        info = fs.info(path)
    except FileNotFoundError as exc:
        raise DocrayError(ErrorCode.NOT_FOUND, f"no such file: {source}") from exc
    except Exception as exc:
        raise DocrayError(ErrorCode.READ_FAILED, f"cannot stat {source}: {type(exc).__name__}: {exc}") from exc
    if info.get("type") == "directory":
        raise DocrayError(ErrorCode.READ_FAILED, f"{source} is a directory, not a document")
    size = info.get("size")
    if size is not None and size > max_bytes:
        raise TooLargeError(source, size, max_bytes)
    try:
        with fs.open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)  # size may be unknown: never read more than the limit
    except FileNotFoundError as exc:
        raise DocrayError(ErrorCode.NOT_FOUND, f"no such file: {source}") from exc
    except Exception as exc:
        raise DocrayError(ErrorCode.READ_FAILED, f"cannot read {source}: {type(exc).__name__}: {exc}") from exc
    if len(data) > max_bytes:
        raise TooLargeError(source, None, max_bytes)
    return bytes(data)


# --------------------------------------------------------------------------- operator


class IngestOperator(Operator[IngestConfig]):
    """Sources to documents: read, size-check, sniff and hash each document."""

    name: ClassVar[str] = "ingest"
    Config: ClassVar[type[OperatorConfig]] = IngestConfig
    consumes: ClassVar[Level] = Level.SOURCES
    produces: ClassVar[Level] = Level.DOCUMENTS
    reads: ClassVar[tuple[str, ...]] = SOURCE_COLUMNS
    writes: ClassVar[tuple[str, ...]] = tuple(c for c in DOCUMENT_COLUMNS if c not in ("source", "name"))

    @classmethod
    def output_schema_for(cls, input_schema: pa.Schema, config: OperatorConfig) -> pa.Schema:
        return DOCUMENTS

    def process_row(self, row: Row) -> Row:
        document: Row = {c: None for c in DOCUMENT_COLUMNS}
        document["source"], document["name"] = row["source"], row["name"]
        try:
            data = row.get("bytes")
            if data is None:
                data = read_document(row["source"], self.config.storage_options, self.config.max_bytes)
            else:
                data = bytes(data)
                if len(data) > self.config.max_bytes:
                    raise TooLargeError(row["source"], len(data), self.config.max_bytes)
            document["doc_id"] = hashlib.sha256(data).hexdigest()
            document["size_bytes"] = len(data)
            if not data:
                raise DocrayError(ErrorCode.EMPTY_FILE, f"{row['source']} is empty (0 bytes)")
            sniffed = sniff_format(data[:PDF_HEADER_WINDOW]) or sniff_container(data, row["source"] or "")
            if sniffed is None:
                raise DocrayError(
                    ErrorCode.UNSUPPORTED_FORMAT,
                    f"{row['source']} is not a PDF, image, Office, OpenDocument, HTML, EPUB or CSV document: "
                    f"{describe_head(data[:PDF_HEADER_WINDOW])}",
                )
        except DocrayError as exc:
            if isinstance(exc, TooLargeError):
                document["size_bytes"] = exc.size
            return {**document, **error_fields(self.name, exc)}
        kind, mime = sniffed
        document.update(kind=kind.value, mime=mime, bytes=data, status=Status.OK.value)
        return document
