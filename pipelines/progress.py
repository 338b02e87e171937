"""A run's state under ``OUTPUT/_docray/``: progress, shard completion markers, the pipeline fingerprint.

* ``progress.json``: rewritten by the driver when a run starts, after every shard and when it ends
  (``running`` / ``finished`` / ``failed`` / ``interrupted``); ``docray status`` reads it.
* ``shards/<id>.json``: written when a shard is committed (its documents verified present exactly once):
  counts, timings, time per stage and Ray Data's execution stats for that shard.
* ``pipeline.json``: the pipeline the output was made with; a re-run must use the same one to resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from docray.pipelines.outputs import STATE_DIR, ResultWriter
from docray.pipelines.plan import Plan
from docray.secrets import REVEAL, redact_mapping, secret_fields
from docray.storage import write_atomic

# Config fields that change how a stage runs, not what it produces: a resumed run may change them.
RUNTIME_FIELDS = ("batch_size", "concurrency", "resources", "timeout_s", "segment_pages")


class RunState(str, Enum):
    """Where an invocation stands; ``running`` with a dead process means it was killed."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass
class RunProgress:
    """What ``progress.json`` holds: one invocation of ``docray run`` on this output."""

    run_id: str
    pipeline: str
    state: str = RunState.RUNNING.value
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    inputs: int = -1  # input documents (-1: Parquet inputs, counted as they are read)
    already_done: int = 0  # skipped because an earlier run wrote them
    shards_total: int = 0
    shards_done: int = 0
    documents: int = 0  # written by this invocation
    pages: int = 0
    status: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fingerprint(plan: Plan) -> str:
    """A hash of what the pipeline produces: stage operators and their output-affecting config, output spec."""
    stages = []
    for stage in plan.stages:
        # secrets (passwords, credentials) change whether a document opens, not what a pipeline makes of it
        config = stage.config.model_dump(mode="json", exclude=set(RUNTIME_FIELDS) | secret_fields(stage.config))
        stages.append({"op": stage.operator.name, "config": config})
    payload = {"stages": stages, "output": plan.spec.output.model_dump(mode="json", exclude={"state_dir"})}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def recorded_spec(plan: Plan) -> dict[str, Any]:
    """The pipeline spec as run records hold it: every stage config value that is a secret by type masked.

    A spec's stage configs are untyped YAML (``--set render.password=...`` lands there as a string); the
    bound config knows which fields are secrets (:mod:`docray.secrets`), so a value whose JSON dump differs
    from its revealed dump is replaced by the masked dump.
    """
    data = plan.spec.model_dump(mode="json")
    bound = {stage.name: stage.config for stage in plan.stages}
    for stage in data["stages"]:
        config = bound.get(stage.get("name") or stage["op"])
        if config is None:
            stage["config"] = redact_mapping(stage["config"])
            continue
        masked, clear = config.model_dump(mode="json"), config.model_dump(mode="json", context=REVEAL)
        stage["config"] = {
            key: (masked[key] if key in masked and masked[key] != clear[key] else redact_mapping(value))
            for key, value in stage["config"].items()
        }
    return data


class StateStore:
    """Reads and writes ``OUTPUT/_docray/``."""

    def __init__(self, writer: ResultWriter):
        self.fs, root = writer.filesystem()
        self.root = f"{root}/{writer.state_dir}"

    def _read(self, name: str) -> Any | None:
        path = f"{self.root}/{name}"
        if not self.fs.exists(path):
            return None
        with self.fs.open(path, "r") as handle:
            return json.load(handle)

    def _write(self, name: str, data: Any) -> None:
        write_atomic(self.fs, f"{self.root}/{name}", json.dumps(data, indent=2, default=str))

    def read_progress(self) -> dict[str, Any] | None:
        return self._read("progress.json")

    def write_progress(self, progress: RunProgress) -> None:
        progress.updated = time.time()
        self._write("progress.json", progress.to_dict())

    def read_pipeline(self) -> dict[str, Any] | None:
        return self._read("pipeline.json")

    def write_pipeline(self, plan: Plan) -> None:
        self._write("pipeline.json", {"fingerprint": fingerprint(plan), "pipeline": recorded_spec(plan)})

    def write_shard(self, shard: str, record: dict[str, Any]) -> None:
        self._write(f"shards/{shard}.json", record)

    def read_shards(self) -> list[dict[str, Any]]:
        base = f"{self.root}/shards"
        if not self.fs.exists(base):
            return []
        records = []
        for path in sorted(self.fs.find(base)):
            if path.endswith(".json"):
                with self.fs.open(path, "r") as handle:
                    records.append(json.load(handle))
        return records
