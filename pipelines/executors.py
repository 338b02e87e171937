"""Executors run a checked :class:`~docray.pipelines.plan.Plan`; stages never know which one runs them.

* :class:`RayExecutor`: ONE streaming Ray Data execution per run over every input (files, manifests, all
  Parquet files): each stage a ``map_batches`` operator with its own resources; between render and assemble a
  row is a document segment (:mod:`docray.pipelines.segments`), so no stage groups pages by document (no
  all-to-all shuffle); a write stage commits parts as they come, and the driver reads what was written.
* :class:`LocalExecutor`: in-process, one document at a time through every stage, for debugging and
  small jobs; it calls the same operators and the same :class:`ResultWriter`.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import re
import sys
from typing import Any, Callable, Iterable, Iterator, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from docray.operators.base import GroupOperator, Level
from docray.operators.ingest import ExpandedInputs, sources_from_parquet
from docray.pipelines.outputs import ResultWriter, WriteStats
from docray.pipelines.plan import SOURCES_SCHEMA, BoundStage, Plan
from docray.pipelines.ray_adapter import map_batches_kwargs, missing_gpus, starved_stages, uses_actor_pool, worker_config
from docray.pipelines.segments import (
    AssembleSegments,
    PageStage,
    RenderSegments,
    SetupLog,
    apply_page_stage,
    assemble_segments,
    clear_staged,
    join_staged,
    render_segments,
    staged_documents,
)
from docray.pipelines.spec import PipelineError
from docray.storage import pyarrow_filesystem, url_to_fs

log = logging.getLogger(__name__)
Progress = Callable[[int, dict[str, Any]], None]
DEFAULT_ROWS_PER_WRITE = 64  # documents per Parquet part: bounds the number of files on big runs


class Executor(Protocol):
    name: str

    def execute(
        self,
        plan: Plan,
        inputs: ExpandedInputs,
        writer: ResultWriter,
        skip_sources: set[str] | None = None,
        shard_of: dict[str, str] | None = None,
        default_shard: str = "0",
        on_written: Callable[[str, list[str], WriteStats], None] | None = None,
        run_id: str | None = None,
    ) -> WriteStats:
        """Run ``plan`` over ``inputs`` and write the results, each document into the shard ``shard_of`` names
        (else ``default_shard``); Parquet-input rows whose source is in ``skip_sources`` (documents an earlier
        run wrote) are not run.  ``on_written(shard, sources, stats)`` is called for every part written."""
        ...


def _ingest_options(plan: Plan) -> dict[str, Any]:
    config = plan.stages[0].config
    return {
        "bytes_column": getattr(config, "bytes_column", "bytes"),
        "source_column": getattr(config, "source_column", None),
    }


# ----------------------------------------------------------------------------- local


class LocalExecutor:
    """Runs each input document through all stages in this process."""

    name = "local"

    def __init__(self, progress: Progress | None = None, parquet_batch_rows: int = 64, rows_per_write: int = DEFAULT_ROWS_PER_WRITE):
        self.progress = progress
        self.parquet_batch_rows = parquet_batch_rows
        self.rows_per_write = rows_per_write  # documents per Parquet part (and lost at most when killed)

    def _sources(self, plan: Plan, inputs: ExpandedInputs, skip: set[str]) -> Iterator[pa.Table]:
        for row in inputs.files:
            yield pa.Table.from_pylist([row], schema=SOURCES_SCHEMA)
        options = _ingest_options(plan)
        for uri in inputs.parquet:
            for path in parquet_files(uri):
                for batch in pq.ParquetFile(path, filesystem=pyarrow_filesystem(path)).iter_batches(batch_size=self.parquet_batch_rows):
                    table = drop_done(sources_from_parquet(pa.Table.from_batches([batch]), uri=path, **options), skip)
                    for i in range(table.num_rows):
                        yield table.slice(i, 1)

    def operators(self, plan: Plan) -> list[Any]:
        """The plan's operators, set up (models loaded) for this run; a long-lived caller may keep them warm."""
        return [stage.instantiate() for stage in plan.stages]

    def execute(
        self,
        plan: Plan,
        inputs: ExpandedInputs,
        writer: ResultWriter,
        skip_sources: set[str] | None = None,
        shard_of: dict[str, str] | None = None,
        default_shard: str = "0",
        on_written: Callable[[str, list[str], WriteStats], None] | None = None,
        run_id: str | None = None,
    ) -> WriteStats:
        operators = self.operators(plan)  # models load once per run
        mapping = shard_of or {}
        stats = WriteStats()
        pending: list[pa.Table] = []  # results not yet written: one Parquet part per rows_per_write documents
        pending_shard: str | None = None

        def flush() -> None:
            if not pending:
                return
            table = pa.concat_tables(pending, promote_options="permissive")
            part = writer.for_shard(pending_shard or default_shard).write(table)
            stats.merge(part)
            if on_written:
                on_written(pending_shard or default_shard, table.column("source").to_pylist(), part)
            pending.clear()

        for done, source in enumerate(self._sources(plan, inputs, skip_sources or set()), start=1):
            shard = mapping.get(source.column("source")[0].as_py(), default_shard)
            if shard != pending_shard:
                flush()
                pending_shard = shard
            table = source
            for op in operators:
                if isinstance(op, GroupOperator):
                    table = _apply_grouped(op, table)
                else:
                    table = _collect(op(table))
            pending.append(table)
            if sum(t.num_rows for t in pending) >= self.rows_per_write:
                flush()
            if self.progress:
                self.progress(done, WriteStats.of(table).to_dict())
        flush()
        return stats


