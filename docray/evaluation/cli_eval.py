"""``docray eval``: score a run's outputs against olmOCR-bench tests, OmniDocBench page ground truth, or the user's
own labels: plain-text transcripts (CER/NED, :mod:`.text_gt`) and HTML tables (TEDS/TEDS-S, :mod:`.table_gt`).

    docray eval RUN_OUTPUT [RUN_OUTPUT ...] (--olmocr DIR | --omnidocbench GT.json | --gt PATH [--format auto]
                                             | --text-gt DIR [--case-sensitive] | --table-gt MANIFEST [--flat-grids])
                [--json OUT] [--by-pipeline] [--only-matched] [--failures]

``RUN_OUTPUT`` is a ``docray run`` output folder (``documents/``/``pages/`` Parquet), a ``docray parse`` folder
(``<name>/<method>/<name>.md``) or any folder of ``.md`` files (see :mod:`.run_outputs`). With ``--by-pipeline``
each ``RUN_OUTPUT`` is a parent folder whose run folders (``out/fast``, ``out/standard``...) are scored one by one.
Prints one Markdown table (a row per run) and, with ``--json``, writes every score (per test or per page) as JSON.
Exit status: 0 scored, 2 bad arguments (ground truth or run output not found, nothing matched, eval extra missing).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``eval`` subcommand's arguments (``parser`` is its subparser)."""
    parser.add_argument("runs", nargs="+", metavar="RUN_OUTPUT", help="run output folder(s) or folders of .md files")
    gt = parser.add_mutually_exclusive_group(required=True)
    gt.add_argument("--olmocr", metavar="DIR", help="olmOCR-bench folder: *.jsonl tests and pdfs/")
    gt.add_argument("--omnidocbench", metavar="GT.json", help="OmniDocBench ground-truth JSON (list of pages)")
    gt.add_argument("--gt", metavar="PATH", help="ground truth of the kind given by --format (default: detected)")
    gt.add_argument("--text-gt", metavar="DIR",
                    help="plain-text ground truth: <stem>.txt per document (matched by file stem); scores CER and "
                         "NED per document (GT lines joined by spaces, prediction = Markdown without markup, NFKC, "
                         "case-insensitive, whitespace collapsed)")  # fmt: skip
    gt.add_argument("--table-gt", metavar="MANIFEST",
                    help="table ground truth: JSON/JSONL list of {document, page (1-based), html | html_path, id?}; "
                         "each GT table is paired one-to-one with a table of its page; TEDS and TEDS-S")  # fmt: skip
    parser.add_argument("--case-sensitive", action="store_true", help="--text-gt: compare case-sensitively")
    parser.add_argument("--flat-grids", action="store_true",
                        help="--table-gt: the GT has no spans and writes a spanning cell as its text plus empty "
                             "cells (camelot, CSV grids): both tables are compared as such flat grids")  # fmt: skip
    parser.add_argument("--format", choices=("auto", "olmocr", "omnidocbench"), default="auto",
                        help="ground-truth kind of --gt (auto: a folder with dataset.jsonl is olmOCR-bench, a JSON "
                             "list of pages with layout_dets is OmniDocBench)")  # fmt: skip
    parser.add_argument("--json", metavar="OUT", help="write all scores (per test / per page) to this JSON file")
    parser.add_argument("--by-pipeline", action="store_true",
                        help="each RUN_OUTPUT holds one run folder per pipeline (out/fast, out/standard...): "
                             "one row each, named by the pipeline in its run.json")  # fmt: skip
    parser.add_argument("--only-matched", action="store_true",
                        help="score only the tests / documents found in the run (default: missing ones fail or "
                             "score as empty)")  # fmt: skip
    parser.add_argument("--failures", action="store_true", help="olmOCR-bench: list failed tests on stderr")
    parser.set_defaults(func=cmd_eval)


def _load(args: argparse.Namespace):
    from docray.evaluation.run_scores import load_ground_truth, load_tables, load_text
    from docray.evaluation.text_gt import TextNormalisation

    if args.text_gt:
        return load_text(args.text_gt, TextNormalisation(case_sensitive=args.case_sensitive))
    if args.table_gt:
        return load_tables(args.table_gt, flat_grids=args.flat_grids)
    return load_ground_truth(*_ground_truth_arguments(args))


def _ground_truth_arguments(args: argparse.Namespace) -> tuple[str, str]:
    if args.olmocr:
        return args.olmocr, "olmocr"
    if args.omnidocbench:
        return args.omnidocbench, "omnidocbench"
    return args.gt, args.format


def _print_match_notes(evaluation, out) -> None:
    for run in evaluation.runs:
        match = run.match.to_dict()
        notes = [f"{match['matched']} matched"]
        for key in ("unmatched", "ambiguous", "failed", "missing", "unused_documents"):
            if match.get(key):
                notes.append(f"{len(match[key])} {key.replace('_', ' ')}")
        print(f"{run.run.label} ({run.run.layout}, {run.run.path}): {', '.join(notes)}", file=out)


def cmd_eval(args: argparse.Namespace) -> int:
    from docray.evaluation.run_outputs import RunOutputError, find_runs, read_run_outputs
    from docray.evaluation.run_scores import EvalError, OlmocrGroundTruth, evaluate

    try:
        import fuzzysearch  # noqa: F401
        import rapidfuzz  # noqa: F401
    except ImportError:
        print("error: docray eval needs the eval extra: pip install 'docray[eval]'", file=sys.stderr)
        return 2
    try:
        gt = _load(args)
        folders = [run for folder in args.runs for run in find_runs(folder)] if args.by_pipeline else args.runs
        runs = [read_run_outputs(folder) for folder in folders]
        evaluation = evaluate(runs, gt, only_matched=args.only_matched)
    except (EvalError, RunOutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print_match_notes(evaluation, sys.stderr)
    if args.failures and isinstance(gt, OlmocrGroundTruth):
        for run in evaluation.runs:
            for outcome in run.report.failures():
                test = outcome.test
                print(f"  {run.run.label}: {test.id} ({test.type.value}): {outcome.result.explanation}", file=sys.stderr)
    described = gt.describe()
    sizes = ", ".join(f"{v} {k}" for k, v in described.items() if isinstance(v, int))
    print(f"{described['kind']} ground truth {described['path']} ({sizes})")
    if "grids" in described:
        print(f"grids: {described['grids']}")
    if "normalisation" in described:
        print(f"normalisation: {described['normalisation']}; CER = edits / GT characters, NED = edits / longer text")
    print()
    print(evaluation.to_markdown())
    olmocr_runs = [run for run in evaluation.runs if run.kind == "olmocr" and "math" in run.report.by_type()]
    if olmocr_runs:
        method = olmocr_runs[0].report.math_method
        how = (
            "formulas rendered to MathML by KaTeX (node) and compared by structure, not by pixel positions"
            if method != "approx."
            else "normalised LaTeX tokens by edit distance (install node + tools/katex for the KaTeX check)"
        )
        print(f"\nmath ({method}): {how}; olmOCR compares symbol positions rendered in Chromium")
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(evaluation.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nsaved {out}", file=sys.stderr)
    return 0
