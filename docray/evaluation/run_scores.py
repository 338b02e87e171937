"""Scores of runs' outputs against a ground-truth set: the logic of ``docray eval`` (no argument parsing here).

Ground truth (:func:`load_ground_truth`, kind from :func:`detect_kind`):

* ``olmocr``: an olmOCR-bench folder: ``*.jsonl`` test files (``dataset.jsonl``...) and ``pdfs/``. Every test type
  is scored (``math`` approximately, see :mod:`.olmocr_math`), plus olmOCR's default baseline test on page 1 of every
  PDF under ``pdfs/`` (or, without ``pdfs/``, of every PDF the tests name).
* ``omnidocbench``: an OmniDocBench page JSON (a list of pages with ``layout_dets``), scored with
  :mod:`.omnidocbench` (OmniDocBench's quick-match end-to-end protocol).
* users' own labels (given explicitly, never detected): ``text``, a folder of ``<stem>.txt`` transcripts (CER and
  NED per document, :mod:`.text_gt`); ``tables``, a manifest of HTML tables per document page (TEDS and TEDS-S,
  :mod:`.table_gt`).

:func:`score_run` scores one :class:`~.run_outputs.RunOutputs`; :class:`Evaluation` holds several runs' scores and
renders them as one Markdown table (a row per run) and as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docray.evaluation.run_outputs import RunOutputs, olmocr_outputs, omnidocbench_predictions
from docray.evaluation.table_gt import TableGroundTruth, load_table_gt, score_table_run, table_table
from docray.evaluation.text_gt import TextGroundTruth, TextNormalisation, load_text_gt, score_text_run, text_table

OLMOCR = "olmocr"
OMNIDOCBENCH = "omnidocbench"
TEXT = "text"
TABLES = "tables"
KINDS = (OLMOCR, OMNIDOCBENCH)


class EvalError(ValueError):
    """Bad input to an evaluation: ground truth not found or unreadable, nothing matched."""


# --------------------------------------------------------------------------- ground truth


def _is_omnidocbench_json(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, list) and bool(data) and all(isinstance(p, dict) and "layout_dets" in p for p in data)


def detect_kind(path: str | Path) -> str:
    """``olmocr`` for a folder with ``dataset.jsonl`` (or other ``*.jsonl`` and a ``pdfs/`` folder),
    ``omnidocbench`` for a JSON list of pages with ``layout_dets`` (or a folder holding exactly one such
    ``*.json``); raises :class:`EvalError` otherwise."""
    gt = Path(path)
    if not gt.exists():
        raise EvalError(f"ground truth {path} not found")
    if gt.is_dir():
        if (gt / "dataset.jsonl").is_file() or (any(gt.glob("*.jsonl")) and (gt / "pdfs").is_dir()):
            return OLMOCR
        if len(_omnidocbench_files(gt)) == 1:
            return OMNIDOCBENCH
    elif gt.suffix == ".json" and _is_omnidocbench_json(gt):
        return OMNIDOCBENCH
    raise EvalError(
        f"cannot tell the ground-truth kind of {path}: expected an olmOCR-bench folder (dataset.jsonl, pdfs/) "
        "or an OmniDocBench JSON (a list of pages with layout_dets); use --olmocr or --omnidocbench"
    )


def _omnidocbench_files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.glob("*.json")) if _is_omnidocbench_json(p)]


@dataclass
class OlmocrGroundTruth:
    folder: Path
    tests: list  # list[BenchTest], default baselines included
    pdf_names: list[str]  # PDFs the tests are about (relative to pdfs/)
    pdfs_dir: Path | None

    def describe(self) -> dict[str, Any]:
        return {"kind": OLMOCR, "path": str(self.folder), "tests": len(self.tests), "pdfs": len(self.pdf_names)}


@dataclass
class OmnidocbenchGroundTruth:
    path: Path
    pages: list  # list[GtPage]

    def describe(self) -> dict[str, Any]:
        return {"kind": OMNIDOCBENCH, "path": str(self.path), "pages": len(self.pages)}


def load_olmocr(folder: str | Path) -> OlmocrGroundTruth:
    from docray.evaluation.olmocr_bench import add_default_baselines, load_tests

    root = Path(folder)
    if not root.is_dir():
        raise EvalError(f"olmOCR-bench folder {folder} not found")
    files = sorted(root.glob("*.jsonl"))
    if not files:
        raise EvalError(f"{folder}: no *.jsonl test files (expected olmOCR-bench's dataset.jsonl)")
    try:
        tests = load_tests(files)
    except ValueError as exc:
        raise EvalError(f"{folder}: {exc}") from exc
    pdfs_dir = root / "pdfs" if (root / "pdfs").is_dir() else None
    if pdfs_dir is not None:
        pdf_names = sorted(p.relative_to(pdfs_dir).as_posix() for p in pdfs_dir.rglob("*.pdf"))
    else:
        pdf_names = sorted({t.pdf for t in tests})
    return OlmocrGroundTruth(root, add_default_baselines(tests, pdf_names), pdf_names, pdfs_dir)


def load_omnidocbench(path: str | Path) -> OmnidocbenchGroundTruth:
    from docray.evaluation.omnidocbench_gt import load_ground_truth

    gt = Path(path)
    if gt.is_dir():
        found = _omnidocbench_files(gt)
        if len(found) != 1:
            raise EvalError(f"{path}: expected one OmniDocBench JSON in the folder, found {len(found)}")
        gt = found[0]
    if not gt.is_file():
        raise EvalError(f"OmniDocBench ground truth {path} not found")
    try:
        pages = load_ground_truth(gt)
    except (ValueError, TypeError, AttributeError) as exc:
        raise EvalError(f"{gt}: not an OmniDocBench page list ({exc})") from exc
    if not pages:
        raise EvalError(f"{gt}: no pages")
    return OmnidocbenchGroundTruth(gt, pages)


def load_text(folder: str | Path, normalisation: TextNormalisation = TextNormalisation()) -> TextGroundTruth:
    try:
        return load_text_gt(folder, normalisation)
    except (OSError, ValueError) as exc:
        raise EvalError(str(exc)) from exc


def load_tables(manifest: str | Path, flat_grids: bool = False) -> TableGroundTruth:
    try:
        return load_table_gt(manifest, flat_grids)
    except (OSError, ValueError, TypeError) as exc:
        raise EvalError(str(exc)) from exc


GroundTruth = OlmocrGroundTruth | OmnidocbenchGroundTruth | TextGroundTruth | TableGroundTruth


def load_ground_truth(path: str | Path, kind: str = "auto") -> OlmocrGroundTruth | OmnidocbenchGroundTruth:
    kind = detect_kind(path) if kind == "auto" else kind
    if kind == OLMOCR:
        return load_olmocr(path)
    if kind == OMNIDOCBENCH:
        return load_omnidocbench(path)
    raise EvalError(f"unknown ground-truth kind {kind!r}; choose from auto, {', '.join(KINDS)}")


# --------------------------------------------------------------------------- scoring


@dataclass
class RunScore:
    """One run's scores: ``report`` is an olmOCR-bench or OmniDocBench report; ``match`` says what lined up."""

    run: RunOutputs
    kind: str
    report: Any
    match: Any
    label: str = ""

    def summary(self) -> dict[str, Any]:
        if self.kind in (TEXT, TABLES):
            return self.report.summary()
        if self.kind == OLMOCR:
            data = self.report.to_dict(outcomes=False)
            return {key: data[key] for key in ("overall", "mean_over_tests", "scored", "passed", "by_type", "by_file")}
        return self.report.summary()

    def to_dict(self, *, explanations: bool = True) -> dict[str, Any]:
        data = {
            "label": self.label or self.run.label, "path": self.run.path, "layout": self.run.layout,
            "pipeline": self.run.pipeline, "documents": len(self.run.documents), "match": self.match.to_dict(),
        }  # fmt: skip
        if self.kind == OLMOCR:
            data["scores"] = self.report.to_dict(explanations=explanations)
        elif self.kind == TEXT:
            data["scores"] = {"summary": self.report.summary(), "per_document": self.report.per_document}
        elif self.kind == TABLES:
            data["scores"] = {"summary": self.report.summary(), "per_table": self.report.per_table}
        else:
            data["scores"] = {"summary": self.report.summary(), "per_page": self.report.per_page()}
        return data


