"""Line-by-line reading for pages whose layout regions do not follow the text (receipts, forms, letters).

A layout model trained on papers reads a receipt or a form badly: a label column and a value column
become two regions (or one text-dense figure whose lines the column-aware XY-cut splits into two
columns) read one after the other (``Date:``, ``Cashier:``, ... and the values three blocks later),
a region border runs through text lines, or the whole photographed receipt is taken for a picture
and its text dropped.  On such a page the text, caption and furniture regions are dropped, and so
are figures holding text lines and tables whose rows run out of them into a line that is not running text
(:func:`trusted_regions`; other tables, equations and pictures stay), and the lines are read row by row (:func:`row_items`): the
lines of one row (vertical overlap, :func:`rows_of`) join into one line, left to right (right to
left in Arabic or Hebrew script), so a label and its value stay together (``TOTAL  12.50``), and the
rows go top to bottom (:func:`rows_order`).  A line of running text (:func:`paragraphs_of`) is never
joined to its neighbour in a row, so two columns of prose are never merged line by line.

:func:`layout_fallback` decides from the page's text lines (text layer or OCR) against its resolved
regions (:func:`region_fit` measures, :func:`decide` applies the thresholds of :class:`RowOptions`);
the reason is recorded (:class:`~docray.schema.LayoutFallback`, the pages column ``layout_fallback``):

* ``text_in_figure``: ``pictured_share`` of the page's characters, and at least as many as make a
  figure text (``figure_text_chars``), lie in a figure that would be cropped as a picture, its text
  dropped: the model took the document, a photographed receipt, for a picture;
* otherwise a page with fewer than ``min_lines`` lines, or with running text side by side (two
  paragraphs apart horizontally that share some height: the columns of a paper, a newspaper, a
  two-column slide, :func:`text_columns`) keeps its regions; else
* ``cut_lines``: at least ``min_cut_lines`` lines, and ``cut_share`` of the lines, stick out of their
  own region for ``cut_cover`` of their width into a second region (region borders cut text lines);
* ``split_rows``: at least ``min_split_pairs`` pairs of side-by-side lines of one row, neither of them
  running text, are *read apart* (in different text regions, or not next to each other in the
  reading order of their region or of the loose lines), and such pairs are ``split_share`` of the rows.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field, replace

from docray.datamodel import INLINE_DELIMITERS, BBox, Block, Delimiters, LayoutBox, Line, OcrLine, PageText, Span, bbox_union, centre_inside
from docray.operators.textlayer.layout_page import Item, LayoutOptions
from docray.operators.textlayer.lines import line_text, vertical_lines, vertical_overlap_ratio
from docray.operators.textlayer.order import OrderOptions, reading_order
from docray.operators.textlayer.regions import assign_lines, family, resolve_regions
from docray.schema import BlockType, LayoutFallback

ROW_SEPARATOR = "  "  # between the lines of one row: a label and its value stay apart yet on one line


@dataclass(frozen=True, slots=True)
class RowOptions:
    """When a page's layout regions are not trusted, and how its rows are formed."""

    min_lines: int = 6  # pages with fewer text lines keep their regions (unless a figure swallows their text)
    cut_cover: float = 0.2  # share of a line's width inside a second region that makes it cut
    min_cut_lines: int = 3  # lines cut by region borders ...
    cut_share: float = 0.1  # ... and as a share of the page's lines
    paragraph_words: int = 5  # a line of this many words stacked on another such line is running text
    min_split_pairs: int = 2  # side-by-side lines of a row read apart ...
    split_share: float = 0.05  # ... and as a share of the page's rows
    pictured_share: float = 0.5  # share of the page's characters that a figure would swallow as a picture
    row_overlap: float = 0.5  # vertical overlap (share of the smaller height) that puts two lines on one row
    figure: LayoutOptions = field(default_factory=LayoutOptions)  # when a figure's text is read as loose lines


