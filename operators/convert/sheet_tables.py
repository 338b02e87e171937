"""A sheet's cells (Excel, OpenDocument spreadsheets) as tables: groups of touching cells, merged ranges as spans.

Cells that touch (side by side or one above the other; a merged range counts as one cell over its
area) form one table spanning the group's bounding box.  A group of one cell (or of one merged
range) is a paragraph, not a one-cell table.  Groups come in the order of their top-left cell.
"""

from __future__ import annotations

from collections import deque

from docray.operators.convert.blocks import Cell, PageBuilder

Merge = tuple[int, int, int, int]  # top, left, bottom, right (inclusive)


def sheet_blocks(builder: PageBuilder, values: dict[tuple[int, int], str], merges: list[Merge]) -> None:
    """Tables and paragraphs of a sheet's non-empty ``values`` ((row, col) -> text) to ``builder``."""
    values = {key: text for key, text in values.items() if text}
    covered = {}
    for top, left, bottom, right in merges:
        for row in range(top, bottom + 1):
            for col in range(left, right + 1):
                covered[(row, col)] = (top, left)
    for top, left, bottom, right in _regions(set(values), merges):
        if (top, left) == (bottom, right) or (top, left, bottom, right) in merges:
            builder.text(values.get((top, left), ""))
            continue
        builder.table(_grid(values, merges, covered, top, left, bottom, right))

def _regions(cells: set[tuple[int, int]], merges) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (top, left, bottom, right) of the groups of touching cells, in reading order."""
    area: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for merge in merges:
        if merge[:2] in cells:
            for row in range(merge[0], merge[2] + 1):
                for col in range(merge[1], merge[3] + 1):
                    area[(row, col)] = merge
    nodes = cells | set(area)
    seen: set[tuple[int, int]] = set()
    boxes = []
    for start in sorted(nodes):
        if start in seen:
            continue
        seen.add(start)
        queue = deque([start])
        rows, cols = [], []
        while queue:
            row, col = queue.popleft()
            rows.append(row)
            cols.append(col)
            for nxt in ((row + 1, col), (row - 1, col), (row, col + 1), (row, col - 1)):
                if nxt in nodes and nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        boxes.append((min(rows), min(cols), max(rows), max(cols)))
    return sorted(boxes)


def _grid(values, merges, covered, top, left, bottom, right) -> list[list[Cell]]:
    spans = {(m[0], m[1]): (m[2] - m[0] + 1, m[3] - m[1] + 1) for m in merges}
    rows = []
    for row in range(top, bottom + 1):
        cells = []
        for col in range(left, right + 1):
            origin = covered.get((row, col))
            if origin is not None and origin != (row, col):
                continue
            rowspan, colspan = spans.get((row, col), (1, 1))
            cells.append(Cell(values.get((row, col), ""), rowspan=min(rowspan, bottom - row + 1), colspan=min(colspan, right - col + 1)))
        rows.append(cells)
    return rows
