"""Running headers, footers and page numbers, found by position and repetition.

Only lines whose vertical centre lies in the top or bottom ``band`` share of the page are
considered, plus the page's top-most and bottom-most row of text when it lies within twice that
band (pages with wide margins, as LaTeX sets them), or anywhere when it is a page number set
apart from the text by a gap of at least ``isolation_gap`` of its line heights (a short page
whose number follows its last paragraph).  A line's key is its position (top/bottom)
and its normalised text (digits -> ``#``, whitespace collapsed, case-folded).

* A key found on at least ``min_page_ratio`` of the pages, and on at least 2 pages, is page
  furniture: HEADER at the top, FOOTER at the bottom, or PAGE_NUMBER when the text is only a page
  number ("3", "- 3 -", "Page 3", "3 of 10", "iv").
* A line that is only a page number but does not repeat (a one-page document, numbers that
  appear on few pages) is PAGE_NUMBER when it is alone in its row of the band and sits near the
  centre or a corner of the page.  It may also share its row with other text when that row is
  the page's top-most or bottom-most row ("Running Title ........ 9", "Journal | 1 | Vol. 8");
  then the rest of that row is HEADER or FOOTER.
* Without any repetition, a line whose centre is within ``edge_band`` of the top or bottom edge of
  the page (a download stamp, a running head printed in the margin) and set apart from the page's
  other text by more than half its line height, or within twice that and set apart by at least one
  line height, is HEADER or FOOTER (a line continuing the text's line spacing is the text's own last
  or first line: a tightly cropped receipt); a vertical line
  of text in the outer ``side_band`` of the page width (a binding-edge stamp or arXiv-style side
  note) is ASIDE_TEXT.

:func:`is_furniture_region` applies the same rules to a region a layout model labels header or footer: it is
page furniture only when these rules flag one of its lines, or when it sits at the page's edge (nothing but
other furniture beyond it, its centre within twice ``band``) and is not a sentence; a sentence the model calls
a header ("Table 3-2 lists the nine built-in global variables.") or a "header" below body text is body text.
"""

from __future__ import annotations

import math
import re
import statistics
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
    isolation_gap: float = 2.5  # a page number this many line heights from other text is in the band
    edge_band: float = 0.02  # share of the page height next to the edge where only furniture is printed
    side_band: float = 0.1  # share of the page width at each side searched for vertical side notes
    min_vertical_length: float = 50.0  # points; a side note is a vertical line at least this long


def is_page_number(text: str) -> bool:
    """Whether the text is only a page number."""
    text = text.strip()
    return bool(text) and len(text) <= 24 and bool(_PAGE_NUMBER.match(text))


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\d", "#", text)).strip().casefold()


def _bands(lines: list[Line], height: float, options: FurnitureOptions) -> dict[int, str]:
    """The lines of a page in its top and bottom bands: index -> "top" | "bottom"."""
    if not lines:
        return {}
    band = options.band
    top = min(lines, key=lambda ln: ln.bbox[1]).bbox
    bottom = max(lines, key=lambda ln: ln.bbox[3]).bbox
    found: dict[int, str] = {}
    for i, line in enumerate(lines):
        centre = (line.bbox[1] + line.bbox[3]) / 2
        if centre < band * height or (centre < 2 * band * height and vertical_overlap_ratio(line.bbox, top) > 0.3):
            found[i] = "top"
        elif centre > (1 - band) * height or (
            centre > (1 - 2 * band) * height and vertical_overlap_ratio(line.bbox, bottom) > 0.3
        ):
            found[i] = "bottom"
        elif line.bbox == bottom and _isolated_page_number(line, lines, options.isolation_gap):
            found[i] = "bottom"
    return found


def _isolated_page_number(line: Line, lines: list[Line], gap: float) -> bool:
    """A page-number line with no other text within ``gap`` line heights above it."""
    x0, y0, x1, y1 = line.bbox
    above = [other.bbox[3] for other in lines if other is not line and other.bbox[3] <= y0 + 0.5 * (y1 - y0)]
    return is_page_number(line_text(line)) and (not above or y0 - max(above) >= gap * (y1 - y0))


