"""Table ground truth (users' own HTML tables): TEDS and TEDS-S of a run's tables, each GT table matched one-to-one.

``docray eval RUN --table-gt MANIFEST``. ``MANIFEST`` (:func:`load_table_gt`) is a JSONL file, a JSON list, or a
JSON object whose ``tables`` (or ``docs``) key is that list; each entry is one GT table:

* ``document`` (or ``path`` / ``pdf``): the document's file stem, or a path or file name whose stem is used;
* ``page``: 1-based page number (default 1);
* the table as ``html``, or ``html_path`` (or ``gt_path``): a file looked up relative to the manifest's folder, then
  to each folder above it; without either, ``gt/<id>.html`` beside the manifest;
* ``id`` (optional; default ``<stem>_p<page>_t<n>``).

Predicted tables (:func:`markdown_tables`) are the tables of the page's Markdown: HTML tables, Markdown pipe tables
(converted to HTML) and LaTeX ``tabular`` (roughly converted). A run with page Markdown (docray's ``pages/``
Parquet) is matched page by page. Where a run has whole-document Markdown only (a folder of ``.md`` files, MinerU
folders) page splits are unknown: all GT tables of a document are matched against all tables of its Markdown (for a
one-page document that is page 1).

Scoring (:func:`score_page`): TEDS (:mod:`.teds`, both sides normalised as OmniDocBench does) between every GT
table and every predicted table of its page; a minimum-cost one-to-one assignment (:mod:`.assignment`) on
``1 - TEDS`` pairs them; a GT table left without a prediction (or paired at TEDS 0) scores 0. TEDS-S (structure
only) is reported for the same pairs. A GT table may list accepted alternative HTMLs (a benchmark's lenient variant);
a pair then scores the maximum over them.

Flat grids (``flat_grids``, ``docray eval --table-gt M --flat-grids``): some ground truths have no spans and
write a spanning cell as its text in its first slot and empty strings in the others (camelot's, CSV and DataFrame
grids). TEDS would then count every correct span of a prediction as a wrong cell, so with this option both
tables are compared as flat grids (:func:`flatten_spans`): the text of a cell in the top-left slot it covers,
empty cells in the rest.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docray.evaluation.run_outputs import RunOutputs, StemMatch, stem_outputs

_HTML_TABLE_TAG = re.compile(r"<table\b[^>]*>|</table>", re.IGNORECASE)
_TABULAR_TAG = re.compile(r"\\begin\{tabular\}|\\end\{tabular\}")
_PIPE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$")


# --------------------------------------------------------------------------- predicted tables


def markdown_tables(markdown: str) -> list[str]:
    """The HTML of every table in a Markdown text, in order: HTML tables (outermost), LaTeX ``tabular`` and runs of
    two or more pipe-table lines (outside those)."""
    from docray.evaluation.markdown_parts import latex_tabular_to_html, outermost_spans, pipe_table_to_html

    found: list[tuple[int, str]] = []
    text = markdown
    for start, end in _html_spans(text):
        found.append((start, text[start:end]))
        text = text[:start] + " " * (end - start) + text[end:]
    for start, end in outermost_spans(text, _TABULAR_TAG, "\\end{tabular}"):
        found.append((start, latex_tabular_to_html(text[start:end])))
        text = text[:start] + " " * (end - start) + text[end:]
    offset, run = 0, []
    for line in text.split("\n") + [""]:
        if _PIPE_ROW.match(line):
            run.append((offset, line))
        else:
            if len(run) >= 2:
                found.append((run[0][0], pipe_table_to_html([row for _, row in run])))
            run = []
        offset += len(line) + 1
    return [table for _, table in sorted(found) if table]


def _html_spans(text: str) -> list[tuple[int, int]]:
    spans, depth, start = [], 0, 0
    for match in _HTML_TABLE_TAG.finditer(text):
        if match.group(0).lower() != "</table>":
            if depth == 0:
                start = match.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                spans.append((start, match.end()))
    return spans


# --------------------------------------------------------------------------- scoring one page


@dataclass(frozen=True)
class TableMatch:
    gt: int  # index of the GT table on its page
    prediction: int | None  # index of the predicted table it is paired with; None when unmatched
    teds: float
    teds_structure: float


TedsCache = dict[tuple[str, str, bool], float]  # (normalised prediction, normalised GT, structure only) -> TEDS


def _best_teds(pred: str, versions: Sequence[str], structure_only: bool, cache: TedsCache | None) -> float:
    from docray.evaluation.teds import teds

    best = 0.0
    for version in versions:
        key = (pred, version, structure_only)
        if cache is None or key not in cache:
            value = teds(pred, version, structure_only)
            if cache is None:
                best = max(best, value)
                continue
            cache[key] = value
        best = max(best, cache[key])
    return best


_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.DOTALL | re.IGNORECASE)
_CELL = re.compile(r"<td\b([^>]*)>(.*?)</td>", re.DOTALL | re.IGNORECASE)
_SPAN_ATTRIBUTE = re.compile(r'\s(colspan|rowspan)\s*=\s*"?(\d+)"?', re.IGNORECASE)


def flatten_spans(normalised: str) -> str:
    """A normalised table (:func:`~.teds.normalise_table_html`) as a flat grid: each cell's content in the top-left
    slot it covers, every other slot it covers an empty ``<td></td>``; rows padded to the widest."""
    if not normalised:
        return normalised
    slots: dict[tuple[int, int], str] = {}
    rows = _ROW.findall(normalised)
    for r, row in enumerate(rows):
        c = 0
        for attributes, content in _CELL.findall(row):
            while (r, c) in slots:
                c += 1
            spans = {k.lower(): max(1, int(v)) for k, v in _SPAN_ATTRIBUTE.findall(attributes)}
            for i in range(spans.get("rowspan", 1)):
                for j in range(spans.get("colspan", 1)):
                    slots[(r + i, c + j)] = content if i == j == 0 else ""
            c += spans.get("colspan", 1)
    width = max((c for _, c in slots), default=-1) + 1
    body = "".join(
        "<tr>" + "".join(f"<td>{slots.get((r, c), '')}</td>" for c in range(width)) + "</tr>" for r in range(len(rows))
    )
    return normalised[: normalised.index("<table")] + '<table border="1" >' + body + "</table></body></html>"


def score_page(
    gt_tables: Sequence[Sequence[str]], predicted: Sequence[str], cache: TedsCache | None = None, flat: bool = False
) -> list[TableMatch]:
    """Pair each GT table (its accepted HTML versions, at least one) one-to-one with a predicted table (HTML) by
    maximum total TEDS; one :class:`TableMatch` per GT table, in GT order. ``cache`` (optional, the caller's) keeps
    TEDS values between calls that score the same tables again (a strict and a lenient pass). ``flat``: both sides
    are compared as flat grids (:func:`flatten_spans`)."""
    from docray.evaluation.assignment import linear_sum_assignment
    from docray.evaluation.teds import normalise_table_html

    def normalise(markup: str) -> str:
        return flatten_spans(normalise_table_html(markup)) if flat else normalise_table_html(markup)

    gts = [[normalise(v) for v in versions] for versions in gt_tables]
    preds = [normalise(p) for p in predicted]
    scores = [[_best_teds(pred, versions, False, cache) if pred else 0.0 for pred in preds] for versions in gts]
    paired: dict[int, int] = {}
    if gts and preds:
        rows, cols = linear_sum_assignment([[1.0 - s for s in row] for row in scores])
        paired = {row: col for row, col in zip(rows, cols) if scores[row][col] > 0.0}
    matches = []
    for index, versions in enumerate(gts):
        col = paired.get(index)
        if col is None:
            matches.append(TableMatch(index, None, 0.0, 0.0))
        else:
            structure = _best_teds(preds[col], versions, True, cache)
            matches.append(TableMatch(index, col, scores[index][col], structure))
    return matches


# --------------------------------------------------------------------------- ground truth


@dataclass(frozen=True)
class GtTable:
    id: str
    document: str  # stem, path or file name as the manifest gives it
    page: int  # 1-based
    html: str
    alternatives: tuple[str, ...] = ()  # further accepted HTMLs (lenient scoring)

    @property
    def versions(self) -> tuple[str, ...]:
        return (self.html, *self.alternatives)


@dataclass
class TableGroundTruth:
    path: Path
    tables: list[GtTable] = field(default_factory=list)
    flat_grids: bool = False  # the GT writes spans as text plus empty slots: compare flat grids (module docs)

    def describe(self) -> dict[str, Any]:
        described = {"kind": "tables", "path": str(self.path), "tables": len(self.tables),
                     "documents": len({t.document for t in self.tables})}  # fmt: skip
        if self.flat_grids:
            described["grids"] = "flat: spans expanded into their text in the first slot and empty slots, on both sides"
        return described


def _entries(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    if isinstance(data, dict):
        data = data.get("tables", data.get("docs"))
    if not isinstance(data, list) or not all(isinstance(entry, dict) for entry in data):
        raise ValueError(f"{path}: expected a list of tables (or an object with a 'tables' list)")
    return data


def find_relative(base: Path, relative: str) -> Path | None:
    """``relative`` under ``base`` or the nearest folder above it that has it (absolute paths as they are)."""
    candidate = Path(relative)
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    for folder in (base, *base.parents):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def _entry_html(entry: dict[str, Any], base: Path, table_id: str) -> str:
    if isinstance(entry.get("html"), str):
        return entry["html"]
    relative = entry.get("html_path") or entry.get("gt_path") or f"gt/{table_id}.html"
    found = find_relative(base, relative)
    if found is None:
        raise ValueError(f"table {table_id}: HTML file {relative} not found (relative to {base} or above)")
    return found.read_text(encoding="utf-8")


def load_table_gt(path: str | Path, flat_grids: bool = False) -> TableGroundTruth:
    """GT tables from a manifest (see the module docs); raises ``ValueError`` on a bad or empty manifest.
    ``flat_grids``: score flat grids (see the module docs)."""
    manifest = Path(path)
    if not manifest.is_file():
        raise ValueError(f"table ground truth {path}: not a JSON/JSONL manifest file")
    try:
        entries = _entries(manifest)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON/JSONL ({exc})") from exc
    tables, counts = [], {}
    for entry in entries:
        document = entry.get("document") or entry.get("path") or entry.get("pdf")
        if not isinstance(document, str) or not document:
            raise ValueError(f"{path}: a table without 'document' (or 'path'): {json.dumps(entry)[:200]}")
        page = int(entry.get("page", 1))
        stem = Path(document).stem if "/" in document or "." in Path(document).name else document
        counts[(stem, page)] = counts.get((stem, page), -1) + 1
        table_id = str(entry.get("id") or f"{stem}_p{page}_t{counts[(stem, page)]}")
        tables.append(GtTable(table_id, document, page, _entry_html(entry, manifest.parent, table_id)))
    if not tables:
        raise ValueError(f"{path}: no tables")
    return TableGroundTruth(manifest, tables, flat_grids)


# --------------------------------------------------------------------------- scoring a run


@dataclass
class TableReport:
    per_table: list[dict[str, Any]]  # id, document, page, teds, teds_structure, prediction, predicted_tables, status

    def summary(self) -> dict[str, Any]:
        teds = [t["teds"] for t in self.per_table]
        structure = [t["teds_structure"] for t in self.per_table]
        return {
            "tables": len(teds),
            "mean_teds": statistics.fmean(teds) if teds else None,
            "mean_teds_structure": statistics.fmean(structure) if structure else None,
            "matched": sum(t["prediction"] is not None for t in self.per_table),
        }


def score_table_run(
    run: RunOutputs, gt: TableGroundTruth, *, only_matched: bool = False, cache: TedsCache | None = None
) -> tuple[TableReport, StemMatch]:
    """TEDS/TEDS-S per GT table of one run (tables of missing or failed documents score 0; ``cache``: see
    :func:`score_page`)."""
    outputs, match = stem_outputs(run, list(dict.fromkeys(t.document for t in gt.tables)))
    groups: dict[tuple[Any, int | None], list[GtTable]] = {}  # (document, page or None for the whole document)
    for table in gt.tables:  # tables naming one document differently ("x", "pdf/x.pdf") share its page pool
        doc = outputs.get(table.document)
        if doc is None and only_matched:
            continue
        key = table.document if doc is None else id(doc)
        groups.setdefault((key, table.page if doc is None or doc.pages else None), []).append(table)
    per_table: list[dict[str, Any]] = []
    for (_, page), tables in groups.items():
        doc = outputs.get(tables[0].document)
        status = "missing" if doc is None else "failed" if doc.status == "error" or doc.markdown is None else "ok"
        markdown = "" if doc is None else (doc.markdown or "") if page is None else (doc.pages.get(page - 1) or "")
        predicted = markdown_tables(markdown)
        for table, result in zip(tables, score_page([t.versions for t in tables], predicted, cache, gt.flat_grids)):
            per_table.append({
                "id": table.id, "document": table.document, "page": table.page, "teds": result.teds,
                "teds_structure": result.teds_structure, "prediction": result.prediction,
                "predicted_tables": len(predicted), "status": status,
            })  # fmt: skip
    return TableReport(per_table), match


def table_table(rows: list[tuple[str, TableReport, StemMatch]]) -> str:
    """One Markdown row per run: GT tables, documents matched, tables paired, mean TEDS and TEDS-S."""
    head = ["run", "GT tables", "documents matched", "tables paired", "mean TEDS", "mean TEDS-S"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for label, report, match in rows:
        s = report.summary()
        cells = [label, str(s["tables"]), str(len(match.matched)), str(s["matched"])]
        cells += ["n/a" if s[k] is None else f"{s[k]:.4f}" for k in ("mean_teds", "mean_teds_structure")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
