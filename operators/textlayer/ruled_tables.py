"""Tables drawn with ruling lines: grids from a page's horizontal and vertical line segments.

Pure functions over segments ``(x0, y0, x1, y1)`` in page points (see :mod:`.pdf_segments`):

1. collinear pieces are merged into lines (a cell border drawn as one stroke per cell is one line);
2. horizontal and vertical lines that cross or touch are connected; every connected group with at least
   three of each (two rows and two columns) is a candidate grid;
3. the grid's row and column separators are the distinct positions of its lines; between two neighbouring
   slots a separator is *present* when lines cover most of the shared edge, and slots without a separator
   between them merge into one cell (rowspan / colspan);
4. a candidate is a table when its cells hold text (a chart's gridlines hold none; the labels are outside);
5. row labels set just beside the ruled cells, one line per row band (:func:`with_side_labels`), are one more
   column of the table.

:func:`is_fully_ruled` tells whether a grid's rows are all drawn: when several cells of one row each hold
lines of text at the same heights, the rows between them were not ruled and the grid from the rules alone
would glue them together.
"""

from __future__ import annotations

import bisect
import statistics
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from docray.models.protocols import TableCell
from docray.models.table_cells import Box, Word, cell_text, table_html

Segment = tuple[float, float, float, float]
SNAP = 2.0  # points: lines this close across their direction are one line; separators this close are one
JOIN = 3.0  # points: collinear pieces with a gap this small are one line; crossing tolerance
COVER = 0.6  # share of a slot edge that lines must cover for the edge to count as a separator
MIN_BAND = 4.0  # points: rows or columns thinner than this (double rules) are no band
MAX_LABEL_GAP = 3.0  # text heights between a grid and the row labels set beside it


@dataclass(frozen=True, slots=True)
class Line:
    """A merged horizontal (``at`` = y, span along x) or vertical (``at`` = x, span along y) line."""

    at: float
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class RuledGrid:
    """A grid read from rules: separators and the cells (slot indices, spans, boxes in points)."""

    bbox: Box
    rows: tuple[tuple[float, float], ...]  # every row separator's y extent, top to bottom (num_rows + 1 values)
    cols: tuple[tuple[float, float], ...]  # every column separator's x extent (num_cols + 1 values)
    cells: tuple[TableCell, ...]

    @property
    def num_rows(self) -> int:
        return len(self.rows) - 1

    @property
    def num_cols(self) -> int:
        return len(self.cols) - 1


def merge_lines(segments: Sequence[Segment]) -> tuple[list[Line], list[Line]]:
    """Horizontal and vertical lines from segments: collinear pieces within :data:`SNAP` and :data:`JOIN` joined."""
    horizontal = [((s[1] + s[3]) / 2, s[0], s[2]) for s in segments if s[3] - s[1] <= s[2] - s[0]]
    vertical = [((s[0] + s[2]) / 2, s[1], s[3]) for s in segments if s[3] - s[1] > s[2] - s[0]]
    return _merge(horizontal), _merge(vertical)


def _merge(pieces: list[tuple[float, float, float]]) -> list[Line]:
    out: list[Line] = []
    for group in _clusters(sorted(pieces), key=lambda p: p[0]):
        at = statistics.median(p[0] for p in group)
        spans = sorted((p[1], p[2]) for p in group)
        start, end = spans[0]
        for s, e in spans[1:]:
            if s <= end + JOIN:
                end = max(end, e)
            else:
                out.append(Line(at, start, end))
                start, end = s, e
        out.append(Line(at, start, end))
    return out