def drop_done(sources: pa.Table, skip: set[str] | frozenset[str]) -> pa.Table:
    """Sources rows not already written by an earlier run (resume of Parquet inputs)."""
    if not skip or sources.num_rows == 0:
        return sources
    keep = [s not in skip for s in sources.column("source").to_pylist()]
    return sources.filter(pa.array(keep, pa.bool_()))


def _collect(result: pa.Table | Iterable[pa.Table]) -> pa.Table:
    """An operator's output: one table, or the tables a generator yields (e.g. render's page-range segments)."""
    if isinstance(result, pa.Table):
        return result
    tables = list(result)
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def _apply_grouped(op: GroupOperator, table: pa.Table) -> pa.Table:
    keys = table.column(op.group_key).to_pylist()
    order: dict[Any, list[int]] = {}
    for i, key in enumerate(keys):
        order.setdefault(key, []).append(i)
    parts = [op(table.take(indices)) for indices in order.values()]
    return pa.concat_tables(parts) if parts else table.slice(0, 0)


def parquet_files(uri: str) -> list[str]:
    fs, path = url_to_fs(uri)
    if fs.isdir(path):
        found = sorted(p for p in fs.find(path) if p.endswith(".parquet"))
    else:
        found = [path]
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return found if protocol == "file" else [f"{protocol}://{p}" for p in found]


# ----------------------------------------------------------------------------- ray


_RAISED = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)): (.+)$", re.MULTILINE)


def root_cause(exc: BaseException) -> str:
    """The innermost cause of a Ray error (e.g. a model missing in an actor's setup), as one line.

    Ray passes a worker's exception to the driver as the text of its traceback (in ``RayTaskError``); the last
    ``SomeError: message`` line in it that is not Ray's own is the cause.
    """
    raised = [(kind, message) for kind, message in _RAISED.findall(str(exc)) if not kind.startswith("ray.")]
    if raised:
        kind, message = raised[-1]
        return f"{kind.rsplit('.', 1)[-1]}: {message}"
    return f"{type(exc).__name__}: {exc}"


def init_ray(address: str | None = None, num_cpus: int | None = None, verbose: bool = True) -> None:
    """Connect to ``address`` (a running cluster, "auto") or start an embedded local Ray.

    Without ``verbose`` Ray Data's INFO lines stay out of the terminal (they still go to Ray's session logs)."""
    import ray

    if not verbose:
        logging.getLogger("ray.data").setLevel(logging.WARNING)
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(
        address=address,
        num_cpus=num_cpus if address is None else None,
        include_dashboard=False,
        ignore_reinit_error=True,
        log_to_driver=True,
        logging_level="warning",
    )



# A written part, as the driver sees it: (shard, the sources in it, its WriteStats)
Written = Callable[[str, list[str], WriteStats], None]
DEFAULT_SHARD_ID = "0"


def write_results(batch: pa.Table, *, writer: ResultWriter, shard_of: Any, default_shard: str) -> pa.Table:
    """Write-task entry point: one Parquet part per shard in ``batch`` (its commit); returns what was written.

    Each returned row is one part: its shard, its sources and its pickled :class:`WriteStats`; the driver reads
    these small rows (not the results) to commit shards and show progress.
    """
    import ray

    mapping = ray.get(shard_of) if isinstance(shard_of, ray.ObjectRef) else (shard_of or {})
    return write_by_shard(batch, writer, lambda s: mapping.get(s, default_shard))


