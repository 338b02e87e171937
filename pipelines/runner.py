"""Run a pipeline end to end: expand inputs, build the plan, execute, write the manifest, summarise."""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import docray
from docray import __version__
from docray.operators.ingest import ExpandedInputs, expand_inputs
from docray.pipelines import DEFAULT_SHARD_SIZE
from docray.pipelines.executors import Executor, LocalExecutor, Progress, RayExecutor
from docray.pipelines.outputs import (
    DOCUMENTS_TABLE,
    MAX_LISTED_ERRORS,
    PAGES_TABLE,
    STATE_DIR,
    ResultWriter,
    WriteStats,
)
from docray.pipelines.plan import Plan, build_plan
from docray.pipelines.progress import RunProgress, RunState, StateStore, fingerprint, recorded_spec
from docray.pipelines.resume import OutputState
from docray.pipelines.spec import PipelineError, PipelineSpec
from docray.schema import Status
from docray.secrets import redact_argv
from docray.storage import url_to_fs, write_atomic

log = logging.getLogger(__name__)



@dataclass
class RunReport:
    pipeline: str
    inputs: int  # input documents found (files; -1 when Parquet inputs are counted as they are read)
    stats: WriteStats  # what this invocation wrote
    wall_seconds: float
    output: str
    already_done: int = 0  # inputs an earlier run on this output had written: skipped
    shards: int = 0
    output_documents: int = 0  # documents rows in the output after this run (all invocations)
    output_status: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # input sources with no documents row (must stay empty)
    duplicates_removed: int = 0
    input_status: dict[str, int] = field(default_factory=dict)  # this invocation's inputs' rows by status (the exit code)
    executor: str = "ray"  # which executor ran it (ray / local)
    setups: dict[str, int] = field(default_factory=dict)  # model stages: operator set-ups (model loads) per stage

    @property
    def pages_per_second(self) -> float:
        return self.stats.pages / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def complete(self) -> bool:
        """Every input has exactly one documents row in the output (Parquet inputs: none duplicated).

        The output may hold more rows than this invocation's inputs: documents of earlier runs into the same
        output (``docray parse`` into a shared folder, ``docray run`` over a subset of an earlier run's inputs)."""
        if self.missing:
            return False
        return sum(self.input_status.values()) == self.inputs if self.inputs >= 0 and self.input_status else True

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "inputs": self.inputs,
            "wall_seconds": round(self.wall_seconds, 3),
            "pages_per_second": round(self.pages_per_second, 3),
            **self.stats.to_dict(),
            "already_done": self.already_done,
            "shards": self.shards,
            "executor": self.executor,
            "model_loads": self.setups,
            "output": {
                "documents": self.output_documents,
                "status": self.output_status,
                "missing": self.missing[:MAX_LISTED_ERRORS],
                "missing_count": len(self.missing),
                "duplicates_removed": self.duplicates_removed,
                "complete": self.complete,
                "input_status": self.input_status,
            },
        }


def make_executor(
    name: str, *, address: str | None = None, progress: Progress | None = None, progress_bars: bool = True, verbose: bool = True
) -> Executor:
    if name == "local":
        return LocalExecutor(progress=progress)
    if name == "ray":
        return RayExecutor(address=address, progress_bars=progress_bars, verbose=verbose)
    raise ValueError(f"unknown executor {name!r}; use 'ray' or 'local'")


