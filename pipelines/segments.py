"""Document segments: how page stages run in one streaming Ray Data pass without grouping pages by document.

Between ``render`` and ``assemble`` a row of the Ray dataset is a *segment*: one document, or a page range of at
most ``render.segment_pages`` pages of a long one, with its page rows nested in the ``pages`` list column.  A
document's pages therefore never leave each other, and assembling a document is a per-row map, not an
all-to-all shuffle whose size grows with the input.

* :class:`RenderSegments` runs ``render`` and nests its page rows into segments (``segment`` = 0, 1, ...;
  ``last`` marks a document's final segment).
* :class:`PageStage` (actor pools) and :func:`apply_page_stage` (task pools) run any page-level operator on
  segment rows: the pages of every segment of the batch are exploded into one page table (so a model batches
  pages across documents), the operator runs, and its page rows are nested back into their segments.
* :class:`AssembleSegments` assembles each single-segment document in place.  Each segment of a longer
  document is staged as a Parquet file under ``OUTPUT/_docray/segments/<key>/``; once the pass is over,
  :func:`join_staged` assembles every fully staged document (a small second pass over long documents only).

Everything here is plain pyarrow; the operators' page logic is untouched and runs the same under the
:class:`~docray.pipelines.executors.LocalExecutor`.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import time
from dataclasses import dataclass
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from docray.operators.base import GroupOperator, Operator, Row, error_fields, to_table
from docray.operators.render import RenderOperator, _documents
from docray.pipelines.outputs import STATE_DIR, ResultWriter, parquet_bytes
from docray.schema import ErrorCode
from docray.storage import write_atomic

SEGMENTS_DIR = f"{STATE_DIR}/segments"  # staged segments of documents longer than one segment
SEGMENT_KEY_COLUMNS = ("source", "doc_id", "segment", "last")
_PART = re.compile(r"^(\d{6})(-last)?\.parquet$")


def segment_schema(page_schema: pa.Schema) -> pa.Schema:
    """The schema of segment rows whose pages have ``page_schema``."""
    return pa.schema(
        [
            pa.field("source", pa.string()),
            pa.field("doc_id", pa.string()),
            pa.field("segment", pa.int32()),
            pa.field("last", pa.bool_()),
            pa.field("pages", pa.list_(pa.struct(list(page_schema)))),
        ]
    )


def nest(pages: pa.Table, keys: list[tuple[str, str | None, int, bool]], owner: list[int], schema: pa.Schema) -> pa.Table:
    """Segment rows: ``keys[i]`` = (source, doc_id, segment, last), ``owner[j]`` = the segment of page row ``j``."""
    pages = pages.cast(pa.schema(list(schema.field("pages").type.value_type))) if pages.num_rows else pages
    order = sorted(range(len(owner)), key=lambda j: owner[j])  # stable: page order within a segment is kept
    taken = pages.take(pa.array(order, pa.int64())) if order != list(range(len(owner))) else pages
    counts = [0] * len(keys)
    for seg in owner:
        counts[seg] += 1
    offsets = [0]
    for n in counts:
        offsets.append(offsets[-1] + n)
    page_type = schema.field("pages").type
    struct = pa.StructArray.from_arrays(
        [taken.column(f.name).combine_chunks() for f in page_type.value_type], fields=list(page_type.value_type)
    ) if taken.num_rows else pa.array([], page_type.value_type)
    nested = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), struct, type=page_type)
    return pa.Table.from_arrays(
        [
            pa.array([k[0] for k in keys], pa.string()),
            pa.array([k[1] for k in keys], pa.string()),
            pa.array([k[2] for k in keys], pa.int32()),
            pa.array([k[3] for k in keys], pa.bool_()),
            nested,
        ],
        schema=schema,
    )


def explode(segments: pa.Table) -> tuple[pa.Table, list[int]]:
    """The page rows of ``segments`` as one table, and for each page row the index of its segment."""
    pages = segments.column("pages").combine_chunks()
    flat = pc.list_flatten(pages)
    owner = pc.list_parent_indices(pages).to_pylist()
    return pa.Table.from_struct_array(flat), owner


def segment_keys(segments: pa.Table) -> list[tuple[str, str | None, int, bool]]:
    return list(zip(*(segments.column(c).to_pylist() for c in SEGMENT_KEY_COLUMNS)))


# ----------------------------------------------------------------------------- render


class RenderSegments:
    """``render`` as a generator of segment tables (each of at most about ``segment_pages`` page rows)."""

    def __init__(self, config: dict[str, Any], output_schema: pa.Schema):
        self.operator = RenderOperator(config, output_schema=output_schema)
        self.schema = segment_schema(output_schema)

    def __call__(self, batch: pa.Table) -> Iterator[pa.Table]:
        op = self.operator
        op.ensure_setup()
        size = op.config.segment_pages
        out_rows: list[Row] = []
        out_keys: list[tuple[str, str | None, int, bool]] = []
        owner: list[int] = []

        def add(rows: list[Row], segment: int, last: bool) -> None:
            out_keys.append((rows[0]["source"], rows[0].get("doc_id"), segment, last))
            owner.extend([len(out_keys) - 1] * len(rows))
            out_rows.extend(rows)

        def flush() -> pa.Table:
            table = nest(to_table(out_rows, op.output_schema), out_keys, owner, self.schema)
            out_rows.clear(), out_keys.clear(), owner.clear()
            return table

        current: str | None = None
        pending: list[Row] = []
        segment = 0
        emitted = False
        for rows in op.iter_page_rows(*_documents(batch)):
            if not rows:
                continue
            if rows[0]["source"] != current:
                if pending:
                    add(pending, segment, True)
                current, pending, segment = rows[0]["source"], [], 0
            pending.extend(rows)
            while len(pending) > size:  # more pages follow: this segment is not the document's last
                add(pending[:size], segment, False)
                del pending[:size]
                segment += 1
            if len(out_rows) >= size:
                yield flush()
                emitted = True
        if pending:
            add(pending, segment, True)
        if out_rows or not emitted:
            yield flush()


def render_segments(batch: pa.Table, **kwargs: Any) -> Iterator[pa.Table]:
    """Task-pool entry point of :class:`RenderSegments`."""
    yield from RenderSegments(**kwargs)(batch)


# ----------------------------------------------------------------------------- page stages


def run_on_segments(op: Operator, segments: pa.Table, schema: pa.Schema) -> pa.Table:
    """Run a page-level operator over the pages of every segment of the batch, and nest its rows back."""
    if segments.num_rows == 0:
        return segments.cast(schema)
    keys = segment_keys(segments)
    pages, owner = explode(segments)
    where = {(s, p): seg for s, p, seg in zip(pages.column("source").to_pylist(), pages.column("page_idx").to_pylist(), owner)}
    by_source = {k[0]: i for i, k in reversed(list(enumerate(keys)))}
    out = op(pages)
    sources, indexes = out.column("source").to_pylist(), out.column("page_idx").to_pylist()
    new_owner = [where.get((s, p), by_source.get(s, 0)) for s, p in zip(sources, indexes)]
    return nest(out, keys, new_owner, schema)


class PageStage:
    """Actor-pool entry point: one operator instance (its model loaded once) running on segment rows."""

    def __init__(self, operator: type[Operator], config: dict[str, Any], output_schema: pa.Schema, setup_log: SetupLog | None = None):
        self.operator = operator(config, output_schema=output_schema)
        self.schema = segment_schema(output_schema)
        if setup_log is not None:
            self.operator.ensure_setup()
            setup_log.record(self.operator.name, time.perf_counter())

    def __call__(self, segments: pa.Table) -> pa.Table:
        return run_on_segments(self.operator, segments, self.schema)


def apply_page_stage(segments: pa.Table, *, operator: type[Operator], config: dict[str, Any], output_schema: pa.Schema) -> pa.Table:
    """Task-pool entry point for stateless page operators."""
    return run_on_segments(operator(config, output_schema=output_schema), segments, segment_schema(output_schema))


# ----------------------------------------------------------------------------- assemble


@dataclass(frozen=True)
class SetupLog:
    """Where actors note that they set up their operator (model loads per run: ``_docray/setups/<run>/``)."""

    writer: ResultWriter
    run_id: str

    def record(self, stage: str, started: float) -> None:
        import os
        import socket

        fs, root = self.writer.filesystem()
        name = f"{stage}-{socket.gethostname()}-{os.getpid()}-{os.urandom(4).hex()}"
        write_atomic(fs, f"{root}/{STATE_DIR}/setups/{self.run_id}/{name}", f"{time.time()}")

    def count(self) -> dict[str, int]:
        fs, root = self.writer.filesystem()
        base = f"{root}/{STATE_DIR}/setups/{self.run_id}"
        if not fs.exists(base):
            return {}
        counts: dict[str, int] = {}
        for path in fs.find(base):
            name = posixpath.basename(path)
            if name.startswith("."):
                continue
            stage = name.split("-", 1)[0]
            counts[stage] = counts.get(stage, 0) + 1
        return counts


def segment_key(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:32]


class AssembleSegments:
    """Assemble single-segment documents in place; stage the segments of longer ones for :func:`join_staged`."""

    def __init__(self, operator: type[GroupOperator], config: dict[str, Any], output_schema: pa.Schema, writer: ResultWriter):
        self.operator = operator(config, output_schema=output_schema)
        self.writer = writer

    def __call__(self, segments: pa.Table) -> pa.Table:
        op = self.operator
        op.ensure_setup()
        results: list[Row] = []
        keys = segment_keys(segments)
        whole = [i for i, (_s, _d, seg, last) in enumerate(keys) if seg == 0 and last]
        if len(whole) < len(keys):
            fs, root = self.writer.filesystem()
            for i, (source, _doc, seg, last) in enumerate(keys):
                if seg == 0 and last:
                    continue
                pages, _ = explode(segments.slice(i, 1))
                if "image" in pages.column_names:  # assemble never reads page images
                    pages = pages.drop_columns(["image"])
                name = f"{seg:06d}{'-last' if last else ''}.parquet"
                write_atomic(fs, f"{root}/{SEGMENTS_DIR}/{segment_key(source)}/{name}", parquet_bytes(pages))
        for i in whole:
            pages, _ = explode(segments.slice(i, 1))
            results.extend(op.process_rows(pages.to_pylist()))
        return to_table(results, op.output_schema)


def assemble_segments(segments: pa.Table, *, operator: type[GroupOperator], config: dict[str, Any],
                      output_schema: pa.Schema, writer: ResultWriter) -> pa.Table:  # fmt: skip
    """Task-pool entry point of :class:`AssembleSegments` (assemble holds no model)."""
    return AssembleSegments(operator, config, output_schema, writer)(segments)


def staged_documents(writer: ResultWriter) -> list[str]:
    """The folders of staged long documents under the output."""
    fs, root = writer.filesystem()
    base = f"{root}/{SEGMENTS_DIR}"
    if not fs.exists(base):
        return []
    return sorted(p for p in fs.ls(base, detail=False) if not posixpath.basename(p).startswith("."))


def clear_staged(writer: ResultWriter) -> None:
    """Remove staged segments (of documents that were not committed: they run again whole)."""
    fs, root = writer.filesystem()
    if fs.exists(f"{root}/{SEGMENTS_DIR}"):
        fs.rm(f"{root}/{SEGMENTS_DIR}", recursive=True)


def join_document(folder: str, writer: ResultWriter, op: GroupOperator) -> Row:
    """Assemble one staged long document from its segment files (an error row when a segment is missing)."""
    fs, _root = writer.filesystem()
    parts: dict[int, str] = {}
    last: int | None = None
    for path in fs.ls(folder, detail=False):
        match = _PART.match(posixpath.basename(path))
        if match:
            parts[int(match.group(1))] = path
            if match.group(2):
                last = int(match.group(1))
    tables = []
    for seg in sorted(parts):
        with fs.open(parts[seg], "rb") as handle:
            tables.append(pq.read_table(handle))
    rows = pa.concat_tables(tables, promote_options="permissive").to_pylist() if tables else []
    op.ensure_setup()
    missing = [] if last is not None and sorted(parts) == list(range(last + 1)) else ["last" if last is None else
               ",".join(str(s) for s in range(last + 1) if s not in parts)]  # fmt: skip
    if missing or not rows:
        from docray.operators.base import DocrayError

        exc = DocrayError(ErrorCode.INTERNAL, f"segments of the document were lost before assembly: {missing}")
        return op.fail_group(rows or [{"source": None}], exc) | error_fields(op.name, exc)
    return op.process_rows(rows)[0]


def join_staged(batch: pa.Table, *, operator: type[GroupOperator], config: dict[str, Any], output_schema: pa.Schema,
                writer: ResultWriter) -> pa.Table:  # fmt: skip
    """Task entry point: assemble the staged documents whose folders are in ``batch['folder']``."""
    op = operator(config, output_schema=output_schema)
    return to_table([join_document(f, writer, op) for f in batch.column("folder").to_pylist()], output_schema)