def write_by_shard(batch: pa.Table, writer: ResultWriter, shard_of: Callable[[str], str]) -> pa.Table:
    sources = batch.column("source").to_pylist() if batch.num_rows else []
    groups: dict[str, list[int]] = {}
    for i, source in enumerate(sources):
        groups.setdefault(shard_of(source), []).append(i)
    rows = []
    for shard, indices in groups.items():
        part = batch.take(pa.array(indices, pa.int64()))
        stats = writer.for_shard(shard).write(part)
        rows.append({"shard": shard, "sources": [sources[i] for i in indices], "stats": pickle.dumps(stats)})
    return pa.Table.from_pylist(rows, schema=WRITTEN_SCHEMA)


WRITTEN_SCHEMA = pa.schema([("shard", pa.string()), ("sources", pa.list_(pa.string())), ("stats", pa.binary())])


def parquet_units(paths: list[str], rows: int) -> list[dict[str, Any]]:
    """Read units of at most ``rows`` rows: (file, row group, first row, rows), from the files' footers only.

    One read task per unit, so one big Parquet file still feeds many tasks (a task's output is one block)."""
    units = []
    for path in paths:
        meta = pq.ParquetFile(path, filesystem=pyarrow_filesystem(path)).metadata
        for group in range(meta.num_row_groups):
            count = meta.row_group(group).num_rows
            units.extend({"path": path, "row_group": group, "start": s, "rows": min(rows, count - s)}
                         for s in range(0, count, rows))  # fmt: skip
    return units


def read_parquet_input(batch: pa.Table, *, options: dict[str, Any], skip: Any) -> pa.Table:
    """Read-task entry point: the sources rows of the Parquet read units in ``batch``.

    A read inside a task with a fraction of a CPU (actor pools may hold the rest); the done sources of an
    earlier run are dropped here.  A unit reads its row group and keeps its rows (row groups larger than a
    unit are read once per unit: IO traded for parallelism)."""
    import ray

    done = ray.get(skip) if isinstance(skip, ray.ObjectRef) else (skip or frozenset())
    tables = []
    for unit in batch.to_pylist():
        path = unit["path"]
        group = pq.ParquetFile(path, filesystem=pyarrow_filesystem(path)).read_row_group(unit["row_group"])
        rows = group.slice(unit["start"], unit["rows"])
        tables.append(drop_done(sources_from_parquet(rows, uri=path, **options), done))
    return pa.concat_tables(tables) if tables else SOURCES_SCHEMA.empty_table()


# Ray's own default for tasks (a worker process runs any number of them), stated explicitly on a task stage
# followed by an actor stage: Ray Data fuses a map into the next one only when their remote args are equal, so
# this keeps e.g. render in its own tasks instead of inside the layout actor (one actor doing both, CPUs idle).
SEPARATE_TASK_ARGS = {"max_calls": 0}


