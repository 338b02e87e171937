"""Tables without rules: runs of text rows whose pieces line up in columns.

Pure functions over text pieces ``(text, box)`` in page points (text-layer spans: a span is a run of
characters without a wide gap, so the cells of a row are separate pieces):

1. pieces are grouped into text rows (vertical overlap); pieces of a row closer than a gutter are one (a bold
   run and the rest of its sentence); a row of two or more pieces is a *split* row;
2. a run of consecutive rows, no wider apart than :attr:`AlignOptions.max_row_gap` line heights, that starts
   and ends with a split row and holds at least :attr:`AlignOptions.min_rows` split rows is a candidate;
3. its columns are the runs of x that the pieces of its split rows cover; the gutters between them are where
   no split-row piece lies, or those of at most :attr:`AlignOptions.crossing_share` of the split rows (headings
   stacked tight over a wide table cross its gutters; a piece left in a gutter goes to the nearest column).  Every piece of the run goes to the columns it overlaps (a piece across a gutter
   spans them: colspan); every text row is a table row;
4. it is a table when it has at least two columns, each of at least :attr:`AlignOptions.min_column_rows` split
   rows, and its pieces read like cells, not prose: the median piece of every column is shorter than
   :attr:`AlignOptions.max_cell_chars` characters and some column's median piece at most
   :attr:`AlignOptions.short_cell_chars` (lists, references and two-column prose have a long column beside a
   short one, or two long ones), at most :attr:`AlignOptions.max_long_share` of its characters lie in pieces
   that long, its first column is not all list markers (bullets, ``1.``, ``a)``) and most
   of its pieces are not set in a monospaced font (program code lines up too).
"""

from __future__ import annotations

import html
import re
import statistics
from dataclasses import dataclass
from typing import NamedTuple, Sequence

from docray.models.table_cells import Box

# a list item's marker: a bullet or dash, or a number or letter with a dot or parenthesis
LIST_MARKER = re.compile(r"^(?:[\u2022\u25e6\u25aa\u25cf\u25a0\u2023\u2219\u00b7\u2013\u2014*\-\ufffd\uf0b7\uf0a7]|\(?\d{1,3}[.)]|\(?[A-Za-z][.)]|\(?[ivxIVX]{1,4}[.)])$")


class Piece(NamedTuple):
    """A run of text on one line (a text-layer span)."""

    text: str
    box: Box
    monospace: bool = False


@dataclass(frozen=True, slots=True)
class AlignOptions:
    min_rows: int = 3  # split rows a table needs
    max_row_gap: float = 1.2  # line heights of blank space allowed between two rows of one table
    max_part_gap: float = 3.0  # line heights between two runs with the same columns that are one table
    min_gutter: float = 0.6  # line heights: narrower gaps between pieces do not separate columns
    min_column_rows: int = 2  # split rows with a piece in a column for the column to count
    max_cell_chars: int = 40  # every column's median piece is shorter
    short_cell_chars: int = 12  # and some column's median piece is at most this long
    max_long_share: float = 0.5  # at most this share of the characters lie in pieces of max_cell_chars or more
    crossing_share: float = 0.1  # share of the split rows whose pieces may cross a gutter (tight stacked headings)


@dataclass(frozen=True, slots=True)
class AlignedCell:
    row: int
    col: int
    colspan: int
    text: str


@dataclass(frozen=True, slots=True)
class AlignedTable:
    bbox: Box
    num_rows: int
    num_cols: int
    cells: tuple[AlignedCell, ...]

    def html(self) -> str:
        rows: list[list[AlignedCell]] = [[] for _ in range(self.num_rows)]
        for cell in self.cells:
            rows[cell.row].append(cell)
        parts = ["<table>"]
        for row in rows:
            parts.append("<tr>")
            col = 0
            for cell in sorted(row, key=lambda c: c.col):
                parts.extend("<td></td>" for _ in range(cell.col - col))
                span = f' colspan="{cell.colspan}"' if cell.colspan > 1 else ""
                parts.append(f"<td{span}>{html.escape(cell.text, quote=False)}</td>")
                col = cell.col + cell.colspan
            parts.extend("<td></td>" for _ in range(self.num_cols - col))
            parts.append("</tr>")
        parts.append("</table>")
        return "".join(parts)


