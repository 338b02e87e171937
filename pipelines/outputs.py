"""Writing a run's results: Parquet tables and MinerU per-document files, through fsspec.

:class:`ResultWriter` writes one batch of assembled documents (the RESULTS table) and returns
:class:`WriteStats`; the Ray Data sink and the local executor both call it, so the two executors
write identical outputs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from docray.formats.debug_pdf import layout_pdf, span_pdf
from docray.formats.indented_json import indent_json_text
from docray.pipelines.spec import OutputSpec
from docray.schema import DocKind, Status
from docray.storage import url_to_fs, write_atomic

DOCUMENT_TABLE_DROPS = ("pages", "middle_json", "model_json", "images")
PAGES_TABLE = "pages"
DOCUMENTS_TABLE = "documents"  # always written: its parts are the commit record that resume reads
SHARD_PREFIX = "shard="  # Parquet parts live in hive-style shard partitions: documents/shard=<id>/part-<hash>.parquet
DEFAULT_SHARD = "0"
STATE_DIR = "_docray"  # run state: progress, shard markers, Ray Data stats
HIDDEN_DOCUMENTS_DIR = f"{STATE_DIR}/documents"  # documents parts when the documents table is not an output
MAX_LISTED_ERRORS = 50
PARQUET_SOURCE_MARK = "#sha256="  # in the source of a document read from a Parquet input's bytes
log = logging.getLogger(__name__)


@dataclass
class WriteStats:
    """Counts and timings of written documents; merged across write tasks."""

    documents: int = 0
    by_status: Counter = field(default_factory=Counter)
    pages: int = 0
    pages_failed: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    error_codes: Counter = field(default_factory=Counter)
    errors: list[dict[str, str]] = field(default_factory=list)
    skipped_files: int = 0  # requested per-document files that could not be made (e.g. no original PDF)
    failed_files: int = 0  # per-document files whose making raised (the write goes on)
    file_notes: list[dict[str, str]] = field(default_factory=list)  # the first skipped/failed files, why

    def note_file(self, row: dict[str, Any], kind: str, why: str, *, failed: bool) -> None:
        """Count a per-document file that was skipped or failed."""
        if failed:
            self.failed_files += 1
        else:
            self.skipped_files += 1
        if len(self.file_notes) < MAX_LISTED_ERRORS:
            self.file_notes.append(
                {"source": row.get("source") or "", "name": row.get("name") or "", "file": kind, "reason": why}
            )

    def merge(self, other: WriteStats) -> WriteStats:
        self.documents += other.documents
        self.by_status.update(other.by_status)
        self.pages += other.pages
        self.pages_failed += other.pages_failed
        for stage, sec in other.stage_seconds.items():
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + sec
        self.error_codes.update(other.error_codes)
        self.errors.extend(other.errors[: MAX_LISTED_ERRORS - len(self.errors)])
        self.skipped_files += other.skipped_files
        self.failed_files += other.failed_files
        self.file_notes.extend(other.file_notes[: MAX_LISTED_ERRORS - len(self.file_notes)])
        return self

    @classmethod
    def of(cls, results: pa.Table) -> WriteStats:
        stats = cls()
        for row in results.select(["source", "name", "status", "error", "error_code", "timings", "pages"]).to_pylist():
            stats.documents += 1
            stats.by_status[row["status"]] += 1
            if row["status"] == Status.ERROR.value:
                stats.error_codes[row["error_code"]] += 1
                if len(stats.errors) < MAX_LISTED_ERRORS:
                    stats.errors.append({k: row[k] for k in ("source", "error_code", "error")})
            for page in row["pages"] or []:
                if page["page_idx"] < 0:
                    continue
                stats.pages += 1
                stats.pages_failed += page["status"] == Status.ERROR.value
            for stage, sec in row["timings"] or []:
                stats.stage_seconds[stage] = stats.stage_seconds.get(stage, 0.0) + sec
        return stats

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "status": {s.value: self.by_status.get(s.value, 0) for s in Status},
            "pages": self.pages,
            "pages_failed": self.pages_failed,
            "stage_seconds": dict(sorted(self.stage_seconds.items())),
            "error_codes": dict(self.error_codes),
            "errors": self.errors,
            "skipped_files": self.skipped_files,
            "failed_files": self.failed_files,
            "file_notes": self.file_notes,
        }


class ResultWriter:
    """Writes RESULTS batches under ``output``: ``documents/``, ``pages/`` Parquet and per-document files."""

    def __init__(
        self,
        output: str,
        spec: OutputSpec,
        method: str,
        storage_options: dict[str, Any] | None = None,
        shard: str = DEFAULT_SHARD,
    ):
        self.output = output.rstrip("/")
        self.spec = spec
        self.method = spec.method_dir or method
        self.storage_options = storage_options or {}
        self.shard = shard
        # the documents parts are the commit record resume reads; kept out of sight when the table is not asked for
        self.state_dir = spec.state_dir.strip("/") or STATE_DIR
        self.documents_dir = DOCUMENTS_TABLE if DOCUMENTS_TABLE in spec.tables else f"{self.state_dir}/documents"

    def for_shard(self, shard: str) -> ResultWriter:
        """The same writer, writing its Parquet parts under ``shard=<shard>/``."""
        return ResultWriter(self.output, self.spec, self.method, self.storage_options, shard=shard)

    def filesystem(self) -> tuple[fsspec.AbstractFileSystem, str]:
        """The output's filesystem and root path."""
        return url_to_fs(self.output, self.storage_options)

    def write(self, results: pa.Table, part: str | None = None) -> WriteStats:
        if results.num_rows == 0:
            return WriteStats()
        fs, root = self.filesystem()
        part = part or part_name(results.column("source").to_pylist())
        stats = WriteStats.of(results)
        # Order matters for resume: per-document files first, then pages, then the documents part, which is the
        # commit record of its documents (each Parquet file appears whole or not at all).
        if self.spec.files:
            columns = [c for c in FILE_COLUMNS if c in results.column_names]
            rows = results.select(columns).to_pylist()
            if "fields" in self.spec.files:
                for row, fields in zip(rows, page_fields(results)):
                    row["fields"] = fields
            for row in rows:
                self._write_files(fs, root, row, stats)
        if PAGES_TABLE in self.spec.tables:
            pages = pages_table(results)
            if pages.num_rows:
                self._write_parquet(fs, self.part_path(root, PAGES_TABLE, part), pages)
        docs = results.drop_columns([c for c in DOCUMENT_TABLE_DROPS if c in results.column_names])
        self._write_parquet(fs, self.part_path(root, self.documents_dir, part), docs)
        return stats

    def part_path(self, root: str, table: str, part: str) -> str:
        return f"{root}/{table}/{self.shard_dir(self.shard)}/part-{part}.parquet"

    @staticmethod
    def shard_dir(shard: str) -> str:
        return f"{SHARD_PREFIX}{shard}"

    @staticmethod
    def _write_parquet(fs: fsspec.AbstractFileSystem, path: str, table: pa.Table) -> None:
        write_atomic(fs, path, parquet_bytes(table))

    def document_dir(self, root: str, name: str) -> str:
        base = f"{root}/{self.spec.files_dir}" if self.spec.files_dir else root
        return f"{base}/{name}/{self.method}"

    def _write_files(self, fs: fsspec.AbstractFileSystem, root: str, row: dict[str, Any], stats: WriteStats) -> None:
        if row["markdown"] is None:  # failed before assembly: nothing to write
            return
        name, folder = row["name"], self.document_dir(root, row["name"])
        fs.makedirs(folder, exist_ok=True)
        document = DocumentFiles(row, self.storage_options)
        for kind in self.spec.files:
            suffix, make = FILE_WRITERS[kind]
            try:
                content = make(document)
            except SkipFile as exc:
                stats.note_file(row, kind, f"skipped: {exc}", failed=False)
                continue
            except Exception as exc:  # a debug rendering must never fail the write
                log.warning("could not make %s%s for %s", name, suffix, row.get("source"), exc_info=True)
                stats.note_file(row, kind, f"failed: {type(exc).__name__}: {exc}", failed=True)
                continue
            if content is None:
                continue
            mode = "wb" if isinstance(content, bytes) else "w"
            with fs.open(f"{folder}/{name}{suffix}", mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as handle:
                handle.write(content)
        for image in row["images"] or []:
            path = f"{folder}/{image['path']}"
            fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            with fs.open(path, "wb") as handle:
                handle.write(image["data"])


# ---------------------------------------------------------------------------- per-document files

# Columns of a RESULTS row the file writers read (``model_json`` only where the table has it).
FILE_COLUMNS = ("doc_id", "source", "name", "kind", "markdown", "content_list", "middle_json", "model_json", "images")


class SkipFile(Exception):
    """A requested file that cannot be made for this document (e.g. no readable original PDF)."""


class DocumentFiles:
    """One RESULTS row and what its files are made from: the parsed middle.json and, read only when
    a file needs them, the original PDF bytes (from ``source``, through fsspec)."""

    def __init__(self, row: dict[str, Any], storage_options: dict[str, Any]):
        self.row = row
        self.storage_options = storage_options
        self._original: bytes | SkipFile | None = None
        self._middle: dict[str, Any] | None = None

    def middle(self) -> dict[str, Any]:
        if self._middle is None:
            if not self.row.get("middle_json"):
                raise SkipFile("the document has no middle.json")
            self._middle = json.loads(self.row["middle_json"])
        return self._middle

    def original_pdf(self) -> bytes:
        """The document's original PDF bytes; :class:`SkipFile` when they cannot be had (read once)."""
        if self._original is None:
            try:
                self._original = read_original_pdf(self.row, self.storage_options)
            except SkipFile as exc:
                self._original = exc
        if isinstance(self._original, SkipFile):
            raise self._original
        return self._original


def read_original_pdf(row: dict[str, Any], storage_options: dict[str, Any]) -> bytes:
    """Re-read a document's PDF from its ``source`` and check it is the document that was parsed.

    Raises :class:`SkipFile` for image documents, Parquet-input sources (``...#sha256=...``: the
    bytes were in a Parquet row), unreadable sources and sources whose content changed.
    """
    source = row.get("source") or ""
    if row.get("kind") != DocKind.PDF.value:
        kind = str(row.get("kind"))
        raise SkipFile(f"a{'n' if kind[:1] in 'aeio' else ''} {kind} input has no original PDF to draw on or copy")
    if PARQUET_SOURCE_MARK in source:
        raise SkipFile(f"{source} names a Parquet row, not a readable file")
    try:
        fs, path = url_to_fs(source, storage_options)
        data = fs.cat_file(path)
    except Exception as exc:
        raise SkipFile(f"cannot read {source}: {type(exc).__name__}: {exc}") from None
    if row.get("doc_id") and hashlib.sha256(data).hexdigest() != row["doc_id"]:
        raise SkipFile(f"{source} changed since it was parsed (sha256 differs from doc_id)")
    return data


def _markdown(doc: DocumentFiles) -> str:
    return doc.row["markdown"]


def _content_list(doc: DocumentFiles) -> str:
    return _pretty(doc.row["content_list"])


def _middle(doc: DocumentFiles) -> str:
    return _pretty(doc.row.get("middle_json"))


def _model(doc: DocumentFiles) -> str | None:
    if "model_json" not in doc.row:  # the pipeline's RESULTS have no model output: nothing to write
        return None
    if doc.row["model_json"] is None:
        raise SkipFile("the document has no model output")
    return _pretty(doc.row["model_json"])


def page_fields(results: pa.Table) -> list[list[dict[str, Any]]]:
    """Per document, its pages' handwriting fields (``vlm_fields``) with their ``page_idx``; [] without a vlm stage."""
    if "pages" not in results.column_names:
        return [[] for _ in range(results.num_rows)]
    pages = results.column("pages").combine_chunks()
    if "vlm_fields" not in [f.name for f in pages.type.value_type]:
        return [[] for _ in range(results.num_rows)]
    flat = pages.flatten()
    indexes = flat.field("page_idx").to_pylist()
    values = flat.field("vlm_fields").to_pylist()
    offsets = pages.offsets.to_pylist()
    out = []
    for start, end in zip(offsets[:-1], offsets[1:]):
        out.append([{"page_idx": indexes[k], **json.loads(values[k])} for k in range(start, end) if values[k]])
    return out


def _fields(doc: DocumentFiles) -> str | None:
    """``_fields.json``: the structured fields a handwriting context extracted, page by page."""
    pages = doc.row.get("fields") or []
    if not pages:
        return None
    return json.dumps({"source": doc.row.get("source"), "pages": pages}, ensure_ascii=False, indent=4)


def _origin_pdf(doc: DocumentFiles) -> bytes:
    return doc.original_pdf()


def _layout_pdf(doc: DocumentFiles) -> bytes:
    return _debug_rendering(doc, layout_pdf)


def _span_pdf(doc: DocumentFiles) -> bytes:
    return _debug_rendering(doc, span_pdf)


def _debug_rendering(doc: DocumentFiles, draw: Callable[[bytes, dict[str, Any]], bytes]) -> bytes:
    """A debug rendering over the original PDF; an encrypted original is skipped (the writer has no password)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        return draw(doc.original_pdf(), doc.middle())
    except pdfium.PdfiumError as exc:
        if exc.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise SkipFile("the original PDF is encrypted: no debug rendering is drawn over it") from None
        raise


# File kind -> (file name suffix after the document name, maker).  A maker returns the file's
# content (str: UTF-8 text, bytes: binary), None to write nothing, or raises SkipFile.
FILE_WRITERS: dict[str, tuple[str, Callable[[DocumentFiles], str | bytes | None]]] = {
    "markdown": (".md", _markdown),
    "content_list": ("_content_list.json", _content_list),
    "middle": ("_middle.json", _middle),
    "model": ("_model.json", _model),
    "layout_pdf": ("_layout.pdf", _layout_pdf),
    "span_pdf": ("_span.pdf", _span_pdf),
    "origin_pdf": ("_origin.pdf", _origin_pdf),
    "fields": ("_fields.json", _fields),
}


def pages_table(results: pa.Table) -> pa.Table:
    """The page records of a RESULTS batch as a flat table (document error rows have none)."""
    pages = results.column("pages").combine_chunks()
    flat = pc.list_flatten(pages)
    return pa.Table.from_struct_array(flat)


def part_name(sources: list[str]) -> str:
    """A part's file name from the documents it holds: a retried write of the same block overwrites, never adds."""
    digest = hashlib.sha256("\n".join(sorted(sources)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:20]


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def _pretty(text: str | None) -> str:
    """MinerU's layout of a JSON file (indent 4), from the compact text the assemble stage wrote."""
    return indent_json_text(text or "null")
