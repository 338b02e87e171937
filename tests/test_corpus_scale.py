"""Corpus-scale acceptance through the real CLI and Ray: 2,000 inputs, an interrupted run resumed exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pyarrow.dataset as pads
import pytest

from docray.testing.corpus import committed_documents, write_corpus

pytestmark = pytest.mark.ray
DOCRAY = [sys.executable, "-m", "docray.cli"]


def check_exactly_once(out: Path, corpus) -> list[dict]:
    rows = pads.dataset(out / "documents", format="parquet", partitioning="hive").to_table(
        columns=["source", "status", "error_code"]
    ).to_pylist()
    counts = Counter(r["source"] for r in rows)
    assert not [s for s, n in counts.items() if n > 1], "duplicated documents"
    assert set(counts) == {str(p) for p in corpus.paths}, "lost documents"
    errors = {r["source"] for r in rows if r["status"] == "error"}
    assert errors == {str(p) for p in corpus.corrupt}
    return rows


def run_cli(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "RAY_DEDUP_LOGS": "0"}
    return subprocess.Popen(DOCRAY + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def test_a_run_killed_at_half_and_rerun_holds_every_document_exactly_once(tmp_path):
    corpus = write_corpus(tmp_path / "in", 400, corrupt_fraction=0.05, seed=3)
    out = tmp_path / "out"
    args = ["run", "fast", "--input", str(corpus.directory), "--output", str(out), "--shard-size", "100", "--no-progress"]
    first = run_cli(args, start_new_session=True)
    deadline = time.monotonic() + 300
    while committed_documents(out) < 150:
        assert first.poll() is None, f"the run ended before it could be interrupted:\n{first.stdout.read()}"
        assert time.monotonic() < deadline, "no progress within 300 s"
        time.sleep(0.2)
    live = subprocess.run(DOCRAY + ["status", str(out)], capture_output=True, text=True, check=True).stdout
    os.killpg(first.pid, signal.SIGKILL)  # the driver and the embedded Ray it started, mid-shard
    first.wait(timeout=30)
    written = committed_documents(out)
    assert 150 <= written < len(corpus.paths), "the kill did not land mid-run"
    assert "— running" in live and f"/{len(corpus.paths)} inputs done" in live, live
    _wait_for_session_to_die(first.pid)
    killed = subprocess.run(DOCRAY + ["status", str(out)], capture_output=True, text=True, check=True).stdout
    assert "killed (process gone; re-run to resume)" in killed, killed

    second = run_cli(args)
    output, _ = second.communicate(timeout=600)
    assert second.returncode == 4, output  # docray.exitcodes: some inputs (the corrupt ones) are error rows
    resumed = int(output.split("resumed: ")[1].split()[0])
    assert written <= resumed < len(corpus.paths)
    assert f"exactly-once check: {len(corpus.paths)} inputs -> {len(corpus.paths)} documents rows" in output
    check_exactly_once(out, corpus)
    for good in corpus.good:
        assert (out / "files" / good.stem / "auto" / f"{good.stem}.md").is_file()

    status = subprocess.run(DOCRAY + ["status", str(out)], capture_output=True, text=True, check=True).stdout
    assert "finished" in status and f"documents in output: {len(corpus.paths)}" in status


def test_two_thousand_inputs_with_one_hundred_corrupt_give_two_thousand_rows(tmp_path):
    corpus = write_corpus(tmp_path / "in", 2000, corrupt_fraction=0.05, seed=11)
    assert len(corpus.corrupt) == 100
    out = tmp_path / "out"
    run = run_cli(["run", "fast", "--input", str(corpus.directory), "--output", str(out), "--no-progress"])
    output, _ = run.communicate(timeout=900)
    assert run.returncode == 4, output  # 100 corrupt inputs are error rows
    rows = check_exactly_once(out, corpus)
    assert len(rows) == 2000 and sum(r["status"] == "error" for r in rows) == 100
    assert "exactly-once check: 2000 inputs -> 2000 documents rows in the output, 0 missing" in output


def _wait_for_session_to_die(sid: int, timeout: float = 30.0) -> None:
    """Every process of the killed run's session (driver, raylet, GCS, workers) is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in psutil.process_iter(["pid"]) if _session(p) == sid]
        if not alive:
            return
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:  # exited between the listing and the kill
                pass
        time.sleep(0.5)
    raise AssertionError(f"processes of session {sid} survived the kill")


def _session(proc: psutil.Process) -> int | None:
    try:
        return os.getsid(proc.pid)
    except (ProcessLookupError, PermissionError):
        return None
