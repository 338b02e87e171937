"""A worker process killed mid-run (SIGKILL): Ray Data restarts the actor or retries the task, and the
output still has exactly one documents row per input.

The fast pipeline runs through the RayExecutor over a generated corpus with corrupt files.  A thread
watches this process's Ray workers by their process titles (Ray sets ``ray::<what runs>``; the state
API needs the dashboard, which docray's embedded Ray does not start) and SIGKILLs one worker when it
is busy: a render actor (render forced into an actor pool with ``render.concurrency``), a plain task
worker once every page is rendered (quality), or a write task that has written some
documents' files.  A kill that comes too late (the run
already finished) makes the test retry with a corpus twice the size, then fail: never a vacuous pass.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import psutil
import pyarrow.dataset as pads
import pytest

from docray.pipelines.executors import RayExecutor, init_ray
from docray.pipelines.runner import RunReport, run_pipeline
from docray.pipelines.spec import apply_overrides, load_pipeline
from docray.testing.corpus import Corpus, write_corpus

pytestmark = pytest.mark.ray

RENDER_ACTOR = "ray::MapWorker(MapBatches(RenderSegments))"  # an idle render actor; ".submit" appended while busy
TASK = "ray::MapBatches(apply_operator)"  # a task worker running a stateless results stage (quality)
WRITE_TASK = "ray::MapBatches(write_results)"  # a task of the write stage (one Parquet part per shard of its batch)
# render in an actor pool of 2 at half a CPU each, so the other stages keep a CPU on a 2-CPU Ray
# (two 1-CPU actors would hold every CPU and starve ingest: the run never ends)
ACTOR_RENDER = ["render.concurrency=2", "render.resources.num_cpus=0.5", "render.batch_size=2"]
WAIT_FOR_VICTIM_S = 300.0
RUN_TIMEOUT_S = 900.0


def worker_titles() -> dict[int, str]:
    """pid -> process title of every Ray worker descended from this process (this test's Ray only)."""
    titles = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            title = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if title.startswith("ray::"):
            titles[proc.pid] = title.strip()
    return titles


def markdown_files(out: Path) -> int:
    return sum(1 for _ in (out / "files").rglob("*.md")) if (out / "files").exists() else 0


@dataclass
class Killer:
    """Watches the workers; when ``pick`` names one (given pid -> title, the titles seen so far and the
    output folder), SIGKILLs it."""

    out: Path
    pick: Callable[[dict[int, str], set[str], Path], int | None]
    finished: threading.Event = field(default_factory=threading.Event)
    killed_pid: int | None = None
    killed_title: str = ""
    killed_at: float | None = None
    markdown_at_kill: int = -1
    render_actors_before: set[int] = field(default_factory=set)  # render actor pids seen up to the kill
    render_actors_after: set[int] = field(default_factory=set)  # new render actor pids seen after it (restarts)
    seen: set[str] = field(default_factory=set)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._watch, daemon=True)
        thread.start()
        return thread

    def _watch(self) -> None:
        deadline = time.monotonic() + WAIT_FOR_VICTIM_S
        while not self.finished.is_set() and time.monotonic() < deadline:
            titles = worker_titles()
            render = {pid for pid, title in titles.items() if title.startswith(RENDER_ACTOR)}
            if self.killed_pid is None:
                self.render_actors_before |= render
            else:
                self.render_actors_after |= render - self.render_actors_before
            self.seen.update(titles.values())
            if self.killed_pid is None:
                victim = self.pick(titles, self.seen, self.out)
                if victim is not None:
                    self.markdown_at_kill = markdown_files(self.out)
                    try:
                        os.kill(victim, signal.SIGKILL)
                    except ProcessLookupError:  # it exited between the look and the kill: look again
                        continue
                    self.killed_pid, self.killed_title, self.killed_at = victim, titles[victim], time.monotonic()
            time.sleep(0.05)


def busy_render_actor(titles: dict[int, str], seen: set[str], out: Path) -> int | None:
    return next((pid for pid, title in titles.items() if title == f"{RENDER_ACTOR}.submit"), None)


def task_after_render(titles: dict[int, str], seen: set[str], out: Path) -> int | None:
    """A busy stateless results-stage worker (quality) once the render actors are gone (every page rendered)."""
    render_seen = any(t.startswith(RENDER_ACTOR) for t in seen)
    render_alive = any(t.startswith(RENDER_ACTOR) for t in titles.values())
    if not render_seen or render_alive:
        return None
    return next((pid for pid, title in titles.items() if title == TASK), None)


def write_task_midway(titles: dict[int, str], seen: set[str], out: Path) -> int | None:
    """A busy write task once some documents' files are written: a write cut short, then retried."""
    if markdown_files(out) == 0:
        return None
    return next((pid for pid, title in titles.items() if title == WRITE_TASK), None)