def run_pipeline(
    spec: PipelineSpec,
    inputs: list[str] | ExpandedInputs,
    output: str,
    *,
    executor: Executor | None = None,
    storage_options: dict[str, Any] | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    retry_errors: bool = False,
    fresh: bool = False,
    live: bool = False,
) -> RunReport:
    """Run ``spec`` over ``inputs`` into ``output`` in ONE executor pass, resuming what the output already holds.

    Documents already in the output are skipped (``retry_errors``: error rows run again; ``fresh``: the
    output's tables and state are deleted first).  Every written part commits its documents; the pending
    file sources are split into shards of at most ``shard_size`` documents (all Parquet inputs: one more),
    which are commit records only: once a shard's documents are all written it is checked (each present
    exactly once) and a marker is written under ``_docray/shards/``.  ``live`` shows one progress line on
    stderr.  Raises :class:`PipelineError` when the output was made by a different pipeline.
    """
    plan = build_plan(spec)
    expanded = inputs if isinstance(inputs, ExpandedInputs) else expand_inputs(list(inputs), storage_options=storage_options)
    writer = ResultWriter(output, spec.output, plan.parse_method, storage_options=storage_options)
    executor = executor or RayExecutor()
    store = StateStore(writer)
    if fresh:
        clear_output(writer)
    check_same_pipeline(store, plan, writer)
    state = OutputState.scan(writer)
    duplicates = state.deduplicate()
    if retry_errors:
        state.remove_errors()
    done = state.done()
    pending = [row for row in expanded.files if row["source"] not in done]
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + os.urandom(2).hex()
    shards = plan_shards(pending, expanded.parquet, shard_size, run_id)
    progress = RunProgress(run_id=run_id, pipeline=spec.name, inputs=len(expanded.files) if not expanded.parquet else -1,
                        already_done=len(expanded.files) - len(pending), shards_total=len(shards))  # fmt: skip
    store.write_pipeline(plan)
    store.write_progress(progress)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    commits = ShardCommits(shards, writer, store, progress, state, t0, live=live)
    stats = WriteStats()
    try:
        if shards:
            todo = ExpandedInputs(files=pending, parquet=list(expanded.parquet))
            stats = executor.execute(
                plan, todo, writer, skip_sources=done if expanded.parquet else None, shard_of=commits.shard_of,
                default_shard=commits.default_shard, on_written=commits.written, run_id=run_id,
            )  # fmt: skip
            commits.finish(getattr(executor, "last_dataset_stats", None))
    except BaseException as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        progress.state = (RunState.INTERRUPTED if interrupted else RunState.FAILED).value
        progress.error = f"{type(exc).__name__}: {exc}"
        store.write_progress(progress)
        raise
    finally:
        commits.close_line()
    wall = time.perf_counter() - t0
    duplicates += state.deduplicate()  # across shards: the same source in two Parquet inputs
    present = state.sources()
    report = RunReport(
        pipeline=spec.name,
        inputs=progress.inputs,
        stats=stats,
        wall_seconds=wall,
        output=output,
        already_done=progress.already_done,
        shards=len(shards),
        output_documents=state.documents,
        output_status=state.counts(),
        missing=[row["source"] for row in expanded.files if row["source"] not in present],
        duplicates_removed=duplicates,
        input_status=state.counts({row["source"] for row in expanded.files}) if not expanded.parquet else state.counts(),
        executor=getattr(executor, "name", type(executor).__name__),
        setups=dict(getattr(executor, "setup_counts", {}) or {}),
    )
    progress.state = RunState.FINISHED.value
    store.write_progress(progress)
    write_manifest(output, plan, report, started, storage_options)
    return report


@dataclass
class Shard:
    """A commit record of a run: file sources (``shard_size`` of them), or all the Parquet inputs' documents.

    Shards are not executions: the whole run is one streaming pass, and each shard is committed (its documents
    checked present exactly once, its marker written) as soon as its last document is written."""

    id: str
    inputs: ExpandedInputs
    expected: list[str] | None  # the sources it must write (None: Parquet inputs, known once read)


