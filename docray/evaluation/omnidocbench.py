"""OmniDocBench end-to-end scores of per-page Markdown: text edit distance, formula edit distance, table TEDS and
reading-order edit distance (pure functions, no Ray).

This follows OmniDocBench's ``end2end`` evaluation with ``match_method: quick_match`` as of commit 24e6428
(2025-04), the version that produced the published demo results (``result/`` in the repository); the code is ours.
Per page (:func:`score_page`):

* **text**: GT text-like blocks (:data:`~docray.evaluation.omnidocbench_gt.TEXT_CATEGORIES`, reading order) are
  quick-matched (:mod:`docray.evaluation.omnidocbench_match`) to the predicted text paragraphs
  (:mod:`docray.evaluation.markdown_parts`), both normalised by
  :func:`~docray.evaluation.omnidocbench_normalise.normalise_text`. Pairs whose GT category is ignored (headers,
  footers, page numbers, captions...) are dropped; extra predicted paragraphs stay (as pairs with an empty GT).
  The page's text edit distance is sum(Levenshtein) / sum(max(len)) over its pairs.
* **display formulas**: GT ``equation_isolated`` LaTeX against all predicted formulas (display and inline),
  normalised by :func:`~docray.evaluation.omnidocbench_normalise.normalise_formula`, quick-matched; pairs without a
  GT formula are dropped; edit distance per page as for text.
* **tables**: GT tables against the predicted HTML tables (pipe tables converted), or the LaTeX tables when there
  are more of those, paired one-to-one by minimum NED of the raw strings; TEDS and TEDS-structure on the normalised
  HTML (:mod:`docray.evaluation.teds`), and the edit distance of the normalised HTML strings per page.
* **reading order**: for the kept text pairs, the GT orders listed in the order of their predicted paragraphs, against
  the sorted GT orders; Levenshtein over the two lists / the longer length.
* **whole-page text** (docray's simple variant, not an OmniDocBench metric): NED between the concatenation of all
  non-ignored GT text blocks in reading order and of all predicted paragraphs, both normalised.

Overall (:func:`score_pages`): each edit distance is the mean over pages that have pairs of that kind (OmniDocBench's
``ALL_page_avg``); TEDS is the mean over GT tables. Lower edit distance and higher TEDS are better.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import mean

from docray.evaluation.markdown_parts import MarkdownPart, PartKind, latex_tabular_to_html, split_markdown
from docray.evaluation.omnidocbench_gt import (
    FORMULA_CATEGORY,
    IGNORED_TEXT_CATEGORIES,
    TABLE_CATEGORY,
    TEXT_CATEGORIES,
    GtBlock,
    GtPage,
)
from docray.evaluation.omnidocbench_match import MatchedEntry, levenshtein, ned, quick_match, simple_match
from docray.evaluation.omnidocbench_normalise import normalise_formula, normalise_text
from docray.evaluation.teds import normalise_table_html, teds


@dataclass(frozen=True)
class EditPair:
    """One matched entry: normalised GT and prediction, and their Levenshtein distance."""

    norm_gt: str
    norm_pred: str
    category: str  # the GT category ("" for an extra prediction)
    gt_orders: tuple[int, ...] = ()
    pred_start: int | None = None  # offset of the first predicted piece in the page

    @property
    def edits(self) -> int:
        return levenshtein(self.norm_gt, self.norm_pred)

    @property
    def upper_len(self) -> int:
        return max(len(self.norm_gt), len(self.norm_pred))


@dataclass(frozen=True)
class TableScore:
    teds: float
    teds_structure: float
    norm_gt: str
    norm_pred: str


def page_edit_distance(pairs: Sequence[EditPair]) -> float | None:
    """sum(Levenshtein) / sum(max(len)) over a page's pairs; None when there are none (or all are empty)."""
    upper = sum(pair.upper_len for pair in pairs)
    return sum(pair.edits for pair in pairs) / upper if upper else None


