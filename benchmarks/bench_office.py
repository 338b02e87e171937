"""Office, web and e-book inputs: docray's Markdown beside markitdown's, scored against Docling's accepted Markdown.

Usage (from the repository root, after `make install` and `pip install -e '.[bench]'` for markitdown):

    .venv/bin/python benchmarks/bench_office.py [--pipeline fast] [--formats docx,html] [--json out.json] [--show]

Data: ../shared/eval/docling_office (Docling's test documents, `<format>/sources/<file>` with
`<format>/groundtruth/<file>.md`, the Markdown Docling's tests accept). Each file runs alone through the
pipeline's stages in this process (ingest, render (which converts it, in render's isolated child process),
the model stages (which pass converted pages by), assemble, quality), as `docray run` runs them with the local
executor; the time is that whole per-document run. markitdown (`MarkItDown().convert(path)`) reads the same
files in `--markitdown-python`'s environment (default: this one); its time is that call. Scores per format, means over the format's documents (a document that fails
scores text NED 1 and no tables/headings):

* text NED: :func:`docray.evaluation.markdown_structure.text_ned` (normalised edit distance of the plain
  text, markup removed; 0 = same words, 1 = nothing in common);
* headings / tables: totals found in the output against the reference's totals (ATX headings; HTML or pipe tables);
* TEDS: mean tree-edit-distance similarity (:func:`docray.evaluation.teds.teds`) of the i-th table of the output
  with the i-th table of the reference, over documents where both have tables;
* docs/s: documents per second, one process, one document at a time (docray: the whole pipeline run above,
  render's isolated child process included, after one untimed warm-up document that starts render's fork server
  (it imports pdfium and the converters' libraries once per process; its time is printed); "converter only": sniffing and converting in this process, the
  work the pipeline adds to reading bytes and writing outputs).

Every docray document must come out as exactly one row (ok, or an error with an error_code) and its
content_list.json and middle.json must validate (:mod:`docray.formats.mineru_schema`); the script fails otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from docray.evaluation.markdown_parts import PartKind, split_markdown
from docray.evaluation.markdown_structure import compare
from docray.evaluation.teds import teds
from docray.formats.mineru_schema import validate_content_list, validate_middle_json
from docray.operators.base import GroupOperator
from docray.operators.ingest import expand_inputs
from docray.pipelines.executors import _apply_grouped, _collect
from docray.pipelines.plan import SOURCES_SCHEMA, build_plan
from docray.pipelines.spec import apply_overrides, load_pipeline

DATA = Path(__file__).resolve().parents[2] / "shared" / "eval" / "docling_office"
FORMATS = ("docx", "pptx", "xlsx", "html", "epub", "odf", "csv")


def documents(data: Path, formats: list[str]) -> list[tuple[str, Path, Path]]:
    """(format, source, reference Markdown) of every document with a reference."""
    out = []
    for fmt in formats:
        for source in sorted((data / fmt / "sources").iterdir()):
            reference = data / fmt / "groundtruth" / f"{source.name}.md"
            if reference.exists():
                out.append((fmt, source, reference))
    return out


def html_tables(markdown: str) -> list[str]:
    return [part.content for part in split_markdown(markdown) if part.kind == PartKind.HTML_TABLE]


def score(markdown: str | None, reference: str) -> dict:
    if markdown is None:
        ref = compare("", reference)
        return {"ned": 1.0, "headings": 0, "ref_headings": ref.reference_headings, "tables": 0,
                "ref_tables": ref.reference_tables, "teds": None}  # fmt: skip
    result = compare(markdown, reference)
    ours, theirs = html_tables(markdown), html_tables(reference)
    pairs = list(zip(ours, theirs))
    return {
        "ned": result.text_ned,
        "headings": result.headings,
        "ref_headings": result.reference_headings,
        "tables": result.tables,
        "ref_tables": result.reference_tables,
        "teds": statistics.mean(teds(a, b) for a, b in pairs) if pairs else None,
    }


def run_one(operators: list, source: Path) -> tuple[pa.Table, float]:
    """One document through the pipeline's stages in this process: its documents rows and the seconds it took."""
    [row_in] = expand_inputs([str(source)]).files
    t0 = time.perf_counter()
    table = pa.Table.from_pylist([row_in], schema=SOURCES_SCHEMA)
    for op in operators:
        table = _apply_grouped(op, table) if isinstance(op, GroupOperator) else _collect(op(table))
    return table, time.perf_counter() - t0


def run_docray(pipeline: str, items: list[tuple[str, Path, Path]], overrides: list[str] = ()) -> list[dict]:
    plan = build_plan(apply_overrides(load_pipeline(pipeline), list(overrides)))
    operators = [stage.instantiate() for stage in plan.stages]
    _, warm_up = run_one(operators, items[0][1])  # untimed: starts render's fork server (imports, once per process)
    print(f"warm-up (render's fork server start and first imports): {warm_up:.1f} s", file=sys.stderr)
    rows = []
    for fmt, source, reference in items:
        table, seconds = run_one(operators, source)
        if table.num_rows != 1:
            raise SystemExit(f"{source}: {table.num_rows} documents rows, expected exactly 1")
        row = table.to_pylist()[0]
        if row["status"] != "error":
            validate_content_list(json.loads(row["content_list"]))
            validate_middle_json(json.loads(row["middle_json"]))
        elif not row.get("error_code"):
            raise SystemExit(f"{source}: an error row without an error_code")
        rows.append({"format": fmt, "file": source.name, "status": row["status"], "error_code": row["error_code"],
                     "error": row["error"], "seconds": seconds, "kind": row["kind"],
                     **score(row["markdown"] if row["status"] != "error" else None, reference.read_text())})  # fmt: skip
    return rows


