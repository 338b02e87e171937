"""Plain-text ground truth (receipts, scans, letters): CER and NED of a document's text against a ``.txt`` file.

``docray eval RUN --text-gt DIR``: ``DIR`` holds one ``<stem>.txt`` per document, matched to the run's documents by
file stem (:func:`docray.evaluation.run_outputs.stem_outputs`). Per document:

* the ground truth (:func:`gt_text`): its lines stripped and joined by single spaces (line breaks carry no meaning
  in a transcript listed line by line);
* the prediction (:func:`markdown_text`): the document's Markdown with the markup taken out: images and HTML
  comments removed; HTML tags (table cells, ``<br>``) become spaces and entities are unescaped; ATX heading marks,
  paired emphasis markers (``**x**``, ``*x*``, ``__x__``, ``_x_`` around text), the bars and separator rows of pipe
  tables and backslash escapes go. A literal ``*`` or ``$`` that is no emphasis or escape (``*** TOTAL ***``) stays;
* both sides (:func:`normalise`): NFKC, lower case (unless ``case_sensitive``), every whitespace run one space,
  stripped;
* ``CER = Levenshtein(gt, pred) / len(gt)`` (↓, can exceed 1 when the prediction is longer and wrong);
  ``NED = Levenshtein(gt, pred) / max(len(gt), len(pred))`` (↓, in [0, 1]). For an empty ground truth both are 0
  when the prediction is empty too and 1 otherwise.

A document of the ground truth with no document in the run, or whose document failed, is scored as an empty
prediction (CER 1) unless ``only_matched`` leaves it out. Mean CER over documents is the headline.
"""

from __future__ import annotations

import html
import re
import statistics
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from docray.evaluation.run_outputs import RunOutputs, StemMatch, stem_outputs

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_HEADING_MARK = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]+|$)", re.MULTILINE)
_PIPE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$")
_SEPARATOR_ROW = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*(?::?-+:?)?[ \t]*\|?[ \t]*$")
_EMPHASIS = re.compile(r"(?<![\w*\\])(\*{1,3}|_{1,3})(?=[^\s*_])(.+?)(?<=[^\s*_\\])\1(?![\w*])")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class TextNormalisation:
    """How both texts are normalised before the edit distance (NFKC and whitespace collapsing always apply)."""

    case_sensitive: bool = False
    strip_markup: bool = True  # the prediction is Markdown (False: plain text, e.g. raw OCR lines)

    def describe(self) -> str:
        case = "case-sensitive" if self.case_sensitive else "case-insensitive"
        markup = "Markdown markup stripped from the prediction" if self.strip_markup else "prediction taken as text"
        return f"NFKC, {case}, whitespace collapsed, GT lines joined by spaces, {markup}"


def gt_text(raw: str) -> str:
    """A line-by-line transcript as one string: lines stripped and joined by single spaces."""
    return " ".join(line.strip() for line in raw.splitlines() if line.strip())


def _strip_pipe_table_line(line: str) -> str:
    if _SEPARATOR_ROW.match(line):
        return ""
    return line.replace("|", " ") if _PIPE_ROW.match(line) else line


def markdown_text(markdown: str) -> str:
    """The text of a Markdown document without its markup (see the module docstring)."""
    text = _COMMENT.sub(" ", _IMAGE.sub(" ", markdown))
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE)
    text = _TAG.sub(" ", text)
    text = "\n".join(_strip_pipe_table_line(line) for line in text.split("\n"))
    text = _HEADING_MARK.sub("", text)
    for _ in range(3):  # nested emphasis (***x***, **_x_**) peels one level per pass
        stripped = _EMPHASIS.sub(r"\2", text)
        if stripped == text:
            break
        text = stripped
    text = _ESCAPE.sub(r"\1", text)
    return html.unescape(text)


def normalise(text: str, case_sensitive: bool = False) -> str:
    text = unicodedata.normalize("NFKC", text)
    if not case_sensitive:
        text = text.lower()
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class TextScore:
    cer: float
    ned: float
    distance: int  # Levenshtein distance of the normalised texts
    gt_chars: int
    pred_chars: int


