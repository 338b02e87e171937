"""Pages/s and per-stage ms/page of a pipeline on the PDFs of ../shared/eval.

Usage (from the repository root, after `make install`):

    .venv/bin/python benchmarks/bench_pipeline.py [--pipeline fast] [--kind born-digital] [--eval ../shared/eval]
                                                  [--repeat 3] [--executors local,ray] [--synthetic 200]

For each executor it runs the whole pipeline (every stage, and writing Parquet and MinerU files) over the documents of the chosen kind (born-digital, or scanned: every non-born-digital type) listed in the
groups' manifest.json (and, with
`--synthetic N`, over N generated 3-page two-column articles, to see throughput past start-up
costs), `--repeat` times, and prints a Markdown table of the median run: documents, pages, wall seconds, pages/s and
the per-stage ms/page summed over workers. Ray is started once before the timed runs (its
start-up time is measured and printed separately), so Ray rows show a warm local cluster.
Results are also saved as JSON under benchmarks/results/.
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


def documents(eval_dir: Path, group: str, kind: str) -> list[str]:
    manifest = json.loads((eval_dir / group / "manifest.json").read_text())
    wanted = [d for d in manifest["docs"] if (d.get("type") == "born-digital") == (kind == "born-digital")]
    paths = [eval_dir / doc["path"] for doc in wanted]
    return sorted(str(p) for p in paths if p.exists() and p.suffix == ".pdf")


def synthetic_articles(folder: Path, count: int) -> list[str]:
    from docray.testing.pdfs import two_column_article

    paths = []
    for seed in range(count):
        path = folder / f"article_{seed:05d}.pdf"
        path.write_bytes(two_column_article(pages=3, seed=seed).pdf)
        paths.append(str(path))
    return paths


def bench(files: list[str], executor_name: str, repeat: int, pipeline: str) -> dict:
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            executor = make_executor(executor_name, progress_bars=False)
            report = run_pipeline(load_pipeline(pipeline), expand_inputs(files), out, executor=executor)
            runs.append(report.to_dict())
    median = sorted(runs, key=lambda r: r["wall_seconds"])[len(runs) // 2]
    median["wall_seconds_all"] = [r["wall_seconds"] for r in runs]
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", default=str(Path(__file__).resolve().parents[2] / "shared" / "eval"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--executors", default="local,ray")
    parser.add_argument("--pipeline", default="fast", help="bundled pipeline name or YAML path")
    parser.add_argument("--kind", choices=("born-digital", "scanned"), default="born-digital")
    parser.add_argument("--synthetic", type=int, default=0, help="also run N generated 3-page articles")
    parser.add_argument("--out", default=None, help="JSON results path (default: results/<pipeline>_<kind>.json)")
    args = parser.parse_args()
    eval_dir = Path(args.eval)
    results = {}
    if "ray" in args.executors.split(","):
        import time

        from docray.pipelines.executors import init_ray

        start = time.perf_counter()
        init_ray()
        results["ray_startup_seconds"] = round(time.perf_counter() - start, 2)
        print(f"ray.init: {results['ray_startup_seconds']} s (not in the timed runs)", file=sys.stderr)
    rows = ["| set | executor | docs | pages | errors | wall s (median of %d) | pages/s | ms/page by stage |" % args.repeat,
            "|---|---|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    sets = [(group, documents(eval_dir, group, args.kind)) for group in GROUPS]
    scratch = tempfile.TemporaryDirectory()
    if args.synthetic:
        sets.append((f"synthetic x{args.synthetic}", synthetic_articles(Path(scratch.name), args.synthetic)))
    for group, files in sets:
        for executor in args.executors.split(","):
            r = bench(files, executor, args.repeat, args.pipeline)
            results[f"{group}/{executor}"] = r
            per_stage = ", ".join(f"{k} {1000 * v / max(1, r['pages']):.1f}" for k, v in r["stage_seconds"].items())
            rows.append(
                f"| {group} | {executor} | {r['documents']} | {r['pages']} | {r['status']['error']} | "
                f"{r['wall_seconds']:.2f} | {r['pages_per_second']:.2f} | {per_stage} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    out = Path(args.out or Path(__file__).parent / "results" / f"{Path(args.pipeline).stem}_{args.kind}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
