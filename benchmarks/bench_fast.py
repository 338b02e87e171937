"""Pages/s of the `fast` pipeline on the born-digital PDFs of ../shared/eval.

Usage (from the repository root, after `make install`):

    .venv/bin/python benchmarks/bench_fast.py [--eval ../shared/eval] [--repeat 3] [--executors local,ray]

For each executor it runs the whole `fast` pipeline (ingest, render, assemble, write Parquet and
MinerU files) over the born-digital documents listed in the groups' manifest.json, `--repeat`
times, and prints a Markdown table of the median run: documents, pages, wall seconds, pages/s and
the per-stage ms/page summed over workers. Results are also saved as JSON under
benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from docray.operators.ingest import expand_inputs
from docray.pipelines.runner import make_executor, run_pipeline
from docray.pipelines.spec import load_pipeline

GROUPS = ("olmocr_bench_sample", "docling_tests")


def born_digital(eval_dir: Path, group: str) -> list[str]:
    manifest = json.loads((eval_dir / group / "manifest.json").read_text())
    paths = [eval_dir / doc["path"] for doc in manifest["docs"] if doc.get("type") == "born-digital"]
    return sorted(str(p) for p in paths if p.exists())


def bench(files: list[str], executor_name: str, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            executor = make_executor(executor_name, progress_bars=False)
            report = run_pipeline(load_pipeline("fast"), expand_inputs(files), out, executor=executor)
            runs.append(report.to_dict())
    median = sorted(runs, key=lambda r: r["wall_seconds"])[len(runs) // 2]
    median["wall_seconds_all"] = [r["wall_seconds"] for r in runs]
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", default=str(Path(__file__).resolve().parents[2] / "shared" / "eval"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--executors", default="local,ray")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "fast.json"))
    args = parser.parse_args()
    eval_dir = Path(args.eval)
    results = {}
    rows = ["| set | executor | docs | pages | errors | wall s (median of %d) | pages/s | ms/page by stage |" % args.repeat,
            "|---|---|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for group in GROUPS:
        files = born_digital(eval_dir, group)
        for executor in args.executors.split(","):
            r = bench(files, executor, args.repeat)
            results[f"{group}/{executor}"] = r
            per_stage = ", ".join(f"{k} {1000 * v / max(1, r['pages']):.1f}" for k, v in r["stage_seconds"].items())
            rows.append(
                f"| {group} | {executor} | {r['documents']} | {r['pages']} | {r['status']['error']} | "
                f"{r['wall_seconds']:.2f} | {r['pages_per_second']:.2f} | {per_stage} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
