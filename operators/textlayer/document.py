"""Text-layer assembly of one document: spans -> lines -> reading order -> paragraphs and titles.

:func:`assemble_document` is the single entry point.  Steps:

1. each text-layer page's spans are grouped into lines (:mod:`.lines`);
2. running headers, footers and page numbers are found across pages (:mod:`.furniture`) and
   become discarded blocks (``PageLayout.discarded``, order -1, never in the Markdown);
3. the remaining lines and the page's image objects are put in reading order (:mod:`.order`);
4. consecutive lines form paragraphs (:mod:`.paragraphs`), and titles with document-wide levels
   are picked among them (:mod:`.titles`);
5. a paragraph cut by a column or page break is joined back (:func:`merge_continuations`);
6. image objects larger than ``min_image_area_ratio`` of the page become IMAGE blocks in reading
   order, with ``img_path=None`` (nothing is cropped yet; the Markdown leaves them out and the
   content list shows them with an empty ``img_path``).  An image covering more than
   ``max_image_area_ratio`` of a page that also has text is a page background and is skipped.
   Text lines over an image stay text.

Pages read by a vision-language model (``vlm_blocks``) take its blocks as they are
(:mod:`docray.operators.vlmparse.assembly`); they take no part in furniture, titles or paragraphs.
Pages routed to OCR use their OCR lines (``ocr_lines``) as their text lines, or get an empty
layout when no OCR stage ran.  Pages with layout detections (``layout_blocks``) are assembled
from those regions (:mod:`.layout_page`): each region is a block, and only the lines outside every
region go through steps 3-4 as loose lines; a text region holding several paragraphs is split
like a run of lines; layout titles get their levels with the others.  A page whose regions do not
follow its text (a receipt, a form: :mod:`.row_order` decides, the reason goes to
``PageLayout.layout_fallback``) keeps only its tables, equations and pictures, and its lines are read
row by row, a label and its value joined on one line, rows top to bottom.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from docray.datamodel import INLINE_DELIMITERS, BBox, Block, Delimiters, Formula, Line, PageLayout, PageText
from docray.operators.textlayer.furniture import FurnitureOptions, find_furniture
from docray.operators.textlayer.layout_page import Item, LayoutOptions, layout_page
from docray.operators.textlayer.lines import (
    LineOptions,
    dominant_size,
    group_lines,
    line_text,
)
from docray.operators.textlayer.order import OrderOptions, reading_order
from docray.operators.textlayer.paragraphs import (
    ParagraphOptions,
    join_lines,
    split_paragraphs,
    typical_gap_em,
)
from docray.operators.textlayer.regions import ocr_as_lines
from docray.operators.textlayer.row_order import RowOptions, page_fallback, page_slope, rows_of_items, rows_order, trusted_regions
from docray.operators.textlayer.titles import (
    TitleCandidate,
    TitleOptions,
    section_number,
    title_candidate,
    title_levels,
)
from docray.operators.textlayer.upright import restore_page_frame, upright_page
from docray.operators.vlmparse.assembly import vlm_page_layout
from docray.schema import BlockType, FormulaKind, LayoutFallback, Route


@dataclass(frozen=True, slots=True)
class AssembleOptions:
    """Knobs of the text-layer assembler (defaults suit ordinary documents)."""

    dehyphenate: bool = True
    remove_furniture: bool = True
    title_size_ratio: float = 1.15
    max_title_levels: int = 4
    furniture_band: float = 0.09
    furniture_min_page_ratio: float = 0.5
    min_image_area_ratio: float = 0.02
    max_image_area_ratio: float = 0.9
    merge_continuations: bool = True
    inline_delimiters: Delimiters = INLINE_DELIMITERS  # around inline formulas in block text
    lines: LineOptions = field(default_factory=LineOptions)
    order: OrderOptions = field(default_factory=OrderOptions)
    paragraphs: ParagraphOptions = field(default_factory=ParagraphOptions)
    rows: RowOptions = field(default_factory=RowOptions)  # when layout regions are dropped for line-by-line reading


def assemble_document(pages: list[PageText], options: AssembleOptions = AssembleOptions()) -> list[PageLayout]:
    """Assemble a document's pages (any order) into page layouts, sorted by page index."""
    pages = sorted(pages, key=lambda p: p.page_idx)
    turned = {p.page_idx: (p.ocr_rotation, p.width, p.height) for p in pages if _read_turned(p)}
    pages = [upright_page(p, turned[p.page_idx][0]) if p.page_idx in turned else p for p in pages]
    lines_per_page = [[] if p.vlm_blocks is not None else page_lines(p, options) for p in pages]
    if options.remove_furniture:
        furniture = find_furniture(
            [(p.width, p.height) for p in pages],
            lines_per_page,
            FurnitureOptions(band=options.furniture_band, min_page_ratio=options.furniture_min_page_ratio),
        )
    else:
        furniture = [{} for _ in pages]

    layouts: list[PageLayout] = []
    ordered_items: list[list[Item]] = []
    for page, lines, found in zip(pages, lines_per_page, furniture):
        if page.vlm_blocks is not None:  # read by a vision-language model: its blocks, in its order
            layouts.append(vlm_page_layout(page))
            ordered_items.append([])
            continue
        layout = PageLayout(page_idx=page.page_idx, width=page.width, height=page.height)
        layout.layout_fallback = page_fallback(page, lines, options.rows) if page.layout else None
        if page.layout:  # regions that do not follow the text (layout_fallback) go: the page is read by rows
            regions = trusted_regions(page, lines, options.rows) if layout.layout_fallback else page
            assembled = layout_page(regions, lines, found, LayoutOptions(dehyphenate=options.dehyphenate, inline_delimiters=options.inline_delimiters))
            layout.discarded, layout.image_files, items = assembled.discarded, assembled.image_files, assembled.items
            if layout.layout_fallback:
                items = rows_of_items(items, options.rows, options.inline_delimiters, page_slope(page.ocr_lines or []))
        else:
            layout.discarded = [_text_block(kind, [lines[i]], options.dehyphenate, options.inline_delimiters) for i, kind in sorted(found.items())]
            content = [line for i, line in enumerate(lines) if i not in found]
            items = [Item(line.bbox, line=line) for line in content]
            items += [Item(block.bbox, block=block) for block in formula_blocks(page.formulas)]
            if page.route == Route.TXT:
                items += [Item(box, block=Block(type=BlockType.IMAGE, bbox=box)) for box in page_images(page, content, options)]
        if layout.layout_fallback:
            order = rows_order(items, options.rows, page_slope(page.ocr_lines or []))
        else:
            order = reading_order([item.bbox for item in items], options.order)
        ordered_items.append([items[i] for i in order])
        layouts.append(layout)

    loose = [[it.line for it in items if it.line is not None] for items in ordered_items]
    in_blocks = [[it.block.lines for it in items if it.block is not None and it.block.lines] for items in ordered_items]
    gap_em = typical_gap_em(loose + [lines for page in in_blocks for lines in page])
    # OCR line boxes are taller than text-layer font sizes: each kind of page has its own body size
    lines_by_route: dict[Route, list[Line]] = {}
    for page, lines, blocks in zip(pages, loose, in_blocks):
        lines_by_route.setdefault(page.route, []).extend(lines + [line for block in blocks for line in block])
    body_sizes = {route: dominant_size(lines) for route, lines in lines_by_route.items()}
    title_opts = TitleOptions(size_ratio=options.title_size_ratio, max_levels=options.max_title_levels)

    titles: list[tuple[Block, TitleCandidate]] = []
    for page, layout, items in zip(pages, layouts, ordered_items):
        body_size = body_sizes[page.route]
        for run in _runs(items):
            if run[0].block is not None:
                for block in split_text_region(run[0].block, gap_em, options):
                    layout.blocks.append(block)
                    if block.type == BlockType.TITLE:
                        titles.append((block, _layout_title(block)))
                continue
            for paragraph in split_paragraphs([it.line for it in run if it.line], gap_em, options.paragraphs):
                block = _text_block(BlockType.TEXT, paragraph, options.dehyphenate, options.inline_delimiters)
                candidate = title_candidate(paragraph, block.text, body_size, title_opts)
                if candidate is not None:
                    titles.append((block, candidate))
                layout.blocks.append(block)
        number_blocks(layout.blocks)

    for (block, _), level in zip(titles, title_levels([c for _, c in titles], title_opts)):
        block.type = BlockType.TITLE
        block.level = level
    if options.merge_continuations:
        merge_continuations(layouts, options.dehyphenate)
    for layout in layouts:  # pages read turned go back to their own coordinates
        if layout.page_idx in turned:
            restore_page_frame(layout, *turned[layout.page_idx])
            layout.layout_fallback = LayoutFallback.ROTATED
    return layouts


