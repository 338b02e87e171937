"""``docray status OUTPUT``: progress of a running or finished run, read from its output only.

Nothing is written: the counts come from the documents parts already committed (each appears whole) and
``_docray/progress.json``; a run whose progress says ``running`` but whose process is gone was killed
(re-run the same command to resume it).
"""

from __future__ import annotations

import socket
import time
from typing import Any

import psutil

from docray.pipelines.outputs import STATE_DIR, ResultWriter
from docray.pipelines.progress import RunState, StateStore
from docray.pipelines.resume import OutputState
from docray.pipelines.spec import OutputSpec

STALE_AFTER_S = 600.0  # a run on another host that has not updated its progress for this long is reported stale


def collect_status(output: str, storage_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """What ``docray status`` prints, as data.  Raises FileNotFoundError when ``output`` holds no run."""
    store = latest_state(output, storage_options)
    if store is None:
        raise FileNotFoundError(f"{output} holds no docray run state ({STATE_DIR}/progress.json)")
    pipeline, progress = store.read_pipeline(), store.read_progress()
    spec = OutputSpec.model_validate(pipeline["pipeline"]["output"])
    writer = ResultWriter(output, spec, "auto", storage_options)
    state = OutputState.scan(writer, repair=False)
    now = time.time()
    this_run = sum(len(rows) for path, rows in state.rows.items() if f"shard={progress['run_id']}-" in path)
    running = progress["state"] == RunState.RUNNING.value
    elapsed = max(1e-9, (now if running else progress["updated"]) - progress["started"])
    remaining = None
    if progress["inputs"] >= 0:
        remaining = max(0, progress["inputs"] - progress["already_done"] - this_run)
    rate = this_run / elapsed if this_run else 0.0
    shards = store.read_shards()
    return {
        "output": output,
        "pipeline": pipeline["pipeline"]["name"],
        "run_id": progress["run_id"],
        "state": _liveness(progress, now),
        "inputs": progress["inputs"],
        "already_done": progress["already_done"],
        "written_this_run": this_run,
        "documents": state.documents,
        "status": state.counts(),
        "duplicates": len(state.duplicates()),
        "remaining": remaining,
        "documents_per_second": round(rate, 3),
        "eta_seconds": round(remaining / rate, 1) if remaining and rate else None,
        "elapsed_seconds": round(elapsed, 1),
        "shards_done": progress["shards_done"],
        "shards_total": progress["shards_total"],
        "shards_committed": len(shards),
        "pages_committed_shards": progress["pages"],
        "error": progress.get("error"),
    }


def latest_state(output: str, storage_options: dict[str, Any] | None = None) -> StateStore | None:
    """The run state of ``output`` updated last: ``_docray/`` (docray run) or one of ``_docray/parse-*/``
    (docray parse keeps one per set of options); None when there is none."""
    probe = ResultWriter(output, OutputSpec(), "auto", storage_options)
    fs, root = probe.filesystem()
    candidates = [StateStore(probe)]
    if fs.exists(f"{root}/{STATE_DIR}"):
        for path in sorted(fs.glob(f"{root}/{STATE_DIR}/*/progress.json")):
            state_dir = path[len(root) + 1 :].rsplit("/", 1)[0]
            candidates.append(StateStore(ResultWriter(output, OutputSpec(state_dir=state_dir), "auto", storage_options)))
    found = [(store.read_progress(), store) for store in candidates if store.read_pipeline() is not None]
    found = [(progress, store) for progress, store in found if progress is not None]
    return max(found, key=lambda item: item[0].get("updated", 0))[1] if found else None


def _liveness(progress: dict[str, Any], now: float) -> str:
    state = progress["state"]
    if state != RunState.RUNNING.value:
        return state
    if progress["host"] == socket.gethostname():
        return state if psutil.pid_exists(progress["pid"]) else "killed (process gone; re-run to resume)"
    if now - progress["updated"] > STALE_AFTER_S:
        return f"running? (no progress update for {now - progress['updated']:.0f} s)"
    return state


def format_status(info: dict[str, Any]) -> str:
    status = ", ".join(f"{k} {v}" for k, v in sorted(info["status"].items())) or "none yet"
    lines = [
        f"{info['output']}: {info['pipeline']} run {info['run_id']} — {info['state']}",
        f"documents in output: {info['documents']} ({status})"
        + (f"; {info['duplicates']} DUPLICATED" if info["duplicates"] else ""),
    ]
    if info["inputs"] >= 0:
        done = info["already_done"] + info["written_this_run"]
        share = 100.0 * done / info["inputs"] if info["inputs"] else 100.0
        lines.append(
            f"this run: {done}/{info['inputs']} inputs done ({share:.1f}%; {info['already_done']} from earlier runs), "
            f"{info['remaining']} remaining"
        )
    if info["written_this_run"] and info["elapsed_seconds"] >= 1:
        lines.append(
            f"rate: {info['documents_per_second']:.2f} documents/s over {info['elapsed_seconds']:.0f} s"
            + (f", ETA {info['eta_seconds']:.0f} s" if info["eta_seconds"] else "")
        )
    elif info["written_this_run"]:
        lines.append(f"rate: {info['written_this_run']} documents in under a second")
    else:
        lines.append("rate: none (this run wrote no documents: nothing was left to do, or it has not committed any yet)")
    lines.append(f"shards: {info['shards_done']}/{info['shards_total']} of this run done, {info['shards_committed']} committed in all")
    if info.get("error"):
        lines.append(f"error: {info['error']}")
    return "\n".join(lines)
