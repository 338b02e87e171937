"""The issue's "done when" at full size: 2,000 inputs (100 corrupt) survive a killed actor and a killed run.

Usage (from the repository root, after `make install`):

    .venv/bin/python benchmarks/bench_faults.py [--documents 2000] [--out benchmarks/results/faults_2000.json]

Two scenarios, each on a fresh corpus from `docray.testing.corpus` (5% corrupt), through the real CLI and an
embedded Ray (`docray run fast ... --no-progress` as a subprocess in its own session):

* kill-actor: render runs in an actor pool (`render.concurrency=2`, half a CPU each); once 20% of the documents
  are committed, one busy render actor process is SIGKILLed. Ray Data restarts the actor and retries its tasks.
* interrupt: `--shard-size 500`; once half the documents are committed, the whole session (driver, GCS, raylet,
  workers) is SIGKILLed; then the same command runs again and resumes.

After each, the output is checked: one documents row per input (none missing, none duplicated), errors exactly
for the corrupt files. The JSON records when the kill landed and what the re-run skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil
import pyarrow.dataset as pads

from docray.testing.corpus import Corpus, committed_documents, write_corpus

DOCRAY = [sys.executable, "-m", "docray.cli", "run", "fast", "--no-progress"]
RENDER_ACTOR_BUSY = "ray::MapWorker(MapBatches(RenderOperator)).submit"


def check(out: Path, corpus: Corpus) -> dict:
    rows = pads.dataset(out / "documents", format="parquet", partitioning="hive").to_table(
        columns=["source", "status"]
    ).to_pylist()
    counts = Counter(r["source"] for r in rows)
    expected = {str(p) for p in corpus.paths}
    errors = {r["source"] for r in rows if r["status"] == "error"}
    return {
        "rows": len(rows),
        "errors": len(errors),
        "duplicated": sum(1 for n in counts.values() if n > 1),
        "missing": len(expected - set(counts)),
        "unexpected": len(set(counts) - expected),
        "errors_are_the_corrupt_files": errors == {str(p) for p in corpus.corrupt},
    }


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(DOCRAY + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # fmt: skip


def wait_for(out: Path, proc: subprocess.Popen, rows: int, timeout: float = 900.0) -> None:
    deadline = time.monotonic() + timeout
    while committed_documents(out) < rows:
        if proc.poll() is not None:
            raise RuntimeError(f"the run ended before {rows} rows were committed:\n{proc.stdout.read()[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {rows} committed rows within {timeout} s")
        time.sleep(0.2)


def busy_render_actor(root: int) -> psutil.Process | None:
    for proc in psutil.Process(root).children(recursive=True):
        try:
            if " ".join(proc.cmdline()).startswith(RENDER_ACTOR_BUSY):
                return proc
        except psutil.Error:
            continue
    return None


def kill_actor(scratch: Path, n: int) -> dict:
    corpus = write_corpus(scratch / "in-actor", n, seed=21)
    out = scratch / "out-actor"
    overrides = ["render.concurrency=2", "render.resources.num_cpus=0.5", "render.batch_size=2"]
    args = ["--input", str(corpus.directory), "--output", str(out)] + [a for o in overrides for a in ("--set", o)]
    t0 = time.perf_counter()
    proc = start(args)
    wait_for(out, proc, n // 5)
    victim = None
    while victim is None:
        victim = busy_render_actor(proc.pid)
        if victim is None:
            time.sleep(0.05)
    at_kill = committed_documents(out)
    victim.kill()
    output, _ = proc.communicate(timeout=1800)
    return {
        "scenario": "SIGKILL one busy render actor (render in an actor pool of 2)",
        "documents": n,
        "corrupt": len(corpus.corrupt),
        "committed_at_kill": at_kill,
        "exit_code": proc.returncode,
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "summary_check": next((ln for ln in output.splitlines() if "exactly-once check" in ln), None),
        **check(out, corpus),
    }


def interrupt(scratch: Path, n: int) -> dict:
    corpus = write_corpus(scratch / "in-int", n, seed=22)
    out = scratch / "out-int"
    args = ["--input", str(corpus.directory), "--output", str(out), "--shard-size", "500"]
    t0 = time.perf_counter()
    proc = start(args)
    wait_for(out, proc, n // 2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    first_wall = time.perf_counter() - t0
    at_kill = committed_documents(out)
    time.sleep(2)
    for leftover in [p for p in psutil.process_iter() if _sid(p) == proc.pid]:
        leftover.kill()
    t1 = time.perf_counter()
    rerun = start(args)
    output, _ = rerun.communicate(timeout=1800)
    resumed = next((ln for ln in output.splitlines() if ln.startswith("resumed:")), "")
    return {
        "scenario": "SIGKILL the whole run (driver + embedded Ray) at half, then re-run the same command",
        "documents": n,
        "corrupt": len(corpus.corrupt),
        "committed_at_kill": at_kill,
        "first_run_seconds": round(first_wall, 1),
        "rerun_seconds": round(time.perf_counter() - t1, 1),
        "rerun_exit_code": rerun.returncode,
        "rerun_skipped": int(resumed.split()[1]) if resumed else 0,
        "summary_check": next((ln for ln in output.splitlines() if "exactly-once check" in ln), None),
        **check(out, corpus),
    }


def _sid(proc: psutil.Process) -> int | None:
    try:
        return os.getsid(proc.pid)
    except (ProcessLookupError, PermissionError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--out", default="benchmarks/results/faults_2000.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="docray-bench-faults-") as tmp:
        results = [kill_actor(Path(tmp), args.documents), interrupt(Path(tmp), args.documents)]
    load = os.getloadavg()[0]
    record = {"command": "benchmarks/bench_faults.py", "load_average_1min_at_end": round(load, 2), "results": results}
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    for r in results:
        print(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