def plan_shards(files: list[dict[str, Any]], parquet: list[str], shard_size: int, run_id: str) -> list[Shard]:
    """Split pending file sources into shards of ``shard_size``; all Parquet inputs together are one more shard."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    shards = []
    for start in range(0, len(files), shard_size):
        chunk = files[start : start + shard_size]
        shards.append(Shard(f"{run_id}-{len(shards):05d}", ExpandedInputs(files=chunk), [r["source"] for r in chunk]))
    if parquet:
        shards.append(Shard(f"{run_id}-{len(shards):05d}", ExpandedInputs(parquet=list(parquet)), None))
    return shards


class ShardCommits:
    """The driver's side of the streaming pass: which shard each document belongs to, committing a shard once
    all its documents are written, progress in ``progress.json`` and (``live``) one line on the terminal."""

    def __init__(self, shards: list[Shard], writer: ResultWriter, store: StateStore, progress: RunProgress,
                 state: OutputState, t0: float, live: bool = False):  # fmt: skip
        self.shards = {s.id: s for s in shards}
        self.writer, self.store, self.progress, self.state, self.t0 = writer, store, progress, state, t0
        self.shard_of = {src: s.id for s in shards for src in (s.expected or [])}
        parquet = [s.id for s in shards if s.expected is None]
        self.default_shard = parquet[0] if parquet else (shards[-1].id if shards else "0")
        self.seen: dict[str, set[str]] = {s.id: set() for s in shards}
        self.pending = {s.id: set(s.expected) for s in shards if s.expected is not None}
        self.stats: dict[str, WriteStats] = {s.id: WriteStats() for s in shards}
        self.committed: set[str] = set()
        self.total = WriteStats()
        self.live = live
        self._saved = 0.0
        self._line = False

    def written(self, shard: str, sources: list[str], stats: WriteStats) -> None:
        self.seen.setdefault(shard, set()).update(sources)
        self.stats.setdefault(shard, WriteStats()).merge(stats)
        self.total.merge(stats)
        todo = self.pending.get(shard)
        if todo is not None:
            todo.difference_update(sources)
            if not todo:
                self.commit(shard)
        now = time.perf_counter()
        if now - self._saved > 2.0:
            self.save()
            self._saved = now
        if self.live:
            self.show(now)

    def commit(self, shard_id: str, dataset_stats: str | None = None) -> None:
        """Deduplicate the shard's parts, check every expected source is there, write its marker."""
        if shard_id in self.committed or shard_id not in self.shards:
            return
        shard = self.shards[shard_id]
        written = OutputState.scan(self.writer, shard=shard_id)
        duplicates = written.deduplicate()
        present = written.sources()
        missing = [s for s in shard.expected if s not in present] if shard.expected is not None else []
        if missing:
            log.error("shard %s: %d documents have no row: %s", shard_id, len(missing), missing[:5])
        stats = self.stats.get(shard_id, WriteStats())
        self.store.write_shard(shard_id, {
            "shard": shard_id,
            "expected": len(shard.expected) if shard.expected is not None else None,
            "documents": written.documents,
            "status": written.counts(),
            "missing": missing[:MAX_LISTED_ERRORS],
            "duplicates_removed": duplicates,
            "pages": stats.pages,
            "seconds_since_run_start": round(time.perf_counter() - self.t0, 3),
            "stage_seconds": {k: round(v, 3) for k, v in sorted(stats.stage_seconds.items())},
            "dataset_stats": dataset_stats,
            "committed": datetime.now(timezone.utc).isoformat(),
        })  # fmt: skip
        self.state.include(written)
        self.committed.add(shard_id)
        self.progress.shards_done = len(self.committed)
        self.save()

    def finish(self, dataset_stats: str | None) -> None:
        """After the pass: commit the shards not committed yet (Parquet inputs, or shards missing a document)."""
        for shard_id in self.shards:
            self.commit(shard_id, dataset_stats)
        self.save()

    def save(self) -> None:
        p = self.progress
        p.documents, p.pages, p.status = self.total.documents, self.total.pages, dict(self.total.by_status)
        self.store.write_progress(p)

    def show(self, now: float) -> None:
        """One live line: documents and pages done, pages/s, ETA, errors so far."""
        t, wall = self.total, max(1e-9, now - self.t0)
        todo = self.progress.inputs - self.progress.already_done if self.progress.inputs >= 0 else None
        rate = t.documents / wall
        eta = f", ETA {max(0.0, (todo - t.documents) / rate):.0f} s" if todo and rate else ""
        of = f"/{todo}" if todo is not None else ""
        errors = t.by_status.get(Status.ERROR.value, 0)
        line = f"\r{t.documents}{of} documents, {t.pages} pages, {t.pages / wall:.1f} pages/s{eta}, {errors} errors  "
        sys.stderr.write(line)
        sys.stderr.flush()
        self._line = True

    def close_line(self) -> None:
        if self._line:
            sys.stderr.write("\n")
            sys.stderr.flush()


def clear_output(writer: ResultWriter) -> None:
    """Delete what a previous run left: the Parquet tables and run state (``--fresh``); files are overwritten."""
    fs, root = writer.filesystem()
    for folder in (DOCUMENTS_TABLE, PAGES_TABLE, writer.state_dir):
        if fs.exists(f"{root}/{folder}"):
            fs.rm(f"{root}/{folder}", recursive=True)


def check_same_pipeline(store: StateStore, plan: Plan, writer: ResultWriter) -> None:
    """Refuse to resume into an output that a different pipeline wrote (mixed outputs)."""
    previous = store.read_pipeline()
    if previous is None or previous.get("fingerprint") == fingerprint(plan):
        return
    raise PipelineError(
        f"{writer.output} holds the output of a different pipeline ({previous.get('pipeline', {}).get('name')!r}, "
        f"fingerprint {previous.get('fingerprint')} != {fingerprint(plan)}); to resume, run the same pipeline "
        "and settings; or write to another output, or pass --fresh to delete its tables and start over"
    )


