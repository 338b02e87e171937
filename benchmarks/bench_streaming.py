"""One streaming pass per run: shard-size and Parquet-file sweeps, CPU use, model loads, pages/s beside pymupdf4llm.

Usage (from the repository root, after `make install`; `peers` needs `pip install -e '.[bench]'`):

    .venv/bin/python benchmarks/bench_streaming.py sweep  [--pipeline standard] [--documents 120]
    .venv/bin/python benchmarks/bench_streaming.py parquet [--pipeline standard] [--documents 120]
    .venv/bin/python benchmarks/bench_streaming.py cpu    [--pipeline standard] [--articles 60]
    .venv/bin/python benchmarks/bench_streaming.py peers  [--articles 60]

Every docray run is the real command line in a subprocess (`docray run PIPELINE -i IN -o OUT --executor ray
--no-progress`, an embedded local Ray started by the command, so wall times include Ray's start-up), one after the
other.  While a run goes, the machine's busy CPUs are sampled from /proc/stat every 0.5 s (`psutil.cpu_times`):
"steady" is the median over the middle 60% of the run's wall time (start-up and drain left out), as busy cores:
of the machine (everything on it) and of the run's own process tree (its CPU seconds per second).
Model loads per run come from the run's `run.json` (`report.model_loads`: actors that set up their operator).

* sweep: N one-page PDFs (`docray.testing.corpus`) with `--shard-size` 20, 120 and 1000.
* parquet: the same N PDFs as 12 Parquet files and as 1 (columns `source`, `bytes`).
* cpu: the pipeline over the born-digital PDFs of ../shared/eval (docling_tests, olmocr_bench_sample,
  camelot_tables) plus `--articles` generated 3-page two-column articles.
* peers: pymupdf4llm.to_markdown over the same PDFs in three settings (its default, `use_ocr=False`, and
  `use_layout(False)`), each in its own process, then docray `fast` and `standard` (`--peer-settings`, `--pipelines`
  choose). CPU seconds of each run's process tree (`cpu_s_run`) are reported beside wall times: on a shared machine
  they change much less with load.

Shares the machine with whatever else runs on it: check `uptime` and say so beside the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from docray.testing.corpus import write_corpus
from docray.testing.pdfs import two_column_article

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
BORN_DIGITAL_SETS = ("docling_tests", "olmocr_bench_sample", "camelot_tables")


class CpuSampler:
    """Busy cores every ``interval`` seconds, in a background thread: of the whole machine, and of the run's own
    process tree (``pid`` and its descendants: driver, raylet, Ray workers), which is what counts on a shared box."""

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.pid: int | None = None
        self.samples: list[tuple[float, float]] = []  # (seconds since start, busy cores of the machine)
        self.tree: list[tuple[float, float]] = []  # (seconds since start, busy cores of the run's processes)
        self.tree_cpu_s = 0.0  # CPU seconds of the run's process tree (user + system, ended processes' last reading)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree_seconds(self, seen: dict[int, float]) -> float:
        if self.pid is None:
            return 0.0
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return sum(seen.values())
        for proc in procs:
            try:
                times = proc.cpu_times()
                seen[proc.pid] = times.user + times.system + times.children_user + times.children_system
            except psutil.Error:
                continue
        return sum(seen.values())  # processes that ended keep their last reading

    def _run(self) -> None:
        t0 = time.perf_counter()
        before = psutil.cpu_times(percpu=True)
        seen: dict[int, float] = {}
        tree_before, last = self._tree_seconds(seen), t0
        while not self._stop.wait(self.interval):
            after = psutil.cpu_times(percpu=True)
            busy = 0.0
            for a, b in zip(before, after):
                total = sum(b) - sum(a)
                idle = (b.idle + getattr(b, "iowait", 0.0)) - (a.idle + getattr(a, "iowait", 0.0))
                busy += (total - idle) / total if total > 0 else 0.0
            now = time.perf_counter()
            tree_now = self._tree_seconds(seen)
            self.samples.append((now - t0, busy))
            self.tree.append((now - t0, (tree_now - tree_before) / max(1e-9, now - last)))
            self.tree_cpu_s = tree_now
            before, tree_before, last = after, tree_now, now

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def steady(self, tree: bool = False) -> float | None:
        samples = self.tree if tree else self.samples
        if not samples:
            return None
        end = samples[-1][0]
        middle = [busy for t, busy in samples if 0.2 * end <= t <= 0.8 * end]
        return round(statistics.median(middle or [b for _, b in samples]), 2)


def docray(pipeline: str, inputs: str, out: Path, *extra: str) -> dict:
    exe = shutil.which("docray", path=str(Path(sys.executable).parent)) or "docray"
    command = [exe, "run", pipeline, "-i", inputs, "-o", str(out), "--executor", "ray", "--no-progress", *extra]
    with CpuSampler() as cpu:
        t0 = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cpu.pid = process.pid
        stdout, stderr = process.communicate()
        wall = time.perf_counter() - t0
        done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if done.returncode not in (0, 4) or not (out / "run.json").is_file():  # 4: some inputs are error rows (needs_ocr)
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    report = json.loads((out / "run.json").read_text())["report"]
    return {
        "wall_s": round(wall, 2),
        "documents": report["documents"],
        "pages": report["pages"],
        "pages_per_s": round(report["pages"] / wall, 2),
        "complete": report["output"]["complete"],
        "shards": report["shards"],
        "model_loads": report.get("model_loads"),
        "cpu_s_run": round(cpu.tree_cpu_s, 1),
        "cpu_ms_per_page": round(1000 * cpu.tree_cpu_s / max(1, report["pages"]), 1),
        "busy_cores_steady_machine": cpu.steady(),
        "busy_cores_steady_run": cpu.steady(tree=True),
        "cpus": psutil.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 2),
    }


def one_page_corpus(root: Path, n: int) -> Path:
    return write_corpus(root / "pdfs", n, corrupt_fraction=0.0, pages=(1, 1), seed=11).directory


def born_digital(root: Path, articles: int) -> Path:
    folder = root / "born_digital"
    folder.mkdir(parents=True, exist_ok=True)
    for group in BORN_DIGITAL_SETS:
        manifest = EVAL / group / "manifest.json"
        if not manifest.is_file():
            continue
        for doc in json.loads(manifest.read_text())["docs"]:
            if doc.get("type") == "born-digital":
                src = EVAL / doc["path"]
                shutil.copy(src, folder / f"{group}-{src.name}")
    for k in range(articles):
        (folder / f"article-{k:03d}.pdf").write_bytes(two_column_article(pages=3, seed=k).pdf)
    return folder


def cmd_sweep(args, tmp: Path) -> list[dict]:
    corpus = one_page_corpus(tmp, args.documents)
    rows = []
    for size in (20, 120, 1000):
        row = {"shard_size": size, **docray(args.pipeline, str(corpus), tmp / f"out-{size}", "--shard-size", str(size))}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def cmd_parquet(args, tmp: Path) -> list[dict]:
    corpus = one_page_corpus(tmp, args.documents)
    files = sorted(corpus.glob("*.pdf"))
    table = pa.table({"source": [str(p) for p in files], "bytes": [p.read_bytes() for p in files]})
    rows = []
    for parts in (12, 1):
        folder = tmp / f"parquet-{parts}"
        folder.mkdir()
        step = -(-table.num_rows // parts)
        for k in range(parts):
            pq.write_table(table.slice(k * step, step), folder / f"part-{k:02d}.parquet")
        row = {"parquet_files": parts, **docray(args.pipeline, str(folder), tmp / f"out-pq-{parts}")}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def cmd_cpu(args, tmp: Path) -> list[dict]:
    folder = born_digital(tmp, args.articles)
    row = {"pipeline": args.pipeline, "inputs": "born-digital", **docray(args.pipeline, str(folder), tmp / "out-cpu")}
    print(json.dumps(row), flush=True)
    return [row]


# pymupdf4llm 2.0's settings: its default (PyMuPDF's layout model, and OCR of pages it judges to need it), the
# layout model without OCR, and its 1.x-style text-layer path (use_layout(False), no model, no OCR)
PYMUPDF4LLM_SETTINGS = {
    "default": "",
    "use_ocr=False": "use_ocr=False",
    "use_layout(False)": "",
}
PEER_SCRIPT = """
import sys, pymupdf4llm
if sys.argv[1] == "use_layout(False)":
    pymupdf4llm.use_layout(False)