def text_rows(pieces: Sequence[Piece]) -> list[list[Piece]]:
    """Pieces grouped into rows (a piece joins a row whose vertical extent holds its centre), top to bottom,
    each row left to right."""
    rows: list[list[Piece]] = []
    for piece in sorted(pieces, key=lambda p: (p[1][1] + p[1][3]) / 2):
        mid = (piece[1][1] + piece[1][3]) / 2
        if rows:
            top = min(p[1][1] for p in rows[-1])
            bottom = max(p[1][3] for p in rows[-1])
            if top <= mid <= bottom:
                rows[-1].append(piece)
                continue
        rows.append([piece])
    return [sorted(row, key=lambda p: p[1][0]) for row in rows]


def _joined(row: list[Piece], min_gutter: float) -> list[Piece]:
    """A row's pieces with those closer than ``min_gutter`` line heights joined (left to right)."""
    out: list[Piece] = []
    gutter = min_gutter * _height(row)
    for piece in row:
        if out and piece.box[0] - out[-1].box[2] < gutter:
            last = out[-1]
            a, b = last.box, piece.box
            box = (a[0], min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
            out[-1] = Piece(f"{last.text.rstrip()} {piece.text.lstrip()}", box, last.monospace and piece.monospace)
        else:
            out.append(piece)
    return out


def _height(row: list[Piece]) -> float:
    return statistics.median(p[1][3] - p[1][1] for p in row)


def candidate_runs(rows: list[list[Piece]], options: AlignOptions) -> list[list[list[Piece]]]:
    """Runs of close rows that start and end with a split row and hold ``min_rows`` split rows; two runs whose
    split rows make the same columns and lie at most ``max_part_gap`` line heights apart are one run (a table
    whose sections are set apart by blank space)."""
    return _join_parts(_runs(rows, options), options)


def _join_parts(runs: list[list[list[Piece]]], options: AlignOptions) -> list[list[list[Piece]]]:
    out: list[list[list[Piece]]] = []
    for run in runs:
        if out:
            last = out[-1]
            height = max(_height(last[-1]), _height(run[0]))
            gap = min(p[1][1] for p in run[0]) - max(p[1][3] for p in last[-1])
            gutter = options.min_gutter * height
            a = _columns([r for r in last if len(r) >= 2], gutter)
            b = _columns([r for r in run if len(r) >= 2], gutter)
            both = _columns([r for r in last + run if len(r) >= 2], gutter)
            if gap <= options.max_part_gap * height and len(a) == len(b) == len(both):
                out[-1] = last + run
                continue
        out.append(run)
    return out


def _runs(rows: list[list[Piece]], options: AlignOptions) -> list[list[list[Piece]]]:
    runs: list[list[list[Piece]]] = []
    current: list[list[Piece]] = []

    def close() -> None:
        while current and len(current[-1]) < 2:
            current.pop()
        if sum(1 for r in current if len(r) >= 2) >= options.min_rows:
            runs.append(list(current))
        current.clear()

    for row in rows:
        if current:
            gap = min(p[1][1] for p in row) - max(p[1][3] for p in current[-1])
            if gap > options.max_row_gap * max(_height(row), _height(current[-1])):
                close()
        if current or len(row) >= 2:
            current.append(row)
    close()
    return runs


def _columns(split_rows: list[list[Piece]], min_gutter: float, crossing: int = 0) -> list[tuple[float, float]]:
    """The x-runs that the pieces of more than ``crossing`` split rows cover, runs closer than ``min_gutter`` one
    column: a gutter may be crossed by the pieces of ``crossing`` rows (headings stacked tight over the columns)."""
    events: list[tuple[float, int]] = []
    for row in split_rows:
        for x0, x1 in _union(sorted((p[1][0], p[1][2]) for p in row)):
            events += [(x0, 1), (x1, -1)]
    columns: list[list[float]] = []
    depth, start = 0, 0.0
    for x, step in sorted(events, key=lambda e: (e[0], -e[1])):
        if step > 0 and depth == crossing:
            start = x
        elif step < 0 and depth == crossing + 1:
            if columns and start < columns[-1][1] + min_gutter:
                columns[-1][1] = x
            else:
                columns.append([start, x])
        depth += step
    return [(a, b) for a, b in columns]


def _union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted intervals with the overlapping ones merged."""
    out: list[list[float]] = []
    for x0, x1 in intervals:
        if out and x0 <= out[-1][1]:
            out[-1][1] = max(out[-1][1], x1)
        else:
            out.append([x0, x1])
    return [(a, b) for a, b in out]


def _columns_under(box: Box, columns: list[tuple[float, float]], gutter: float) -> list[int]:
    """The columns a piece overlaps; for a piece in a gutter, the nearest column within ``gutter``."""
    cols = [k for k, (a, b) in enumerate(columns) if min(b, box[2]) - max(a, box[0]) > 0]
    if cols or not columns:
        return cols
    distance, nearest = min((max(a - box[2], box[0] - b), k) for k, (a, b) in enumerate(columns))
    return [nearest] if distance <= gutter else []


def _table_of(run: list[list[Piece]], options: AlignOptions) -> AlignedTable | None:
    split = [row for row in run if len(row) >= 2]
    height = statistics.median(_height(row) for row in run)
    gutter = options.min_gutter * height
    columns = _columns(split, gutter, int(options.crossing_share * len(split)))
    if len(columns) < 2:
        return None
    cells: list[AlignedCell] = []
    texts_by_col: list[list[str]] = [[] for _ in columns]
    support = [0] * len(columns)
    for r, row in enumerate(run):
        placed: dict[int, list[tuple[int, str]]] = {}
        for text, box, _ in row:
            cols = _columns_under(box, columns, gutter)
            if not cols:
                continue
            placed.setdefault(cols[0], []).append((cols[-1], text))
            if len(row) >= 2 and len(cols) == 1:
                texts_by_col[cols[0]].append(text)
        for k in placed:
            if len(row) >= 2:
                support[k] += 1
        taken = -1
        for first in sorted(placed):
            last = max(end for end, _ in placed[first])
            if first <= taken:
                continue
            cells.append(AlignedCell(r, first, last - first + 1, " ".join(t for _, t in placed[first])))
            taken = last
    if any(s < options.min_column_rows for s in support):
        return None
    medians = [statistics.median(len(t) for t in texts) if texts else 0 for texts in texts_by_col]
    if max(medians) >= options.max_cell_chars or min(medians) > options.short_cell_chars:
        return None
    first = [c.text for c in cells if c.col == 0 and c.colspan == 1]
    if first and all(LIST_MARKER.match(t.strip()) for t in first):
        return None
    pieces = [p for row in run for p in row]
    if sum(p.monospace for p in pieces) * 2 >= len(pieces):
        return None
    long_chars = sum(len(p.text) for p in pieces if len(p.text) >= options.max_cell_chars)
    if long_chars > options.max_long_share * sum(len(p.text) for p in pieces):  # lines of prose
        return None
    boxes = [p[1] for row in run for p in row]
    bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    return AlignedTable(bbox, len(run), len(columns), tuple(cells))


def _horizontal(piece: Piece) -> bool:
    """A piece of horizontal text: wider than tall unless it is one or two characters (rotated text is left out)."""
    x0, y0, x1, y1 = piece[1]
    return x1 > x0 and y1 > y0 and (x1 - x0 >= y1 - y0 or len(piece[0].strip()) <= 2)


def aligned_tables(pieces: Sequence[Piece], options: AlignOptions = AlignOptions()) -> list[AlignedTable]:
    """The tables that text alignment shows among ``pieces`` (see the module docstring)."""
    pieces = [Piece(*p) for p in pieces if p[0].strip() and _horizontal(Piece(*p))]
    rows = [_joined(row, options.min_gutter) for row in text_rows(pieces)]
    tables = []
    for run in candidate_runs(rows, options):
        table = _table_of(run, options)
        if table is not None:
            tables.append(table)
    return tables