_MARKITDOWN_SCRIPT = """
import json, sys, time
from markitdown import MarkItDown
converter = MarkItDown()
out = []
for path in json.load(sys.stdin):
    t0 = time.perf_counter()
    try:
        markdown, error = converter.convert(path).text_content, None
    except Exception as exc:
        markdown, error = None, f"{type(exc).__name__}: {str(exc)[:300]}"
    out.append([markdown, error, time.perf_counter() - t0])
json.dump(out, sys.stdout)
"""


def run_markitdown(items: list[tuple[str, Path, Path]], python: str) -> list[dict]:
    """markitdown over the files in ``python`` (an interpreter with markitdown installed; see the README for why
    it may be another environment than docray's), one process, one file at a time."""
    paths = json.dumps([str(source) for _, source, _ in items])
    done = subprocess.run([python, "-c", _MARKITDOWN_SCRIPT], input=paths, capture_output=True, text=True, check=True)
    rows = []
    for (fmt, source, reference), (markdown, error, seconds) in zip(items, json.loads(done.stdout)):
        rows.append({"format": fmt, "file": source.name, "status": "error" if error else "ok", "error": error,
                     "seconds": seconds, **score(markdown, reference.read_text())})  # fmt: skip
    return rows


def converter_seconds(items: list[tuple[str, Path, Path]]) -> list[float]:
    """Seconds of docray's converter alone per document (sniff + convert + blocks to page layouts), in this process."""
    from docray.operators.convert import CONVERTERS, converted_page_fields
    from docray.operators.convert.layout import converted_page_layout
    from docray.operators.convert.sniff import sniff_container

    for module in set(CONVERTERS.values()):  # the libraries' import time is not conversion time
        importlib.import_module(f"docray.operators.convert.{module}")
    seconds = []
    for _, source, _ in items:
        data = source.read_bytes()
        t0 = time.perf_counter()
        try:
            sniffed = sniff_container(data, source.name)
            if sniffed is not None:
                [converted_page_layout(row) for row in converted_page_fields(sniffed[0].value, data, range)]
        except Exception:
            pass  # failures are scored by the pipeline run; this only times the work
        seconds.append(time.perf_counter() - t0)
    return seconds


def summary(rows: list[dict]) -> dict[str, dict]:
    out = {}
    for fmt in [*FORMATS, "all"]:
        mine = [r for r in rows if fmt == "all" or r["format"] == fmt]
        if not mine:
            continue
        scored = [r["teds"] for r in mine if r["teds"] is not None]
        out[fmt] = {
            "docs": len(mine),
            "ok": sum(r["status"] != "error" for r in mine),
            "ned": statistics.mean(r["ned"] for r in mine),
            "headings": f"{sum(r['headings'] for r in mine)}/{sum(r['ref_headings'] for r in mine)}",
            "tables": f"{sum(r['tables'] for r in mine)}/{sum(r['ref_tables'] for r in mine)}",
            "teds": statistics.mean(scored) if scored else None,
            "teds_docs": len(scored),
            "docs_per_s": len(mine) / sum(r["seconds"] for r in mine),
            "convert_docs_per_s": len(mine) / sum(r["convert_seconds"] for r in mine) if "convert_seconds" in mine[0] else None,
        }
    return out


def markdown_table(ours: dict[str, dict], peer: dict[str, dict] | None) -> str:
    lines = ["| format | docs | tool | ok | text NED | headings (out/ref) | tables (out/ref) | TEDS (docs) | docs/s | docs/s converter only |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for fmt, s in ours.items():
        for tool, row in (("docray", s), ("markitdown", (peer or {}).get(fmt))):
            if row is None:
                continue
            teds_text = f"{row['teds']:.3f} ({row['teds_docs']})" if row["teds"] is not None else "-"
            lines.append(f"| {fmt} | {row['docs']} | {tool} | {row['ok']} | {row['ned']:.3f} | {row['headings']} | "
                         f"{row['tables']} | {teds_text} | {row['docs_per_s']:.1f} | "
                         f"{'-' if row['convert_docs_per_s'] is None else format(row['convert_docs_per_s'], '.1f')} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--pipeline", default="fast")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--set", action="append", default=[], help="pipeline override, e.g. render.render_office=pdf")
    parser.add_argument("--no-markitdown", action="store_true")
    parser.add_argument("--markitdown-python", default=sys.executable, help="interpreter that has markitdown installed")
    parser.add_argument("--show", action="store_true", help="print each document's scores")
    parser.add_argument("--json", type=Path, help="write per-document rows and the summaries here")
    args = parser.parse_args()
    items = documents(args.data, args.formats.split(","))
    ours = run_docray(args.pipeline, items, args.set)
    for row, seconds in zip(ours, converter_seconds(items)):
        row["convert_seconds"] = seconds
    peer = None if args.no_markitdown else run_markitdown(items, args.markitdown_python)
    if args.show:
        for i, row in enumerate(ours):
            other = f" | markitdown ned {peer[i]['ned']:.3f}" if peer else ""
            print(f"{row['format']:5} {row['file'][:45]:45} {row['status']:6} ned {row['ned']:.3f} h {row['headings']}/"
                  f"{row['ref_headings']} t {row['tables']}/{row['ref_tables']} teds {row['teds']}{other} "
                  f"{row['error_code'] or ''}", file=sys.stderr)  # fmt: skip
    ours_summary, peer_summary = summary(ours), (summary(peer) if peer else None)
    print(markdown_table(ours_summary, peer_summary))
    if args.json:
        args.json.write_text(json.dumps({"docray": ours_summary, "markitdown": peer_summary, "documents": {"docray": ours, "markitdown": peer}}, indent=1, default=str))


if __name__ == "__main__":
    main()
