"""Throughput and memory of `docray run` over a generated corpus, as the corpus grows.

Usage (from the repository root, after `make install`):

    .venv/bin/python benchmarks/bench_corpus.py [--sizes 500,1000,2000] [--corrupt-fraction 0.05]
                                                [--pipeline pipelines/fast.yaml] [--interval 0.5]
                                                [--out benchmarks/results/corpus_fast.json]

For each size N it writes N small distinct PDFs (1-3 text pages each, `docray.testing.corpus`; 5% corrupt
in several ways) to a temporary folder, then runs the real command line as a subprocess, through Ray
(the default executor, an embedded local Ray started by the command):

    docray run PIPELINE --input CORPUS --output OUT --no-progress

Every `--interval` seconds it samples the memory of the whole process tree: the `docray` driver and
every process it started (GCS, raylet, dashboard agent, Ray workers; `psutil` children, recursively).
RSS counts shared pages (libraries, the object store) once per process that maps them, so the sum
overstates; PSS (shared pages divided among the processes mapping them) and USS (private pages) are
sampled every `--full-every` samples (they read /proc/PID/smaps_rollup). The object store is a
file in /dev/shm (`plasma*`, mapped by the raylet and unlinked); its allocated bytes are sampled too
(tmpfs keeps pages once written, so this is a high-water mark rather than the live objects' size).

Afterwards it checks the outputs: one documents row per input (none missing, none duplicated) and
error rows exactly for the corrupt files. It writes JSON (no temporary paths in it) and prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pyarrow.dataset as pads

from docray.testing.corpus import Corpus, write_corpus

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024


class TreeSampler:
    """Samples the memory of a process and all its descendants in a background thread."""

    def __init__(self, pid: int, interval: float, full_every: int):
        self.root = psutil.Process(pid)
        self.interval = interval
        self.full_every = max(1, full_every)
        self.samples: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._plasma: str | None = None
        self._t0 = time.perf_counter()

    def start(self) -> TreeSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _find_plasma(self, procs: list[psutil.Process]) -> None:
        """The raylet's mapping of the object store file (unlinked from /dev/shm, so reached through /proc)."""
        for proc in procs:
            try:
                if "raylet" not in proc.name():
                    continue
                for mapping in proc.memory_maps(grouped=False):
                    if os.path.basename(mapping.path).startswith("plasma"):
                        self._plasma = f"/proc/{proc.pid}/map_files/{mapping.addr}"
                        return
            except psutil.Error:
                continue

    def _sample(self, full: bool) -> dict | None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return None
        rss = pss = uss = 0
        driver = None
        alive = 0
        for proc in procs:
            try:
                info = proc.memory_full_info() if full else proc.memory_info()
            except psutil.Error:
                continue
            alive += 1
            rss += info.rss
            if full:
                pss += info.pss
                uss += info.uss
            if proc.pid == self.root.pid:
                driver = info.rss
        if driver is None:
            return None
        if self._plasma is None:
            self._find_plasma(procs)
        try:
            shm = os.stat(self._plasma).st_blocks * 512 if self._plasma else None
        except OSError:
            shm = None
        return {
            "t": round(time.perf_counter() - self._t0, 2),
            "processes": alive,
            "rss_mib": round(rss / MIB, 1),
            "driver_rss_mib": round(driver / MIB, 1),
            "pss_mib": round(pss / MIB, 1) if full else None,
            "uss_mib": round(uss / MIB, 1) if full else None,
            "object_store_mib": round(shm / MIB, 1) if shm is not None else None,
        }

    def _loop(self) -> None:
        count = 0
        while not self._stop.is_set():
            sample = self._sample(full=count % self.full_every == 0)
            if sample is not None:
                self.samples.append(sample)
            count += 1
            self._stop.wait(self.interval)

    def peak(self, key: str) -> float | None:
        values = [s[key] for s in self.samples if s[key] is not None]
        return max(values) if values else None


def check_outputs(out: Path, corpus: Corpus) -> dict:
    """One documents row per input, errors exactly for the corrupt files, pages of the good ones."""
    docs = pads.dataset(out / "documents", format="parquet").to_table(columns=["source", "status"]).to_pylist()
    sources = [d["source"] for d in docs]
    expected = {str(p) for p in corpus.paths}
    errors = {d["source"] for d in docs if d["status"] == "error"}
    corrupt = {str(p) for p in corpus.corrupt}
    pages = pads.dataset(out / "pages", format="parquet").to_table(columns=["source", "page_idx"])
    page_rows = sum(1 for idx in pages.column("page_idx").to_pylist() if idx >= 0)
    checks = {
        "documents_rows": len(docs),
        "duplicated_sources": len(sources) - len(set(sources)),
        "missing_sources": len(expected - set(sources)),
        "unexpected_sources": len(set(sources) - expected),
        "error_rows": len(errors),
        "errors_are_exactly_the_corrupt_files": errors == corrupt,
        "page_rows": page_rows,
    }
    checks["ok"] = (
        checks["documents_rows"] == len(corpus.paths)
        and checks["duplicated_sources"] == checks["missing_sources"] == checks["unexpected_sources"] == 0
        and checks["errors_are_exactly_the_corrupt_files"]
        and page_rows == corpus.total_pages
    )
    return checks


def docray_command(pipeline: str, corpus_dir: str, out: str) -> list[str]:
    exe = shutil.which("docray", path=str(Path(sys.executable).parent)) or shutil.which("docray")
    head = [exe] if exe else [sys.executable, "-m", "docray.cli"]
    return [*head, "run", pipeline, "--input", corpus_dir, "--output", out, "--no-progress"]