_SENTENCE_END = re.compile(r"[.!?][\"'’”)\]]*$")
_WORD = re.compile(r"[^\W\d_]+")


def is_sentence(text: str, min_words: int = 6) -> bool:
    """Running text rather than a running title: ``min_words`` words or more, ending as a sentence ends."""
    text = text.strip()
    return len(_WORD.findall(text)) >= min_words and bool(_SENTENCE_END.search(text))


def is_furniture_region(
    bbox: tuple[float, float, float, float],
    at_top: bool,
    inside: list[int],
    body: list[int],
    lines: list[Line],
    height: float,
    furniture: dict[int, BlockType],
    options: FurnitureOptions = FurnitureOptions(),
) -> bool:
    """Whether a layout header (``at_top``) or footer region at ``bbox`` is page furniture (module docstring).

    ``inside``: the indices of the page's ``lines`` in the region; ``body``: those of the lines that are not
    furniture (in no discarded region); ``furniture``: :func:`find_furniture`'s lines of the page.  A region
    without text lines (nothing to judge) keeps its label.
    """
    if not inside or any(i in furniture for i in inside):
        return True
    if is_sentence(" ".join(line_text(lines[i]) for i in sorted(inside, key=lambda i: lines[i].bbox[1]))):
        return False
    centre = (bbox[1] + bbox[3]) / 2
    if at_top:
        beyond = [i for i in body if lines[i].bbox[3] <= bbox[1]]
        in_band = centre <= 2 * options.band * height
    else:
        beyond = [i for i in body if lines[i].bbox[1] >= bbox[3]]
        in_band = centre >= (1 - 2 * options.band) * height
    return in_band and not beyond


def find_furniture(
    page_sizes: list[tuple[float, float]], lines_per_page: list[list[Line]], options: FurnitureOptions = FurnitureOptions()
) -> list[dict[int, BlockType]]:
    """For each page, the indices of its furniture lines and their block types."""
    keys_per_page: list[dict[int, tuple[str, str]]] = []
    pages_with_key: Counter[tuple[str, str]] = Counter()
    for (_, height), lines in zip(page_sizes, lines_per_page):
        keys: dict[int, tuple[str, str]] = {}
        for i, where in _bands(lines, height, options).items():
            text = normalise(line_text(lines[i]))
            if text:
                keys[i] = (where, text)
        keys_per_page.append(keys)
        pages_with_key.update(set(keys.values()))

    pages_with_text = sum(1 for lines in lines_per_page if lines)
    needed = max(2, math.ceil(options.min_page_ratio * pages_with_text))
    result: list[dict[int, BlockType]] = []
    for (width, height), lines, keys in zip(page_sizes, lines_per_page, keys_per_page):
        found: dict[int, BlockType] = _edge_furniture(lines, width, height, options)
        for i, (where, text) in keys.items():
            number = is_page_number(line_text(lines[i]))
            if pages_with_key[(where, text)] >= needed:
                found[i] = BlockType.PAGE_NUMBER if number else (BlockType.HEADER if where == "top" else BlockType.FOOTER)
            elif number and _lone_page_number(i, lines, keys, width):
                found[i] = BlockType.PAGE_NUMBER
                for j in _row_mates(i, lines, keys):
                    found.setdefault(j, BlockType.HEADER if where == "top" else BlockType.FOOTER)
        result.append(found)
    return result


def _edge_furniture(lines: list[Line], width: float, height: float, options: FurnitureOptions) -> dict[int, BlockType]:
    """Stamps next to the top/bottom edge and vertical side notes: furniture on any page."""
    found: dict[int, BlockType] = {}
    edge = options.edge_band * height
    pitch = line_pitch(lines)
    for i, line in enumerate(lines):
        x0, y0, x1, y1 = line.bbox
        centre = (y0 + y1) / 2
        vertical = (y1 - y0) >= options.min_vertical_length and (y1 - y0) > 3 * (x1 - x0)
        if vertical:
            if x1 <= options.side_band * width or x0 >= (1 - options.side_band) * width:
                found[i] = BlockType.ASIDE_TEXT
        elif _apart(centre, _gap_below(line, lines), y1 - y0, edge, pitch):
            found[i] = BlockType.HEADER
        elif _apart(height - centre, _gap_above(line, lines), y1 - y0, edge, pitch):
            found[i] = BlockType.FOOTER
    return {i: kind for i, kind in found.items() if kind is BlockType.ASIDE_TEXT or _outermost(i, kind, lines, found)}


