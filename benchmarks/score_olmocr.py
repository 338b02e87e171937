"""olmOCR-bench sample: docray `fast` and `standard` vs pymupdf4llm, with olmOCR's own outputs as a sanity row.

Usage (from the repository root, after `make install` and `pip install -e '.[eval,bench]'`):

    .venv/bin/python benchmarks/score_olmocr.py [--eval ../shared/eval] [--repeat 3]

Scores, with `docray.evaluation.olmocr_bench`, the tests of every `*.jsonl` in `<eval>/olmocr_bench_sample/` plus
olmOCR's default baseline test for each PDF, on:

* docray `fast` and `standard` (local executor, whole pipeline including writing Parquet and MinerU files); each test reads its
  page's Markdown from the pages Parquet (`source`, `page_idx`, `markdown`);
* pymupdf4llm, the text-layer peer, per page (`page_chunks=True`), twice: with its default layout model
  (pymupdf 2.x) and with `use_layout(False)`, its classic text-layer heuristics;
* olmOCR's reference outputs `reference_outputs/olmocr_pipeline/<stem>_pg<N>_repeat1.md` (a VLM reading page
  images): a sanity check of the scorer, not a peer run here.

Every test type is scored; `table` as olmOCR does, `math` only APPROXIMATELY (normalised LaTeX tokens compared by edit
distance, not olmOCR's KaTeX rendering; its column says "math (approx.)"). Wall seconds are the median of `--repeat` runs
over all PDFs of the sample. Prints a Markdown table and saves JSON to benchmarks/results/olmocr_bench.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from docray.evaluation.olmocr_bench import Outputs, Report, add_default_baselines, load_tests, score
from docray.evaluation.olmocr_report import NOT_SCORED, TYPE_ORDER, format_rate, type_label
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import package_version, run_pipeline
from docray.pipelines.spec import load_pipeline

SAMPLE = "olmocr_bench_sample"
REFERENCE_NAME = re.compile(r"^(?P<stem>.+)_pg(?P<page>\d+)_repeat\d+\.md$")


def relative_name(path: str | Path, pdfs_dir: Path) -> str:
    return Path(path).resolve().relative_to(pdfs_dir.resolve()).as_posix()


def docray_runner(pipeline: str) -> Callable[[Path], Outputs]:
    def run(pdfs_dir: Path) -> Outputs:
        return docray_pipeline(pdfs_dir, pipeline)

    return run


def docray_pipeline(pdfs_dir: Path, pipeline: str) -> Outputs:
    """Run a docray pipeline in process and return each page's Markdown keyed by (pdf, page)."""
    with tempfile.TemporaryDirectory() as out:
        report = run_pipeline(load_pipeline(pipeline), [str(pdfs_dir)], out, executor=LocalExecutor())
        pages = pq.read_table(f"{out}/pages", columns=["source", "page_idx", "markdown"]).to_pylist()
        documents = pq.read_table(f"{out}/documents", columns=["source", "markdown"]).to_pylist()
    outputs: dict = {relative_name(d["source"], pdfs_dir): d["markdown"] or "" for d in documents}
    for page in pages:
        if page["page_idx"] >= 0 and page["markdown"] is not None:
            outputs[(relative_name(page["source"], pdfs_dir), page["page_idx"] + 1)] = page["markdown"]
    print(f"docray {pipeline}: {report.stats.documents} documents, {report.stats.pages} pages, "
          f"{report.stats.by_status.get('error', 0)} error rows", file=sys.stderr)  # fmt: skip
    return outputs


def pymupdf4llm_runner(use_layout: bool) -> Callable[[Path], Outputs]:
    # pymupdf4llm / PyMuPDF are AGPL-licensed: used here only as a benchmark peer (the `bench` extra), never
    # imported by docray itself.
    def run(pdfs_dir: Path) -> Outputs:
        import pymupdf
        import pymupdf4llm

        pymupdf.set_messages(stream=sys.stderr)  # its parser notes would otherwise mix with the table on stdout
        pymupdf4llm.use_layout(use_layout)
        outputs: dict = {}
        with contextlib.redirect_stdout(sys.stderr):  # its layout module prints progress lines
            for pdf in sorted(pdfs_dir.rglob("*.pdf")):
                name = relative_name(pdf, pdfs_dir)
                for number, chunk in enumerate(pymupdf4llm.to_markdown(str(pdf), page_chunks=True), start=1):
                    outputs[(name, number)] = chunk["text"]
        return outputs

    return run


