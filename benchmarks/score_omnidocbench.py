"""OmniDocBench end-to-end scores of a directory of per-page Markdown files.

Usage (from the repository root, after `make install` and `pip install -e '.[eval]'`):

    .venv/bin/python benchmarks/score_omnidocbench.py --predictions DIR [--gt OmniDocBench.json] [--published DIR]

`DIR` holds one Markdown file per GT page image, named like the image without its extension
(`<image stem>.md`, e.g. `paper.pdf_3.md` for `paper.pdf_3.jpg`), at any depth, so docray run output
(`files/<name>/<method>/<name>.md`) works as is. OmniDocBench's other spellings (`.pdf` dropped from the stem,
`<image name>.md`) are accepted too. Pages without a prediction are listed and not scored, as in OmniDocBench.

Scores with `docray.evaluation.omnidocbench` (OmniDocBench's quick-match protocol of the version that produced its
published demo results): text block edit distance, docray's whole-page text NED, display formula edit distance,
table TEDS / TEDS-structure / edit distance, reading-order edit distance. With `--published` (a folder holding
OmniDocBench's `end2end_quick_match_metric_result.json`), the published values are shown beside ours.
Prints a Markdown table and saves JSON to benchmarks/results/omnidocbench.json (or `--out`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from docray.evaluation.omnidocbench import Report, score_pages
from docray.evaluation.omnidocbench_gt import GtPage, load_ground_truth

DEMO = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "omnidocbench_demo"
ROWS = [  # (label, our summary key, path into OmniDocBench's metric_result.json)
    (
        "text block edit distance (page avg, lower is better)",
        "text_edit",
        ("text_block", "all", "Edit_dist", "ALL_page_avg"),
    ),
    ("whole-page text NED (docray variant)", "whole_page_text_ned", None),
    (
        "display formula edit distance (page avg)",
        "formula_edit",
        ("display_formula", "all", "Edit_dist", "ALL_page_avg"),
    ),
    ("table TEDS (table avg, higher is better)", "table_teds", ("table", "all", "TEDS", "all")),
    ("table TEDS structure only (table avg)", "table_teds_structure", ("table", "all", "TEDS_structure_only", "all")),
    ("table TEDS (page avg)", "table_teds_page_avg", ("table", "page", "TEDS", "ALL")),
    ("table edit distance (page avg)", "table_edit", ("table", "all", "Edit_dist", "ALL_page_avg")),
    (
        "reading-order edit distance (page avg)",
        "reading_order_edit",
        ("reading_order", "all", "Edit_dist", "ALL_page_avg"),
    ),
]


def read_predictions(directory: Path) -> dict[str, str]:
    """Markdown texts keyed by file stem; the shallowest file wins when a stem repeats."""
    found: dict[str, str] = {}
    for path in sorted(directory.rglob("*.md"), key=lambda p: (len(p.parts), str(p))):
        found.setdefault(path.name[: -len(".md")], path.read_text(encoding="utf-8"))
    return found


def keyed_by_page(pages: list[GtPage], files: dict[str, str]) -> dict[str, str]:
    """Predictions keyed by page stem, trying OmniDocBench's file-name spellings in turn."""
    keyed = {}
    for page in pages:
        for name in (page.stem, page.stem.replace(".pdf", ""), page.image_name):
            if name in files:
                keyed[page.stem] = files[name]
                break
    return keyed


def published_value(metrics: dict | None, path: tuple[str, ...] | None) -> float | None:
    value = metrics
    for key in path or ():
        value = value.get(key) if isinstance(value, dict) else None
    return value if path and isinstance(value, (int, float)) else None


def format_value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def markdown_table(summary: dict, published: dict | None) -> str:
    header = "| metric | docray scorer |" + (" published | difference |" if published else "")
    rule = "|---|---:|" + ("---:|---:|" if published else "")
    lines = [header, rule]
    for label, key, path in ROWS:
        ours, theirs = summary.get(key), published_value(published, path)
        row = f"| {label} | {format_value(ours)} |"
        if published:
            gap = None if ours is None or theirs is None else ours - theirs
            row += f" {format_value(theirs)} | {'n/a' if gap is None else f'{gap:+.4f}'} |"
        lines.append(row)
    return "\n".join(lines)


def result_json(
    report: Report, summary: dict, args: argparse.Namespace, seconds: float, published: dict | None
) -> dict:
    return {
        "predictions": str(args.predictions),
        "ground_truth": str(args.gt),
        "seconds": round(seconds, 2),
        "summary": summary,
        "published": {key: published_value(published, path) for _, key, path in ROWS if path} if published else None,
        "missing_pages": report.missing,
        "per_page": report.per_page(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predictions", type=Path, required=True, help="folder of <image stem>.md files")
    parser.add_argument("--gt", type=Path, default=DEMO / "OmniDocBench_demo.json", help="OmniDocBench GT JSON")
    parser.add_argument("--published", type=Path, default=None, help="folder with OmniDocBench's metric results")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "omnidocbench.json")
    args = parser.parse_args()

    pages = load_ground_truth(args.gt)
    predictions = keyed_by_page(pages, read_predictions(args.predictions))
    started = time.perf_counter()
    report = score_pages(pages, predictions)
    seconds = time.perf_counter() - started
    summary = report.summary()
    published = None
    if args.published:
        published = json.loads((args.published / "end2end_quick_match_metric_result.json").read_text(encoding="utf-8"))

    print(
        f"{summary['pages']} pages scored, {summary['missing_pages']} without a prediction, "
        f"{summary['tables']} GT tables, {seconds:.1f} s\n"
    )
    print(markdown_table(summary, published))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(result_json(report, summary, args, seconds, published), indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    print(f"\nsaved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