@dataclass(frozen=True, slots=True)
class RegionFit:
    """How a page's text lines sit in its layout regions (the measurements behind the decision)."""

    lines: int  # text lines with text
    rows: int  # rows of those lines
    text_columns: int  # pairs of paragraphs side by side (columns of a paper)
    cut_lines: int  # lines reaching well into a second region
    split_pairs: int  # side-by-side lines of one row, neither running text, that are read apart
    pictured_chars: float = 0.0  # share of the characters in lines that a figure holds as part of a picture
    pictured_count: int = 0  # those characters


def page_slope(ocr_lines: list[OcrLine], min_lines: int = 3) -> float:
    """The page's skew as a slope (dy/dx, y down) from the OCR detector's quadrilaterals: the median slope of the
    top and bottom edges of long lines (four times as wide as high), 0 with fewer than ``min_lines`` of them.
    A photographed receipt held a little askew has all its lines at one angle; its rows are found level."""
    slopes: list[float] = []
    for line in ocr_lines:
        p = line.poly
        if p is None:
            continue
        x1, y1, x2, y2, x3, y3, x4, y4 = p
        width, height = x2 - x1, y4 - y1
        if width > 0 and height > 0 and width >= 4 * height and x3 > x4:
            slopes.append(((y2 - y1) / width + (y3 - y4) / (x3 - x4)) / 2)
    return statistics.median(slopes) if len(slopes) >= min_lines else 0.0


def deskewed(boxes: list[BBox], slope: float) -> list[BBox]:
    """Boxes moved up or down by the page's ``slope`` at their horizontal centre: a skewed page's rows made level
    (heights and horizontal extents kept; the boxes of a tilted line are taller than the line but still overlap)."""
    if not slope:
        return boxes
    out: list[BBox] = []
    for x0, y0, x1, y1 in boxes:
        shift = slope * (x0 + x1) / 2
        out.append((x0, y0 - shift, x1, y1 - shift))
    return out


def rows_of(boxes: list[BBox], min_overlap: float = 0.5, slope: float = 0.0) -> list[list[int]]:
    """Box indices grouped into rows, top to bottom, each row left to right.

    A box joins the nearby row it overlaps most when it overlaps each of the row's boxes vertically by
    ``min_overlap`` of the smaller height and none horizontally (a box below another is a new row); on a skewed
    page (``slope``, :func:`page_slope`) the boxes are first levelled (:func:`deskewed`).
    """
    boxes = deskewed(boxes, slope)
    rows: list[list[int]] = []
    for i in sorted(range(len(boxes)), key=lambda i: ((boxes[i][1] + boxes[i][3]) / 2, boxes[i][0])):
        box = boxes[i]
        target, best = None, 0.0
        for row in rows[-3:]:  # rows nearby: a tall box may overlap a row slightly above the last
            if all(_side_by_side(boxes[j], box, min_overlap) for j in row):
                overlap = min(vertical_overlap_ratio(boxes[j], box) for j in row)
                if overlap > best:
                    target, best = row, overlap
        if target is None:
            rows.append([i])
        else:
            target.append(i)
    for row in rows:
        row.sort(key=lambda i: boxes[i][0])
    rows.sort(key=lambda row: min((boxes[i][1] + boxes[i][3]) / 2 for i in row))
    return rows


def _side_by_side(a: BBox, b: BBox, min_overlap: float) -> bool:
    horizontal = min(a[2], b[2]) - max(a[0], b[0])
    narrower = min(a[2] - a[0], b[2] - b[0])
    return vertical_overlap_ratio(a, b) >= min_overlap and horizontal <= 0.2 * max(narrower, 1e-6)


_WORD = re.compile(r"[^\W_]+(?:[.,:/-][^\W_]+)*")  # letters and digits: "3KG", "SH01", "16-03-18" are one word each
_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")  # CJK, kana, Hangul
_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")  # Hebrew, Arabic, Syriac, Thaana, N'Ko
_LETTER = re.compile(r"[^\W\d_]")