@dataclass
class PageScore:
    image_name: str
    text_pairs: list[EditPair] = field(default_factory=list)
    formula_pairs: list[EditPair] = field(default_factory=list)
    tables: list[TableScore] = field(default_factory=list)
    reading_order: tuple[tuple[int, ...], tuple[int, ...]] | None = None  # (GT orders, predicted orders)
    whole_page_text_ned: float | None = None

    @property
    def text_edit(self) -> float | None:
        return page_edit_distance(self.text_pairs)

    @property
    def formula_edit(self) -> float | None:
        return page_edit_distance(self.formula_pairs)

    @property
    def table_edit(self) -> float | None:
        return page_edit_distance([EditPair(t.norm_gt, t.norm_pred, TABLE_CATEGORY) for t in self.tables])

    @property
    def reading_order_edit(self) -> float | None:
        if self.reading_order is None:
            return None
        gt, pred = self.reading_order
        return levenshtein(gt, pred) / max(len(gt), len(pred))


def _category_of(blocks: Sequence[GtBlock]) -> str:
    kept = [block.category for block in blocks if block.category not in IGNORED_TEXT_CATEGORIES]
    return Counter(kept or [block.category for block in blocks]).most_common(1)[0][0]


def _nonempty(items: Sequence, norms: Sequence[str]) -> tuple[list, list[str]]:
    kept = [(item, norm) for item, norm in zip(items, norms) if norm]
    return [item for item, _ in kept], [norm for _, norm in kept]


def _edit_pairs(
    entries: list[MatchedEntry],
    blocks: list[GtBlock],
    gt_norms: list[str],
    parts: list[MarkdownPart],
    pred_norms: list[str],
) -> list[EditPair]:
    pairs = []
    for entry in entries:
        members = [blocks[i] for i in entry.gt]
        pairs.append(
            EditPair(
                norm_gt="".join(gt_norms[i] for i in entry.gt),
                norm_pred="".join(pred_norms[j] for j in entry.pred),
                category=_category_of(members) if members else "",
                gt_orders=tuple(block.order for block in members if block.order),
                pred_start=parts[entry.pred[0]].start if entry.pred else None,
            )
        )
    return pairs


def _with_norms(blocks: list[GtBlock], normalise) -> tuple[list[GtBlock], list[str]]:
    return blocks, [normalise(block.text) for block in blocks]


def _text_pairs(page: GtPage, parts: list[MarkdownPart]) -> list[EditPair]:
    text_blocks = page.sorted_blocks(TEXT_CATEGORIES)
    if not text_blocks:  # OmniDocBench skips text matching on a page without GT text
        return []
    blocks, gt_norms = _nonempty(*_with_norms(text_blocks, normalise_text))
    texts = [part for part in parts if part.kind is PartKind.TEXT]
    texts, pred_norms = _nonempty(texts, [normalise_text(part.content) for part in texts])
    pairs = _edit_pairs(quick_match(gt_norms, pred_norms), blocks, gt_norms, texts, pred_norms)
    return [pair for pair in pairs if pair.category not in IGNORED_TEXT_CATEGORIES]


def _formula_pairs(page: GtPage, parts: list[MarkdownPart]) -> list[EditPair]:
    blocks, gt_norms = _nonempty(*_with_norms(page.sorted_blocks(FORMULA_CATEGORY), normalise_formula))
    formulas = [part for part in parts if part.kind is PartKind.FORMULA]
    formulas, pred_norms = _nonempty(formulas, [normalise_formula(part.content) for part in formulas])
    pairs = _edit_pairs(quick_match(gt_norms, pred_norms), blocks, gt_norms, formulas, pred_norms)
    return [pair for pair in pairs if pair.category]