def _read_turned(page: PageText) -> bool:
    """OCR read this page turned (its lines are assembled in the upright frame, :mod:`.upright`)."""
    return page.route == Route.OCR and page.vlm_blocks is None and bool(page.ocr_rotation)


_CLOSED = re.compile(r"[.!?:;\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*$")


def merge_continuations(layouts: list[PageLayout], dehyphenate: bool = True) -> None:
    """Join paragraphs cut by a column or page break, in place (as MinerU does).

    A text block continues the text block just before it in reading order when it starts in a
    new column (above the previous block's last line) or on the next page, starts with a lowercase
    letter, has the same font size, and the previous block does not end with a sentence end.  The
    previous block takes the lines and the text (de-hyphenated across the break); its box stays
    that of its own part, and the continuation block is removed from its page.
    """
    previous: tuple[PageLayout, Block] | None = None
    for layout in layouts:
        kept: list[Block] = []
        for block in layout.blocks:
            if previous is not None and _continues(previous[1], block, same_page=previous[0] is layout):
                head = previous[1]
                head.lines = head.lines + block.lines
                head.text = join_lines([head.text, block.text], dehyphenate)
                continue
            kept.append(block)
            previous = (layout, block)
        if len(kept) != len(layout.blocks):
            layout.blocks = kept
            number_blocks(kept)


