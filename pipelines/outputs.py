"""Writing a run's results: Parquet tables and MinerU per-document files, through fsspec.

:class:`ResultWriter` writes one batch of assembled documents (the RESULTS table) and returns
:class:`WriteStats`; the Ray Data sink and the local executor both call it, so the two executors
write identical outputs.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from docray.pipelines.spec import OutputSpec
from docray.schema import Status

DOCUMENT_TABLE_DROPS = ("pages", "middle_json", "images")
MAX_LISTED_ERRORS = 50


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

    def merge(self, other: WriteStats) -> WriteStats:
        self.documents += other.documents
        self.by_status.update(other.by_status)
        self.pages += other.pages
        self.pages_failed += other.pages_failed
        for stage, sec in other.stage_seconds.items():
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + sec
        self.error_codes.update(other.error_codes)
        self.errors.extend(other.errors[: MAX_LISTED_ERRORS - len(self.errors)])
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
        }


class ResultWriter:
    """Writes RESULTS batches under ``output``: ``documents/``, ``pages/`` Parquet and per-document files."""

    def __init__(self, output: str, spec: OutputSpec, method: str, storage_options: dict[str, Any] | None = None):
        self.output = output.rstrip("/")
        self.spec = spec
        self.method = spec.method_dir or method
        self.storage_options = storage_options or {}

    def _fs(self) -> tuple[fsspec.AbstractFileSystem, str]:
        return fsspec.core.url_to_fs(self.output, **self.storage_options)

    def write(self, results: pa.Table, part: str | None = None) -> WriteStats:
        if results.num_rows == 0:
            return WriteStats()
        fs, root = self._fs()
        part = part or uuid.uuid4().hex[:12]
        if "documents" in self.spec.tables:
            docs = results.drop_columns([c for c in DOCUMENT_TABLE_DROPS if c in results.column_names])
            self._write_parquet(fs, f"{root}/documents/part-{part}.parquet", docs)
        if "pages" in self.spec.tables:
            pages = pages_table(results)
            if pages.num_rows:
                self._write_parquet(fs, f"{root}/pages/part-{part}.parquet", pages)
        if self.spec.files:
            for row in results.select(["name", "status", "markdown", "content_list", "middle_json", "images"]).to_pylist():
                self._write_files(fs, root, row)
        return WriteStats.of(results)

    @staticmethod
    def _write_parquet(fs: fsspec.AbstractFileSystem, path: str, table: pa.Table) -> None:
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with fs.open(path, "wb") as handle:
            pq.write_table(table, handle, compression="zstd")

    def document_dir(self, root: str, name: str) -> str:
        base = f"{root}/{self.spec.files_dir}" if self.spec.files_dir else root
        return f"{base}/{name}/{self.method}"

    def _write_files(self, fs: fsspec.AbstractFileSystem, root: str, row: dict[str, Any]) -> None:
        if row["markdown"] is None:  # failed before assembly: nothing to write
            return
        name, folder = row["name"], self.document_dir(root, row["name"])
        fs.makedirs(folder, exist_ok=True)
        files = {
            "markdown": (f"{name}.md", lambda: row["markdown"]),
            "content_list": (f"{name}_content_list.json", lambda: _pretty(row["content_list"])),
            "middle": (f"{name}_middle.json", lambda: _pretty(row["middle_json"])),
        }
        for kind in self.spec.files:
            if kind in files:
                filename, make = files[kind]
                with fs.open(f"{folder}/{filename}", "w", encoding="utf-8") as handle:
                    handle.write(make())
        for image in row["images"] or []:
            path = f"{folder}/{image['path']}"
            fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            with fs.open(path, "wb") as handle:
                handle.write(image["data"])


def pages_table(results: pa.Table) -> pa.Table:
    """The page records of a RESULTS batch as a flat table (document error rows have none)."""
    pages = results.column("pages").combine_chunks()
    flat = pc.list_flatten(pages)
    return pa.Table.from_struct_array(flat)


def _pretty(text: str | None) -> str:
    return json.dumps(json.loads(text or "null"), ensure_ascii=False, indent=4)
