"""What writing each output costs per page: Parquet tables, Markdown, JSON files, debug PDFs, crops.

Usage (from the repository root, after `make install`):

    .venv/bin/python benchmarks/bench_outputs.py [--pipeline standard] [--articles 10] [--repeat 3]

Runs the pipeline's stages once in process over the born-digital PDFs of ../shared/eval (docling_tests,
olmocr_bench_sample, camelot_tables) plus `--articles` generated 3-page articles, keeps the RESULTS table, then
times `ResultWriter.write` of that table into a fresh local folder with one output at a time (the documents
table, the commit record, is always written and is timed alone as `documents (commit record)`; each other row is
its time minus that). Median of `--repeat` writes, in ms per page.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from docray.operators.base import GroupOperator
from docray.operators.ingest import expand_inputs
from docray.pipelines.executors import _apply_grouped, _collect
from docray.pipelines.outputs import ResultWriter, WriteStats
from docray.pipelines.plan import SOURCES_SCHEMA, build_plan
from docray.pipelines.spec import OutputSpec, load_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_streaming import born_digital  # noqa: E402

OUTPUTS = {
    "documents (commit record)": OutputSpec(tables=["documents"], files=[]),
    "pages table": OutputSpec(tables=["documents", "pages"], files=[]),
    "markdown (.md, with crops)": OutputSpec(tables=["documents"], files=["markdown"]),
    "content_list.json": OutputSpec(tables=["documents"], files=["content_list"]),
    "middle.json": OutputSpec(tables=["documents"], files=["middle"]),
    "model.json": OutputSpec(tables=["documents"], files=["model"]),
    "layout.pdf": OutputSpec(tables=["documents"], files=["layout_pdf"]),
    "span.pdf": OutputSpec(tables=["documents"], files=["span_pdf"]),
}


def results_of(pipeline: str, folder: Path) -> pa.Table:
    plan = build_plan(load_pipeline(pipeline))
    operators = [stage.instantiate() for stage in plan.stages]
    tables = []
    for row in expand_inputs([str(folder)]).files:
        table = pa.Table.from_pylist([row], schema=SOURCES_SCHEMA)
        for op in operators:
            table = _apply_grouped(op, table) if isinstance(op, GroupOperator) else _collect(op(table))
        tables.append(table)
    return pa.concat_tables(tables, promote_options="permissive")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", default="standard")
    parser.add_argument("--articles", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="docray-outputs-") as tmp:
        results = results_of(args.pipeline, born_digital(Path(tmp), args.articles))
        pages = WriteStats.of(results).pages
        crops = sum(len(images or []) for images in results.column("images").to_pylist())
        times = {}
        for name, spec in OUTPUTS.items():
            runs = []
            for k in range(args.repeat):
                writer = ResultWriter(f"{tmp}/out-{len(times)}-{k}", spec, "auto")
                t0 = time.perf_counter()
                writer.write(results)
                runs.append(time.perf_counter() - t0)
            times[name] = statistics.median(runs)
        base = times["documents (commit record)"]
        rows = {name: round(1000 * (t - (0 if name.startswith("documents") else base)) / pages, 2) for name, t in times.items()}
    print(json.dumps({"pipeline": args.pipeline, "documents": results.num_rows, "pages": pages, "crop_files": crops,
                      "ms_per_page": rows}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
