"""Ruled grids that frame running text instead of holding a table.

Rules drawn on a page do not always draw a table: a cover page's coloured bands and a sidebar's edges, or a box
around a paragraph, enclose "cells" as well.  What tells them apart is where the text goes: a table spreads its
text over many cells, each a few words or a few lines; a frame holds a paragraph, so one cell carries most of the
grid's words as running text.  :func:`frames_running_text` applies that rule to a grid read from rules
(:mod:`.ruled_tables`); :func:`~.page_tables.from_grid` leaves such a grid to be read as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from docray.models.table_cells import Word
from docray.operators.textlayer.row_order import word_count
from docray.operators.textlayer.ruled_tables import RuledGrid, words_in_cells


@dataclass(frozen=True, slots=True)
class FrameOptions:
    """When a ruled grid is a frame around running text."""

    dominant_share: float = 0.5  # share of the grid's words that one cell holds
    min_lines: int = 3  # ... in this many lines or more ...
    words_per_line: float = 5.0  # ... of this many words on average: a paragraph, not a cell's label or value


def text_lines(words: Sequence[Word]) -> list[list[Word]]:
    """Words grouped into lines, top to bottom: a word whose middle lies within the current line's height joins it."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.box[1] + w.box[3]) / 2):
        middle = (word.box[1] + word.box[3]) / 2
        if lines and min(w.box[1] for w in lines[-1]) <= middle <= max(w.box[3] for w in lines[-1]):
            lines[-1].append(word)
        else:
            lines.append([word])
    return lines


def is_running_text(words: Sequence[Word], options: FrameOptions = FrameOptions()) -> bool:
    """Whether a cell's words are a paragraph: ``min_lines`` lines or more of ``words_per_line`` words on average
    (words as :func:`~.row_order.word_count` counts them, two CJK characters a word)."""
    lines = text_lines(words)
    count = sum(word_count(w.text) for w in words)
    return len(lines) >= options.min_lines and count >= options.words_per_line * len(lines)


def frames_running_text(grid: RuledGrid, words: Sequence[Word], options: FrameOptions = FrameOptions()) -> bool:
    """Whether the grid frames running text: one of its cells holds ``dominant_share`` of its words (by
    :func:`~.row_order.word_count`) as a paragraph (:func:`is_running_text`)."""
    cells = words_in_cells(grid, words)
    counts = [sum(word_count(w.text) for w in ws) for ws in cells]
    total = sum(counts)
    if not total:
        return False
    k = max(range(len(cells)), key=counts.__getitem__)
    return counts[k] >= options.dominant_share * total and is_running_text(cells[k], options)