for path in sys.argv[3:]:
    pymupdf4llm.to_markdown(path{kwargs})
"""


def pymupdf4llm_run(setting: str, pdfs: list[Path]) -> dict:
    """pymupdf4llm.to_markdown over ``pdfs`` in one subprocess (its start and imports included), with CPU seconds."""
    script = PEER_SCRIPT.format(kwargs=", " + PYMUPDF4LLM_SETTINGS[setting] if PYMUPDF4LLM_SETTINGS[setting] else "")
    command = [sys.executable, "-c", script, setting, "-", *map(str, pdfs)]
    with CpuSampler() as cpu:
        t0 = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        cpu.pid = process.pid
        _, stderr = process.communicate()
        wall = time.perf_counter() - t0
    if process.returncode:
        raise RuntimeError(f"pymupdf4llm ({setting}) failed:\n{stderr[-3000:]}")
    return {"wall_s": round(wall, 2), "cpu_s_run": round(cpu.tree_cpu_s, 1),
            "busy_cores_steady_run": cpu.steady(tree=True),
            "ocr_log_lines": stderr.lower().count("ocr")}  # fmt: skip


def cmd_peers(args, tmp: Path) -> list[dict]:
    import pymupdf
    import pymupdf4llm

    folder = born_digital(tmp, args.articles)
    pdfs = sorted(folder.glob("*.pdf"))
    pages = 0
    for pdf in pdfs:
        with pymupdf.open(pdf) as doc:
            pages += doc.page_count
    rows = []
    for setting in PYMUPDF4LLM_SETTINGS if args.peer_settings is None else args.peer_settings:
        run = pymupdf4llm_run(setting, pdfs)
        rows.append({"tool": f"pymupdf4llm {getattr(pymupdf4llm, '__version__', '?')} {setting} (one process)",
                     "documents": len(pdfs), "pages": pages, "pages_per_s": round(pages / run["wall_s"], 2),
                     "cpu_ms_per_page": round(1000 * run["cpu_s_run"] / pages, 1), **run})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    for pipeline in args.pipelines:
        rows.append({"tool": f"docray {pipeline} (ray, CLI)", **docray(pipeline, str(folder), tmp / f"out-{pipeline}")})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("sweep", "parquet", "cpu", "peers"))
    parser.add_argument("--pipeline", default="standard")
    parser.add_argument("--documents", type=int, default=120)
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--peer-settings", nargs="*", choices=list(PYMUPDF4LLM_SETTINGS), default=None,
                        help="peers: the pymupdf4llm settings to run (default all; none: the flag alone)")
    parser.add_argument("--pipelines", nargs="*", default=["fast", "standard"], help="peers: docray pipelines to run")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default benchmarks/results/streaming_WHAT.json)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="docray-stream-") as tmp:
        rows = {"sweep": cmd_sweep, "parquet": cmd_parquet, "cpu": cmd_cpu, "peers": cmd_peers}[args.what](args, Path(tmp))
    out = args.out or ROOT / "benchmarks" / "results" / f"streaming_{args.what}_{args.pipeline}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"what": args.what, "pipeline": args.pipeline, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
