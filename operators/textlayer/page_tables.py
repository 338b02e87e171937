"""A page's tables from two sources: the layout model's table boxes and the grids drawn with rules.

:func:`merge_tables` decides, per page, which tables are read from their rules and which are left to the table
structure model, and rewrites the page's layout blocks so that every table is one layout ``table`` block:

* a ruled grid and a layout table box that overlap (half of the smaller box) are one table;
* a grid that frames running text (:func:`~.text_frames.frames_running_text`: a cover page's bands, a box around a
  paragraph) is no table: it is dropped, and its text is read as text;
* a fully ruled grid (:func:`~.ruled_tables.is_fully_ruled`) is read from its rules: its HTML comes from the
  grid and the text-layer words in each cell; the layout table boxes it overlaps are replaced by one block at the
  grid's box;
* a grid whose rows are not all ruled is left to the structure model: on the layout box it overlaps, or, when no
  layout box found it, on the grid's box, added as a new block (unless its text lines up as a table: then the
  aligned table below stands for it);
* layout boxes that overlap no grid are recognised as before;
* a table found from the alignment of its text (:mod:`.aligned_tables`) that overlaps no table is added with the
  HTML of its alignment grid, unless it lies mostly inside a figure that it does not fill (the labels of a chart
  line up too); a figure region it fills (:data:`FIGURE_COVER`) was this table and is replaced.

New blocks carry the label :data:`RULED_LABEL`, :data:`PARTLY_RULED_LABEL` or :data:`ALIGNED_LABEL` and score 1,
so they win over the text boxes the layout model put on the table's cells (those lie inside the table and go to
it, see :mod:`.regions`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from docray.models.table_cells import Box, Word
from docray.operators.textlayer.aligned_tables import AlignedTable
from docray.operators.textlayer.pdf_segments import is_vertical_span
from docray.operators.textlayer.ruled_tables import RuledGrid, grid_html, is_fully_ruled
from docray.operators.textlayer.text_frames import frames_running_text
from docray.schema import BlockType

RULED_LABEL = "ruled_table"  # label of an added layout block: a table read from the PDF's rules
PARTLY_RULED_LABEL = "partly_ruled_table"  # label of an added block: rules found it, the structure model reads it
ALIGNED_LABEL = "aligned_table"  # label of an added layout block: a table read from the alignment of its text
FRAME_LABEL = "text_frame"  # a ruled grid framing running text: no table, merge_tables drops it
_FIGURES = frozenset({BlockType.IMAGE.value, BlockType.IMAGE_BODY.value})
# a table caption's label: "Table 3", "Tab. 2:", "TABLE IV." (and the same word in other languages), then a number
TABLE_LABEL = re.compile(
    r"^\s*(?:Table|TABLE|Tab\.|Tableau|TABLEAU|Tabelle|Tabla|Tabella|Tabel|Tabell|Tabulka|Tablica|Таблица|表)\s*"
    r"(?:\d+|[IVXLC]+\b)"
)
MAX_CAPTION_GAP = 24.0  # points between a caption and its table
MIN_OVERLAP = 0.5  # share of the smaller box that a grid and a layout box must share to be one table
FIGURE_COVER = 0.6  # share of a figure's box an aligned table must cover to be what the figure region found


@dataclass(slots=True)
class PageTables:
    """What a page's tables become: its layout blocks and the tables read from rules."""

    layout_blocks: list[dict[str, Any]]
    ruled: list[dict[str, Any]] = field(default_factory=list)  # TABLE rows read from rules or text alignment


def _area(b: Sequence[float]) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _share_of(box: Sequence[float], cover: Sequence[float]) -> float:
    """The share of ``box``'s area that ``cover`` covers."""
    width = max(0.0, min(box[2], cover[2]) - max(box[0], cover[0]))
    inter = width * max(0.0, min(box[3], cover[3]) - max(box[1], cover[1]))
    return inter / _area(box) if _area(box) > 0 else 0.0