def right_to_left(text: str) -> bool:
    """Whether most letters of the text are of a right-to-left script (its row is read from the right)."""
    return 2 * len(_RTL.findall(text)) > len(_LETTER.findall(text))


def word_count(text: str) -> int:
    """Words of a line; in scripts written without spaces (CJK) two characters count as a word."""
    wide = len(_WIDE.findall(text))
    return len(_WORD.findall(_WIDE.sub(" ", text))) + wide // 2


def paragraphs_of(lines: list[Line], options: RowOptions = RowOptions()) -> list[int | None]:
    """Per line, the paragraph it is running text of, or None: a line of ``paragraph_words`` words or more
    with such a line stacked right above or below it (sharing half its width, less than a line height
    apart, no line between them: :func:`_line_between`) is running text, and stacked running-text lines
    form one paragraph.

    A paper's column lines are running text; a receipt's or a form's labels and values are not (a
    line or two of a few words), so only they are joined into rows.
    """
    wordy = [word_count(line_text(ln)) >= options.paragraph_words for ln in lines]
    order = sorted((i for i in range(len(lines)) if wordy[i]), key=lambda i: lines[i].bbox[1])
    parent = list(range(len(lines)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    prose = [False] * len(lines)
    for k, i in enumerate(order):
        a = lines[i].bbox
        for j in order[k + 1 :]:
            b = lines[j].bbox
            height = max(a[3] - a[1], b[3] - b[1])
            if b[1] - a[3] > height:
                break
            shared = min(a[2], b[2]) - max(a[0], b[0])
            stacked = b[1] >= a[1] + 0.5 * (a[3] - a[1]) and shared >= 0.5 * min(a[2] - a[0], b[2] - b[0])
            if stacked and not _line_between(a, b, [line.bbox for line in lines]):
                prose[i] = prose[j] = True
                parent[root(j)] = root(i)
    return [root(i) if prose[i] else None for i in range(len(lines))]


def _line_between(a: BBox, b: BBox, boxes: list[BBox]) -> bool:
    """Whether a line lies between ``a`` and ``b`` (``b`` below ``a``): its middle between their middles and
    sharing width with both.  Consecutive lines of a paragraph have none; a receipt's item names, each above
    its quantity-and-price row, are not one paragraph however close the rows are."""
    top, bottom = (a[1] + a[3]) / 2, (b[1] + b[3]) / 2
    for c in boxes:
        middle = (c[1] + c[3]) / 2
        if top < middle < bottom and min(a[2], b[2], c[2]) > max(a[0], b[0], c[0]):
            return True
    return False


def paragraph_lines(lines: list[Line], options: RowOptions = RowOptions()) -> list[bool]:
    """Per line, whether it is running text (:func:`paragraphs_of`)."""
    return [p is not None for p in paragraphs_of(lines, options)]


def text_columns(lines: list[Line], options: RowOptions = RowOptions()) -> int:
    """Pairs of paragraphs side by side (sharing some height, apart horizontally):
    the columns of a paper, of a newspaper, of a two-column slide; a receipt or a form has none."""
    boxes: dict[int, BBox] = {}
    for line, p in zip(lines, paragraphs_of(lines, options)):
        if p is not None:
            boxes[p] = bbox_union([boxes[p], line.bbox]) if p in boxes else line.bbox
    found = 0
    paragraphs = list(boxes.values())
    for k, a in enumerate(paragraphs):
        for b in paragraphs[k + 1 :]:
            apart = a[2] <= b[0] or b[2] <= a[0]
            shared = min(a[3], b[3]) - max(a[1], b[1])
            found += apart and shared > 0
    return found


def region_fit(
    lines: list[Line],
    regions: list[LayoutBox],
    options: RowOptions = RowOptions(),
    slope: float = 0.0,
    measured: list[bool] | None = None,
) -> RegionFit:
    """Measure how the page's lines sit in its (resolved) layout regions and in the order they would be read.

    Lines in a table, an equation or a figure that is a picture stay out (they belong to it); lines
    in a text-dense figure are loose, as :func:`~.layout_page.layout_page` reads them.  A text
    region's lines, and the loose lines, are each read by :func:`~.order.reading_order`; two lines
    of one row are *read apart* when they are in different groups or not next to each other there.
    ``measured`` (per line, default all) marks the lines that take part in the row measurement (lines, cut
    lines, rows, split pairs); every line counts for the text a picture holds.
    """
    kept = [r for r in regions if family(r.type) != "discarded"]
    flags = [True] * len(lines) if measured is None else measured
    pairs = [(ln, m) for ln, m in zip(lines, flags) if line_text(ln)]
    lines, flags = [ln for ln, _ in pairs], [m for _, m in pairs]
    owner = assign_lines(lines, kept)
    chars = [len(line_text(ln)) for ln in lines]
    total = sum(chars) or 1
    cut = sum(1 for ln, o, m in zip(lines, owner, flags) if m and _is_cut(ln.bbox, o, kept, options.cut_cover))
    group = _reading_groups(lines, owner, kept, options)
    pictured = sum(c for c, o, g in zip(chars, owner, group) if o is not None and g is None and kept[o].type is BlockType.IMAGE)
    read = [i for i, g in enumerate(group) if g is not None and flags[i]]
    position = _positions([lines[i].bbox for i in read], [group[i] for i in read])
    boxes = [lines[i].bbox for i in read]
    rows = rows_of(boxes, options.row_overlap, slope)
    prose = paragraph_lines([lines[i] for i in read], options)
    split = 0
    for row in rows:
        for a, b in zip(row, row[1:]):
            ga, gb = group[read[a]], group[read[b]]
            apart = ga != gb or abs(position[a] - position[b]) != 1
            if apart and not prose[a] and not prose[b]:
                split += 1
    return RegionFit(
        lines=sum(flags), rows=len(rows), text_columns=text_columns([lines[i] for i in read], options),
        cut_lines=cut, split_pairs=split, pictured_chars=pictured / total, pictured_count=pictured,
    )  # fmt: skip


LOOSE = -1  # the reading group of lines outside every text region


def _reading_groups(
    lines: list[Line], owner: list[int | None], regions: list[LayoutBox], options: RowOptions
) -> list[int | None]:
    """Per line: its text region's index, :data:`LOOSE`, or None for a line that a table, a picture or an
    equation holds (a table's HTML keeps its rows)."""
    groups: list[int | None] = []
    for o in owner:
        if o is None:
            groups.append(LOOSE)
        elif family(regions[o].type) == "text":
            groups.append(o)
        elif regions[o].type is BlockType.IMAGE and _text_dense(regions[o], [ln for ln, w in zip(lines, owner) if w == o], options):
            groups.append(LOOSE)  # layout_page reads a text-dense figure's lines as loose lines
        else:
            groups.append(None)
    return groups


def _text_dense(region: LayoutBox, inside: list[Line], options: RowOptions) -> bool:
    """A figure full of text (a photographed receipt, a slide): layout_page reads its lines as loose lines."""
    chars = sum(len(line_text(line)) for line in inside)
    covered = sum((b[2] - b[0]) * (b[3] - b[1]) for b in (line.bbox for line in inside))
    box = region.bbox
    area = max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))
    return chars >= options.figure.figure_text_chars and covered >= options.figure.figure_text_cover * area


