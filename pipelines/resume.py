"""Resume and exactly-once: what a run's output already holds, read back from its documents parts.

A documents part (``documents/shard=<id>/part-<hash>.parquet``, or ``_docray/documents/...`` when the documents
table is not an output) is written last for its block, after the block's per-document files and pages part, and
appears whole or not at all; so a document is *done* exactly when a documents part holds its row.  Re-running a
command skips done documents.  A document found in more than one part (a write retried after its upstream was
recomputed, two overlapping runs) is kept in the first part in path order and removed from the others, with the
pages part beside each.
"""

from __future__ import annotations

import logging
import posixpath
from collections import defaultdict
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from docray.pipelines.outputs import PAGES_TABLE, ResultWriter, parquet_bytes
from docray.schema import Status
from docray.storage import write_atomic

log = logging.getLogger(__name__)
STATE_COLUMNS = ("source", "status", "error_code")


@dataclass
class OutputState:
    """The documents already written under a run's output: which source is in which part, with what status."""

    writer: ResultWriter
    rows: dict[str, list[tuple[str, str, str | None]]] = field(default_factory=dict)  # part path -> (source, status, code)
    unreadable: list[str] = field(default_factory=list)  # parts that could not be read (removed by scan)

    # ------------------------------------------------------------------ reading
    @classmethod
    def scan(cls, writer: ResultWriter, shard: str | None = None, *, repair: bool = True) -> OutputState:
        """Read the ``source``/``status`` columns of every documents part (of one shard, when given).

        With ``repair`` (the runner, before and after running), leftover temporary files of interrupted
        writes and parts that cannot be read are deleted: the documents in them were never committed and
        will run again.  Without it (``docray status`` beside a running job) nothing is touched.
        """
        state = cls(writer)
        fs, root = writer.filesystem()
        base = f"{root}/{writer.documents_dir}"
        if shard is not None:
            base = f"{base}/{writer.shard_dir(shard)}"
        if not fs.exists(base):
            return state
        for path in sorted(fs.find(base)):
            name = posixpath.basename(path)
            if name.startswith(".") or not name.endswith(".parquet"):
                if name.startswith(".") and repair:  # a temp file of a write that never finished
                    fs.rm(path)
                continue
            try:
                with fs.open(path, "rb") as handle:
                    table = pq.read_table(handle, columns=[c for c in STATE_COLUMNS])
            except Exception as exc:
                state.unreadable.append(path)
                if repair:
                    log.warning("removing unreadable documents part %s: %s", path, exc)
                    _remove(fs, [path, pages_part(path, writer.documents_dir)])
                continue
            state.rows[path] = list(zip(*(table.column(c).to_pylist() for c in STATE_COLUMNS)))
        return state

    def include(self, other: OutputState) -> None:
        """Add the parts another scan of the same output read (e.g. a shard just committed)."""
        self.rows.update(other.rows)
        self.unreadable.extend(other.unreadable)

    def sources(self) -> dict[str, list[str]]:
        """Source -> the parts holding it (more than one: a duplicate)."""
        where: dict[str, list[str]] = defaultdict(list)
        for path, rows in self.rows.items():
            for source, _status, _code in rows:
                where[source].append(path)
        return dict(where)

    def done(self, *, retry_errors: bool = False) -> set[str]:
        """Sources whose document is written; with ``retry_errors``, error rows do not count."""
        return {
            source
            for rows in self.rows.values()
            for source, status, _code in rows
            if not (retry_errors and status == Status.ERROR.value)
        }

    def error_sources(self) -> set[str]:
        return {s for rows in self.rows.values() for s, status, _ in rows if status == Status.ERROR.value}

    def duplicates(self) -> dict[str, list[str]]:
        return {s: parts for s, parts in self.sources().items() if len(parts) > 1}

    @property
    def documents(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def counts(self, sources: set[str] | None = None) -> dict[str, int]:
        """Rows by status (of the given sources only, when given)."""
        by: dict[str, int] = defaultdict(int)
        for rows in self.rows.values():
            for source, status, _code in rows:
                if sources is None or source in sources:
                    by[status] += 1
        return dict(by)

    # ------------------------------------------------------------------ repairing
    def remove(self, sources_by_part: dict[str, set[str]]) -> int:
        """Rewrite parts without the rows of the given sources (pages part first); returns rows removed."""
        fs, _root = self.writer.filesystem()
        removed = 0
        for path, sources in sources_by_part.items():
            if not sources:
                continue
            pages_path = pages_part(path, self.writer.documents_dir)
            if fs.exists(pages_path):
                _rewrite_without(fs, pages_path, sources)
            removed += _rewrite_without(fs, path, sources)
            kept = [r for r in self.rows[path] if r[0] not in sources]
            if kept:
                self.rows[path] = kept
            else:
                del self.rows[path]
        return removed

    def deduplicate(self) -> int:
        """Keep each document in its first part only; returns the number of duplicate rows removed."""
        drop: dict[str, set[str]] = defaultdict(set)
        for source, parts in self.duplicates().items():
            for path in sorted(parts)[1:]:
                drop[path].add(source)
        removed = self.remove(drop)
        if removed:
            log.warning("removed %d duplicate document rows", removed)
        return removed

    def remove_errors(self) -> int:
        """Drop error rows so their documents run again (``--retry-errors``)."""
        drop: dict[str, set[str]] = defaultdict(set)
        for path, rows in self.rows.items():
            for source, status, _code in rows:
                if status == Status.ERROR.value:
                    drop[path].add(source)
        return self.remove(drop)


def pages_part(documents_part: str, documents_dir: str) -> str:
    """The pages part written beside a documents part (same shard, same part name)."""
    head, sep, tail = documents_part.rpartition(f"/{documents_dir}/")
    return f"{head}/{PAGES_TABLE}/{tail}" if sep else documents_part


def _rewrite_without(fs, path: str, sources: set[str]) -> int:
    with fs.open(path, "rb") as handle:
        table = pq.read_table(handle)
    keep = pc.invert(pc.is_in(table.column("source"), value_set=pa.array(sorted(sources), pa.string())))
    kept = table.filter(keep)
    removed = table.num_rows - kept.num_rows
    if kept.num_rows:
        write_atomic(fs, path, parquet_bytes(kept))
    else:
        fs.rm(path)
    return removed


def _remove(fs, paths: list[str]) -> None:
    for path in paths:
        try:
            fs.rm(path)
        except FileNotFoundError:
            pass
