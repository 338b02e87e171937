"""`docray eval` over every dev set in ../shared/eval, per docray pipeline, beside peers, in one command.

Usage (from the repository root; needs the `eval` and `bench` extras, `pip install -e '.[eval,bench]'`, and
`rapidocr_onnxruntime==1.4.4` + `rapidocr==3.10.0` for the raw-OCR peers):

    .venv/bin/python benchmarks/eval_all.py [--eval ../shared/eval] [--pipelines fast standard ocr]
        [--sets olmocr_bench_sample omnidocbench_demo docling_tests sroie_dev camelot_tables pdfjs_dev]
        [--peers pymupdf4llm rapidocr-v4 rapidocr-v6] [--keep DIR] [--out FILE] [--label TEXT]

Everything runs in this process (LocalExecutor), except pdfjs_dev (below). Wall seconds are recorded per run. Sets:

* olmocr_bench_sample (21 PDFs, olmOCR-bench unit tests; math by KaTeX structure when node is present): peer
  pymupdf4llm (`to_markdown(path, page_chunks=True)`, its default mode; AGPL, a benchmark peer only);
* omnidocbench_demo (18 page images, OmniDocBench end-to-end metrics): peers OmniDocBench's own sample predictions
  and raw rapidocr (below). `fast` reads no text from images (no OCR stage): its pages fail and score as empty;
* docling_tests (PDFs with docling's regression Markdown; NOT human-verified): whole-document text NED and table and
  heading counts (`docray.evaluation.markdown_structure`); peer pymupdf4llm;
* sroie_dev (40 receipt JPEGs): mean CER against `text_derived/<n>.txt` (`docray eval --text-gt`: GT lines joined
  by spaces, NFKC, case-insensitive, whitespace collapsed; `docray.evaluation.text_gt`), and against the same
  transcripts in page order ("box order": `box/<n>.csv` lines as rows by vertical overlap, then left to right, as the
  eval README advises where the annotation order does not follow the page; CER counts order); peers pymupdf4llm (it
  opens images and OCRs them with RapidOCR) and raw rapidocr;
* camelot_tables (20 PDFs, 23 GT tables): TEDS and TEDS-S against `gt/<id>.html` (`docray eval --table-gt
  manifest.json`: each GT table paired one-to-one with a table of its page, unpaired = 0;
  `docray.evaluation.table_gt`), plus a lenient TEDS taking the best of `gt/` and the table's `gt_alt/` grids and a
  flat-grid TEDS (`--flat-grids`: the GT writes a span as its text plus empty cells; both sides compared so); peer
  pymupdf4llm (its Markdown pipe tables read as HTML);
* pdfjs_dev (471 odd PDFs, robustness of the FIRST of --pipelines, normally `fast`): `docray run` as a subprocess over
  chunks of 40 files; a chunk that dies or passes its time limit is rerun file by file with a per-file limit
  (`--file-timeout`, default 120 s). Counts per input: ok / partial / error rows (by error_code), crash (no row, the
  process died), timeout.

Raw OCR ("rapidocr-v4" = `rapidocr_onnxruntime` 1.4.4, PP-OCRv4; "rapidocr-v6" = `rapidocr` 3.10.0, PP-OCRv6 small):
the library's own output lines, in its order, joined by newlines, scored as plain text (no Markdown stripping).

Long runs: `--keep DIR --reuse-runs` scores the kept runs of an interrupted run instead of running them again (only
runs that finished, by the same docray); docray runs and peers can be measured apart (`--pipelines` with no names
runs peers only; `--peers` with no names runs none) and joined with `--merge A.json B.json --out C.json`.

Before/after: to score an older commit's pipelines with this script's scorers, install that commit elsewhere and put
it first on PYTHONPATH, with the current `docray/evaluation` copied over it (the scorers only; see
benchmarks/README.md "Issue 16: before and after"). The script prints which docray it imported.

Prints one table per set and a headline table, and writes JSON (default benchmarks/results/eval_all.json).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docray
from docray.evaluation.markdown_structure import compare
from docray.evaluation.run_outputs import DocumentOutput, RunOutputs, local_path, read_run_outputs
from docray.evaluation.run_scores import Evaluation, load_olmocr, load_omnidocbench, score_run
from docray.evaluation.table_gt import GtTable, load_table_gt, score_table_run, table_table
from docray.evaluation.text_gt import TextNormalisation, load_text_gt, score_text_run, text_table
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import package_version, run_pipeline
from docray.pipelines.spec import load_pipeline

PEER_PYMUPDF = "pymupdf4llm"
PEER_OMNIDOCBENCH = "OmniDocBench sample predictions"
RAW_OCR = {"rapidocr-v4": "rapidocr 1.4.4 raw lines (PP-OCRv4)", "rapidocr-v6": "rapidocr 3.10.0 raw lines (PP-OCRv6)"}
ALL_SETS = ("olmocr_bench_sample", "omnidocbench_demo", "docling_tests", "sroie_dev", "camelot_tables", "pdfjs_dev")
ALL_PEERS = ("pymupdf4llm", *RAW_OCR)

System = tuple[RunOutputs, dict]  # outputs and run info (wall seconds, counts)


@dataclass
class Context:
    root: Path  # ../shared/eval
    pipelines: list[str]
    peers: set[str]
    work: Path
    file_timeout: float
    reuse_runs: bool = False
    ocr_engines: dict[str, Any] = dataclasses.field(default_factory=dict)

    def docray_runs(self, folder: str, inputs: list[Path]) -> dict[str, System]:
        return {f"docray {p}": run_docray(p, inputs, self.work / folder / p, self.reuse_runs) for p in self.pipelines}


def finished_run(out: Path, pipeline: str) -> System | None:
    """A kept run of ``pipeline`` by this same docray (``run.json``: finished, same module), read back, or None."""
    try:
        manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    report = manifest.get("report") or {}
    if not manifest.get("finished") or report.get("pipeline") != pipeline:
        return None
    if Path(manifest.get("docray_module", "")).parent != Path(docray.__file__).parent:
        return None
    info = {"documents": report.get("documents"), "pages": report.get("pages"), "by_status": report.get("status"),
            "wall_seconds": report.get("wall_seconds"), "reused": str(out)}  # fmt: skip
    print(f"  docray {pipeline}: reused {out} ({info['wall_seconds']} s when it ran)", file=sys.stderr)
    return read_run_outputs(out), info


def run_docray(pipeline: str, inputs: list[Path], out: Path, reuse: bool = False) -> System:
    if reuse and (kept := finished_run(out, pipeline)) is not None:
        return kept
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


def run_pymupdf4llm(paths: list[Path]) -> System:
    import pymupdf
    import pymupdf4llm

    pymupdf.set_messages(stream=sys.stderr)
    started = time.perf_counter()
    documents, retried, failed = [], [], []
    with contextlib.redirect_stdout(sys.stderr):  # its layout module prints progress lines
        for path in paths:
            try:
                try:
                    chunks = pymupdf4llm.to_markdown(str(path), page_chunks=True)
                except TypeError:  # its RapidOCR glue fails on a page where OCR finds no text: retry without OCR
                    retried.append(path.name)
                    chunks = pymupdf4llm.to_markdown(str(path), page_chunks=True, use_ocr=False)
            except Exception as exc:  # noqa: BLE001 - a peer failing on one file is a result, not a crash
                failed.append(f"{path.name}: {type(exc).__name__}: {exc}"[:200])
                documents.append(DocumentOutput(path.stem, None, str(path), {}, "error"))
                continue
            pages = {i: chunk["text"] for i, chunk in enumerate(chunks)}
            documents.append(DocumentOutput(path.stem, "\n\n".join(pages.values()), str(path), pages, "ok"))
    wall = time.perf_counter() - started
    print(f"  pymupdf4llm: {len(paths)} docs, {wall:.1f} s, retried without OCR: {retried}, failed: {failed}",
          file=sys.stderr)  # fmt: skip
    info = {"documents": len(documents), "pages": sum(len(d.pages) for d in documents), "wall_seconds": round(wall, 2),
            "retried_without_ocr": retried, "failed": failed}  # fmt: skip
    return RunOutputs(PEER_PYMUPDF, "memory", tuple(documents), PEER_PYMUPDF), info


def ocr_engine(ctx: Context, name: str):
    """A callable image path -> text lines, in the library's own order (created once per process)."""
    if name not in ctx.ocr_engines:
        if name == "rapidocr-v4":
            from rapidocr_onnxruntime import RapidOCR

            engine = RapidOCR()
            ctx.ocr_engines[name] = lambda path: [line[1] for line in (engine(str(path))[0] or [])]
        else:
            from rapidocr import RapidOCR

            engine = RapidOCR()
            ctx.ocr_engines[name] = lambda path: list(engine(str(path)).txts or ())
    return ctx.ocr_engines[name]