def _positions(boxes: list[BBox], groups: list[int | None]) -> list[int]:
    """Each box's position in the reading order of its group."""
    position = [0] * len(boxes)
    for g in set(groups):
        members = [i for i, h in enumerate(groups) if h == g]
        for rank, k in enumerate(reading_order([boxes[i] for i in members], OrderOptions())):
            position[members[k]] = rank
    return position


def _is_cut(box: BBox, owner: int | None, regions: list[LayoutBox], min_cover: float) -> bool:
    """Whether ``min_cover`` of a line's width sticks out of its own region into another region."""
    width = box[2] - box[0]
    if owner is None or width <= 0:
        return False
    own = regions[owner].bbox
    outside = [(box[0], min(box[2], own[0])), (max(box[0], own[2]), box[2])]  # its parts left and right of its region
    for k, region in enumerate(regions):
        if k == owner or vertical_overlap_ratio(box, region.bbox) < 0.5:
            continue
        covered = sum(max(0.0, min(x1, region.bbox[2]) - max(x0, region.bbox[0])) for x0, x1 in outside)
        if covered >= min_cover * width:
            return True
    return False


def decide(fit: RegionFit, options: RowOptions = RowOptions()) -> LayoutFallback | None:
    """The reason to read the page line by line, or None when its regions are kept."""
    if fit.pictured_chars >= options.pictured_share and fit.pictured_count >= options.figure.figure_text_chars:
        return LayoutFallback.TEXT_IN_FIGURE
    if fit.lines < options.min_lines or fit.text_columns > 0:
        return None
    if fit.cut_lines >= options.min_cut_lines and fit.cut_lines >= options.cut_share * fit.lines:
        return LayoutFallback.CUT_LINES
    if fit.split_pairs >= options.min_split_pairs and fit.split_pairs >= options.split_share * fit.rows:
        return LayoutFallback.SPLIT_ROWS
    return None