def _tables(page: GtPage, parts: list[MarkdownPart]) -> list[TableScore]:
    gt_tables = [block.html for block in page.sorted_blocks(TABLE_CATEGORY)]
    html_tables = [part.content for part in parts if part.kind is PartKind.HTML_TABLE]
    latex_tables = [part.content for part in parts if part.kind is PartKind.LATEX_TABLE]
    if len(latex_tables) > len(html_tables):
        pred_tables, rendered = latex_tables, [latex_tabular_to_html(table) for table in latex_tables]
    else:
        pred_tables, rendered = html_tables, html_tables
    scores = []
    for entry in simple_match(gt_tables, pred_tables):
        norm_gt = normalise_table_html(gt_tables[entry.gt[0]])
        norm_pred = normalise_table_html(rendered[entry.pred[0]]) if entry.pred else ""
        scores.append(TableScore(teds(norm_pred, norm_gt), teds(norm_pred, norm_gt, True), norm_gt, norm_pred))
    return scores


def _reading_order(pairs: list[EditPair]) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    gt = sorted(order for pair in pairs for order in pair.gt_orders)
    placed = sorted(
        (pair for pair in pairs if pair.gt_orders and pair.pred_start is not None), key=lambda p: p.pred_start
    )
    pred = [order for pair in placed for order in pair.gt_orders]
    return (tuple(gt), tuple(pred)) if gt or pred else None


def _whole_page_text_ned(page: GtPage, parts: list[MarkdownPart]) -> float | None:
    blocks = [b for b in page.sorted_blocks(TEXT_CATEGORIES) if b.category not in IGNORED_TEXT_CATEGORIES]
    gt = "".join(normalise_text(block.text) for block in blocks)
    pred = "".join(normalise_text(part.content) for part in parts if part.kind is PartKind.TEXT)
    return ned(gt, pred) if gt or pred else None


def score_page(page: GtPage, markdown: str) -> PageScore:
    """All OmniDocBench end-to-end scores of one page's predicted Markdown (see the module docstring)."""
    parts = split_markdown(markdown)
    text_pairs = _text_pairs(page, parts)
    return PageScore(
        image_name=page.image_name,
        text_pairs=text_pairs,
        formula_pairs=_formula_pairs(page, parts),
        tables=_tables(page, parts),
        reading_order=_reading_order(text_pairs),
        whole_page_text_ned=_whole_page_text_ned(page, parts),
    )


def _mean(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return mean(present) if present else None


@dataclass
class Report:
    pages: list[PageScore]
    missing: list[str]  # GT pages without a prediction (not scored, as in OmniDocBench)

    def summary(self) -> dict[str, float | int | None]:
        tables = [table for page in self.pages for table in page.tables]
        return {
            "pages": len(self.pages),
            "missing_pages": len(self.missing),
            "text_edit": _mean([page.text_edit for page in self.pages]),
            "whole_page_text_ned": _mean([page.whole_page_text_ned for page in self.pages]),
            "formula_edit": _mean([page.formula_edit for page in self.pages]),
            "tables": len(tables),
            "table_teds": mean(t.teds for t in tables) if tables else None,
            "table_teds_structure": mean(t.teds_structure for t in tables) if tables else None,
            "table_teds_page_avg": _mean([_mean([t.teds for t in page.tables]) for page in self.pages]),
            "table_edit": _mean([page.table_edit for page in self.pages]),
            "reading_order_edit": _mean([page.reading_order_edit for page in self.pages]),
        }

    def per_page(self) -> dict[str, dict[str, float | None]]:
        return {
            page.image_name: {
                "text_edit": page.text_edit,
                "whole_page_text_ned": page.whole_page_text_ned,
                "formula_edit": page.formula_edit,
                "table_teds": _mean([t.teds for t in page.tables]),
                "table_teds_structure": _mean([t.teds_structure for t in page.tables]),
                "table_edit": page.table_edit,
                "reading_order_edit": page.reading_order_edit,
            }
            for page in self.pages
        }


def score_pages(pages: Sequence[GtPage], predictions: Mapping[str, str]) -> Report:
    """Score predictions keyed by page stem (image name without extension) or by full image name."""
    scored, missing = [], []
    for page in pages:
        markdown = predictions.get(page.stem, predictions.get(page.image_name))
        if markdown is None:
            missing.append(page.image_name)
        else:
            scored.append(score_page(page, markdown))
    return Report(scored, missing)
