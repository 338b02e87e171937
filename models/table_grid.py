"""Table structure tokens to a cell grid: pure functions, no model.

SLANet-style models emit HTML structure tokens: ``<tr>``, ``</tr>``, ``<td></td>`` (a plain cell),
or a spanning cell as ``<td``, `` colspan="2"`` / `` rowspan="3"``, ``>``, ``</td>``; plus
``<thead>``/``<tbody>`` wrappers.  One box comes with every token that opens a cell.  This module
turns a token list and those boxes into :class:`~docray.models.protocols.TableCell` objects with
row, column, rowspan and colspan, placing each cell in the first grid column not already taken by a
row-spanning cell from a row above.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from docray.models.protocols import PixelBox, TableCell

CELL_OPENERS = frozenset({"<td></td>", "<td", "<td>"})
_SPAN = re.compile(r'\s*(rowspan|colspan)\s*=\s*"?(\d+)"?')


def span_attribute(token: str) -> tuple[str, int] | None:
    """``(' colspan="3"')`` -> ``("colspan", 3)``; None for a token that is not a span attribute."""
    match = _SPAN.fullmatch(token)
    if not match:
        return None
    return match.group(1), max(1, int(match.group(2)))


def cells_from_tokens(tokens: Sequence[str], boxes: Sequence[PixelBox]) -> list[TableCell]:
    """The cells of a structure token sequence; ``boxes[i]`` is the box of the i-th cell-opening token.

    Tolerates malformed sequences: a cell before any ``<tr>`` opens a row, a missing ``</tr>`` is
    implied by the next ``<tr>``, and missing boxes become zero boxes.
    """
    cells: list[TableCell] = []
    taken: set[tuple[int, int]] = set()  # grid slots covered by earlier cells (row-spans included)
    row = -1
    col = 0
    in_row = False
    pending: dict[str, int] | None = None  # attributes of a "<td" cell until its ">" closes the tag
    pending_box: PixelBox = (0.0, 0.0, 0.0, 0.0)
    box_index = 0

    def start_row() -> None:
        nonlocal row, col, in_row
        row += 1
        col = 0
        in_row = True

    def place(box: PixelBox, rowspan: int, colspan: int) -> None:
        nonlocal col
        if not in_row:
            start_row()
        while (row, col) in taken:
            col += 1
        cells.append(TableCell(row=row, col=col, box=box, rowspan=rowspan, colspan=colspan))
        for r in range(row, row + rowspan):
            for c in range(col, col + colspan):
                taken.add((r, c))
        col += colspan

    def next_box() -> PixelBox:
        nonlocal box_index
        box = tuple(boxes[box_index]) if box_index < len(boxes) else (0.0, 0.0, 0.0, 0.0)
        box_index += 1
        return box  # type: ignore[return-value]

    for token in tokens:
        if pending is not None:
            attribute = span_attribute(token)
            if attribute is not None:
                pending[attribute[0]] = attribute[1]
                continue
            place(pending_box, pending.get("rowspan", 1), pending.get("colspan", 1))
            pending = None
            if token == ">":
                continue
        if token == "<tr>":
            start_row()
        elif token == "</tr>":
            in_row = False
        elif token in ("<td></td>", "<td>"):
            place(next_box(), 1, 1)
        elif token == "<td":
            pending = {}
            pending_box = next_box()
    if pending is not None:
        place(pending_box, pending.get("rowspan", 1), pending.get("colspan", 1))
    # a row-span may not reach past the last row the tokens opened
    return [c if c.row + c.rowspan <= row + 1 else replace(c, rowspan=row + 1 - c.row) for c in cells]


def grid_size(cells: Sequence[TableCell]) -> tuple[int, int]:
    """``(num_rows, num_cols)`` of the grid the cells cover."""
    if not cells:
        return 0, 0
    return max(c.row + c.rowspan for c in cells), max(c.col + c.colspan for c in cells)
