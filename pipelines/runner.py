"""Run a pipeline end to end: expand inputs, build the plan, execute, write the manifest, summarise."""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import fsspec

from docray import __version__
from docray.operators.ingest import ExpandedInputs, expand_inputs
from docray.pipelines.executors import Executor, LocalExecutor, Progress, RayExecutor
from docray.pipelines.outputs import ResultWriter, WriteStats
from docray.pipelines.plan import Plan, build_plan
from docray.pipelines.spec import PipelineSpec
from docray.schema import Status


@dataclass
class RunReport:
    pipeline: str
    inputs: int  # input documents found (files; Parquet rows are counted as written)
    stats: WriteStats
    wall_seconds: float
    output: str

    @property
    def pages_per_second(self) -> float:
        return self.stats.pages / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def complete(self) -> bool:
        """Every input yielded exactly one documents row (Parquet inputs cannot be counted up front)."""
        return self.stats.documents == self.inputs if self.inputs >= 0 else True

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "inputs": self.inputs,
            "wall_seconds": round(self.wall_seconds, 3),
            "pages_per_second": round(self.pages_per_second, 3),
            **self.stats.to_dict(),
        }


def make_executor(name: str, *, address: str | None = None, progress: Progress | None = None, progress_bars: bool = True) -> Executor:
    if name == "local":
        return LocalExecutor(progress=progress)
    if name == "ray":
        return RayExecutor(address=address, progress_bars=progress_bars)
    raise ValueError(f"unknown executor {name!r}; use 'ray' or 'local'")


def run_pipeline(
    spec: PipelineSpec,
    inputs: list[str] | ExpandedInputs,
    output: str,
    *,
    executor: Executor | None = None,
    storage_options: dict[str, Any] | None = None,
) -> RunReport:
    plan = build_plan(spec)
    expanded = inputs if isinstance(inputs, ExpandedInputs) else expand_inputs(list(inputs), storage_options=storage_options)
    writer = ResultWriter(output, spec.output, plan.parse_method, storage_options=storage_options)
    executor = executor or RayExecutor()
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    stats = executor.execute(plan, expanded, writer)
    wall = time.perf_counter() - t0
    report = RunReport(
        pipeline=spec.name,
        inputs=len(expanded.files) if not expanded.parquet else -1,
        stats=stats,
        wall_seconds=wall,
        output=output,
    )
    write_manifest(output, plan, report, started, storage_options)
    return report


def package_version(dist: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


RUN_PACKAGES = ("ray", "pypdfium2", "pyarrow", "pydantic", "fsspec", "onnxruntime", "rapid_layout",
                "rapidocr_onnxruntime", "rapid_table", "py3langid")  # fmt: skip


def versions(dists: tuple[str, ...] = RUN_PACKAGES) -> dict[str, str]:
    """docray's, Python's and the named distributions' versions (those installed)."""
    found = {"docray": __version__, "python": platform.python_version()}
    found.update({d: v for d in dists if (v := package_version(d)) is not None})
    return found


def write_manifest(output: str, plan: Plan, report: RunReport, started: datetime, storage_options: dict[str, Any] | None) -> None:
    fs, root = fsspec.core.url_to_fs(output.rstrip("/"), **(storage_options or {}))
    fs.makedirs(root, exist_ok=True)
    manifest = {
        "started": started.isoformat(),
        "finished": datetime.now(timezone.utc).isoformat(),
        "argv": sys.argv,
        "versions": versions(),
        "pipeline": plan.spec.model_dump(mode="json"),
        "stages": {s.name: s.config.model_dump(mode="json") for s in plan.stages},
        "report": report.to_dict(),
    }
    with fs.open(f"{root}/run.json", "w") as handle:
        json.dump(manifest, handle, indent=2)


def format_summary(report: RunReport) -> str:
    s = report.stats
    status = {st.value: s.by_status.get(st.value, 0) for st in Status}
    lines = [
        f"docray {report.pipeline}: {s.documents} documents "
        f"(ok {status['ok']}, partial {status['partial']}, error {status['error']}), "
        f"{s.pages} pages ({s.pages_failed} failed) in {report.wall_seconds:.1f} s = {report.pages_per_second:.2f} pages/s",
    ]
    if report.inputs >= 0 and s.documents != report.inputs:
        lines.append(f"WARNING: {report.inputs} inputs but {s.documents} documents rows")
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
        lines.append(f"per-document files: {s.skipped_files} skipped, {s.failed_files} failed (see run.json)")
    lines.append(f"output: {report.output}")
    return "\n".join(lines)