def run_size(n: int, args: argparse.Namespace, scratch: Path) -> dict:
    corpus_dir, out = scratch / f"corpus_{n}", scratch / f"out_{n}"
    t0 = time.perf_counter()
    corpus = write_corpus(corpus_dir, n, corrupt_fraction=args.corrupt_fraction, seed=args.seed)
    write_seconds = time.perf_counter() - t0
    command = docray_command(args.pipeline, str(corpus_dir), str(out))
    load_before = os.getloadavg()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(process.pid, args.interval, args.full_every).start()
    try:
        output, _ = process.communicate()
    except BaseException:  # interrupted: do not leave the command and its Ray running
        process.terminate()
        process.wait(30)
        raise
    finally:
        sampler.stop()
    wall = time.perf_counter() - started
    load_after = os.getloadavg()
    manifest_path = out / "run.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    report = manifest.get("report", {})
    has_documents = (out / "documents").exists()
    checks = check_outputs(out, corpus) if has_documents else {"ok": False, "reason": "no documents table"}
    run_seconds = report.get("wall_seconds")
    summary_lines = [line for line in output.strip().splitlines() if line and not line.startswith(" ")]
    summary = [line.replace(str(corpus_dir), "CORPUS").replace(str(out), "OUT") for line in summary_lines]
    result = {
        "documents": n,
        "corrupt": len(corpus.corrupt),
        "pages": corpus.total_pages,
        "corpus_write_seconds": round(write_seconds, 2),
        "exit_code": process.returncode,
        "wall_seconds": round(wall, 2),
        "run_seconds": run_seconds,
        "documents_per_second": round(n / wall, 2),
        "pages_per_second": round(corpus.total_pages / wall, 2),
        "documents_per_second_in_run": round(n / run_seconds, 2) if run_seconds else None,
        "pages_per_second_in_run": round(corpus.total_pages / run_seconds, 2) if run_seconds else None,
        "peak_rss_mib": sampler.peak("rss_mib"),
        "peak_driver_rss_mib": sampler.peak("driver_rss_mib"),
        "peak_pss_mib": sampler.peak("pss_mib"),
        "peak_uss_mib": sampler.peak("uss_mib"),
        "peak_object_store_mib": sampler.peak("object_store_mib"),
        "peak_processes": sampler.peak("processes"),
        "load_average_1min": [round(load_before[0], 2), round(load_after[0], 2)],
        "shards": report.get("shards"),
        "stage_seconds": report.get("stage_seconds"),
        "versions": manifest.get("versions"),
        "checks": checks,
        "summary": summary,  # the summary the command printed (stdout; its error listing left out)
        "samples": sampler.samples,
    }
    if not args.keep:
        shutil.rmtree(corpus_dir, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    return result


def git_state() -> dict:
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.rstrip() if done.returncode == 0 else ""

    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line.strip()]
    diff = hashlib.sha256(git("diff", "HEAD").encode()).hexdigest()[:12] if changed else None
    return {"commit": git("log", "-1", "--format=%h"), "modified_tracked_files": changed, "diff_sha256": diff}


def markdown_table(results: list[dict]) -> str:
    def num(value, fmt="{:.0f}"):
        return fmt.format(value) if value is not None else "-"

    rows = [
        "| documents | corrupt | pages | wall s | run s | docs/s | pages/s | peak RSS MiB (tree) | peak PSS MiB | "
        "peak driver RSS MiB | peak object store MiB | outputs check |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        rows.append(
            f"| {r['documents']} | {r['corrupt']} | {r['pages']} | {r['wall_seconds']:.1f} | "
            f"{num(r['run_seconds'], '{:.1f}')} | "
            f"{r['documents_per_second']:.2f} | {r['pages_per_second']:.2f} | {num(r['peak_rss_mib'])} | "
            f"{num(r['peak_pss_mib'])} | {num(r['peak_driver_rss_mib'])} | {num(r['peak_object_store_mib'])} | "
            f"{'ok' if r['checks'].get('ok') else 'FAILED'} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000", help="comma-separated corpus sizes, each run in turn")
    parser.add_argument("--corrupt-fraction", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pipeline", default="pipelines/fast.yaml", help="pipeline YAML path or bundled name")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between memory samples")
    parser.add_argument("--full-every", type=int, default=4, help="sample PSS/USS every this many samples")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "corpus_fast.json"))
    parser.add_argument("--scratch", default=None, help="folder for corpora and outputs (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the corpora and outputs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    scratch_dir = tempfile.TemporaryDirectory(dir=args.scratch, prefix="docray-bench-corpus-")
    results = []
    for n in sizes:
        print(f"corpus of {n} documents ...", file=sys.stderr, flush=True)
        result = run_size(n, args, Path(scratch_dir.name))
        results.append(result)
        print(markdown_table([result]).splitlines()[-1], file=sys.stderr, flush=True)
    if not args.keep:
        scratch_dir.cleanup()
    payload = {
        "command": "docray run " + args.pipeline + " --input CORPUS --output OUT --no-progress",
        "benchmark": "benchmarks/bench_corpus.py --sizes " + args.sizes,
        "corrupt_fraction": args.corrupt_fraction,
        "sample_interval_seconds": args.interval,
        "git": git_state(),
        "machine": {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
                    "python": platform.python_version()},  # fmt: skip
        "results": results,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=1))
    print(markdown_table(results))
    return 0 if all(r["checks"].get("ok") and r["exit_code"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