def _clusters(items: list, key) -> list[list]:
    """Consecutive items of a sorted list whose keys differ by at most :data:`SNAP` from the previous one."""
    groups: list[list] = []
    for item in items:
        if groups and key(item) - key(groups[-1][-1]) <= SNAP:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def connected_groups(horizontal: list[Line], vertical: list[Line]) -> list[tuple[list[Line], list[Line]]]:
    """Groups of horizontal and vertical lines connected by crossings (within :data:`JOIN`)."""
    if not horizontal or not vertical:
        return []
    hy = np.array([h.at for h in horizontal])[:, None]
    hx0 = np.array([h.start for h in horizontal])[:, None]
    hx1 = np.array([h.end for h in horizontal])[:, None]
    vx = np.array([v.at for v in vertical])[None, :]
    vy0 = np.array([v.start for v in vertical])[None, :]
    vy1 = np.array([v.end for v in vertical])[None, :]
    cross = (vx >= hx0 - JOIN) & (vx <= hx1 + JOIN) & (hy >= vy0 - JOIN) & (hy <= vy1 + JOIN)
    parent = list(range(len(horizontal) + len(vertical)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(cross)):
        a, b = find(int(i)), find(len(horizontal) + int(j))
        if a != b:
            parent[a] = b
    groups: dict[int, tuple[list[Line], list[Line]]] = {}
    for i, h in enumerate(horizontal):
        if cross[i].any():
            groups.setdefault(find(i), ([], []))[0].append(h)
    for j, v in enumerate(vertical):
        if cross[:, j].any():
            groups.setdefault(find(len(horizontal) + j), ([], []))[1].append(v)
    return list(groups.values())


Band = tuple[float, float]  # a separator: the span of positions its lines lie at (double rules are one separator)


def _separators(lines: list[Line], low: float, high: float) -> list[Band]:
    positions = sorted(line.at for line in lines if low - JOIN <= line.at <= high + JOIN)
    out: list[Band] = []
    for group in _clusters(positions, key=lambda p: p):
        if out and group[0] - out[-1][1] < MIN_BAND:
            out[-1] = (out[-1][0], group[-1])
        else:
            out.append((group[0], group[-1]))
    return out


def _near(lines: list[Line], band: Band) -> list[Line]:
    """The lines that lie within ``band``, give or take :data:`SNAP`."""
    return [ln for ln in lines if band[0] - SNAP - 0.5 <= ln.at <= band[1] + SNAP + 0.5]


def _covered(lines: list[Line], start: float, end: float) -> bool:
    """Whether ``lines`` (the lines of one separator) cover at least :data:`COVER` of ``start..end``."""
    spans = sorted((max(start, ln.start), min(end, ln.end)) for ln in lines)
    total, reach = 0.0, start
    for s, e in spans:
        s = max(s, reach)
        if e > s:
            total += e - s
            reach = e
    return total >= COVER * (end - start)


def group_bands(horizontal: list[Line], vertical: list[Line]) -> tuple[list[Band], list[Band]]:
    """The row and column separators of one connected group of lines.

    Where the horizontal rules run on past the outermost vertical rule (a table ruled between its inner
    columns only), their ends bound one more column on that side; vertical rules past the outermost
    horizontal ones bound one more row alike.
    """
    top = min(v.start for v in vertical)
    bottom = max(v.end for v in vertical)
    left = min(h.start for h in horizontal)
    right = max(h.end for h in horizontal)
    rows, cols = _separators(horizontal, top, bottom), _separators(vertical, left, right)
    if rows and cols:
        rows = _outer(rows, [v.start for v in vertical], [v.end for v in vertical])
        cols = _outer(cols, [h.start for h in horizontal], [h.end for h in horizontal])
    return rows, cols


def _outer(bands: list[Band], starts: list[float], ends: list[float]) -> list[Band]:
    """``bands`` with one more separator before (after) them where half of the crossing lines start (end) at
    least :data:`MIN_BAND` before (after) the first (last) band."""
    first, last = bands[0][0], bands[-1][1]
    before = sorted(s for s in starts if s < first - MIN_BAND)
    after = sorted(e for e in ends if e > last + MIN_BAND)
    out = list(bands)
    if len(before) * 2 >= len(starts):
        out.insert(0, (before[-len(before) // 2], before[-len(before) // 2]))
    if len(after) * 2 >= len(ends):
        out.append((after[len(after) // 2], after[len(after) // 2]))
    return out


def grid_of(horizontal: list[Line], vertical: list[Line], rows: list[Band], cols: list[Band]) -> RuledGrid | None:
    """The cell grid between separators ``rows`` and ``cols``, or None with fewer than two rows or columns.

    Cells span from the inner edge of one separator to the inner edge of the next.
    """
    if len(rows) < 3 or len(cols) < 3:
        return None
    n_rows, n_cols = len(rows) - 1, len(cols) - 1
    parent = list(range(n_rows * n_cols))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    col_lines = [_near(vertical, band) for band in cols]
    row_lines = [_near(horizontal, band) for band in rows]
    for r in range(n_rows):
        for c in range(n_cols):
            if c + 1 < n_cols and not _covered(col_lines[c + 1], rows[r][1], rows[r + 1][0]):
                union(r * n_cols + c, r * n_cols + c + 1)
            if r + 1 < n_rows and not _covered(row_lines[r + 1], cols[c][1], cols[c + 1][0]):
                union(r * n_cols + c, (r + 1) * n_cols + c)
    cells = _rectangular_cells(find, n_rows, n_cols, rows, cols)
    return RuledGrid((cols[0][0], rows[0][0], cols[-1][1], rows[-1][1]), tuple(rows), tuple(cols), tuple(cells))


def _rectangular_cells(find, n_rows: int, n_cols: int, rows: list[Band], cols: list[Band]) -> list[TableCell]:
    """One cell per merged slot group, as the group's bounding slot rectangle; overlapping rectangles merge."""
    rects: dict[int, list[int]] = {}
    for r in range(n_rows):
        for c in range(n_cols):
            rect = rects.setdefault(find(r * n_cols + c), [r, c, r, c])
            rect[0], rect[1] = min(rect[0], r), min(rect[1], c)
            rect[2], rect[3] = max(rect[2], r), max(rect[3], c)
    boxes = list(rects.values())
    merged = sum((b[2] - b[0] + 1) * (b[3] - b[1] + 1) for b in boxes) > n_rows * n_cols  # some rectangles overlap
    while merged:  # an L-shaped group's rectangle covers other groups: take them in
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]:
                    boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    boxes.sort(key=lambda b: (b[0], b[1]))
    return [
        TableCell(
            row=r0,
            col=c0,
            rowspan=r1 - r0 + 1,
            colspan=c1 - c0 + 1,
            box=(cols[c0][1], rows[r0][1], cols[c1 + 1][0], rows[r1 + 1][0]),
        )
        for r0, c0, r1, c1 in boxes
    ]


def words_in_cells(grid: RuledGrid, words: Sequence[Word]) -> list[list[Word]]:
    """The words whose centre lies in each cell of ``grid`` (``grid.cells`` order); a centre on a separator goes to
    the slot it is nearer to."""
    out: list[list[Word]] = [[] for _ in grid.cells]
    slots: dict[tuple[int, int], int] = {}
    for k, cell in enumerate(grid.cells):
        for r in range(cell.row, cell.row + cell.rowspan):
            for c in range(cell.col, cell.col + cell.colspan):
                slots[(r, c)] = k
    row_cuts = [(a + b) / 2 for a, b in grid.rows]
    col_cuts = [(a + b) / 2 for a, b in grid.cols]
    for word in words:
        x, y = (word.box[0] + word.box[2]) / 2, (word.box[1] + word.box[3]) / 2
        if not (row_cuts[0] <= y <= row_cuts[-1] and col_cuts[0] <= x <= col_cuts[-1]):
            continue
        r = min(bisect.bisect_right(row_cuts, y) - 1, grid.num_rows - 1)
        c = min(bisect.bisect_right(col_cuts, x) - 1, grid.num_cols - 1)
        k = slots.get((r, c))
        if k is not None:
            out[k].append(word)
    return out


def _thin_empty_bands(bands: list[Band], centres: list[float], thin: float) -> list[Band]:
    """``bands`` with every pair of neighbours that enclose no word centre and lie less than ``thin`` apart made one."""
    out = [bands[0]]
    for band in bands[1:]:
        lo, hi = out[-1][1], band[0]
        empty = not any(lo < c < hi for c in centres)
        if empty and hi - lo < thin:
            out[-1] = (out[-1][0], band[1])
        else:
            out.append(band)
    return out


def _encloses(outer: RuledGrid, inner: RuledGrid) -> bool:
    a, b = outer.bbox, inner.bbox
    inside = a[0] <= b[0] + JOIN and a[1] <= b[1] + JOIN and a[2] >= b[2] - JOIN and a[3] >= b[3] - JOIN
    return outer is not inner and inside


def ruled_grids(segments: Sequence[Segment], words: Sequence[Word], min_filled: float = 0.3) -> list[RuledGrid]:
    """The page's ruled tables: grids of connected rules with text in at least two cells and ``min_filled`` of them.

    Rows or columns thinner than a line of text with no text in them (the gap of a double rule) are no band of
    their own; a grid that holds another grid (a page frame, a form around a table) is no table.
    """
    horizontal, vertical = merge_lines(segments)
    text_height = statistics.median([w.box[3] - w.box[1] for w in words]) if words else MIN_BAND
    grids = []
    for hs, vs in connected_groups(horizontal, vertical):
        if len(hs) < 2 or len(vs) < 2:
            continue
        rows, cols = group_bands(hs, vs)
        if len(rows) < 3 or len(cols) < 3:
            continue
        inside = [
            w
            for w in words
            if cols[0][0] <= (w.box[0] + w.box[2]) / 2 <= cols[-1][1]
            and rows[0][0] <= (w.box[1] + w.box[3]) / 2 <= rows[-1][1]
        ]
        rows = _thin_empty_bands(rows, [(w.box[1] + w.box[3]) / 2 for w in inside], text_height)
        cols = _thin_empty_bands(cols, [(w.box[0] + w.box[2]) / 2 for w in inside], text_height)
        grid = grid_of(hs, vs, rows, cols)
        if grid is None:
            continue
        filled = sum(1 for ws in words_in_cells(grid, inside) if ws)
        if filled >= 2 and filled >= min_filled * len(grid.cells):
            grids.append(grid)
    grids = [g for g in grids if not any(_encloses(g, other) for other in grids)]
    return [with_side_labels(g, words, [other.bbox for other in grids if other is not g], text_height) for g in grids]


def _row_of(grid: RuledGrid, word: Word) -> int | None:
    """The row band that holds ``word`` whole (give or take a quarter of its height), or None."""
    y0, y1 = word.box[1], word.box[3]
    slack = (y1 - y0) / 4
    for r in range(grid.num_rows):
        if grid.rows[r][0] - slack <= y0 and y1 <= grid.rows[r + 1][1] + slack:
            return r
    return None


def _side_labels(
    grid: RuledGrid, words: Sequence[Word], left: bool, text_height: float
) -> dict[int, list[Word]] | None:
    """The words beside the grid on one side that label its rows (see :func:`with_side_labels`), by row."""
    x_edge = grid.bbox[0] if left else grid.bbox[2]
    top, bottom = grid.bbox[1], grid.bbox[3]
    side = [
        w
        for w in words
        if top < (w.box[1] + w.box[3]) / 2 < bottom and (w.box[2] <= x_edge if left else w.box[0] >= x_edge)
    ]
    by_row: dict[int, list[Word]] = {}
    for word in side:
        r = _row_of(grid, word)
        if r is None:
            return None  # text across a row rule: not the rows' labels (prose beside the table)
        by_row.setdefault(r, []).append(word)
    if not by_row:
        return None
    for ws in by_row.values():
        if len(_line_centres(ws)) > 1:
            return None  # two lines in one row: prose, not a label per row
        xs = sorted((w.box[0], w.box[2]) for w in ws)
        if any(b[0] - a[1] > 2 * text_height for a, b in zip(xs, xs[1:])):
            return None  # a wide gap: text further out, not a label
    labels = [w for ws in by_row.values() for w in ws]
    near = max(w.box[2] for w in labels) if left else min(w.box[0] for w in labels)
    if abs(x_edge - near) > MAX_LABEL_GAP * text_height:
        return None
    texts_rows = {cell.row for cell, ws in zip(grid.cells, words_in_cells(grid, words)) if ws}
    if len(by_row) < 2 or 2 * len(by_row) < len(texts_rows):
        return None
    return by_row


def with_side_labels(
    grid: RuledGrid, words: Sequence[Word], others: Sequence[Box] = (), text_height: float = MIN_BAND
) -> RuledGrid:
    """``grid`` with one more column on a side where its rows go on into unruled text: row labels set just
    left (or right) of the ruled cells.

    The words beside the grid (not in ``others``, the page's other grids) count when each lies within one row band,
    a row holds one line of them with no wide gap, they end at most :data:`MAX_LABEL_GAP` text heights from the
    grid, and they label at least two rows and half of the rows that hold text.
    """
    free = [w for w in words if not any(_inside_box(w, box) for box in others)]
    for left in (True, False):
        labels = _side_labels(grid, free, left, text_height)
        if labels is None:
            continue
        ws = [w for row in labels.values() for w in row]
        edge = min(w.box[0] for w in ws) - 1.0 if left else max(w.box[2] for w in ws) + 1.0
        grid = _add_column(grid, edge, left)
    return grid


def _inside_box(word: Word, box: Box) -> bool:
    x, y = (word.box[0] + word.box[2]) / 2, (word.box[1] + word.box[3]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _add_column(grid: RuledGrid, edge: float, left: bool) -> RuledGrid:
    """``grid`` with a column of single cells from ``edge`` to its first (``left``) or last column separator."""
    shift = 1 if left else 0
    cols = ((edge, edge), *grid.cols) if left else (*grid.cols, (edge, edge))
    inner = grid.cols[0][0] if left else grid.cols[-1][1]
    cells = [replace(c, col=c.col + shift) for c in grid.cells]
    for r in range(grid.num_rows):
        top, bottom = grid.rows[r][1], grid.rows[r + 1][0]
        box = (edge, top, inner, bottom) if left else (inner, top, edge, bottom)
        cells.append(TableCell(row=r, col=0 if left else grid.num_cols, rowspan=1, colspan=1, box=box))
    cells.sort(key=lambda c: (c.row, c.col))
    x0, y0, x1, y1 = grid.bbox
    bbox = (edge, y0, x1, y1) if left else (x0, y0, edge, y1)
    return RuledGrid(bbox, grid.rows, cols, tuple(cells))


def _line_centres(words: Sequence[Word]) -> list[float]:
    centres: list[float] = []
    for y in sorted((w.box[1] + w.box[3]) / 2 for w in words):
        if not centres or y - centres[-1] > 2.0:
            centres.append(y)
    return centres


def is_fully_ruled(grid: RuledGrid, words: Sequence[Word], min_lines: int = 3) -> bool:
    """False when rows were laid out but not ruled: row bands that hold, in at least two cells and half of their
    cells, ``min_lines`` or more text lines at the same heights, and that hold half of the grid's text lines
    (a header row whose headings wrap onto three lines holds few of them)."""
    texts = words_in_cells(grid, words)
    by_row: dict[tuple[int, int], list[list[float]]] = {}
    for cell, ws in zip(grid.cells, texts):
        by_row.setdefault((cell.row, cell.rowspan), []).append(_line_centres(ws))
    total = sum(len(lines) for cells in by_row.values() for lines in cells)
    stacked_lines = 0
    for cells in by_row.values():
        stacked = [c for c in cells if len(c) >= min_lines]
        if len(stacked) < 2 or len(stacked) * 2 < len(cells):
            continue
        first = stacked[0]
        if any(sum(any(abs(a - b) <= 2.0 for b in other) for a in first) >= min_lines for other in stacked[1:]):
            stacked_lines += sum(len(lines) for lines in cells)
    return stacked_lines * 2 < total


def grid_html(grid: RuledGrid, words: Sequence[Word]) -> str:
    """The grid as ``<table>`` HTML with each cell's words (lines joined by spaces)."""
    texts = [cell_text(ws) for ws in words_in_cells(grid, words)]
    return table_html(list(grid.cells), texts)