@dataclass
class KilledRun:
    corpus: Corpus
    out: Path
    killer: Killer
    report: RunReport
    finished_at: float


def run_with_kill(tmp_path: Path, pick, overrides: list[str], sizes=(100, 400)) -> KilledRun:
    init_ray(num_cpus=2)  # the state of this Ray (its workers) is what the killer watches
    spec = apply_overrides(load_pipeline("fast"), overrides)
    for attempt, n in enumerate(sizes):
        corpus = write_corpus(tmp_path / f"corpus{attempt}", n, corrupt_fraction=0.05, seed=attempt)
        out = tmp_path / f"out{attempt}"
        killer = Killer(out, pick)
        watcher = killer.start()
        result: dict = {}

        def run() -> None:
            try:
                executor = RayExecutor(num_cpus=2, progress_bars=False)
                result["report"] = run_pipeline(spec, [str(corpus.directory)], str(out), executor=executor)
            except BaseException as exc:  # reported by the test thread
                result["error"] = exc
            result["finished_at"] = time.monotonic()

        runner = threading.Thread(target=run, daemon=True)
        runner.start()
        runner.join(RUN_TIMEOUT_S)
        killer.finished.set()
        watcher.join()
        if runner.is_alive():
            pytest.fail(f"the run over {n} documents did not finish within {RUN_TIMEOUT_S} s "
                        f"after the kill of {killer.killed_title!r}")
        if "error" in result:
            raise result["error"]
        if killer.killed_at is not None and killer.killed_at < result["finished_at"]:
            return KilledRun(corpus, out, killer, result["report"], result["finished_at"])
    pytest.fail(f"no worker was killed while the run was going, even over {sizes[-1]} documents; "
                f"seen: {sorted(killer.seen)}")


def describe(run: KilledRun) -> str:
    """What happened, for ``pytest -s``: the kill and the runner's own exactly-once counts."""
    killer = run.killer
    return (f"killed {killer.killed_title} (pid {killer.killed_pid}) with {killer.markdown_at_kill} of "
            f"{len(run.corpus.good)} documents written; output: {run.report.to_dict().get('output')}")


def assert_exactly_once(run: KilledRun) -> None:
    corpus, out = run.corpus, run.out
    assert run.killer.markdown_at_kill < len(corpus.good), "documents were still to be written after the kill"
    columns = ["source", "status", "error_code"]
    docs = pads.dataset(out / "documents", format="parquet").to_table(columns=columns).to_pylist()
    counts = Counter(d["source"] for d in docs)
    duplicated = {s: c for s, c in counts.items() if c > 1}
    assert not duplicated, f"documents rows duplicated after the kill: {duplicated}"
    assert set(counts) == {str(p) for p in corpus.paths}, "one documents row per input, none lost"
    errors = {Path(d["source"]): d["error_code"] for d in docs if d["status"] == "error"}
    assert errors == {p: corpus.expected_error(p).value for p in corpus.corrupt}
    assert all(d["status"] == "ok" for d in docs if Path(d["source"]) in corpus.pages)
    pages = pads.dataset(out / "pages", format="parquet").to_table(columns=["source", "page_idx"]).to_pylist()
    page_keys = Counter((p["source"], p["page_idx"]) for p in pages if p["page_idx"] >= 0)
    assert max(page_keys.values()) == 1, "no page row duplicated"
    assert len(page_keys) == corpus.total_pages
    for path in corpus.good:
        md = out / "files" / path.stem / "auto" / f"{path.stem}.md"
        assert md.read_text().lstrip().startswith(f"# {corpus.first_lines[path]}"), path.name
    assert markdown_files(out) == len(corpus.good)
    assert run.report.complete


def test_render_actor_killed_mid_batch_loses_and_duplicates_nothing(tmp_path):
    run = run_with_kill(tmp_path, busy_render_actor, ACTOR_RENDER)
    assert run.killer.killed_title == f"{RENDER_ACTOR}.submit", "killed while rendering a batch"
    # one streaming pass: documents are written while others still render, so some may be written before the kill
    assert_exactly_once(run)
    print(describe(run), f"render actors before the kill {sorted(run.killer.render_actors_before)}, "
          f"new ones after it {sorted(run.killer.render_actors_after)}")


def test_killed_task_worker_after_render_is_retried(tmp_path):
    run = run_with_kill(tmp_path, task_after_render, ACTOR_RENDER)
    assert run.killer.killed_title == TASK
    assert_exactly_once(run)
    print(describe(run))


def test_write_task_killed_midway_is_retried_without_duplicates(tmp_path):
    run = run_with_kill(tmp_path, write_task_midway, ACTOR_RENDER)
    assert run.killer.killed_title == WRITE_TASK
    assert run.killer.markdown_at_kill > 0, "killed after some documents' files were written"
    assert_exactly_once(run)
    print(describe(run))