def overlap_share(a: Sequence[float], b: Sequence[float]) -> float:
    """The area two boxes share, as a share of the smaller one."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min(_area(a), _area(b))
    return inter / smaller if smaller > 0 else 0.0


@dataclass(frozen=True, slots=True)
class FoundTable:
    """A table found from the text layer, on the displayed page: its box and, when read, its HTML."""

    bbox: Box
    # RULED_LABEL, PARTLY_RULED_LABEL (html None: the structure model reads it), ALIGNED_LABEL or FRAME_LABEL
    label: str
    html: str | None = None
    num_rows: int = 0
    num_cols: int = 0

    def record(self) -> dict[str, Any]:
        """The TABLE row."""
        return {"bbox": [float(v) for v in self.bbox], "html": self.html, "score": 1.0,
                "num_rows": self.num_rows, "num_cols": self.num_cols}  # fmt: skip


def from_grid(grid: RuledGrid, words: Sequence[Word]) -> FoundTable:
    """A ruled grid as found: a frame of running text (no table), read from its rules when fully ruled, else left
    to the structure model."""
    if frames_running_text(grid, words):
        return FoundTable(grid.bbox, FRAME_LABEL)
    if is_fully_ruled(grid, words):
        return FoundTable(grid.bbox, RULED_LABEL, grid_html(grid, words), grid.num_rows, grid.num_cols)
    return FoundTable(grid.bbox, PARTLY_RULED_LABEL)


def from_alignment(table: AlignedTable) -> FoundTable:
    return FoundTable(table.bbox, ALIGNED_LABEL, table.html(), table.num_rows, table.num_cols)


@dataclass(frozen=True, slots=True)
class Upright:
    """The page turned so that its vertical text reads left to right: ``angle`` 270 (text reading bottom to top)
    turns the page a quarter clockwise, 90 a quarter anticlockwise.  Maps displayed boxes there and back."""

    angle: int
    width: float  # the displayed page's
    height: float

    def box(self, b: Sequence[float]) -> Box:
        x0, y0, x1, y1 = b
        if self.angle == 270:
            return (self.height - y1, x0, self.height - y0, x1)
        return (y0, self.width - x1, y1, self.width - x0)

    def back(self, b: Sequence[float]) -> Box:
        x0, y0, x1, y1 = b
        if self.angle == 270:
            return (y0, self.height - x1, y1, self.height - x0)
        return (self.width - y1, x0, self.width - y0, x1)


def turned_spans(spans: Sequence[dict[str, Any]], turned: Sequence[int] | None) -> list[dict[str, Any]]:
    """The spans of a page's turned text: those at the indices ``turned`` (render's ``turned_spans``, from the
    characters' angles), else (rows rendered without them) the vertical spans
    (:func:`~.pdf_segments.is_vertical_span`, which misses cells too short to be twice as tall as wide)."""
    if turned is None:
        return [s for s in spans if s.get("bbox") and is_vertical_span(s["text"], s["bbox"])]
    return [spans[i] for i in turned if 0 <= i < len(spans) and spans[i].get("bbox") and spans[i]["text"].strip()]


def _block(box: Box, label: str) -> dict[str, Any]:
    return {"type": BlockType.TABLE.value, "bbox": [float(v) for v in box], "score": 1.0, "label": label}


def merge_tables(
    layout_blocks: Sequence[dict[str, Any]], ruled: Sequence[FoundTable], aligned: Sequence[FoundTable] = ()
) -> PageTables:
    """The page's layout blocks with the ruled and aligned tables merged in (see the module docstring).

    ``ruled`` are the tables that win over the layout boxes they overlap (those read from rules, and tables set
    sideways, which the structure model cannot read); ``aligned`` only fill the places no table box holds."""
    blocks = [dict(b) for b in layout_blocks]
    is_table = [b.get("type") == BlockType.TABLE.value for b in blocks]
    replaced: set[int] = set()
    out = PageTables(layout_blocks=[])
    added: list[dict[str, Any]] = []
    for grid in ruled:
        if grid.label == FRAME_LABEL:
            continue
        matched = [
            i for i, b in enumerate(blocks) if is_table[i] and overlap_share(b["bbox"], grid.bbox) >= MIN_OVERLAP
        ]
        if grid.html is not None:
            out.ruled.append(grid.record())
            replaced.update(matched)
            added.append(_block(grid.bbox, grid.label))
        elif not matched and not any(overlap_share(grid.bbox, t.bbox) >= MIN_OVERLAP for t in aligned):
            added.append(_block(grid.bbox, PARTLY_RULED_LABEL))
    kept = [b for i, b in enumerate(blocks) if i not in replaced] + added
    tables = [b["bbox"] for b in kept if b.get("type") == BlockType.TABLE.value]
    for table in aligned:
        if any(overlap_share(table.bbox, box) > 0.0 for box in tables):
            continue
        figures = [b for b in kept if b.get("type") in _FIGURES and overlap_share(table.bbox, b["bbox"]) >= MIN_OVERLAP]
        if any(_share_of(b["bbox"], table.bbox) < FIGURE_COVER for b in figures):
            continue  # labels lining up inside a figure
        kept = [b for b in kept if all(b is not f for f in figures)]  # a "figure" that is this table
        out.ruled.append(table.record())
        kept.append(_block(table.bbox, ALIGNED_LABEL))
        tables.append(table.bbox)
    out.layout_blocks = kept
    return out


def _block_text(box: Sequence[float], pieces: Sequence[tuple[str, Sequence[float]]]) -> str:
    inside = [
        (b[1], b[0], t)
        for t, b, *_ in pieces
        if box[0] <= (b[0] + b[2]) / 2 <= box[2] and box[1] <= (b[1] + b[3]) / 2 <= box[3]
    ]
    return " ".join(t for _, _, t in sorted(inside))


def mark_table_captions(
    layout_blocks: Sequence[dict[str, Any]], pieces: Sequence[tuple[str, Sequence[float]]]
) -> list[dict[str, Any]]:
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
            close = -2.0 <= gap <= MAX_CAPTION_GAP
            near = near or close and shared >= 0.5 * min(x1 - x0, t[2] - t[0])
        if near and TABLE_LABEL.match(_block_text(block["bbox"], pieces)):
            block["type"] = BlockType.TABLE_CAPTION.value
    return blocks