def olmocr_reference(sample_dir: Path) -> Outputs:
    folder = sample_dir / "reference_outputs" / "olmocr_pipeline"
    outputs: dict = {}
    for md in sorted(folder.rglob("*.md")):
        match = REFERENCE_NAME.match(md.relative_to(folder).as_posix())
        if match:
            outputs[(f"{match['stem']}.pdf", int(match["page"]))] = md.read_text(encoding="utf-8")
    return outputs


def timed(run: Callable[[Path], Outputs], pdfs_dir: Path, repeat: int) -> tuple[Outputs, list[float]]:
    walls, outputs = [], {}
    for _ in range(repeat):
        start = time.perf_counter()
        outputs = run(pdfs_dir)
        walls.append(time.perf_counter() - start)
    return outputs, walls


def table(rows: dict[str, Report], walls: dict[str, list[float]], pdf_count: int) -> str:
    method = next(iter(rows.values())).math_method if rows else "approx."
    head = ["system", *(type_label(t, method) for t in TYPE_ORDER), "overall (mean over files)", "mean over tests",
            f"wall s ({pdf_count} PDFs)"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for name, report in rows.items():
        by_type, unsupported = report.by_type(), report.unsupported()
        cells = [name]
        cells += [str(by_type[t]) if t in by_type else NOT_SCORED if t in unsupported else "n/a" for t in TYPE_ORDER]
        cells += [format_rate(report.overall), str(report.total())]
        cells.append(f"{statistics.median(walls[name]):.2f}" if name in walls else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", default=str(Path(__file__).resolve().parents[2] / "shared" / "eval"))
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per system (median wall seconds)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "olmocr_bench.json"))
    args = parser.parse_args()
    sample_dir = Path(args.eval) / SAMPLE
    pdfs_dir = sample_dir / "pdfs"
    if not pdfs_dir.is_dir():
        print(f"no {pdfs_dir}; pass --eval", file=sys.stderr)
        return 2
    pdf_names = [relative_name(p, pdfs_dir) for p in sorted(pdfs_dir.rglob("*.pdf"))]
    tests = add_default_baselines(load_tests(sorted(sample_dir.glob("*.jsonl"))), pdf_names)

    systems: dict[str, Callable[[Path], Outputs]] = {
        "docray fast": docray_runner("fast"),
        "docray standard": docray_runner("standard"),
        "pymupdf4llm (layout model, default)": pymupdf4llm_runner(use_layout=True),
        "pymupdf4llm (use_layout(False))": pymupdf4llm_runner(use_layout=False),
    }
    reports: dict[str, Report] = {}
    walls: dict[str, list[float]] = {}
    for name, run in systems.items():
        outputs, walls[name] = timed(run, pdfs_dir, args.repeat)
        reports[name] = score(tests, outputs)
    reports["olmOCR reference outputs"] = score(tests, olmocr_reference(sample_dir))

    print(table(reports, walls, len(pdf_names)))
    for name, report in reports.items():
        print(f"\n{name}: {len(report.failures())} failed tests", file=sys.stderr)
        for outcome in report.failures():
            print(f"  {outcome.test.id} ({outcome.test.type.value}): {outcome.result.explanation}", file=sys.stderr)

    result = {
        "sample": SAMPLE,
        "pdfs": len(pdf_names),
        "tests": len(tests),
        "repeat": args.repeat,
        "versions": {
            d: package_version(d) for d in ("docray", "pypdfium2", "pymupdf", "pymupdf4llm", "rapidfuzz", "fuzzysearch")
        },
        "systems": {
            name: {
                **report.to_dict(explanations=False),  # explanations quote the documents' text: stderr only
                "wall_seconds": round(statistics.median(walls[name]), 3) if name in walls else None,
                "wall_seconds_all": [round(w, 3) for w in walls.get(name, [])],
            }
            for name, report in reports.items()
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nsaved {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
