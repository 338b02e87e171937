"""Running headers, footers and page numbers, found by position and repetition.

Only lines whose vertical centre lies in the top or bottom ``band`` share of the page are
considered.  A line's key is its position (top/bottom) and its normalised text (digits -> ``#``,
whitespace collapsed, case-folded).

* A key found on at least ``min_page_ratio`` of the pages, and on at least 2 pages, is page
  furniture: HEADER at the top, FOOTER at the bottom, or PAGE_NUMBER when the text is only a page
  number ("3", "- 3 -", "Page 3", "3 of 10", "iv").
* A line that is only a page number but does not repeat (a one-page document, numbers that
  appear on few pages) is PAGE_NUMBER when it is alone in its row of the band and sits near the
  centre or a corner of the page.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from docray.datamodel import Line
from docray.operators.textlayer.lines import line_text, vertical_overlap_ratio
from docray.schema import BlockType

_ROMAN = r"(?=[mdclxvi])m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_PAGE_NUMBER = re.compile(
    rf"^(?:page|p\.|pg\.?|seite|página|pagina)?\s*[-–—\[(]?\s*(?:\d{{1,4}}|{_ROMAN})\s*[-–—\])]?"
    rf"(?:\s*(?:of|/|von|de)\s*\d{{1,4}})?$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class FurnitureOptions:
    band: float = 0.09  # share of the page height at the top and at the bottom
    min_page_ratio: float = 0.5  # share of pages a line must repeat on


def is_page_number(text: str) -> bool:
    """Whether the text is only a page number."""
    text = text.strip()
    return bool(text) and len(text) <= 24 and bool(_PAGE_NUMBER.match(text))


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\d", "#", text)).strip().casefold()


def _band(line: Line, height: float, band: float) -> str | None:
    centre = (line.bbox[1] + line.bbox[3]) / 2
    if centre < band * height:
        return "top"
    if centre > (1 - band) * height:
        return "bottom"
    return None


def find_furniture(
    page_sizes: list[tuple[float, float]], lines_per_page: list[list[Line]], options: FurnitureOptions = FurnitureOptions()
) -> list[dict[int, BlockType]]:
    """For each page, the indices of its furniture lines and their block types."""
    keys_per_page: list[dict[int, tuple[str, str]]] = []
    pages_with_key: Counter[tuple[str, str]] = Counter()
    for (_, height), lines in zip(page_sizes, lines_per_page):
        keys: dict[int, tuple[str, str]] = {}
        for i, line in enumerate(lines):
            where = _band(line, height, options.band)
            text = normalise(line_text(line))
            if where and text:
                keys[i] = (where, text)
        keys_per_page.append(keys)
        pages_with_key.update(set(keys.values()))

    pages_with_text = sum(1 for lines in lines_per_page if lines)
    needed = max(2, math.ceil(options.min_page_ratio * pages_with_text))
    result: list[dict[int, BlockType]] = []
    for (width, _), lines, keys in zip(page_sizes, lines_per_page, keys_per_page):
        found: dict[int, BlockType] = {}
        for i, (where, text) in keys.items():
            number = is_page_number(line_text(lines[i]))
            if pages_with_key[(where, text)] >= needed:
                found[i] = BlockType.PAGE_NUMBER if number else (BlockType.HEADER if where == "top" else BlockType.FOOTER)
            elif number and _alone_near_centre_or_corner(i, lines, keys, width):
                found[i] = BlockType.PAGE_NUMBER
        result.append(found)
    return result


def _alone_near_centre_or_corner(i: int, lines: list[Line], keys: dict[int, tuple[str, str]], width: float) -> bool:
    line = lines[i]
    where = keys[i][0]
    for j in keys:
        if j != i and keys[j][0] == where and vertical_overlap_ratio(lines[j].bbox, line.bbox) > 0.3:
            return False
    centre = (line.bbox[0] + line.bbox[2]) / 2
    return abs(centre - width / 2) <= 0.15 * width or line.bbox[0] <= 0.25 * width or line.bbox[2] >= 0.75 * width
