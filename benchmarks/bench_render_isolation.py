"""Costs of render isolation (render.timeout_s) and memory bounded by page-range segments (render.segment_pages).

Usage (from the repository root):

    .venv/bin/python benchmarks/bench_render_isolation.py startup [--ray]
    .venv/bin/python benchmarks/bench_render_isolation.py overhead [--docs 50] [--repeat 3] [--executors local,ray]
    .venv/bin/python benchmarks/bench_render_isolation.py memory [--pages 2000] [--dpi 144]

* ``startup``: seconds from starting an isolated render process to its first message: the first one
  (which starts the fork server and imports the render modules into it) and the next ten; with
  ``--ray``, the same inside a Ray task.
* ``overhead``: the fast pipeline over N one-page PDFs with ``render.timeout_s`` None (in-process)
  and 120 (isolated); wall seconds (median of ``--repeat``) and the difference per document.
* ``memory``: peak RSS while rendering one long PDF to PNG page images, with segments of 64 pages
  and with one segment holding the whole document, in-process and isolated; each case runs in a
  fresh interpreter, which samples its own RSS and that of its isolated children every 20 ms
  (the child's RSS includes pages it shares with the fork server).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def _job(pages: int = 1):
    from docray.operators.render_segments import RenderJob
    from docray.operators.textlayer.pdf_pages import PageRequest
    from docray.testing.pdfs import simple_pdf

    return RenderJob("pdf", simple_pdf(pages), PageRequest(image_format="none"), 64)


def startup_seconds(children: int = 11) -> list[float]:
    """Start-up seconds of ``children`` isolated render processes, one after another (the first starts the server)."""
    from docray.operators.isolation import IsolationStats, isolated_map
    from docray.operators.render_segments import document_segments

    job = _job()
    seconds = []
    for _ in range(children):
        stats = IsolationStats()
        for _event in isolated_map(document_segments, [job], timeout_s=60, stats=stats):
            pass
        seconds += stats.start_seconds
    return seconds


def cmd_startup(args: argparse.Namespace) -> dict:
    local = startup_seconds()
    result = {"local_first_s": local[0], "local_next_median_s": statistics.median(local[1:])}
    if args.ray:
        import ray

        from docray.pipelines.executors import init_ray

        init_ray(num_cpus=2)
        in_ray = ray.get(ray.remote(startup_seconds).remote())
        result.update(ray_first_s=in_ray[0], ray_next_median_s=statistics.median(in_ray[1:]))
    return result


def cmd_overhead(args: argparse.Namespace) -> dict:
    from docray.pipelines.runner import make_executor, run_pipeline
    from docray.pipelines.spec import apply_overrides, load_pipeline
    from docray.testing.pdfs import simple_pdf

    result: dict = {"docs": args.docs}
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i in range(args.docs):
            path = Path(folder) / f"doc_{i:04d}.pdf"
            path.write_bytes(simple_pdf(1, text=f"Document {i} page {{page}}"))
            paths.append(str(path))
        for executor in args.executors.split(","):
            for timeout in ("null", "120"):
                spec = apply_overrides(load_pipeline("fast"), [f"render.timeout_s={timeout}"])
                walls = []
                for _ in range(args.repeat + 1):  # the first run warms Ray and the fork servers; not counted
                    with tempfile.TemporaryDirectory() as out:
                        report = run_pipeline(spec, paths, out, executor=make_executor(executor, progress_bars=False))
                        assert report.stats.by_status == {"ok": args.docs}, report.stats.by_status
                        walls.append(report.wall_seconds)
                result[f"{executor}_timeout_{timeout}_wall_s"] = statistics.median(walls[1:])
            extra = result[f"{executor}_timeout_120_wall_s"] - result[f"{executor}_timeout_null_wall_s"]
            result[f"{executor}_overhead_ms_per_doc"] = 1000 * extra / args.docs
    return result


def measure_memory(pages: int, dpi: float, segment_pages: int, timeout_s: float | None) -> dict:
    """Render a ``pages``-page PDF (PNG images) in this process, sampling peak RSS; returns the peaks in MiB."""
    import psutil
    import pyarrow as pa

    from docray.operators.render import RenderOperator
    from docray.schema import DOCUMENTS, PAGES
    from docray.testing.pdfs import simple_pdf

    data = simple_pdf(pages)
    doc = {"doc_id": "long", "source": "memory://long.pdf", "name": "long", "mime": "application/pdf", "kind": "pdf",
           "size_bytes": len(data), "bytes": data, "status": "ok", "error": None, "error_code": None, "timings": {}}  # fmt: skip
    batch = pa.Table.from_pylist([doc], schema=DOCUMENTS)
    operator = RenderOperator(
        {"op": "render", "dpi": dpi, "image_format": "png", "timeout_s": timeout_s, "segment_pages": segment_pages},
        output_schema=PAGES,
    )
    me = psutil.Process()
    peaks = {"parent": me.memory_info().rss, "child": 0, "total": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            parent = me.memory_info().rss
            child = 0
            for server in me.children():
                try:
                    if "multiprocessing.forkserver" in " ".join(server.cmdline()):
                        child += sum(c.memory_info().rss for c in server.children())
                except psutil.NoSuchProcess:
                    pass
            peaks["parent"] = max(peaks["parent"], parent)
            peaks["child"] = max(peaks["child"], child)
            peaks["total"] = max(peaks["total"], parent + child)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    start_rss = me.memory_info().rss
    sampler.start()
    t0 = time.perf_counter()
    rows = tables = largest = 0
    for table in operator(batch):  # each table is dropped before the next arrives, as a consumer would
        rows += table.num_rows
        tables += 1
        largest = max(largest, table.nbytes)
    wall = time.perf_counter() - t0
    done.set()
    assert rows == pages, f"{rows} rows for {pages} pages: the document failed"
    sampler.join()
    mib = 1024 * 1024
    return {
        "pages": rows, "tables": tables, "largest_table_mib": round(largest / mib, 1), "wall_s": round(wall, 1),
        "rss_before_mib": round(start_rss / mib), **{f"peak_{k}_mib": round(v / mib) for k, v in peaks.items()},
    }  # fmt: skip


def cmd_memory(args: argparse.Namespace) -> dict:
    results = {}
    # isolated with a generous limit: one 2,000-page segment takes longer than the default 120 s, and what is
    # measured here is memory, not the deadline
    for timeout in (None, 3600.0):
        for segment in (64, args.pages):
            code = (
                "import json, sys; sys.path.insert(0, 'benchmarks'); from bench_render_isolation import measure_memory; "
                f"print(json.dumps(measure_memory({args.pages}, {args.dpi}, {segment}, {timeout})))"
            )
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            key = f"{'isolated' if timeout else 'in_process'}_segment_{segment}"
            results[key] = json.loads(out.strip().splitlines()[-1])
            print(key, results[key], flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    startup = sub.add_parser("startup")
    startup.add_argument("--ray", action="store_true")
    overhead = sub.add_parser("overhead")
    overhead.add_argument("--docs", type=int, default=50)
    overhead.add_argument("--repeat", type=int, default=3)
    overhead.add_argument("--executors", default="local,ray")
    memory = sub.add_parser("memory")
    memory.add_argument("--pages", type=int, default=2000)
    memory.add_argument("--dpi", type=float, default=144)
    args = parser.parse_args()
    result = {"startup": cmd_startup, "overhead": cmd_overhead, "memory": cmd_memory}[args.command](args)
    print(json.dumps(result, indent=2))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"render_isolation_{args.command}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
