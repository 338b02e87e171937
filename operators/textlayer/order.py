"""Reading order of a page's boxes (lines and figures) by a column-aware recursive XY-cut.

A region is cut, in this order of preference:

1. **Vertically**, at the widest gutter: an x-interval of at least ``min_gutter`` points that no
   box crosses, with at least ``min_column_width`` points of content on both sides (so a bullet
   column or a line-number margin is not taken for a text column), and where neither side is a
   centred stack (several lines sharing a centre but not a left edge, like a centred running title
   beside left-aligned headings: that is one region, not two columns).  The left part is read first.
2. **Horizontally**, into stripes: maximal runs of boxes connected by vertical overlap (a box that only
   grazes the run above, by less than ``stripe_graze`` of the shorter box's height, starts a new one).  A naive
   XY-cut would now cut at every stripe boundary, but in a two-column body the line gaps of both
   columns line up, which would interleave the columns line by line.  So consecutive stripes are
   first merged greedily while their union still has a gutter: the lines of a two-column section
   form one group (which the next round cuts vertically into columns), while a full-width title,
   abstract or figure crosses the gutter and stays a group of its own, read in its place from
   top to bottom.
3. A single stripe without a gutter is a leaf: its boxes are read row by row, left to right.

Every cut makes strictly smaller regions, so the procedure ends; it runs on an explicit stack.
"""

from __future__ import annotations

from dataclasses import dataclass

from docray.datamodel import BBox
from docray.operators.textlayer.lines import vertical_overlap_ratio


@dataclass(frozen=True, slots=True)
class OrderOptions:
    min_gutter: float = 6.0  # narrowest vertical whitespace (points) that separates columns
    min_column_width: float = 36.0  # narrowest column (points) a gutter may split off
    stripe_overlap_tolerance: float = 1.0  # boxes overlapping vertically by less stay in separate stripes ...
    stripe_graze: float = 0.5  # ... and so do boxes overlapping by less than this share of the shorter one's height
    align_tolerance: float = 3.0  # points within which box starts (or centres) count as aligned


def reading_order(boxes: list[BBox], options: OrderOptions = OrderOptions()) -> list[int]:
    """Indices of ``boxes`` in reading order."""
    order: list[int] = []
    stack: list[list[int]] = [list(range(len(boxes)))]
    while stack:
        region = stack.pop()
        for part in reversed(_cut(region, boxes, options)):
            if part is region:
                order.extend(_row_sort(region, boxes))
            else:
                stack.append(part)
    return order


def _cut(region: list[int], boxes: list[BBox], options: OrderOptions) -> list[list[int]]:
    """The parts a region splits into, in reading order; ``[region]`` itself for a leaf."""
    if len(region) <= 1:
        return [region]
    gutter = find_gutter(region, boxes, options)
    if gutter is not None:
        left = [i for i in region if boxes[i][2] <= gutter[0]]
        right = [i for i in region if boxes[i][2] > gutter[0]]
        return [left, right]
    stripes = _stripes(region, boxes, options)
    if len(stripes) == 1:
        return [region]
    groups: list[list[int]] = [stripes[0]]
    for stripe in stripes[1:]:
        merged = groups[-1] + stripe
        if find_gutter(merged, boxes, options) is not None:
            groups[-1] = merged
        else:
            groups.append(stripe)
    return groups


def find_gutter(region: list[int], boxes: list[BBox], options: OrderOptions) -> tuple[float, float] | None:
    """The widest valid column gutter ``(x_start, x_end)`` of a set of boxes, or None."""
    if len(region) < 2:
        return None
    spans = sorted((boxes[i][0], boxes[i][2]) for i in region)
    left_edge = spans[0][0]
    right_edge = max(x1 for _, x1 in spans)
    candidates: list[tuple[float, float]] = []
    covered_to = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - covered_to >= options.min_gutter:
            if covered_to - left_edge >= options.min_column_width and right_edge - x0 >= options.min_column_width:
                candidates.append((covered_to, x0))
        covered_to = max(covered_to, x1)
    candidates.sort(key=lambda g: g[1] - g[0], reverse=True)
    return next((g for g in candidates if _sides_are_columns(region, boxes, g, options)), None)


def _sides_are_columns(region: list[int], boxes: list[BBox], gutter: tuple[float, float], options: OrderOptions) -> bool:
    left = [boxes[i] for i in region if boxes[i][2] <= gutter[0]]
    right = [boxes[i] for i in region if boxes[i][2] > gutter[0]]
    return not (_centred_stack(left, options) or _centred_stack(right, options))


def _centred_stack(side: list[BBox], options: OrderOptions) -> bool:
    """Two or more boxes sharing a horizontal centre whose left edges differ."""
    if len(side) < 2:
        return False
    centres = [(b[0] + b[2]) / 2 for b in side]
    starts = [b[0] for b in side]
    shared_centre = max(centres) - min(centres) <= 2 * options.align_tolerance
    return shared_centre and max(starts) - min(starts) > options.align_tolerance


def _stripes(region: list[int], boxes: list[BBox], options: OrderOptions) -> list[list[int]]:
    """Runs of boxes connected by vertical overlap, top to bottom.  A box whose top only grazes the bottom of the
    run above (by less than ``stripe_graze`` of the height of the shorter of the two boxes: a detector's loose table
    box reaching into the last line above it) starts a run of its own, so it does not fuse the columns above."""
    ordered = sorted(region, key=lambda i: (boxes[i][1], boxes[i][0]))
    stripes: list[list[int]] = [[ordered[0]]]
    lowest = ordered[0]  # the box reaching lowest in the current stripe
    for i in ordered[1:]:
        bottom = boxes[lowest][3]
        shorter = min(boxes[i][3] - boxes[i][1], bottom - boxes[lowest][1])
        graze = max(options.stripe_overlap_tolerance, options.stripe_graze * shorter)
        if boxes[i][1] > bottom - graze:
            stripes.append([i])
            lowest = i
        else:
            stripes[-1].append(i)
            if boxes[i][3] > bottom:
                lowest = i
    return stripes


def _row_sort(region: list[int], boxes: list[BBox]) -> list[int]:
    """Boxes read row by row (rows by vertical overlap), each row left to right."""
    rows: list[list[int]] = []
    for i in sorted(region, key=lambda i: ((boxes[i][1] + boxes[i][3]) / 2, boxes[i][0])):
        if rows and vertical_overlap_ratio(boxes[rows[-1][0]], boxes[i]) >= 0.5:
            rows[-1].append(i)
        else:
            rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda i: boxes[i][0])]