def run_raw_ocr(ctx: Context, name: str, images: list[Path]) -> System:
    read = ocr_engine(ctx, name)
    read(images[0])  # warm-up (model load) outside the timing
    started = time.perf_counter()
    documents = []
    for image in images:
        text = "\n".join(read(image))
        documents.append(DocumentOutput(image.stem, text, str(image), {0: text}, "ok"))
    wall = time.perf_counter() - started
    print(f"  {name}: {len(images)} images, {wall:.1f} s", file=sys.stderr)
    return RunOutputs(name, "memory", tuple(documents), RAW_OCR[name]), {"documents": len(images),
                                                                          "wall_seconds": round(wall, 2)}  # fmt: skip


def raw_ocr_peers(ctx: Context, images: list[Path]) -> dict[str, System]:
    return {RAW_OCR[name]: run_raw_ocr(ctx, name, images) for name in RAW_OCR if name in ctx.peers}


def system_dicts(scores: list, systems: dict[str, System]) -> dict[str, dict]:
    return {s.label: {**s.to_dict(explanations=False), "run": systems[s.label][1]} for s in scores}


def wall_of(systems: dict[str, System]) -> dict[str, float | None]:
    return {name: info.get("wall_seconds") for name, (_, info) in systems.items()}


# --------------------------------------------------------------------------- sets