def text_score(gt: str, prediction: str, normalisation: TextNormalisation = TextNormalisation()) -> TextScore:
    """CER and NED of ``prediction`` against ``gt`` (a raw transcript: lines are joined by spaces)."""
    from rapidfuzz.distance import Levenshtein

    truth = normalise(gt_text(gt), normalisation.case_sensitive)
    predicted = markdown_text(prediction) if normalisation.strip_markup else prediction
    predicted = normalise(predicted, normalisation.case_sensitive)
    distance = Levenshtein.distance(truth, predicted)
    if not truth:
        cer = ned = float(bool(predicted))
    else:
        cer = distance / len(truth)
        ned = distance / max(len(truth), len(predicted))
    return TextScore(cer, ned, distance, len(truth), len(predicted))


# --------------------------------------------------------------------------- ground truth and runs


@dataclass
class TextGroundTruth:
    path: Path  # the folder of <stem>.txt files
    texts: dict[str, str]  # document stem -> raw transcript
    normalisation: TextNormalisation = field(default_factory=TextNormalisation)

    def describe(self) -> dict[str, Any]:
        return {"kind": "text", "path": str(self.path), "documents": len(self.texts),
                "normalisation": self.normalisation.describe()}  # fmt: skip


def load_text_gt(folder: str | Path, normalisation: TextNormalisation = TextNormalisation()) -> TextGroundTruth:
    """The ``<stem>.txt`` files directly inside ``folder`` (UTF-8). Raises ``ValueError`` when there are none."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"text ground truth {folder}: not a directory of <stem>.txt files")
    texts = {path.stem: path.read_text(encoding="utf-8", errors="replace") for path in sorted(root.glob("*.txt"))}
    if not texts:
        raise ValueError(f"text ground truth {folder}: no .txt files")
    return TextGroundTruth(root, texts, normalisation)


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass
class TextReport:
    per_document: dict[str, dict[str, Any]]  # stem -> {cer, ned, distance, gt_chars, pred_chars, status}

    def summary(self) -> dict[str, Any]:
        cers = [d["cer"] for d in self.per_document.values()]
        neds = [d["ned"] for d in self.per_document.values()]
        return {
            "documents": len(cers), "mean_cer": _mean(cers), "median_cer": _median(cers),
            "mean_ned": _mean(neds), "median_ned": _median(neds),
            "empty_predictions": sum(d["pred_chars"] == 0 for d in self.per_document.values()),
            "cer_over_all_characters": _ratio(sum(d["distance"] for d in self.per_document.values()),
                                              sum(d["gt_chars"] for d in self.per_document.values())),
        }  # fmt: skip


def score_text_run(
    run: RunOutputs, gt: TextGroundTruth, *, only_matched: bool = False
) -> tuple[TextReport, StemMatch]:
    """CER/NED per ground-truth document of one run (missing and failed documents scored as empty)."""
    outputs, match = stem_outputs(run, gt.texts)
    per_document: dict[str, dict[str, Any]] = {}
    for stem, raw in gt.texts.items():
        doc = outputs.get(stem)
        if doc is None and only_matched:
            continue
        failed = doc is not None and (doc.markdown is None or doc.status == "error")
        markdown = (doc.markdown or "") if doc is not None else ""
        status = "missing" if doc is None else "failed" if failed else "ok"
        per_document[stem] = {**asdict(text_score(raw, markdown, gt.normalisation)), "status": status}
    return TextReport(per_document), match


def text_table(rows: list[tuple[str, TextReport, StemMatch]]) -> str:
    """One Markdown row per run: documents, mean/median CER and NED, empty predictions."""
    head = ["run", "documents", "matched", "mean CER", "median CER", "mean NED", "median NED", "empty predictions"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for label, report, match in rows:
        s = report.summary()
        cells = [label, str(s["documents"]), str(len(match.matched))]
        keys = ("mean_cer", "median_cer", "mean_ned", "median_ned")
        cells += ["n/a" if s[k] is None else f"{s[k]:.4f}" for k in keys]
        cells.append(str(s["empty_predictions"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