def score_run(run: RunOutputs, gt: GroundTruth, *, only_matched: bool = False, label: str = "") -> RunScore:
    """Score one run; raises :class:`EvalError` when none of its documents matches the ground truth.

    olmOCR-bench: tests of PDFs without a document fail (as a missing output does in olmOCR), unless
    ``only_matched``, which keeps only the tests of matched PDFs. OmniDocBench: pages without a document are not
    scored (as in OmniDocBench). Text and table ground truth: documents without a document in the run score as
    empty, unless ``only_matched``."""
    if isinstance(gt, (TextGroundTruth, TableGroundTruth)):
        kind, scorer = (TEXT, score_text_run) if isinstance(gt, TextGroundTruth) else (TABLES, score_table_run)
        report, match = scorer(run, gt, only_matched=only_matched)
        if not match.matched:
            raise EvalError(f"{run.path}: none of its {len(run.documents)} documents matches a document of {gt.path}")
        return RunScore(run, kind, report, match, label)
    if isinstance(gt, OlmocrGroundTruth):
        from docray.evaluation.olmocr_bench import score

        outputs, match = olmocr_outputs(run, gt.pdf_names, gt.pdfs_dir)
        if not match.matched:
            raise EvalError(f"{run.path}: none of its {len(run.documents)} documents matches a PDF of {gt.folder}")
        matched = set(match.by_path) | set(match.by_stem)
        tests = [t for t in gt.tests if t.pdf in matched] if only_matched else gt.tests
        return RunScore(run, OLMOCR, score(tests, outputs), match, label)
    from docray.evaluation.omnidocbench import score_pages

    predictions, match = omnidocbench_predictions(run, [page.image_name for page in gt.pages])
    if not match.matched:
        raise EvalError(f"{run.path}: none of its {len(run.documents)} documents matches a page of {gt.path}")
    return RunScore(run, OMNIDOCBENCH, score_pages(gt.pages, predictions), match, label)