def layout_fallback(
    lines: list[Line],
    regions: list[LayoutBox],
    options: RowOptions = RowOptions(),
    slope: float = 0.0,
    measured: list[bool] | None = None,
) -> LayoutFallback | None:
    """Whether (and why) a page's layout regions are not trusted; ``regions`` as :func:`resolve_regions` keeps them,
    ``slope`` the page's skew (:func:`page_slope`), ``measured`` as :func:`region_fit` takes it."""
    return decide(region_fit(lines, regions, options, slope, measured), options)


def row_groups(lines: list[Line], options: RowOptions = RowOptions(), slope: float = 0.0) -> list[list[Line]]:
    """The page's lines as rows, top to bottom, each row left to right (right to left in Arabic or Hebrew
    script, :func:`right_to_left`), cut where a line is running text
    (:func:`paragraph_lines`): a label and its value form one group, two columns of a paper do not."""
    prose = paragraph_lines(lines, options)
    groups: list[list[Line]] = []
    for row in rows_of([ln.bbox for ln in lines], options.row_overlap, slope):
        if right_to_left(" ".join(line_text(lines[i]) for i in row)):
            row = row[::-1]
        current: list[int] = []
        for i in row:
            if current and (prose[i] or prose[current[-1]]):
                groups.append([lines[k] for k in current])
                current = []
            current.append(i)
        groups.append([lines[k] for k in current])
    return groups


def row_lines(lines: list[Line], options: RowOptions = RowOptions()) -> list[Line]:
    """The page's lines with the lines of each row group (:func:`row_groups`) joined into one, left to right."""
    return [_joined(row) for row in row_groups(lines, options)]


def _joined(row: list[Line]) -> Line:
    if len(row) == 1:
        return row[0]
    spans: list[Span] = []
    for k, line in enumerate(row):
        line_spans = list(line.spans)
        if k < len(row) - 1 and line_spans:
            last = line_spans[-1]
            line_spans[-1] = replace(last, text=last.text.rstrip() + ROW_SEPARATOR)
        spans.extend(line_spans)
    return Line(spans=spans, bbox=bbox_union([ln.bbox for ln in row]))