class RayExecutor:
    """Builds ONE streaming Ray Data plan over all the inputs; a write stage commits parts as they come."""

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        progress_bars: bool = True,
        rows_per_write: int | None = DEFAULT_ROWS_PER_WRITE,
        read_cpus: float = 0.1,
        parquet_batch_rows: int | None = None,
        verbose: bool = False,
    ):
        self.address = address
        self.num_cpus = num_cpus
        self.progress_bars = progress_bars
        self.rows_per_write = rows_per_write or DEFAULT_ROWS_PER_WRITE  # documents per Parquet part
        self.read_cpus = read_cpus  # CPUs asked by the read and write tasks (IO), so actor pools never starve them
        self.parquet_batch_rows = parquet_batch_rows  # rows per Parquet read task (None: the first stages' batch)
        self.verbose = verbose
        self.last_dataset_stats: str | None = None  # Ray Data's execution stats of the last execute()
        self.setup_counts: dict[str, int] = {}  # model set-ups (actors) per stage in the last execute()
        self.name = "ray"

    def sources(self, plan: Plan, inputs: ExpandedInputs, skip_sources: set[str] | None):
        """All the inputs as one dataset of sources rows: file sources and every Parquet file, read in one stream."""
        import ray

        parts = []
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        if inputs.files:
            table = pa.Table.from_pylist(inputs.files, schema=SOURCES_SCHEMA)
            per_block = max(1, min(plan.stages[0].config.batch_size, math.ceil(table.num_rows / (4 * cpus))))
            parts.append(ray.data.from_arrow([table.slice(i, per_block) for i in range(0, table.num_rows, per_block)]))
        first = [s.config.batch_size for s in plan.stages[:2]]  # rows per read task: what the first stages take
        rows = self.parquet_batch_rows or min(first)
        units = parquet_units([path for uri in inputs.parquet for path in parquet_files(uri)], rows)
        if units:
            skip = ray.put(frozenset(skip_sources or ()))  # one copy in the object store, not one per task
            listing = ray.data.from_items(units, override_num_blocks=len(units))
            parts.append(listing.map_batches(
                read_parquet_input, batch_size=1, batch_format="pyarrow", num_cpus=self.read_cpus,
                fn_kwargs={"options": _ingest_options(plan), "skip": skip},
            ))  # fmt: skip
        return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]

    def dataset(self, plan: Plan, inputs: ExpandedInputs, writer: ResultWriter, *, skip_sources: set[str] | None = None,
                shard_of: Any = None, default_shard: str = DEFAULT_SHARD_ID, setup_log: Any = None):  # fmt: skip
        """The run's dataset: sources, every stage (page stages on segment rows), then the write stage."""
        sources = self.sources(plan, inputs, skip_sources)
        return self.write_stage(self.stages(sources, plan, writer, setup_log), writer, shard_of, default_shard)

    def stages(self, ds, plan: Plan, writer: ResultWriter, setup_log: Any = None, start: int = 0):
        """Each stage a ``map_batches``.  A task's output is one block, and Ray Data never splits a block between
        tasks: a task stage whose next stage takes smaller batches (ingest's 16 documents, render's 2) runs in
        batches of the next stage's size, so that stage still gets blocks for several tasks at once."""
        stages = plan.stages
        for k in range(start, len(stages)):
            stage = stages[k]
            next_is_actor = k + 1 < len(stages) and uses_actor_pool(stages[k + 1])
            kwargs = segment_kwargs(stage, writer, setup_log) if stage_level(stage) else map_batches_kwargs(stage)
            if k + 1 < len(stages) and not uses_actor_pool(stage):
                kwargs["batch_size"] = min(kwargs["batch_size"], stages[k + 1].config.batch_size)
            if next_is_actor and not uses_actor_pool(stage):
                kwargs.update(SEPARATE_TASK_ARGS)  # e.g. render stays in its own tasks, not in layout's actor
            ds = ds.map_batches(kwargs.pop("fn"), **kwargs)
        return ds

    def write_stage(self, ds, writer: ResultWriter, shard_of: Any, default_shard: str):
        return ds.map_batches(
            write_results, batch_size=self.rows_per_write, batch_format="pyarrow", num_cpus=self.read_cpus,
            fn_kwargs={"writer": writer, "shard_of": shard_of, "default_shard": default_shard},
        )  # fmt: skip

    def check_resources(self, plan: Plan, with_read: bool) -> None:
        import ray

        resources = ray.cluster_resources()
        no_gpus = missing_gpus(plan.stages, resources.get("GPU", 0.0))
        if no_gpus and self.address is None:  # the embedded local Ray cannot grow: the run would wait forever
            raise PipelineError(no_gpus)
        extra = {"read": self.read_cpus, "write": self.read_cpus} if with_read else {"write": self.read_cpus}
        cpus = resources.get("CPU", 0.0)
        for problem in (no_gpus, starved_stages(plan.stages, cpus, extra) if cpus else None):
            if problem:  # an autoscaler may still add CPUs or GPU nodes: warn, not fail
                log.warning(problem)
                print(f"warning: {problem}", file=sys.stderr)

    def execute(
        self,
        plan: Plan,
        inputs: ExpandedInputs,
        writer: ResultWriter,
        skip_sources: set[str] | None = None,
        shard_of: dict[str, str] | None = None,
        default_shard: str = DEFAULT_SHARD_ID,
        on_written: Written | None = None,
        run_id: str | None = None,
    ) -> WriteStats:
        """One streaming execution over all ``inputs`` (plus a small one for documents longer than a segment)."""
        from ray.data import DataContext

        if not inputs.files and not inputs.parquet:
            return WriteStats()
        init_ray(self.address, self.num_cpus, verbose=self.verbose)
        import ray

        self.check_resources(plan, bool(inputs.parquet))
        ctx = DataContext.get_current()
        ctx.enable_progress_bars = self.progress_bars
        stats = WriteStats()
        mapping = ray.put(shard_of or {})
        setup_log = SetupLog(writer, run_id or os.urandom(4).hex())
        clear_staged(writer)  # segments staged by a killed run: their documents run again whole

        def consume(ds) -> None:
            for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
                for row in batch.to_pylist():
                    part: WriteStats = pickle.loads(row["stats"])
                    stats.merge(part)
                    if on_written:
                        on_written(row["shard"], row["sources"], part)

        try:
            ds = self.dataset(plan, inputs, writer, skip_sources=skip_sources, shard_of=mapping,
                              default_shard=default_shard, setup_log=setup_log)  # fmt: skip
            consume(ds)
            self.last_dataset_stats = ds.stats()
            staged = staged_documents(writer)
            if staged:  # documents longer than one segment: assemble each from its staged segments
                joined = self.join_dataset(plan, writer, staged)
                consume(self.write_stage(joined, writer, mapping, default_shard))
                clear_staged(writer)
        except Exception as exc:  # rows never fail a batch: this is a stage that could not start (its setup)
            raise PipelineError(f"the run stopped: {root_cause(exc)}") from exc
        self.setup_counts = setup_log.count()
        return stats

    def join_dataset(self, plan: Plan, writer: ResultWriter, folders: list[str]):
        import ray

        index = next(k for k, s in enumerate(plan.stages) if stage_level(s) == "assemble")
        stage = plan.stages[index]
        ds = ray.data.from_items([{"folder": f} for f in folders], override_num_blocks=len(folders))
        ds = ds.map_batches(
            join_staged, batch_size=1, batch_format="pyarrow", num_cpus=stage.config.resources.num_cpus,
            fn_kwargs={"operator": stage.operator, "config": worker_config(stage),
                       "output_schema": stage.output_schema, "writer": writer},
        )  # fmt: skip
        return self.stages(ds, plan, writer, start=index + 1)