@dataclass
class Evaluation:
    ground_truth: GroundTruth
    runs: list[RunScore] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ground_truth": self.ground_truth.describe(), "runs": [run.to_dict() for run in self.runs]}

    def to_markdown(self) -> str:
        if isinstance(self.ground_truth, OlmocrGroundTruth):
            return olmocr_table(self.runs)
        if isinstance(self.ground_truth, TextGroundTruth):
            return text_table([(run.label or run.run.label, run.report, run.match) for run in self.runs])
        if isinstance(self.ground_truth, TableGroundTruth):
            return table_table([(run.label or run.run.label, run.report, run.match) for run in self.runs])
        return omnidocbench_table(self.runs)


def olmocr_table(runs: list[RunScore]) -> str:
    from docray.evaluation.olmocr_report import NOT_SCORED, TYPE_ORDER, format_rate, type_label

    method = runs[0].report.math_method if runs else "approx."
    head = ["run", "PDFs matched", *(type_label(t, method) for t in TYPE_ORDER), "overall (mean over files)",
            "mean over tests"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for run in runs:
        report = run.report
        by_type, unsupported = report.by_type(), report.unsupported()
        cells = [run.label or run.run.label, str(run.match.matched)]
        cells += [str(by_type[t]) if t in by_type else NOT_SCORED if t in unsupported else "n/a" for t in TYPE_ORDER]
        cells += [format_rate(report.overall), str(report.total())]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


OMNIDOCBENCH_COLUMNS = (  # (header, summary key); edit distances: lower is better, TEDS: higher is better
    ("text edit", "text_edit"),
    ("whole-page text NED", "whole_page_text_ned"),
    ("display formula edit", "formula_edit"),
    ("table TEDS", "table_teds"),
    ("TEDS structure", "table_teds_structure"),
    ("table edit", "table_edit"),
    ("reading-order edit", "reading_order_edit"),
)


def omnidocbench_table(runs: list[RunScore]) -> str:
    head = ["run", "pages scored", "failed (empty)", "missing", *(h for h, _ in OMNIDOCBENCH_COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for run in runs:
        summary = run.report.summary()
        cells = [run.label or run.run.label, str(summary["pages"]), str(len(run.match.failed)),
                 str(summary["missing_pages"])]  # fmt: skip
        cells += ["n/a" if summary.get(key) is None else f"{summary[key]:.4f}" for _, key in OMNIDOCBENCH_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def evaluate(runs: list[RunOutputs], gt: GroundTruth, *, only_matched: bool = False) -> Evaluation:
    """Score every run against one ground truth (see :func:`score_run`)."""
    return Evaluation(gt, [score_run(run, gt, only_matched=only_matched) for run in runs])