def page_fallback(page: PageText, lines: list[Line], options: RowOptions = RowOptions()) -> LayoutFallback | None:
    """Whether (and why) a page's layout detections are dropped; ``lines`` are its text lines (text layer or OCR).
    Lines of turned or stacked text (:func:`~.lines.vertical_lines`: a table printed a quarter turned, a report's
    title set down its margin) take no part in the row measurement: rows are rows of horizontal text, and a line
    standing on end spans the height of many of them, so it would make a "row" with each line beside it. They
    still count as text a picture holds (a table with turned column heads taken for a figure), except on a turned
    page (they carry half its characters), where the turned text is the page's own."""
    regions = resolve_regions(page.layout, page.width, page.height, options.figure.regions)
    slope = page_slope(page.ocr_lines or [])
    vertical = vertical_lines(lines)
    down = sum(len(line_text(line)) for line, v in zip(lines, vertical) if v)
    if down and 2 * down >= sum(len(line_text(line)) for line in lines):
        return layout_fallback([line for line, v in zip(lines, vertical) if not v], regions, options, slope)
    return layout_fallback(lines, regions, options, slope, measured=[not v for v in vertical])


def trusted_regions(page: PageText, lines: list[Line], options: RowOptions = RowOptions()) -> PageText:
    """The page with only the layout detections that a line-by-line reading keeps: equations, figures without
    text lines (a logo, a photo) and tables whose rows stay inside them; text, caption and furniture regions
    go, and so do figures holding text lines and tables with a row running out of them (a form's labels left
    of a "table" of values): their lines are read by rows."""
    prose = paragraph_lines(lines, options)
    labels = [line for line, p in zip(lines, prose) if not p]  # running text beside a table is another column
    kept: list[LayoutBox] = []
    for box in page.layout:
        if family(box.type) != "visual":
            continue
        if box.type in (BlockType.IMAGE, BlockType.IMAGE_BODY) and any(centre_inside(ln.bbox, box.bbox) for ln in lines):
            continue
        if box.type in (BlockType.TABLE, BlockType.TABLE_BODY) and _rows_cross(box.bbox, lines, labels, options):
            continue
        kept.append(box)
    return replace(page, layout=kept)


def _rows_cross(region: BBox, lines: list[Line], labels: list[Line], options: RowOptions) -> bool:
    """Whether a line inside the region shares a row with a line of ``labels`` (lines that are not running text)
    beside the region (outside it): a form's label beside its value, not the next column's paragraph."""
    inside = [ln.bbox for ln in lines if centre_inside(ln.bbox, region)]
    beside = [ln.bbox for ln in labels if ln.bbox[2] <= region[0] or ln.bbox[0] >= region[2]]
    return any(vertical_overlap_ratio(a, b) >= options.row_overlap for a in inside for b in beside)


def rows_of_items(
    items: list[Item], options: RowOptions = RowOptions(), inline: Delimiters = INLINE_DELIMITERS, slope: float = 0.0
) -> list[Item]:
    """Items of a page read line by line: blocks (tables, figures, equations) stay, loose lines become rows."""
    blocks = [item for item in items if item.line is None]
    return blocks + row_items([item.line for item in items if item.line is not None], options, inline, slope)


def row_items(
    lines: list[Line], options: RowOptions = RowOptions(), inline: Delimiters = INLINE_DELIMITERS, slope: float = 0.0
) -> list[Item]:
    """Lines read row by row: a row of one line stays a loose line (paragraphs form as usual); a row of several
    lines (a label and its value, table cells) is one line and a block of its own."""
    items: list[Item] = []
    for row in row_groups(lines, options, slope):
        line = _joined(row)
        if len(row) > 1:
            block = Block(type=BlockType.TEXT, bbox=line.bbox, lines=[line], text=line_text(line, inline))
            items.append(Item(line.bbox, block=block))
        else:
            items.append(Item(line.bbox, line=line))
    return items


def rows_order(items: list[Item], options: RowOptions = RowOptions(), slope: float = 0.0) -> list[int]:
    """The reading order of a page read line by line: rows top to bottom (:func:`rows_of`; the pieces of a row
    that running text cut stay left to right, not in the order of their tops), or column
    by column (:func:`~.order.reading_order`) where running text stands side by side, as on a paper."""
    boxes = [item.bbox for item in items]
    if text_columns([item.line for item in items if item.line is not None], options):
        return reading_order(boxes, OrderOptions())
    return [i for row in rows_of(boxes, options.row_overlap, slope) for i in row]  # a row's pieces left to right
