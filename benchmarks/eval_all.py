"""`docray eval` over every ground-truth set in ../shared/eval, per docray pipeline, next to a peer.

Usage (from the repository root; needs the `eval` and `bench` extras: `pip install -e '.[eval,bench]'`):

    .venv/bin/python benchmarks/eval_all.py [--eval ../shared/eval] [--pipelines fast standard ocr] [--keep DIR]

Runs docray's `fast`, `standard` and `ocr` pipelines (LocalExecutor, in process) over each set and scores the run
outputs with `docray eval`'s code (`docray.evaluation.run_outputs` + `run_scores`):

* olmocr_bench_sample (21 PDFs, olmOCR-bench unit tests; math approximate): peer pymupdf4llm
  (`to_markdown(path, page_chunks=True)`, its default mode; AGPL, a benchmark peer only, never imported by docray);
* omnidocbench_demo (18 page images, OmniDocBench end-to-end metrics): peer OmniDocBench's own sample predictions
  (`sample_predictions/end2end`). `fast` reads no text from images (no OCR stage): its pages fail and score as empty;
* docling_tests (PDFs with docling's regression Markdown): the "GT" is docling's own output, NOT human-verified, so
  this is a did-it-run / did-the-structure-come-out check: whole-document text NED against docling's `.md`, and
  table and heading counts (`docray.evaluation.markdown_structure`); peer pymupdf4llm.

Prints the tables and writes benchmarks/results/eval_all.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from docray.evaluation.markdown_structure import compare
from docray.evaluation.run_outputs import DocumentOutput, RunOutputs, read_run_outputs
from docray.evaluation.run_scores import (
    Evaluation,
    load_olmocr,
    load_omnidocbench,
    score_run,
)
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import package_version, run_pipeline
from docray.pipelines.spec import load_pipeline

PEER_PYMUPDF = "pymupdf4llm (default, layout model)"
PEER_OMNIDOCBENCH = "OmniDocBench sample predictions"


def run_docray(pipeline: str, inputs: list[Path], out: Path) -> tuple[RunOutputs, dict]:
    shutil.rmtree(out, ignore_errors=True)  # a run appends Parquet parts: start from an empty folder
    started = time.perf_counter()
    report = run_pipeline(load_pipeline(pipeline), [str(p) for p in inputs], str(out), executor=LocalExecutor())
    wall = time.perf_counter() - started
    stats = report.stats
    info = {"documents": stats.documents, "pages": stats.pages, "by_status": dict(stats.by_status),
            "wall_seconds": round(wall, 2)}  # fmt: skip
    print(f"  docray {pipeline}: {stats.documents} docs, {stats.pages} pages, {dict(stats.by_status)}, {wall:.1f} s",
          file=sys.stderr)  # fmt: skip
    return read_run_outputs(out), info


def run_pymupdf4llm(pdfs: list[Path]) -> tuple[RunOutputs, dict]:
    import pymupdf
    import pymupdf4llm

    pymupdf.set_messages(stream=sys.stderr)
    started = time.perf_counter()
    documents, retried = [], []
    with contextlib.redirect_stdout(sys.stderr):  # its layout module prints progress lines
        for pdf in pdfs:
            try:
                chunks = pymupdf4llm.to_markdown(str(pdf), page_chunks=True)
            except TypeError:  # its RapidOCR glue fails on a page where OCR finds no text: retry without OCR
                retried.append(pdf.name)
                chunks = pymupdf4llm.to_markdown(str(pdf), page_chunks=True, use_ocr=False)
            pages = {i: chunk["text"] for i, chunk in enumerate(chunks)}
            documents.append(DocumentOutput(pdf.stem, "\n\n".join(pages.values()), str(pdf), pages, "ok"))
    wall = time.perf_counter() - started
    print(f"  pymupdf4llm: {len(pdfs)} docs, {wall:.1f} s, retried without OCR: {retried}", file=sys.stderr)
    info = {"documents": len(documents), "pages": sum(len(d.pages) for d in documents), "wall_seconds": round(wall, 2),
            "retried_without_ocr": retried}  # fmt: skip
    return RunOutputs("pymupdf4llm", "memory", tuple(documents), PEER_PYMUPDF), info


# --------------------------------------------------------------------------- sets


def olmocr_set(root: Path, pipelines: list[str], work: Path) -> dict:
    gt = load_olmocr(root / "olmocr_bench_sample")
    pdfs = sorted(gt.pdfs_dir.rglob("*.pdf"))
    systems = {f"docray {p}": run_docray(p, [gt.pdfs_dir], work / "olmocr" / p) for p in pipelines}
    systems[PEER_PYMUPDF] = run_pymupdf4llm(pdfs)
    scores = [score_run(run, gt, label=name) for name, (run, _) in systems.items()]
    evaluation = Evaluation(gt, scores)
    return {"ground_truth": gt.describe(), "table": evaluation.to_markdown(),
            "systems": {s.label: {**s.to_dict(explanations=False), "run": systems[s.label][1]} for s in scores}}  # fmt: skip


def omnidocbench_set(root: Path, pipelines: list[str], work: Path) -> dict:
    demo = root / "omnidocbench_demo"
    gt = load_omnidocbench(demo / "OmniDocBench_demo.json")
    systems = {f"docray {p}": run_docray(p, [demo / "images"], work / "omnidocbench" / p) for p in pipelines}
    systems[PEER_OMNIDOCBENCH] = (read_run_outputs(demo / "sample_predictions" / "end2end"), {})
    scores = [score_run(run, gt, label=name) for name, (run, _) in systems.items()]
    evaluation = Evaluation(gt, scores)
    return {"ground_truth": gt.describe(), "table": evaluation.to_markdown(),
            "systems": {s.label: {**s.to_dict(explanations=False), "run": systems[s.label][1]} for s in scores}}  # fmt: skip


def docling_documents(root: Path) -> list[tuple[Path, Path]]:
    """(PDF, docling's Markdown) of every docling_tests document that has Markdown ground truth."""
    manifest = json.loads((root / "docling_tests" / "manifest.json").read_text(encoding="utf-8"))
    pairs = []
    for doc in manifest["docs"]:
        gt = doc.get("gt_path")
        if gt and gt.endswith(".md") and (root / doc["path"]).is_file() and (root / gt).is_file():
            pairs.append((root / doc["path"], root / gt))
    return pairs


def structure_rows(run: RunOutputs, pairs: list[tuple[Path, Path]]) -> dict:
    by_source = {Path(d.source).resolve(): d for d in run.documents if d.source}
    per_doc, comparisons = {}, []
    for pdf, gt in pairs:
        doc = by_source.get(pdf.resolve())
        markdown = (doc.markdown if doc else None) or ""
        comparison = compare(markdown, gt.read_text(encoding="utf-8"))
        comparisons.append(comparison)
        per_doc[pdf.name] = {"status": doc.status if doc else "missing", **comparison.to_dict()}
    n = len(comparisons)
    return {
        "documents": n,
        "with_text": sum(c.chars > 0 for c in comparisons),
        "mean_text_ned": statistics.mean(c.text_ned for c in comparisons),
        "median_text_ned": statistics.median(c.text_ned for c in comparisons),
        "tables": sum(c.tables for c in comparisons),
        "reference_tables": sum(c.reference_tables for c in comparisons),
        "table_count_equal": sum(c.tables == c.reference_tables for c in comparisons),
        "headings": sum(c.headings for c in comparisons),
        "reference_headings": sum(c.reference_headings for c in comparisons),
        "heading_count_within_1": sum(abs(c.headings - c.reference_headings) <= 1 for c in comparisons),
        "per_document": per_doc,
    }


def docling_table(rows: dict[str, dict]) -> str:
    head = ["system", "docs with text", "text NED mean", "text NED median", "tables (docling)", "docs: same table count",
            "headings (docling)", "docs: headings within ±1"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for name, r in rows.items():
        n = r["documents"]
        lines.append(
            f"| {name} | {r['with_text']}/{n} | {r['mean_text_ned']:.3f} | {r['median_text_ned']:.3f} | "
            f"{r['tables']} ({r['reference_tables']}) | {r['table_count_equal']}/{n} | "
            f"{r['headings']} ({r['reference_headings']}) | {r['heading_count_within_1']}/{n} |"
        )
    return "\n".join(lines)


def docling_set(root: Path, pipelines: list[str], work: Path) -> dict:
    pairs = docling_documents(root)
    pdfs = [pdf for pdf, _ in pairs]
    systems = {f"docray {p}": run_docray(p, pdfs, work / "docling" / p) for p in pipelines}
    systems[PEER_PYMUPDF] = run_pymupdf4llm(pdfs)
    rows = {name: {**structure_rows(run, pairs), "run": info} for name, (run, info) in systems.items()}
    return {
        "ground_truth": {"kind": "docling regression Markdown (tool output, not human-verified)",
                         "documents": len(pairs)},  # fmt: skip
        "table": docling_table(rows),
        "systems": rows,
    }



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "eval")
    parser.add_argument("--pipelines", nargs="+", default=["fast", "standard", "ocr"])
    parser.add_argument("--sets", nargs="+", default=["olmocr_bench_sample", "omnidocbench_demo", "docling_tests"])
    parser.add_argument("--keep", type=Path, default=None, help="keep the run outputs here (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "eval_all.json")
    args = parser.parse_args()
    if not args.eval.is_dir():
        print(f"no {args.eval}; pass --eval", file=sys.stderr)
        return 2
    makers = {"olmocr_bench_sample": olmocr_set, "omnidocbench_demo": omnidocbench_set, "docling_tests": docling_set}
    results: dict = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        for name in args.sets:
            print(f"{name}:", file=sys.stderr)
            results[name] = makers[name](args.eval, args.pipelines, work)
    for name, result in results.items():
        print(f"\n## {name}\n\n{result['table']}")
    payload = {
        "pipelines": args.pipelines,
        "versions": {d: package_version(d) for d in ("docray", "pypdfium2", "onnxruntime", "pymupdf", "rapidfuzz")},
        "sets": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nsaved {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
