"""Executors run a checked :class:`~docray.pipelines.plan.Plan`; stages never know which one runs them.

* :class:`RayExecutor`: Ray Data, streaming; each stage a ``map_batches`` (or ``groupby().map_groups``)
  operator with its own resources; results go to a :class:`ResultDatasink`.
* :class:`LocalExecutor`: in-process, one document at a time through every stage, for debugging and
  small jobs; it calls the same operators and the same :class:`ResultWriter`.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
from typing import Any, Callable, Iterable, Iterator, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from docray.operators.base import GroupOperator
from docray.operators.ingest import ExpandedInputs, sources_from_parquet
from docray.pipelines.outputs import ResultWriter, WriteStats
from docray.pipelines.plan import SOURCES_SCHEMA, Plan
from docray.pipelines.ray_adapter import map_batches_kwargs, map_kwargs, missing_gpus, starved_stages
from docray.pipelines.spec import PipelineError
from docray.storage import pyarrow_filesystem, url_to_fs

log = logging.getLogger(__name__)
Progress = Callable[[int, dict[str, Any]], None]
DEFAULT_ROWS_PER_WRITE = 64  # documents per Parquet part: bounds the number of files on big runs


class Executor(Protocol):
    def execute(
        self, plan: Plan, inputs: ExpandedInputs, writer: ResultWriter, skip_sources: set[str] | None = None
    ) -> WriteStats:
        """Run ``plan`` over ``inputs`` and write the results; Parquet-input rows whose source is in
        ``skip_sources`` (documents an earlier run wrote) are not run."""
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

    def execute(
        self, plan: Plan, inputs: ExpandedInputs, writer: ResultWriter, skip_sources: set[str] | None = None
    ) -> WriteStats:
        operators = [stage.instantiate() for stage in plan.stages]
        stats = WriteStats()
        pending: list[pa.Table] = []  # results not yet written: one Parquet part per rows_per_write documents
        for done, source in enumerate(self._sources(plan, inputs, skip_sources or set()), start=1):
            table = source
            for op in operators:
                if isinstance(op, GroupOperator):
                    table = _apply_grouped(op, table)
                else:
                    table = _collect(op(table))
            pending.append(table)
            if sum(t.num_rows for t in pending) >= self.rows_per_write:
                stats.merge(writer.write(pa.concat_tables(pending, promote_options="permissive")))
                pending = []
            if self.progress:
                self.progress(done, WriteStats.of(table).to_dict())
        if pending:
            stats.merge(writer.write(pa.concat_tables(pending, promote_options="permissive")))
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


def _drop_done_ref(sources: pa.Table, *, skip: Any) -> pa.Table:
    import ray

    return drop_done(sources, ray.get(skip) if isinstance(skip, ray.ObjectRef) else skip)


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


def init_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Connect to ``address`` (a running cluster, "auto") or start an embedded local Ray."""
    import ray

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


def _result_datasink_class():
    from ray.data.block import BlockAccessor
    from ray.data.datasource.datasink import Datasink

    class ResultDatasink(Datasink):
        """Ray Data sink writing RESULTS blocks with :class:`ResultWriter`; collects :class:`WriteStats`."""

        def __init__(self, writer: ResultWriter, rows_per_write: int | None = None):
            self.writer = writer
            self.stats = WriteStats()
            self.rows_per_write = rows_per_write

        @property
        def min_rows_per_write(self) -> int | None:
            return self.rows_per_write

        def write(self, blocks: Iterable[Any], ctx: Any) -> WriteStats:
            tables = [BlockAccessor.for_block(b).to_arrow() for b in blocks]
            tables = [t for t in tables if t.num_rows]
            if not tables:
                return WriteStats()
            # the part is named by its documents, so a retried write task overwrites its own file
            return self.writer.write(pa.concat_tables(tables, promote_options="permissive"))

        def on_write_complete(self, write_result: Any) -> None:
            for stats in write_result.write_returns:
                self.stats.merge(stats)

    return ResultDatasink