def package_version(dist: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


RUN_PACKAGES = ("ray", "pypdfium2", "pyarrow", "pydantic", "fsspec", "onnxruntime", "rapid_layout",
                "rapidocr", "rapidocr_onnxruntime", "rapid_table", "py3langid")  # fmt: skip


def versions(dists: tuple[str, ...] = RUN_PACKAGES) -> dict[str, str]:
    """docray's, Python's and the named distributions' versions (those installed)."""
    found = {"docray": __version__, "python": platform.python_version()}
    found.update({d: v for d in dists if (v := package_version(d)) is not None})
    return found


def write_manifest(output: str, plan: Plan, report: RunReport, started: datetime, storage_options: dict[str, Any] | None) -> None:
    fs, root = url_to_fs(output.rstrip("/"), storage_options)
    fs.makedirs(root, exist_ok=True)
    manifest = {
        "started": started.isoformat(),
        "finished": datetime.now(timezone.utc).isoformat(),
        "argv": redact_argv(sys.argv),
        "versions": versions(),
        "pipeline": recorded_spec(plan),
        "stages": {s.name: s.config.model_dump(mode="json") for s in plan.stages},
        "report": report.to_dict(),
        "throughput": throughput(report),
        "docray_module": docray.__file__,  # which docray ran (a cluster job's shipped copy or an install)
        "shard_markers": f"{plan.spec.output.state_dir}/shards/",  # per shard: counts, timings, Ray Data stats
    }
    write_atomic(fs, f"{root}/run.json", json.dumps(manifest, indent=2))


def throughput(report: RunReport) -> dict[str, Any]:
    """Documents and pages per second of the run, and per stage: worker seconds, ms per page, pages per worker-second."""
    s = report.stats
    stages = {
        stage: {
            "worker_seconds": round(sec, 3),
            "ms_per_page": round(1000 * sec / s.pages, 2) if s.pages else None,
            "pages_per_worker_second": round(s.pages / sec, 2) if sec > 0 else None,
        }
        for stage, sec in sorted(s.stage_seconds.items())
    }
    wall = report.wall_seconds
    return {
        "documents_per_second": round(s.documents / wall, 3) if wall > 0 else None,
        "pages_per_second": round(report.pages_per_second, 3),
        "stages": stages,
    }


def format_summary(report: RunReport) -> str:
    s = report.stats
    status = {st.value: s.by_status.get(st.value, 0) for st in Status}
    lines = [
        f"docray {report.pipeline} ({report.executor} executor): {s.documents} documents "
        f"(ok {status['ok']}, partial {status['partial']}, error {status['error']}), "
        f"{s.pages} pages ({s.pages_failed} failed) in {report.wall_seconds:.1f} s = {report.pages_per_second:.2f} pages/s",
    ]
    if report.already_done:
        lines.append(f"resumed: {report.already_done} documents were already in the output and were skipped")
    check = f"{report.output_documents} documents rows in the output"
    if report.inputs >= 0 and report.input_status and sum(report.input_status.values()) != report.output_documents:
        check = f"{report.inputs} inputs -> {sum(report.input_status.values())} documents rows for them ({check})"
    elif report.inputs >= 0:
        check = f"{report.inputs} inputs -> {check}"
    check += f", {len(report.missing)} missing, {report.duplicates_removed} duplicates removed"
    lines.append(("exactly-once check: " if report.complete else "WARNING: incomplete: ") + check)
    for source in report.missing[:10]:
        lines.append(f"  missing: {source}")
    total = sum(s.stage_seconds.values()) or 1.0
    if s.stage_seconds:
        lines.append("time per stage (summed over workers): " + ", ".join(
            f"{stage} {sec:.2f} s ({100 * sec / total:.0f}%, {1000 * sec / max(1, s.pages):.1f} ms/page)"
            for stage, sec in s.stage_seconds.items()
        ))  # fmt: skip
    if s.error_codes:
        lines.append("errors by code: " + ", ".join(f"{code} {n}" for code, n in s.error_codes.most_common()))
        for err in s.errors[:10]:
            lines.append(f"  {err['source']}: {err['error']}")
        if len(s.errors) > 10:
            lines.append(f"  ... {len(s.errors) - 10} more in run.json; every error row is in the documents table")
    if s.skipped_files or s.failed_files:
        lines.append(f"per-document files: {s.skipped_files} skipped, {s.failed_files} failed (all listed in run.json)")
        reasons = Counter(f"{note['file']} {note['reason']}" for note in s.file_notes)
        for reason, n in reasons.most_common(5):
            lines.append(f"  {n} x {reason}")
    lines.append(f"output: {report.output}")
    return "\n".join(lines)