def olmocr_set(ctx: Context) -> dict:
    gt = load_olmocr(ctx.root / "olmocr_bench_sample")
    pdfs = sorted(gt.pdfs_dir.rglob("*.pdf"))
    systems = ctx.docray_runs("olmocr", [gt.pdfs_dir])
    if "pymupdf4llm" in ctx.peers:
        systems[PEER_PYMUPDF] = run_pymupdf4llm(pdfs)
    scores = [score_run(run, gt, label=name) for name, (run, _) in systems.items()]
    headline = {s.label: {"olmOCR overall": s.report.overall} for s in scores}
    return {"ground_truth": gt.describe(), "table": Evaluation(gt, scores).to_markdown(), "headline": headline,
            "wall_seconds": wall_of(systems),
            "systems": system_dicts(scores, systems)}  # fmt: skip


def omnidocbench_set(ctx: Context) -> dict:
    demo = ctx.root / "omnidocbench_demo"
    gt = load_omnidocbench(demo / "OmniDocBench_demo.json")
    systems = ctx.docray_runs("omnidocbench", [demo / "images"])
    systems.update(raw_ocr_peers(ctx, sorted((demo / "images").glob("*.jpg"))))
    systems[PEER_OMNIDOCBENCH] = (read_run_outputs(demo / "sample_predictions" / "end2end"), {})
    scores = [score_run(run, gt, label=name) for name, (run, _) in systems.items()]
    headline = {}
    for s in scores:
        summary = s.report.summary()
        headline[s.label] = {"OmniDocBench text edit ↓": summary["text_edit"],
                             "OmniDocBench table TEDS": summary["table_teds"],
                             "OmniDocBench reading-order edit ↓": summary["reading_order_edit"]}  # fmt: skip
    return {"ground_truth": gt.describe(), "table": Evaluation(gt, scores).to_markdown(), "headline": headline,
            "wall_seconds": wall_of(systems),
            "systems": system_dicts(scores, systems)}  # fmt: skip


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
    by_source = {Path(local_path(d.source)).resolve(): d for d in run.documents if d.source}
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
    head = ["system", "docs with text", "text NED mean", "text NED median", "tables (docling)",
            "docs: same table count", "headings (docling)", "docs: headings within ±1", "wall s"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for name, r in rows.items():
        n = r["documents"]
        lines.append(
            f"| {name} | {r['with_text']}/{n} | {r['mean_text_ned']:.3f} | {r['median_text_ned']:.3f} | "
            f"{r['tables']} ({r['reference_tables']}) | {r['table_count_equal']}/{n} | "
            f"{r['headings']} ({r['reference_headings']}) | {r['heading_count_within_1']}/{n} | "
            f"{r['run'].get('wall_seconds', 'n/a')} |"
        )
    return "\n".join(lines)


def docling_set(ctx: Context) -> dict:
    pairs = docling_documents(ctx.root)
    pdfs = [pdf for pdf, _ in pairs]
    systems = ctx.docray_runs("docling", pdfs)
    if "pymupdf4llm" in ctx.peers:
        systems[PEER_PYMUPDF] = run_pymupdf4llm(pdfs)
    rows = {name: {**structure_rows(run, pairs), "run": info} for name, (run, info) in systems.items()}
    return {
        "ground_truth": {"kind": "docling regression Markdown (tool output, not human-verified)",
                         "documents": len(pairs)},  # fmt: skip
        "table": docling_table(rows),
        "headline": {name: {"docling text NED ↓ (vs docling's output)": r["mean_text_ned"]}
                     for name, r in rows.items()},  # fmt: skip
        "wall_seconds": wall_of(systems),
        "systems": rows,
    }


def with_wall(table: str, walls: dict[str, float | None]) -> str:
    """``table`` (first column: the system) with a "wall s" column appended."""
    lines = table.split("\n")
    out = [lines[0] + " wall s |", lines[1] + "---:|"]
    for line in lines[2:]:
        name = line.split("|")[1].strip()
        wall = walls.get(name)
        out.append(line + f" {'n/a' if wall is None else wall} |")
    return "\n".join(out)


def box_order_lines(csv_text: str) -> list[str]:
    """SROIE ``box/<n>.csv`` transcripts in page order: rows of lines that overlap vertically by at least half the
    smaller height (top to bottom), each row left to right (the eval README's reordering where the annotation order
    does not follow the page). A csv row is ``x1,y1,...,x4,y4,text`` (the text may hold commas)."""
    items = []
    for line in csv_text.splitlines():
        parts = line.split(",", 8)
        if len(parts) < 9 or not parts[8].strip():
            continue
        try:
            xs, ys = [float(v) for v in parts[0:8:2]], [float(v) for v in parts[1:8:2]]
        except ValueError:
            continue
        items.append((min(ys), max(ys), min(xs), parts[8].strip()))
    rows: list[list] = []  # [top, bottom, [(left, text)]]
    for top, bottom, left, text in sorted(items):
        for row in rows:
            if min(bottom, row[1]) - max(top, row[0]) >= 0.5 * min(bottom - top, row[1] - row[0]):
                row[0], row[1] = min(top, row[0]), max(bottom, row[1])
                row[2].append((left, text))
                break
        else:
            rows.append([top, bottom, [(left, text)]])
    return [" ".join(text for _, text in sorted(row[2])) for row in sorted(rows, key=lambda r: r[0])]


def sroie_box_order_gt(folder: Path, work: Path) -> Path:
    out = work / "sroie_box_order_gt"
    out.mkdir(parents=True, exist_ok=True)
    for csv in sorted((folder / "box").glob("*.csv")):
        lines = box_order_lines(csv.read_text(encoding="utf-8", errors="replace"))
        (out / f"{csv.stem}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def sroie_set(ctx: Context) -> dict:
    folder = ctx.root / "sroie_dev"
    images = sorted((folder / "img").glob("*.jpg"))
    given = load_text_gt(folder / "text_derived")
    box_order = load_text_gt(sroie_box_order_gt(folder, ctx.work))
    plain = TextNormalisation(strip_markup=False)
    systems = ctx.docray_runs("sroie", [folder / "img"])
    if "pymupdf4llm" in ctx.peers:
        systems[PEER_PYMUPDF] = run_pymupdf4llm(images)
    raw = raw_ocr_peers(ctx, images)
    systems.update(raw)
    rows, results = [], {}
    for name, (run, info) in systems.items():
        gts = [dataclasses.replace(gt, normalisation=plain) if name in raw else gt for gt in (given, box_order)]
        (report, match), (box_report, _) = (score_text_run(run, gt) for gt in gts)
        rows.append((name, report, match))
        results[name] = {"summary": report.summary(), "box_order_summary": box_report.summary(),
                         "match": match.to_dict(), "per_document": report.per_document,
                         "box_order_per_document": box_report.per_document, "run": info}  # fmt: skip
    table = text_table(rows).split("\n")
    table[0] += " box order: mean CER | box order: median CER |"
    table[1] += "---:|---:|"
    for i, (name, _, _) in enumerate(rows, start=2):
        box = results[name]["box_order_summary"]
        table[i] += f" {box['mean_cer']:.4f} | {box['median_cer']:.4f} |"
    return {
        "ground_truth": {**given.describe(), "box_order": "box/*.csv lines re-ordered: rows by vertical overlap, "
                         "then left to right", "note": "raw OCR lines are scored as plain text"},  # fmt: skip
        "table": with_wall("\n".join(table), wall_of(systems)),
        "headline": {name: {"sroie mean CER ↓ (text_derived order)": r["summary"]["mean_cer"],
                            "sroie mean CER ↓ (box order)": r["box_order_summary"]["mean_cer"]}
                     for name, r in results.items()},  # fmt: skip
        "wall_seconds": wall_of(systems),
        "systems": results,
    }


def camelot_lenient(manifest_path: Path, gt) -> list[GtTable]:
    """The GT tables with their ``gt_alt/`` grids as accepted alternatives (camelot_tables' ``alternates``)."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    alternates = {entry["id"]: entry for entry in manifest.get("alternates", [])}
    docs = {entry["id"]: entry for entry in manifest["docs"]}
    tables = []
    for table in gt.tables:
        htmls = []
        for alt_id in docs.get(table.id, {}).get("alternates", []):
            path = manifest_path.parent / "gt_alt" / f"{alt_id}.html"
            if alt_id in alternates and path.is_file():
                htmls.append(path.read_text(encoding="utf-8"))
        tables.append(dataclasses.replace(table, alternatives=tuple(htmls)))
    return tables


def camelot_set(ctx: Context) -> dict:
    folder = ctx.root / "camelot_tables"
    manifest = folder / "manifest.json"
    strict = load_table_gt(manifest)
    lenient = dataclasses.replace(strict, tables=camelot_lenient(manifest, strict))
    flat = dataclasses.replace(strict, flat_grids=True)  # the GT writes spans as text plus empty cells
    pdfs = sorted((folder / "pdf").glob("*.pdf"))
    systems = ctx.docray_runs("camelot", [folder / "pdf"])
    if "pymupdf4llm" in ctx.peers:
        systems[PEER_PYMUPDF] = run_pymupdf4llm(pdfs)
    rows, results, headline = [], {}, {}
    for name, (run, info) in systems.items():
        cache: dict = {}  # TEDS of the gt/ grids, computed once for both passes
        report, match = score_table_run(run, strict, cache=cache)
        lenient_report, _ = score_table_run(run, lenient, cache=cache)
        flat_report, _ = score_table_run(run, flat, cache=cache)
        rows.append((name, report, match))
        s, ls, fs = report.summary(), lenient_report.summary(), flat_report.summary()
        results[name] = {"summary": s, "lenient_summary": ls, "flat_summary": fs, "match": match.to_dict(),
                         "per_table": report.per_table, "lenient_per_table": lenient_report.per_table,
                         "flat_per_table": flat_report.per_table, "run": info}  # fmt: skip
        headline[name] = {"camelot TEDS": s["mean_teds"], "camelot TEDS-S": s["mean_teds_structure"],
                          "camelot TEDS lenient": ls["mean_teds"],
                          "camelot TEDS flat grids": fs["mean_teds"]}  # fmt: skip
    table = table_table(rows).split("\n")
    table[0] += " lenient TEDS | lenient TEDS-S | flat-grid TEDS | flat-grid TEDS-S |"
    table[1] += "---:|---:|---:|---:|"
    for i, (name, _, _) in enumerate(rows, start=2):
        ls, fs = results[name]["lenient_summary"], results[name]["flat_summary"]
        table[i] += f" {ls['mean_teds']:.4f} | {ls['mean_teds_structure']:.4f} |"
        table[i] += f" {fs['mean_teds']:.4f} | {fs['mean_teds_structure']:.4f} |"
    return {
        "ground_truth": {**strict.describe(), "lenient": "best of gt/ and gt_alt/ per table",
                         "flat grids": "docray eval --flat-grids: spans as text plus empty cells on both sides"},
        "table": with_wall("\n".join(table), wall_of(systems)),
        "headline": headline,
        "wall_seconds": wall_of(systems),
        "systems": results,
    }


# --------------------------------------------------------------------------- pdfjs_dev robustness

_RUN = "import sys; from docray.cli import main; sys.exit(main(sys.argv[1:]))"


def _run_cli(pipeline: str, files: list[Path], out: Path, timeout: float) -> str:
    """``docray run`` in a subprocess; "ok", "timeout" or "exit <rc>"."""
    shutil.rmtree(out, ignore_errors=True)
    # -P: the working directory does not go first on sys.path, so PYTHONPATH decides which docray runs
    command = [sys.executable, "-P", "-c", _RUN, "run", pipeline, "-o", str(out), "--executor", "local"]
    command.append("--no-progress")
    for path in files:
        command += ["-i", str(path)]
    try:
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "ok" if done.returncode in (0, 1) else f"exit {done.returncode}"  # 1: the run finished with errors


def _rows(out: Path, wanted: tuple[str, ...]) -> list[dict]:
    import pyarrow.dataset as ds

    if not (out / wanted[0]).is_dir():
        return []
    dataset = ds.dataset(str(out / wanted[0]), format="parquet")
    return dataset.to_table(columns=[c for c in wanted[1:] if c in dataset.schema.names]).to_pylist()


def pdfjs_set(ctx: Context, chunk: int = 40) -> dict:
    if not ctx.pipelines:
        return {"table": "(no pipeline)", "headline": {}, "wall_seconds": {}, "systems": {}}
    pipeline = ctx.pipelines[0]
    pdfs = sorted((ctx.root / "pdfjs_dev" / "pdf").glob("*.pdf"))
    outcome: dict[str, str] = {}
    page_codes: Counter = Counter()
    started = time.perf_counter()

    def collect(out: Path) -> None:
        for row in _rows(out, ("documents", "source", "status", "error_code")):
            code = row.get("error_code")
            status = row.get("status") or "?"
            outcome[Path(local_path(row["source"])).name] = status if status != "error" else f"error:{code}"
        for row in _rows(out, ("pages", "status", "error_code")):
            if row.get("error_code"):
                page_codes[f"{row.get('status')}:{row['error_code']}"] += 1

    for start in range(0, len(pdfs), chunk):
        files = pdfs[start : start + chunk]
        out = ctx.work / "pdfjs" / f"chunk{start:04d}"
        result = _run_cli(pipeline, files, out, timeout=max(300.0, ctx.file_timeout * 4))
        collect(out)
        missing = [f for f in files if f.name not in outcome]
        print(f"  pdfjs {start}-{start + len(files)}: {result}, rerun one by one: {len(missing)}", file=sys.stderr)
        for path in missing:
            single = ctx.work / "pdfjs" / f"single_{path.stem}"
            result = _run_cli(pipeline, [path], single, timeout=ctx.file_timeout)
            collect(single)
            if path.name not in outcome:
                outcome[path.name] = "timeout" if result == "timeout" else f"crash ({result})"
    wall = time.perf_counter() - started
    counts = Counter(
        "ok" if v == "ok" else "partial" if v == "partial" else "timeout" if v == "timeout"
        else "crash" if v.startswith("crash") else "error" for v in outcome.values()
    )  # fmt: skip
    errors = Counter(v.split(":", 1)[1] for v in outcome.values() if v.startswith("error:"))
    table = ["| pipeline | PDFs | ok | partial | error rows | crash | timeout | wall s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|",
             f"| docray {pipeline} | {len(pdfs)} | {counts['ok']} | {counts['partial']} | {counts['error']} | "
             f"{counts['crash']} | {counts['timeout']} | {wall:.0f} |"]  # fmt: skip
    table.append("\nerror rows by error_code: " + ", ".join(f"{k} {v}" for k, v in errors.most_common()))
    pages = ", ".join(f"{k} {v}" for k, v in page_codes.most_common())
    table.append(f"pages with an error_code (status:code): {pages or 'none'}")
    return {
        "ground_truth": {"kind": "robustness (no GT)", "pdfs": len(pdfs), "pipeline": pipeline},
        "table": "\n".join(table),
        "headline": {f"docray {pipeline}": {"pdfjs ok+partial rows": counts["ok"] + counts["partial"],
                                            "pdfjs crash+timeout": counts["crash"] + counts["timeout"]}},  # fmt: skip
        "wall_seconds": {f"docray {pipeline}": round(wall, 2)},
        "systems": {f"docray {pipeline}": {"counts": dict(counts), "error_codes": dict(errors),
                                           "page_error_codes": dict(page_codes), "per_file": outcome}},  # fmt: skip
    }


# --------------------------------------------------------------------------- headline


def headline_table(results: dict[str, dict]) -> str:
    """One row per (set, metric), one column per system (docray pipelines first, then peers)."""
    systems: list[str] = []
    for result in results.values():
        for name in list(result.get("headline", {})) + list(result.get("wall_seconds", {})):
            if name not in systems:
                systems.append(name)
    systems.sort(key=lambda name: (not name.startswith("docray"), 0))
    head = ["set", "metric", *systems]
    lines = ["| " + " | ".join(head) + " |", "|---|---" + "|---:" * len(systems) + "|"]

    def cell(value) -> str:
        return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    for set_name, result in results.items():
        metrics: list[str] = []
        for values in result.get("headline", {}).values():
            metrics += [m for m in values if m not in metrics]
        for metric in metrics:
            row = [cell(result["headline"].get(s, {}).get(metric)) for s in systems]
            lines.append(f"| {set_name} | {metric} | " + " | ".join(row) + " |")
        walls = [result.get("wall_seconds", {}).get(s) for s in systems]
        lines.append(f"| {set_name} | wall s | " + " | ".join("–" if w is None else f"{w:.0f}" for w in walls) + " |")
    return "\n".join(lines)


MAKERS = {
    "olmocr_bench_sample": olmocr_set, "omnidocbench_demo": omnidocbench_set, "docling_tests": docling_set,
    "sroie_dev": sroie_set, "camelot_tables": camelot_set, "pdfjs_dev": pdfjs_set,
}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "eval")
    parser.add_argument("--pipelines", nargs="*", default=["fast", "standard", "ocr"],
                        help="docray pipelines to run (none: peers only)")
    parser.add_argument("--sets", nargs="+", choices=ALL_SETS, default=list(ALL_SETS))
    parser.add_argument("--peers", nargs="*", choices=ALL_PEERS, default=list(ALL_PEERS),
                        help="peers to run beside docray (OmniDocBench's sample predictions are always scored)")
    parser.add_argument("--file-timeout", type=float, default=120.0,
                        help="pdfjs_dev: seconds per file when rerun alone")  # fmt: skip
    parser.add_argument("--keep", type=Path, default=None, help="keep the run outputs here (default: a temp dir)")
    parser.add_argument("--reuse-runs", action="store_true",
                        help="with --keep: score a kept run folder instead of running again when its run.json says it "
                             "finished, with the same pipeline, by this same docray (its wall seconds are reused)")
    parser.add_argument("--merge", nargs="+", type=Path, metavar="JSON",
                        help="run nothing: merge earlier result files (e.g. docray runs and peers measured apart) "
                             "into --out and print the tables")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "eval_all.json")
    parser.add_argument("--label", default="", help="what was measured (e.g. 'before, commit 4e7b2aa')")
    args = parser.parse_args()
    if args.merge:
        return merge(args)
    if not args.eval.is_dir():
        print(f"no {args.eval}; pass --eval", file=sys.stderr)
        return 2
    print(f"docray imported from {Path(docray.__file__).parent}", file=sys.stderr)
    results: dict = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        ctx = Context(args.eval, args.pipelines, set(args.peers), work, args.file_timeout, args.reuse_runs)
        for name in args.sets:
            print(f"{name}:", file=sys.stderr)
            set_started = time.perf_counter()
            results[name] = MAKERS[name](ctx)
            print(f"  ({time.perf_counter() - set_started:.0f} s)\n{results[name]['table']}", file=sys.stderr)
            save(args, results, started, complete=False)  # a long run keeps what it has measured so far
    for name, result in results.items():
        print(f"\n## {name}\n\n{result['table']}")
    print(f"\n## headline ({args.label or 'this checkout'})\n\n{headline_table(results)}")
    save(args, results, started, complete=True)
    print(f"\nsaved {args.out}", file=sys.stderr)
    return 0


def merge(args: argparse.Namespace) -> int:
    """Several result files as one: per set, the table rows, headline, wall seconds and systems of all files (a
    system in a later file replaces the same system of an earlier one)."""
    parts = [json.loads(path.read_text(encoding="utf-8")) for path in args.merge]
    results: dict[str, dict] = {}
    for part in parts:
        for name, result in part["sets"].items():
            if name not in results:
                results[name] = json.loads(json.dumps(result))
                continue
            merged = results[name]
            merged["table"] = _merge_tables(merged["table"], result["table"])
            for key in ("headline", "wall_seconds", "systems"):
                merged.setdefault(key, {}).update(result.get(key, {}))
    order = {name: index for index, name in enumerate(ALL_SETS)}
    results = dict(sorted(results.items(), key=lambda item: order.get(item[0], len(order))))
    for name, result in results.items():
        print(f"\n## {name}\n\n{result['table']}")
    headline = headline_table(results)
    print(f"\n## headline ({args.label or 'merged'})\n\n{headline}")
    payload = {
        "label": args.label, "complete": all(p.get("complete") for p in parts),
        "merged_from": [{"file": str(path), "command": p.get("command"), "docray_imported_from":
                         p.get("docray_imported_from"), "total_wall_seconds": p.get("total_wall_seconds")}
                        for path, p in zip(args.merge, parts)],
        "versions": parts[0].get("versions"), "headline": headline, "sets": results,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nsaved {args.out}", file=sys.stderr)
    return 0


def _merge_tables(first: str, second: str) -> str:
    """Two Markdown tables with one header as one: a row of ``second`` replaces the row of ``first`` with the same
    first cell (a system measured again), other rows are appended; text after the tables (notes) is kept."""
    a, b = first.split("\n"), second.split("\n")
    rows_b = [line for line in b[2:] if line.startswith("|")]
    if not [line for line in a[2:] if line.startswith("|")]:
        return second
    names_b = {line.split("|")[1].strip() for line in rows_b}
    rows_a = [line for line in a[2:] if line.startswith("|") and line.split("|")[1].strip() not in names_b]
    notes = [line for line in a[2:] + b[2:] if not line.startswith("|")]
    return "\n".join(a[:2] + rows_a + rows_b + notes)


def save(args: argparse.Namespace, results: dict, started: float, *, complete: bool) -> None:
    payload = {
        "label": args.label,
        "complete": complete,
        "docray_imported_from": str(Path(docray.__file__).parent),
        "command": " ".join(sys.argv),
        "pipelines": args.pipelines,
        "peers": sorted(args.peers),
        "total_wall_seconds": round(time.perf_counter() - started, 1),
        "versions": {d: package_version(d) for d in ("docray", "pypdfium2", "onnxruntime", "pymupdf", "pymupdf4llm",
                                                      "rapidfuzz", "rapidocr", "rapidocr_onnxruntime")},  # fmt: skip
        "headline": headline_table(results),
        "sets": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
