"""A structure model's rows checked against the text in them: pure functions over cells and their words.

A table structure model reads rows from the image, and on dense tables it sometimes glues two rows into one
(each cell of the row then holds two lines, one above the other, at the same heights in every cell) or adds rows
that hold nothing (below the last row of text, between sections, or where the rows above slipped). Once the
words are in the cells:

* :func:`split_stacked_rows` splits a row whose filled cells all hold the same ``k`` lines (two or more filled
  cells, line ``i`` of each at the same height) into ``k`` rows, one line each; only below the table's first row
  of single-line cells (the body), so that a header row whose headings all wrap onto two lines stays one row, and
  only when at most a quarter of the body's rows are stacked (in a table whose every row sets a name over a
  title, the lines are stacked by design);
* :func:`drop_empty_rows` drops the rows without text (rows the model made of the space below the table or
  between its parts; on a page whose words are all known, such a row holds nothing to read).

Cells spanning over a split or dropped row grow or shrink with it.
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from typing import Sequence

from docray.models.protocols import TableCell
from docray.models.table_cells import Word
from docray.models.table_grid import grid_size

CellWords = list[tuple[TableCell, list[Word]]]
MAX_STACKED_SHARE = 0.25  # a model glues a few rows; when more of the body's rows are stacked, they are by design


def _mid(word: Word) -> float:
    return (word.box[1] + word.box[3]) / 2


def text_lines(words: Sequence[Word]) -> list[list[Word]]:
    """``words`` in lines, top to bottom: a word whose centre lies within the height of the line above joins it."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=_mid):
        if lines and min(w.box[1] for w in lines[-1]) <= _mid(word) <= max(w.box[3] for w in lines[-1]):
            lines[-1].append(word)
        else:
            lines.append([word])
    return lines


def _line_mid(line: Sequence[Word]) -> float:
    return statistics.median(_mid(w) for w in line)


def _stacked_lines(own: CellWords) -> int:
    """How many lines every filled cell of a row holds when they all hold the same lines (1 when they do not)."""
    filled = [text_lines(words) for _, words in own if words]
    if len(filled) < 2 or any(len(lines) != len(filled[0]) for lines in filled):
        return 1
    height = statistics.median(w.box[3] - w.box[1] for _, words in own for w in words)
    reference = [_line_mid(line) for line in filled[0]]
    for lines in filled[1:]:
        if any(abs(_line_mid(line) - y) > height / 2 for line, y in zip(lines, reference)):
            return 1
    return len(reference)


def _row(cell_words: CellWords, r: int) -> CellWords:
    return [(cell, words) for cell, words in cell_words if cell.row == r]


def split_stacked_rows(cell_words: CellWords) -> CellWords:
    """The cells (with their words) with every stacked row split into one row per line (module docstring)."""
    num_rows, _ = grid_size([cell for cell, _ in cell_words])
    body = next(
        (
            r
            for r in range(num_rows)
            if sum(1 for _, ws in _row(cell_words, r) if ws) >= 2
            and all(len(text_lines(ws)) <= 1 for _, ws in _row(cell_words, r))
        ),
        num_rows,
    )
    stacked = {}
    for r in range(body + 1, num_rows):
        own = _row(cell_words, r)
        k = 1 if any(cell.rowspan != 1 for cell, _ in own) else _stacked_lines(own)
        if k > 1:
            stacked[r] = k
    if len(stacked) > MAX_STACKED_SHARE * (num_rows - body):
        return list(cell_words)  # stacked by design, not glued
    out = list(cell_words)
    for r in sorted(stacked, reverse=True):  # bottom up: the rows above keep their numbers
        out = _split_row(out, r, stacked[r])
    return out


def _split_row(cell_words: CellWords, r: int, k: int) -> CellWords:
    out: CellWords = []
    for cell, words in cell_words:
        if cell.row > r:
            out.append((replace(cell, row=cell.row + k - 1), words))
        elif cell.row < r < cell.row + cell.rowspan:
            out.append((replace(cell, rowspan=cell.rowspan + k - 1), words))
        elif cell.row < r:
            out.append((cell, words))
        else:
            lines = text_lines(words) if words else [[] for _ in range(k)]
            x0, y0, x1, y1 = cell.box
            step = (y1 - y0) / k
            for i, line in enumerate(lines):
                box = (x0, y0 + i * step, x1, y0 + (i + 1) * step)
                out.append((replace(cell, row=r + i, box=box), list(line)))
    return out


def drop_empty_rows(cell_words: CellWords) -> CellWords:
    """The cells without the rows that no cell with words covers (a filled cell's whole span counts); cells that
    reach into a dropped row lose it, cells that lie in dropped rows only go."""
    cells = [cell for cell, _ in cell_words]
    num_rows, _ = grid_size(cells)
    covered = {r for cell, words in cell_words if words for r in range(cell.row, cell.row + cell.rowspan)}
    if not covered or len(covered) == num_rows:
        return cell_words
    new_index, kept = {}, 0
    for r in range(num_rows):
        if r in covered:
            new_index[r] = kept
            kept += 1
    out: CellWords = []
    for cell, words in cell_words:
        rows = [new_index[r] for r in range(cell.row, cell.row + cell.rowspan) if r in new_index]
        if rows:
            out.append((replace(cell, row=rows[0], rowspan=len(rows)), words))
    return out