def _outermost(i: int, kind: BlockType, lines: list[Line], found: dict[int, BlockType]) -> bool:
    """Whether no text line (one not flagged) lies between line ``i`` and its edge: a stamp or a running head is
    the page's outermost text; a line with the document's own text beyond it (a receipt's "ACCOUNT'S COPY" below
    a cut-off first line) is text."""
    centre = (lines[i].bbox[1] + lines[i].bbox[3]) / 2
    for j, other in enumerate(lines):
        if j == i or j in found:
            continue
        middle = (other.bbox[1] + other.bbox[3]) / 2
        if (middle < centre) if kind is BlockType.HEADER else (middle > centre):
            return False
    return True


def _apart(from_edge: float, gap: float, line_height: float, edge: float, pitch: float) -> bool:
    """Whether a line ``from_edge`` from the page's top or bottom edge, ``gap`` from the text inward of it, is
    set apart as furniture: within ``edge`` when more than half a line height from that text, within twice that
    when a line height and the page's line ``pitch`` (:func:`line_pitch`) or more.  A line that continues the
    text's own line spacing (the last line of a tightly cropped receipt or scan, whose page edge is the paper's
    edge) is text: a stamp or a running head printed in the margin is set off from the text by the margin."""
    return (from_edge <= edge and gap > 0.5 * line_height) or (from_edge <= 2 * edge and gap >= max(line_height, pitch))


def line_pitch(lines: list[Line]) -> float:
    """The page's typical distance from one line's top to the top of the next line below it (sharing some
    width with it): the median over the lines that have one; 0 without."""
    boxes = sorted((line.bbox for line in lines), key=lambda b: b[1])
    pitches: list[float] = []
    for k, a in enumerate(boxes):
        for b in boxes[k + 1 :]:
            if b[1] > a[3] + 3 * (a[3] - a[1]):
                break
            if b[1] >= (a[1] + a[3]) / 2 and min(a[2], b[2]) > max(a[0], b[0]):
                pitches.append(b[1] - a[1])
                break
    return statistics.median(pitches) if pitches else 0.0


def _gap_above(line: Line, lines: list[Line]) -> float:
    """Distance from the line's top up to the nearest line that starts above it (negative when they overlap)."""
    above = [o.bbox[3] for o in lines if o is not line and o.bbox[1] < line.bbox[1]]
    return line.bbox[1] - max(above) if above else float("inf")


def _gap_below(line: Line, lines: list[Line]) -> float:
    """Distance from the line's bottom down to the nearest line that ends below it (negative when they overlap)."""
    below = [o.bbox[1] for o in lines if o is not line and o.bbox[3] > line.bbox[3]]
    return min(below) - line.bbox[3] if below else float("inf")


def _row_mates(i: int, lines: list[Line], keys: dict[int, tuple[str, str]]) -> list[int]:
    """The other band lines on the same row as line ``i``."""
    where = keys[i][0]
    return [
        j
        for j in keys
        if j != i and keys[j][0] == where and vertical_overlap_ratio(lines[j].bbox, lines[i].bbox) > 0.3
    ]


def _lone_page_number(i: int, lines: list[Line], keys: dict[int, tuple[str, str]], width: float) -> bool:
    x0, y0, x1, y1 = lines[i].bbox
    placed = x0 <= 0.25 * width or x1 >= 0.75 * width or abs((x0 + x1) / 2 - width / 2) <= 0.15 * width
    if not placed:
        return False
    if not _row_mates(i, lines, keys):
        return True
    if keys[i][0] == "top":  # no text above this row
        return all(line.bbox[3] > y0 + 0.5 * (y1 - y0) for line in lines)
    return all(line.bbox[1] < y1 - 0.5 * (y1 - y0) for line in lines)  # no text below this row
