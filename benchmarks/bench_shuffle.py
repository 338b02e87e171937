"""Grouping shuffle strategies for `assemble` (pages -> documents) on a small run, each in a cold Ray.

Usage: .venv/bin/python benchmarks/bench_shuffle.py [--inputs ../shared/eval/olmocr_bench_sample/pdfs] [--repeat 3]

Each run is a fresh Python process that starts an embedded Ray and runs the `fast` pipeline with the
Ray executor and one shuffle strategy; it prints the run's wall seconds (ray.init excluded: it is
started before the timer) as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

RUN = """
import json, sys, tempfile, time
from docray.pipelines.executors import RayExecutor, init_ray
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import load_pipeline
init_ray()
with tempfile.TemporaryDirectory() as out:
    report = run_pipeline(load_pipeline("fast"), [sys.argv[1]], out,
                          executor=RayExecutor(progress_bars=False, shuffle_strategy=sys.argv[2]))
print(json.dumps({"wall": report.wall_seconds, "documents": report.stats.documents}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_inputs = Path(__file__).resolve().parents[2] / "shared/eval/olmocr_bench_sample/pdfs"
    parser.add_argument("--inputs", default=str(default_inputs))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| shuffle strategy | documents | wall s per run | median |\n|---|---:|---|---:|")
    for strategy in ("sort_shuffle_pull_based", "hash_shuffle", "shuffle_v2"):  # shuffle_v2: Ray 2.60 default
        walls, docs = [], 0
        for _ in range(args.repeat):
            out = subprocess.run([sys.executable, "-c", RUN, args.inputs, strategy], capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            walls.append(result["wall"])
            docs = result["documents"]
        print(f"| {strategy} | {docs} | {', '.join(f'{w:.2f}' for w in walls)} | {statistics.median(walls):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
