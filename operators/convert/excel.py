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

from openpyxl import load_workbook

from docray.operators.convert.blocks import ConvertedPage, PageBuilder
from docray.operators.convert.sheet_tables import sheet_blocks


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
    merges = [(r.min_row, r.min_col, r.max_row, r.max_col) for r in sheet.merged_cells.ranges]
    sheet_blocks(builder, values, merges)
    for image in getattr(sheet, "_images", []):
        try:
            builder.image(image._data())
        except Exception:
            builder.image(None)