def number_blocks(blocks: list[Block]) -> None:
    """Reading-order numbers; a figure's or table's captions and footnotes share its number."""
    for order, block in enumerate(blocks):
        block.order = order
        for child in block.children:
            child.order = order


def _continues(head: Block, block: Block, same_page: bool) -> bool:
    if head.type != BlockType.TEXT or block.type != BlockType.TEXT or not head.lines or not block.lines:
        return False
    if not block.text[:1].islower() or _CLOSED.search(head.text):
        return False
    if abs(dominant_size(head.lines) - dominant_size(block.lines)) > 0.5:
        return False
    return not same_page or block.lines[0].bbox[1] < head.lines[-1].bbox[1]


def formula_blocks(formulas: list[Formula]) -> list[Block]:
    """Display formulas that have LaTeX, as ``interline_equation`` blocks (their glyphs left the text already)."""
    return [
        Block(type=BlockType.INTERLINE_EQUATION, bbox=f.bbox, latex=f.latex, score=f.score)
        for f in formulas
        if f.kind == FormulaKind.DISPLAY and f.latex
    ]


def page_images(page: PageText, text_lines: list[Line], options: AssembleOptions) -> list[BBox]:
    """The page's image objects worth a block: clipped to the page, big enough, not a background."""
    page_area = page.width * page.height
    kept: list[BBox] = []
    for box in page.image_boxes:
        x0, y0, x1, y1 = max(0.0, box[0]), max(0.0, box[1]), min(page.width, box[2]), min(page.height, box[3])
        area = (x1 - x0) * (y1 - y0)
        if x1 <= x0 or y1 <= y0 or area < options.min_image_area_ratio * page_area:
            continue
        if area > options.max_image_area_ratio * page_area and text_lines:
            continue
        clipped = (x0, y0, x1, y1)
        if any(_iou(clipped, other) > 0.9 for other in kept):
            continue
        kept.append(clipped)
    return kept


def _iou(a: BBox, b: BBox) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def page_lines(page: PageText, options: AssembleOptions) -> list[Line]:
    """A page's text lines: its text layer, or its OCR lines on a page routed to OCR."""
    if page.route == Route.TXT:
        return group_lines(page.spans, options.lines)
    return ocr_as_lines(page.ocr_lines or [])


def split_text_region(block: Block, gap_em: float, options: AssembleOptions) -> list[Block]:
    """A layout text region holding several paragraphs, as one block per paragraph."""
    if block.type != BlockType.TEXT or len(block.lines) < 2:
        return [block]
    paragraphs = split_paragraphs(block.lines, gap_em, options.paragraphs)
    if len(paragraphs) == 1:
        return [block]
    parts = [_text_block(BlockType.TEXT, lines, options.dehyphenate, options.inline_delimiters) for lines in paragraphs]
    for part in parts:
        part.score = block.score
    return parts


def _layout_title(block: Block) -> TitleCandidate:
    """A layout title's size (font size, or line height for OCR lines) and section number."""
    size = dominant_size(block.lines) or (block.bbox[3] - block.bbox[1])
    return TitleCandidate(size=size, numbering=section_number(block.text))


def _runs(items: list[Item]) -> list[list[Item]]:
    """Ordered items cut into runs of consecutive text lines; each block is a run of its own."""
    runs: list[list[Item]] = []
    for item in items:
        if item.line is None or not runs or runs[-1][0].line is None:
            runs.append([item])
        else:
            runs[-1].append(item)
    return runs


def _text_block(kind: BlockType, lines: list[Line], dehyphenate: bool, inline: Delimiters = INLINE_DELIMITERS) -> Block:
    bbox = (
        min(line.bbox[0] for line in lines),
        min(line.bbox[1] for line in lines),
        max(line.bbox[2] for line in lines),
        max(line.bbox[3] for line in lines),
    )
    return Block(type=kind, bbox=bbox, lines=lines, text=join_lines([line_text(ln, inline) for ln in lines], dehyphenate))
