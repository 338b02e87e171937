"""OmniDocBench ground truth: pages of annotated layout blocks (``OmniDocBench.json``).

Each page has ``page_info`` (``image_path``, ``page_attribute``...) and ``layout_dets``: blocks with
``category_type``, ``poly``, reading ``order``, ``text`` (text blocks), ``latex`` (formulas), ``html`` (tables),
``attribute`` and ``anno_id``; ``extra.relation`` lists ``truncated`` pairs (one paragraph split over several
blocks), which the end-to-end evaluation merges into one block: texts concatenated in reading order, category and
order of the first. Which categories count for what (facts from OmniDocBench's ``end2end_dataset.py``):

* text-like categories (:data:`TEXT_CATEGORIES`) are matched against predicted text; those in
  :data:`IGNORED_TEXT_CATEGORIES` (headers, footers, page numbers, page footnotes, captions and footnotes of figures,
  tables and equations, code) are matched too, so that a prediction of them is not counted as extra text, but their
  pairs are left out of the scores;
* ``equation_isolated`` blocks are display formulas, ``table`` blocks tables; ``figure`` and ``abandon`` blocks are
  not scored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# fmt: off
TEXT_CATEGORIES = (
    "text_block", "title", "code_txt", "code_txt_caption", "reference", "equation_caption", "figure_caption",
    "figure_footnote", "table_caption", "table_footnote", "code_algorithm", "code_algorithm_caption", "header",
    "footer", "page_footnote", "page_number",
)
IGNORED_TEXT_CATEGORIES = (
    "figure_caption", "figure_footnote", "table_caption", "table_footnote", "code_algorithm",
    "code_algorithm_caption", "header", "footer", "page_footnote", "page_number", "equation_caption",
)
# fmt: on
FORMULA_CATEGORY = "equation_isolated"
TABLE_CATEGORY = "table"


@dataclass(frozen=True)
class GtBlock:
    category: str
    order: int | None  # reading order; None for blocks outside the reading order
    text: str = ""  # the text, or the LaTeX of a formula
    html: str = ""  # tables only
    attribute: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GtPage:
    image_name: str  # basename of page_info.image_path, e.g. "paper.pdf_3.jpg"
    blocks: tuple[GtBlock, ...]
    attributes: Mapping[str, Any] = field(default_factory=dict)  # page_info.page_attribute

    @property
    def stem(self) -> str:
        """The image name without its extension: the name a prediction file carries (``<stem>.md``)."""
        return self.image_name.rsplit(".", 1)[0]

    def sorted_blocks(self, categories: tuple[str, ...] | str) -> list[GtBlock]:
        """Blocks of the given categories in reading order (blocks without an order first, as order 0; ties in the
        order of ``categories``, then of the page)."""
        wanted = (categories,) if isinstance(categories, str) else categories
        rank = {category: position for position, category in enumerate(wanted)}
        chosen = [block for block in self.blocks if block.category in rank]
        return sorted(chosen, key=lambda block: (block.order or 0, rank[block.category]))


def _block(item: Mapping[str, Any], text: str | None = None) -> GtBlock:
    category = item.get("category_type", "")
    content = text if text is not None else item.get("latex" if category == FORMULA_CATEGORY else "text") or ""
    return GtBlock(
        category=category,
        order=item.get("order"),
        text=str(content),
        html=str(item.get("html") or ""),
        attribute=item.get("attribute") or {},
    )


def _truncated_groups(relations: list[Mapping[str, Any]]) -> list[list[Any]]:
    groups: list[list[Any]] = []
    for relation in relations:
        if relation.get("relation_type") != "truncated":
            continue
        pair = [relation["source_anno_id"], relation["target_anno_id"]]
        joined = False
        for group in groups:
            if pair[0] in group or pair[1] in group:
                group.extend(pair)
                joined = True
        if not joined:
            groups.append(pair)
    return groups


def page_from_dict(page: Mapping[str, Any]) -> GtPage:
    """A :class:`GtPage` from one entry of ``OmniDocBench.json``, with ``truncated`` blocks merged."""
    info = page.get("page_info", {})
    items = list(page.get("layout_dets", []))
    groups = _truncated_groups(list((page.get("extra") or {}).get("relation", [])))
    in_group = {anno_id for group in groups for anno_id in group}
    blocks = [_block(item) for item in items if item.get("anno_id") not in in_group]
    by_id = {item.get("anno_id"): item for item in items}
    for group in groups:
        # no de-duplication: a chain a->b, b->c lists b twice and OmniDocBench's merged text repeats it (quirk kept)
        members = sorted((by_id[a] for a in group if a in by_id), key=lambda item: item.get("order") or 0)
        if members:
            blocks.append(_block(members[0], text="".join(str(m.get("text") or "") for m in members)))
    return GtPage(
        image_name=Path(str(info.get("image_path", ""))).name,
        blocks=tuple(blocks),
        attributes=info.get("page_attribute") or {},
    )


def load_ground_truth(path: str | Path) -> list[GtPage]:
    """All pages of an OmniDocBench ground-truth JSON file."""
    with open(path, encoding="utf-8") as handle:
        return [page_from_dict(page) for page in json.load(handle)]
