"""Excel (OOXML .xlsx/.xlsm) to blocks, with openpyxl.  A page is a sheet, in workbook order.

Each sheet starts with its name as a level-1 title.  Its non-empty cells are grouped into tables:
cells that touch (side by side or one above the other; a merged range counts as one cell over its
area) form one table, spanning the bounding box of the group, with merged ranges as row/col spans.
A group of one cell is a paragraph (a sheet title, a note), not a one-cell table.  Tables come in
the order of their top-left cell (top to bottom, then left to right).  Values are the cached
results of formulas (``data_only``); numbers without a fractional part are written as integers,
dates in ISO form.  Embedded pictures are figures after the tables.  Charts are not read (their
data is in the sheet's cells); a chart sheet is a page with its title only.
"""

from __future__ import annotations

import datetime
import io
from collections import deque

from openpyxl import load_workbook

from docray.operators.convert.blocks import Cell, ConvertedPage, PageBuilder


def convert(data: bytes) -> list[ConvertedPage]:
    workbook = load_workbook(io.BytesIO(data), data_only=True, rich_text=False)
    pages = []
    for sheet in workbook._sheets:  # worksheets and chart sheets, in tab order
        builder = PageBuilder()
        builder.title(sheet.title, 1)
        if hasattr(sheet, "merged_cells"):
            _worksheet(builder, sheet)
        pages.append(builder.page())
    return pages


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}" if abs(value) >= 1e15 else repr(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        text = value.isoformat()
        return text.removesuffix("T00:00:00")
    return str(value).strip()


def _worksheet(builder: PageBuilder, sheet) -> None:
    values = {key: cell_text(cell.value) for key, cell in sheet._cells.items()}  # (row, col) -> text; sparse
    values = {key: text for key, text in values.items() if text}
    merges = [(r.min_row, r.min_col, r.max_row, r.max_col) for r in sheet.merged_cells.ranges]
    covered = {}
    for top, left, bottom, right in merges:
        for row in range(top, bottom + 1):
            for col in range(left, right + 1):
                covered[(row, col)] = (top, left)
    for top, left, bottom, right in _regions(set(values) | {m[:2] for m in merges if m[:2] in values}, merges):
        if (top, left) == (bottom, right) or (covered.get((top, left)) == (top, left) and _one_merge(merges, top, left, bottom, right)):
            builder.text(values.get((top, left), ""))
            continue
        builder.table(_grid(values, merges, covered, top, left, bottom, right))
    for image in getattr(sheet, "_images", []):
        try:
            builder.image(image._data())
        except Exception:
            builder.image(None)


def _one_merge(merges, top, left, bottom, right) -> bool:
    return (top, left, bottom, right) in merges


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