def stage_level(stage: BoundStage) -> str | None:
    """How a stage runs on segment rows: 'render' (documents to segments), 'pages', 'assemble', or None (a plain map)."""
    op = stage.operator
    if op.consumes is Level.DOCUMENTS and op.produces is Level.PAGES:
        return "render"
    if op.consumes is Level.PAGES and op.produces is Level.PAGES:
        return "pages"
    if op.consumes is Level.PAGES and op.produces is Level.RESULTS:
        return "assemble"
    return None


def segment_kwargs(stage: BoundStage, writer: ResultWriter, setup_log: Any) -> dict[str, Any]:
    """``map_batches`` kwargs of a stage that runs on segment rows (the one adapter for page-level operators)."""
    kwargs = map_batches_kwargs(stage)
    level = stage_level(stage)
    config = worker_config(stage)
    if level == "render":
        render_kwargs = {"config": config, "output_schema": stage.output_schema}
        if "fn_constructor_kwargs" in kwargs:  # render.concurrency: an actor pool
            kwargs.update(fn=RenderSegments, fn_constructor_kwargs=render_kwargs)
        else:
            kwargs.update(fn=render_segments, fn_kwargs=render_kwargs)
    elif level == "pages":
        if "fn_constructor_kwargs" in kwargs:
            kwargs.update(fn=PageStage, fn_constructor_kwargs={
                "operator": stage.operator, "config": config, "output_schema": stage.output_schema, "setup_log": setup_log,
            })  # fmt: skip
        else:
            kwargs.update(fn=apply_page_stage, fn_kwargs={
                "operator": stage.operator, "config": config, "output_schema": stage.output_schema,
            })  # fmt: skip
    elif level == "assemble":
        if "fn_constructor_kwargs" in kwargs:
            kwargs.update(fn=AssembleSegments, fn_constructor_kwargs={
                "operator": stage.operator, "config": config, "output_schema": stage.output_schema, "writer": writer,
            })  # fmt: skip
        else:
            kwargs.update(fn=assemble_segments, fn_kwargs={
                "operator": stage.operator, "config": config, "output_schema": stage.output_schema, "writer": writer,
            })  # fmt: skip
    return kwargs
