"""Cell text for a recognised table structure: pure functions over boxes in one coordinate space.

Text arrives as pieces with boxes (text-layer spans on ``txt`` pages, OCR lines on ``ocr`` pages).
Pieces are split into words with boxes estimated from character proportions, so a span or OCR
line that crosses a column rule still lands in the right cells.  A word that one cell box clearly
covers goes to that cell; any other word goes to the grid slot its centre falls in, with row and
column boundaries from all cell boxes of a row or column together (a model's single cell box is
often off by a line or too wide).  Words of a cell are ordered in lines, top to bottom, left to right.
"""

from __future__ import annotations

import bisect
import html
import re
import statistics
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from docray.models.protocols import PixelBox, TableCell
from docray.models.table_grid import grid_size

Box = tuple[float, float, float, float]
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    box: Box


def split_words(text: str, box: Sequence[float]) -> list[Word]:
    """The words of a horizontal text piece, each with a box cut from ``box`` by character position."""
    x0, y0, x1, y1 = (float(v) for v in box)
    n = len(text)
    if n == 0:
        return []
    per_char = (x1 - x0) / n
    return [Word(m.group(), (x0 + m.start() * per_char, y0, x0 + m.end() * per_char, y1)) for m in _WORD.finditer(text)]


def words_of(pieces: Iterable[tuple[str, Sequence[float]]]) -> list[Word]:
    """Words of ``(text, box)`` pieces (spans or OCR lines)."""
    return [w for text, box in pieces if text and box is not None for w in split_words(text, box)]


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _intersection(a: Box, b: Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _center(b: Box) -> tuple[float, float]:
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


def _inside(point: tuple[float, float], b: Box) -> bool:
    return b[0] <= point[0] <= b[2] and b[1] <= point[1] <= b[3]


def _distance(point: tuple[float, float], b: Box) -> float:
    dx = max(b[0] - point[0], 0.0, point[0] - b[2])
    dy = max(b[1] - point[1], 0.0, point[1] - b[3])
    return (dx * dx + dy * dy) ** 0.5


def _edges(starts: dict[int, list[float]], ends: dict[int, list[float]], count: int) -> list[float]:
    """Boundaries between consecutive bands: midway from where band k ends to where band k+1 starts."""
    edges: list[float] = []
    for k in range(count - 1):
        end = statistics.median(ends[k]) if ends.get(k) else None
        start = statistics.median(starts[k + 1]) if starts.get(k + 1) else None
        if end is not None and start is not None:
            edge = (end + start) / 2
        else:
            edge = end if end is not None else start if start is not None else (edges[-1] if edges else float("-inf"))
        edges.append(max(edge, edges[-1]) if edges else edge)
    return edges


def grid_edges(cells: Sequence[TableCell]) -> tuple[list[float], list[float]]:
    """Row and column boundaries of a grid from its cell boxes (``num_rows - 1`` and ``num_cols - 1`` values).

    Row k ends at the median bottom of the cells that end in it, row k+1 starts at the median top of
    the cells that start in it, and the boundary lies midway; columns alike.  The medians outvote
    one cell box that the model placed a line too low or made too wide.
    """
    num_rows, num_cols = grid_size(cells)
    row_starts: dict[int, list[float]] = {}
    row_ends: dict[int, list[float]] = {}
    col_starts: dict[int, list[float]] = {}
    col_ends: dict[int, list[float]] = {}
    for cell in cells:
        x0, y0, x1, y1 = cell.box
        row_starts.setdefault(cell.row, []).append(y0)
        row_ends.setdefault(cell.row + cell.rowspan - 1, []).append(y1)
        col_starts.setdefault(cell.col, []).append(x0)
        col_ends.setdefault(cell.col + cell.colspan - 1, []).append(x1)
    return _edges(row_starts, row_ends, num_rows), _edges(col_starts, col_ends, num_cols)


def _overlaps(word: Word, boxes: Sequence[Box]) -> list[float]:
    area = _area(word.box)
    return [_intersection(word.box, box) / area if area > 0 else 0.0 for box in boxes]


def _extent(cells: Sequence[TableCell]) -> Box:
    """The union of the cell boxes, grown by half a median cell height: where cell text can be."""
    heights = [c.box[3] - c.box[1] for c in cells if c.rowspan == 1] or [c.box[3] - c.box[1] for c in cells]
    margin = max(0.0, statistics.median(heights)) / 2
    return (
        min(c.box[0] for c in cells) - margin,
        min(c.box[1] for c in cells) - margin,
        max(c.box[2] for c in cells) + margin,
        max(c.box[3] for c in cells) + margin,
    )


def assign_words(
    words: Sequence[Word], cells: Sequence[TableCell], region: Box, decisive: float = 0.6
) -> list[list[Word]]:
    """The words of each cell (cell boxes in the words' coordinates).

    Words whose centre lies outside ``region`` or outside the cells' extent (text below a loose
    layout box) are dropped.  A word that one cell box covers for at least ``decisive`` of its area,
    with no other box covering a third as much, goes to that cell.  Otherwise it goes to the grid slot
    its centre falls in (rows and columns bounded by :func:`grid_edges`), i.e. the cell covering that
    slot; where no cell covers the slot (a malformed grid), to the box that covers most of it or the
    nearest.
    """
    out: list[list[Word]] = [[] for _ in cells]
    if not cells:
        return out
    extent = _extent(cells)
    row_edges, col_edges = grid_edges(cells)
    slots: dict[tuple[int, int], int] = {}
    for index, cell in enumerate(cells):
        for r in range(cell.row, cell.row + cell.rowspan):
            for c in range(cell.col, cell.col + cell.colspan):
                slots.setdefault((r, c), index)
    boxes = [cell.box for cell in cells]
    for word in words:
        center = _center(word.box)
        if not (_inside(center, region) and _inside(center, extent)):
            continue
        overlaps = _overlaps(word, boxes)
        ranked = sorted(range(len(boxes)), key=overlaps.__getitem__, reverse=True)
        best = ranked[0]
        runner_up = overlaps[ranked[1]] if len(ranked) > 1 else 0.0
        if overlaps[best] >= decisive and runner_up < overlaps[best] / 3:
            out[best].append(word)
            continue
        index = slots.get((bisect.bisect_left(row_edges, center[1]), bisect.bisect_left(col_edges, center[0])))
        if index is None:
            index = best if overlaps[best] > 0 else min(range(len(boxes)), key=lambda i: _distance(center, boxes[i]))
        out[index].append(word)
    return out


def stretch_rows_to_text(cells: Sequence[TableCell], words: Sequence[Word], region: Box) -> list[TableCell]:
    """The cells with their boxes stretched vertically onto the text, when the model's rows fall short of it.

    A structure model's cell boxes can drift: on a long table each row's box sits a little higher than the
    one before, until the last rows' boxes cover the text of the rows above and the last line of text lies
    below every box (its words were dropped and the rows below an empty one moved up).  When the first row's
    boxes start on the first line of the words in ``region`` (within half a row) and the words reach more than
    half a row below the last row's boxes in two of its columns or more, the boxes are mapped linearly so that
    the first row's median top lies on the top of the text and the last row's median bottom on its bottom, when
    that stretch is the drift's: the text lines lie apart by (within 10%) the stretched row pitch and not by the
    model's (a footnote mark under a table whose rows sit on their lines stretches nothing).  Boxes that cover
    the text are left as they are.
    """
    num_rows, _ = grid_size(cells)
    inside = [w for w in words if _inside(_center(w.box), region)]
    if num_rows < 2 or not inside:
        return list(cells)
    first = [c for c in cells if c.row == 0]
    last = [c for c in cells if c.row + c.rowspan == num_rows]
    top = statistics.median(c.box[1] for c in first)
    bottom = statistics.median(c.box[3] for c in last)
    text_top = min(w.box[1] for w in inside)
    text_bottom = max(w.box[3] for w in inside)
    row_height = (bottom - top) / num_rows
    if row_height <= 0 or abs(top - text_top) > row_height / 2 or text_bottom - bottom <= row_height / 2:
        return list(cells)  # the first row is not on the first line, or the last row reaches the last line
    below = [w for w in inside if _center(w.box)[1] > bottom + row_height / 2]
    columns = {i for w in below for i, c in enumerate(last) if c.box[0] <= _center(w.box)[0] <= c.box[2]}
    if len(columns) < 2:  # what lies below is not a row of the table (a note, a footnote mark)
        return list(cells)
    scale = (text_bottom - text_top) / (bottom - top)
    if not 0.5 <= scale <= 2.0:  # not a drift: text that is not the table's
        return list(cells)

    def y(v: float) -> float:
        return text_top + (v - top) * scale

    lines = _line_centres(inside)
    if len(lines) < 3:
        return list(cells)
    pitch = statistics.median(b - a for a, b in zip(lines, lines[1:])) / _row_pitch(cells, num_rows, row_height)
    if abs(pitch - 1.0) < 0.04 or abs(scale - pitch) > 0.1:  # the rows are not squeezed as the lines are spread
        return list(cells)
    return [replace(c, box=(c.box[0], y(c.box[1]), c.box[2], y(c.box[3]))) for c in cells]


def _row_pitch(cells: Sequence[TableCell], num_rows: int, fallback: float) -> float:
    """The model's row pitch: from the centre of the first row of single-row cells to that of the last."""
    ends = []
    for k in (0, num_rows - 1):
        ys = [(c.box[1] + c.box[3]) / 2 for c in cells if c.row == k and c.rowspan == 1]
        if ys:
            ends.append(statistics.median(ys))
    return max((ends[1] - ends[0]) / (num_rows - 1), 1e-6) if len(ends) == 2 else fallback


def _line_centres(words: Sequence[Word]) -> list[float]:
    """Centres of the text lines of ``words`` (words whose centres fall within a line's height are one line)."""
    lines: list[list[float]] = []  # top, bottom of each line
    for word in sorted(words, key=lambda w: (w.box[1] + w.box[3]) / 2):
        mid = (word.box[1] + word.box[3]) / 2
        if lines and lines[-1][0] <= mid <= lines[-1][1]:
            lines[-1][0], lines[-1][1] = min(lines[-1][0], word.box[1]), max(lines[-1][1], word.box[3])
        else:
            lines.append([word.box[1], word.box[3]])
    return [(a + b) / 2 for a, b in lines]


def cell_text(words: Sequence[Word]) -> str:
    """Words joined in reading order: lines top to bottom (by vertical overlap), left to right."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.box[1] + w.box[3]) / 2):
        mid = (word.box[1] + word.box[3]) / 2
        if lines:
            last = lines[-1]
            top = min(w.box[1] for w in last)
            bottom = max(w.box[3] for w in last)
            if top <= mid <= bottom:
                last.append(word)
                continue
        lines.append([word])
    return " ".join(w.text for line in lines for w in sorted(line, key=lambda w: w.box[0]))


def table_html(cells: Sequence[TableCell], texts: Sequence[str]) -> str:
    """``<table><tr><td ...>text</td>...</tr>...</table>`` with HTML-escaped text; one ``<tr>`` per grid row."""
    num_rows, _ = grid_size(cells)
    by_row: list[list[tuple[TableCell, str]]] = [[] for _ in range(num_rows)]
    for cell, text in zip(cells, texts):
        by_row[cell.row].append((cell, text))
    parts = ["<table>"]
    for row in by_row:
        parts.append("<tr>")
        for cell, text in sorted(row, key=lambda item: item[0].col):
            attributes = (f' rowspan="{cell.rowspan}"' if cell.rowspan > 1 else "") + (
                f' colspan="{cell.colspan}"' if cell.colspan > 1 else ""
            )
            parts.append(f"<td{attributes}>{html.escape(text, quote=False)}</td>")
        parts.append("</tr>")
    parts.append("</table>")
    return "".join(parts)


def to_page_box(box: PixelBox, offset: tuple[float, float], points_per_pixel: float) -> Box:
    """A box in a crop's pixels to page points, given the crop's top-left in page pixels."""
    return (
        (box[0] + offset[0]) * points_per_pixel,
        (box[1] + offset[1]) * points_per_pixel,
        (box[2] + offset[0]) * points_per_pixel,
        (box[3] + offset[1]) * points_per_pixel,
    )
