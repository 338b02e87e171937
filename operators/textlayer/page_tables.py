"""A page's tables from two sources: the layout model's table boxes and the grids drawn with rules.

:func:`merge_tables` decides, per page, which tables are read from their rules and which are left to the table
structure model, and rewrites the page's layout blocks so that every table is one layout ``table`` block:

* a ruled grid and a layout table box that overlap (half of the smaller box) are one table;
* a fully ruled grid (:func:`~.ruled_tables.is_fully_ruled`) is read from its rules: its HTML comes from the
  grid and the text-layer words in each cell; the layout table boxes it overlaps are replaced by one block at the
  grid's box;
* a grid whose rows are not all ruled is left to the structure model: on the layout box it overlaps, or, when no
  layout box found it, on the grid's box, added as a new block (unless its text lines up as a table: then the
  aligned table below stands for it);
* layout boxes that overlap no grid are recognised as before;
* a table found from the alignment of its text (:mod:`.aligned_tables`) that overlaps no table and lies mostly
  outside every figure (whose labels line up too) is added with the HTML of its alignment grid.

New blocks carry the label :data:`RULED_LABEL` or :data:`PARTLY_RULED_LABEL` and score 1, so they win over the text boxes the layout model put
on the table's cells (those lie inside the table and go to it, see :mod:`.regions`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from docray.models.table_cells import Box, Word
from docray.operators.textlayer.aligned_tables import AlignedTable
from docray.operators.textlayer.ruled_tables import RuledGrid, grid_html, is_fully_ruled
from docray.schema import BlockType

RULED_LABEL = "ruled_table"  # label of an added layout block: a table read from the PDF's rules
PARTLY_RULED_LABEL = "partly_ruled_table"  # label of an added layout block: rules found it, the structure model reads it
ALIGNED_LABEL = "aligned_table"  # label of an added layout block: a table read from the alignment of its text
_FIGURES = frozenset({BlockType.IMAGE.value, BlockType.IMAGE_BODY.value})
# a table caption's label: "Table 3", "Tab. 2:", "TABLE IV." (and the same word in other languages), then a number
TABLE_LABEL = re.compile(
    r"^\s*(?:Table|TABLE|Tab\.|Tableau|TABLEAU|Tabelle|Tabla|Tabella|Tabel|Tabell|Tabulka|Tablica|Таблица|表)\s*"
    r"(?:\d+|[IVXLC]+\b)"
)
MAX_CAPTION_GAP = 24.0  # points between a caption and its table
MIN_OVERLAP = 0.5  # share of the smaller box that a grid and a layout box must share to be one table


@dataclass(slots=True)
class PageTables:
    """What a page's tables become: its layout blocks and the tables read from rules."""

    layout_blocks: list[dict[str, Any]]
    ruled: list[dict[str, Any]] = field(default_factory=list)  # TABLE rows read from rules or text alignment


def _area(b: Sequence[float]) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def overlap_share(a: Sequence[float], b: Sequence[float]) -> float:
    """The area two boxes share, as a share of the smaller one."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min(_area(a), _area(b))
    return inter / smaller if smaller > 0 else 0.0


def ruled_record(grid: RuledGrid, words: Sequence[Word]) -> dict[str, Any]:
    """The TABLE row of a grid read from its rules."""
    return {
        "bbox": [float(v) for v in grid.bbox],
        "html": grid_html(grid, words),
        "score": 1.0,
        "num_rows": grid.num_rows,
        "num_cols": grid.num_cols,
    }


def _block(box: Box, label: str) -> dict[str, Any]:
    return {"type": BlockType.TABLE.value, "bbox": [float(v) for v in box], "score": 1.0, "label": label}


def merge_tables(
    layout_blocks: Sequence[dict[str, Any]],
    grids: Sequence[RuledGrid],
    words: Sequence[Word],
    aligned: Sequence[AlignedTable] = (),
) -> PageTables:
    """The page's layout blocks with the ruled grids and aligned tables merged in (see the module docstring)."""
    blocks = [dict(b) for b in layout_blocks]
    is_table = [b.get("type") == BlockType.TABLE.value for b in blocks]
    replaced: set[int] = set()
    out = PageTables(layout_blocks=[])
    added: list[dict[str, Any]] = []
    for grid in grids:
        matched = [i for i, b in enumerate(blocks) if is_table[i] and overlap_share(b["bbox"], grid.bbox) >= MIN_OVERLAP]
        if is_fully_ruled(grid, words):
            out.ruled.append(ruled_record(grid, words))
            replaced.update(matched)
            added.append(_block(grid.bbox, RULED_LABEL))
        elif not matched and not any(overlap_share(grid.bbox, t.bbox) >= MIN_OVERLAP for t in aligned):
            added.append(_block(grid.bbox, PARTLY_RULED_LABEL))
    kept = [b for i, b in enumerate(blocks) if i not in replaced] + added
    tables = [b["bbox"] for b in kept if b.get("type") == BlockType.TABLE.value]
    figures = [b["bbox"] for b in kept if b.get("type") in _FIGURES]
    for table in aligned:
        if any(overlap_share(table.bbox, box) > 0.0 for box in tables):
            continue
        if any(overlap_share(table.bbox, box) >= MIN_OVERLAP for box in figures):
            continue
        out.ruled.append(
            {"bbox": [float(v) for v in table.bbox], "html": table.html(), "score": 1.0,
             "num_rows": table.num_rows, "num_cols": table.num_cols}  # fmt: skip
        )
        kept.append(_block(table.bbox, ALIGNED_LABEL))
        tables.append(table.bbox)
    out.layout_blocks = kept
    return out


def _block_text(box: Sequence[float], pieces: Sequence[tuple[str, Sequence[float]]]) -> str:
    inside = [(b[1], b[0], t) for t, b, *_ in pieces if box[0] <= (b[0] + b[2]) / 2 <= box[2] and box[1] <= (b[1] + b[3]) / 2 <= box[3]]
    return " ".join(t for _, _, t in sorted(inside))


def mark_table_captions(layout_blocks: Sequence[dict[str, Any]], pieces: Sequence[tuple[str, Sequence[float]]]) -> list[dict[str, Any]]:
    """The blocks with every text block that starts with a table label (``Table 1.``, :data:`TABLE_LABEL`) and
    sits right above or below a table (at most :data:`MAX_CAPTION_GAP` points, sharing half its width) made a
    ``table_caption``: the layout model often takes a long caption for a paragraph."""
    blocks = [dict(b) for b in layout_blocks]
    tables = [b["bbox"] for b in blocks if b.get("type") == BlockType.TABLE.value]
    for block in blocks:
        if block.get("type") != BlockType.TEXT.value or not tables:
            continue
        x0, y0, x1, y1 = block["bbox"]
        near = False
        for t in tables:
            shared = min(x1, t[2]) - max(x0, t[0])
            gap = max(t[1] - y1, y0 - t[3])
            near = near or (0 <= gap <= MAX_CAPTION_GAP or -2.0 <= gap < 0) and shared >= 0.5 * min(x1 - x0, t[2] - t[0])
        if near and TABLE_LABEL.match(_block_text(block["bbox"], pieces)):
            block["type"] = BlockType.TABLE_CAPTION.value
    return blocks