class RayExecutor:
    """Builds a streaming Ray Data plan from the stages and writes it with a datasink."""

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        progress_bars: bool = True,
        shuffle_strategy: str = "sort_shuffle_pull_based",
        rows_per_write: int | None = DEFAULT_ROWS_PER_WRITE,
    ):
        self.address = address
        self.num_cpus = num_cpus
        self.progress_bars = progress_bars
        # Grouping pages by document is a shuffle; on small runs the sort shuffle measured 2.3 s where
        # Ray's default hash shuffle took 9.7 s (21 PDFs, 2 cores; benchmarks/README.md).
        self.shuffle_strategy = shuffle_strategy
        self.rows_per_write = rows_per_write  # documents per Parquet part (fewer, larger files on big runs)
        self.last_dataset_stats: str | None = None  # Ray Data's execution stats of the last execute()
        self._warned: set[str] = set()  # resource warnings already printed (execute runs once per shard)

    def shuffle_partitions(self, inputs: ExpandedInputs) -> int:
        """Hash partitions for grouping pages by document: enough to keep every CPU busy, not Ray's 200."""
        import ray

        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        wanted = 4 * cpus if inputs.parquet else min(len(inputs.files), 4 * cpus)
        return max(1, wanted)

    def dataset(self, plan: Plan, inputs: ExpandedInputs, skip_sources: set[str] | None = None):
        import ray

        parts = []
        if inputs.files:
            table = pa.Table.from_pylist(inputs.files, schema=SOURCES_SCHEMA)
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            per_block = max(1, min(plan.stages[0].config.batch_size, math.ceil(table.num_rows / (4 * cpus))))
            blocks = [table.slice(i, per_block) for i in range(0, table.num_rows, per_block)]
            parts.append(ray.data.from_arrow(blocks))
        for uri in inputs.parquet:
            options = _ingest_options(plan)
            read = ray.data.read_parquet(uri, filesystem=pyarrow_filesystem(uri))
            sources = read.map_batches(sources_from_parquet, batch_format="pyarrow", fn_kwargs={"uri": uri, **options})
            if skip_sources:
                skip = ray.put(frozenset(skip_sources))  # one copy in the object store, not one per task
                sources = sources.map_batches(_drop_done_ref, batch_format="pyarrow", fn_kwargs={"skip": skip})
            parts.append(sources)
        ds = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
        for stage in plan.stages:
            if issubclass(stage.operator, GroupOperator):
                if "image" in stage.input_schema.names:  # page images never travel through the shuffle
                    ds = ds.drop_columns(["image"])
                kwargs = map_kwargs(stage)
                grouped = ds.groupby(stage.operator.group_key, num_partitions=self.shuffle_partitions(inputs))
                ds = grouped.map_groups(kwargs.pop("fn"), **kwargs)
            else:
                kwargs = map_batches_kwargs(stage)
                ds = ds.map_batches(kwargs.pop("fn"), **kwargs)
        return ds

    def execute(
        self, plan: Plan, inputs: ExpandedInputs, writer: ResultWriter, skip_sources: set[str] | None = None
    ) -> WriteStats:
        from ray.data import DataContext
        from ray.data.context import ShuffleStrategy

        if not inputs.files and not inputs.parquet:
            return WriteStats()
        init_ray(self.address, self.num_cpus)
        import ray

        cpus = ray.cluster_resources().get("CPU", 0.0)
        no_gpus = missing_gpus(plan.stages, ray.cluster_resources().get("GPU", 0.0))
        if no_gpus and self.address is None:  # the embedded local Ray cannot grow: the run would wait forever
            raise PipelineError(no_gpus)
        if no_gpus and no_gpus not in self._warned:  # an autoscaler may add GPU nodes
            self._warned.add(no_gpus)
            log.warning(no_gpus)
            print(f"warning: {no_gpus}", file=sys.stderr)
        problem = starved_stages(plan.stages, cpus) if cpus else None
        if problem and problem not in self._warned:  # an autoscaler may still add CPUs: warn (once per run), not fail
            self._warned.add(problem)
            log.warning(problem)
            print(f"warning: {problem}", file=sys.stderr)
        ctx = DataContext.get_current()
        ctx.enable_progress_bars = self.progress_bars
        ctx.shuffle_strategy = ShuffleStrategy(self.shuffle_strategy)
        sink = _result_datasink_class()(writer, self.rows_per_write)
        ds = self.dataset(plan, inputs, skip_sources)
        try:
            ds.write_datasink(sink)
        except Exception as exc:  # rows never fail a batch: this is a stage that could not start (its setup)
            raise PipelineError(f"the run stopped: {root_cause(exc)}") from exc
        self.last_dataset_stats = ds.stats()
        return sink.stats
