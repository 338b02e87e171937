"""Layout-driven blocks of one page: every kept layout region becomes a block.

Used for pages whose row carries layout detections (``layout_blocks``).  The regions are first
made consistent (:func:`~.regions.resolve_regions`), then:

* **text-like regions** (text, title, ref_text, list, captions, footnotes, ...) take the page's
  lines whose centre lies inside them (text-layer lines on a ``txt`` page, OCR lines on an ``ocr``
  page); a region of a ``txt`` page without text-layer lines takes the OCR lines inside it when
  the page has any.  The lines are read in reading order and joined (dehyphenated); a region
  without text is dropped;
* **figures** (``image``) become IMAGE blocks whose ``img_path`` is ``<sha256 of the crop>.jpg``
  of the matching crop (same type, IoU >= ``match_iou``), and the crop's bytes go to
  ``image_files``; text lines inside a figure are part of it (its labels), except lines of running
  text (``figure_prose_words`` words: a sentence the figure's box took in).  A "figure" full of text
  (``figure_text_chars`` characters covering ``figure_text_cover`` of it: a slide, a formula sheet)
  or covering ``background_area`` of the page (a cover, a poster: the page's background) is no
  figure: its lines are read as loose lines;
* **tables** take the HTML of the best-matching recognised table (IoU >= ``match_iou``) and their
  crop; **display equations** (``interline_equation``) keep their crop and take the LaTeX of the
  formula stage's display formula they match (IoU >= ``match_iou``, or the formula mostly inside);
  display formulas with LaTeX that no equation region took (and no figure or table holds) become
  equation blocks of their own.  A table or equation with neither HTML nor crop falls back to a text
  block of its lines;
* **no text is lost** to a table or an equation: the spans inside it that its HTML or LaTeX does not
  hold (:func:`~.held_text.unheld_lines`; all of them when it has only a crop) are read as loose
  lines: the rows a recognised table lost (its unheld spans), the lines of running text beside a formula, whole
  with their inline math (a table's every word and number counts; an equation's words of
  ``equation_min_letters``+ letters, so its own glyphs stay);
* captions and footnotes (``image_caption``/``image_footnote`` -> nearest figure,
  ``table_caption``/``table_footnote`` -> nearest table) become the children of that block, in
  top-to-bottom order; without a figure or table of that kind on the page they are text blocks;
* header/footer/page_number/aside_text/page_footnote regions become discarded blocks, as do the
  lines the furniture heuristics flag (unless they lie in a figure, table or discarded region); a header or
  footer region is furniture only when :func:`~.furniture.is_furniture_region` agrees (the furniture rules flag
  one of its lines, or it sits at the page's edge and is no sentence): else it is a text region;
* text lines inside no region are returned as loose lines; the document assembler orders them
  with the blocks and groups them into paragraphs, as on pages without layout.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from docray.datamodel import (
    INLINE_DELIMITERS,
    BBox,
    Block,
    Crop,
    Delimiters,
    Formula,
    LayoutBox,
    Line,
    PageText,
    bbox_union,
)
from docray.operators.textlayer.furniture import is_furniture_region
from docray.operators.textlayer.held_text import html_text, latex_text, tokens, unheld_lines
from docray.operators.textlayer.lines import line_text
from docray.operators.textlayer.order import OrderOptions, reading_order
from docray.operators.textlayer.paragraphs import join_lines
from docray.operators.textlayer.regions import (
    ATTACHED,
    RegionOptions,
    assign_lines,
    canonical_type,
    family,
    gap_distance,
    inside_share,
    iou,
    ocr_as_lines,
    resolve_regions,
)
from docray.schema import BlockType, FormulaKind, Route

_PARENT_OF = {
    BlockType.IMAGE_CAPTION: BlockType.IMAGE,
    BlockType.IMAGE_FOOTNOTE: BlockType.IMAGE,
    BlockType.TABLE_CAPTION: BlockType.TABLE,
    BlockType.TABLE_FOOTNOTE: BlockType.TABLE,
}


@dataclass(frozen=True, slots=True)
class LayoutOptions:
    regions: RegionOptions = field(default_factory=RegionOptions)
    match_iou: float = 0.5  # a crop or recognised table belongs to the region it overlaps this much
    dehyphenate: bool = True
    figure_text_chars: int = 200  # a "figure" holding this many text-layer characters ...
    figure_text_cover: float = 0.1  # ... whose lines cover this share of it is read as text
    background_area: float = 0.9  # a "figure" with text lines covering this share of the page is its background
    figure_prose_words: int = 8  # a line of this many words inside a figure is running text, not a label
    inline_delimiters: Delimiters = INLINE_DELIMITERS  # around inline formulas in block text
    equation_min_letters: int = 4  # words this long inside an equation region that its LaTeX lacks are text


@dataclass(slots=True)
class Item:
    """One box to order on a page: a loose text line or a finished block."""

    bbox: BBox
    line: Line | None = None
    block: Block | None = None


@dataclass(slots=True)
class LayoutPage:
    items: list[Item]  # blocks and loose lines, not yet in reading order
    discarded: list[Block]
    image_files: dict[str, bytes]


def crop_name(data: bytes) -> str:
    """The image file name of a crop: its sha256 and ``.jpg`` (MinerU's naming)."""
    return hashlib.sha256(data).hexdigest() + ".jpg"


def best_match(box: BBox, candidates: list[BBox], min_iou: float) -> int | None:
    scored = [(iou(box, c), i) for i, c in enumerate(candidates)]
    score, index = max(scored, default=(0.0, -1))
    return index if score >= min_iou else None


def layout_page(
    page: PageText, lines: list[Line], furniture: dict[int, BlockType], options: LayoutOptions = LayoutOptions()
) -> LayoutPage:
    """The blocks of a page with layout regions; ``lines`` are its text lines (text layer or OCR)."""
    regions = resolve_regions(page.layout, page.width, page.height, options.regions)
    owner = assign_lines(lines, regions)
    dense = [
        k
        for k, r in enumerate(regions)
        if _text_dense_figure(r, [ln for ln, o in zip(lines, owner) if o == k], page, options)
    ]
    if dense:  # their lines are read like lines outside any region: column-aware, paragraph by paragraph
        regions = [r for k, r in enumerate(regions) if k not in dense]
        owner = assign_lines(lines, regions)
    regions = _body_text_regions(regions, owner, lines, page.height, furniture)
    ocr = ocr_as_lines(page.ocr_lines or []) if page.route == Route.TXT else []
    ocr_owner = assign_lines(ocr, regions)

    discarded: list[Block] = []
    for i, kind in sorted(furniture.items()):
        region = owner[i]
        if region is None or family(regions[region].type) == "text":
            owner[i] = None
            discarded.append(_text_block(kind, None, [lines[i]], options))
    furniture_lines = {i for i, r in enumerate(owner) if r is None and i in furniture}

    image_files: dict[str, bytes] = {}
    blocks: list[Block] = []
    attached: list[Block] = []
    unheld: list[Line] = []  # text of tables and equations that their blocks do not show
    formulas = [f for f in page.formulas if f.kind == FormulaKind.DISPLAY and f.latex]
    claimed: set[int] = set()
    for r, region in enumerate(regions):
        inside = [lines[i] for i, o in enumerate(owner) if o == r]
        if not inside and family(region.type) != "visual":
            inside = [ocr[i] for i, o in enumerate(ocr_owner) if o == r]
        latex, match = None, None
        if region.type == BlockType.INTERLINE_EQUATION:
            match = _matching_formula(region.bbox, formulas, claimed, options.match_iou)
            if match is not None:
                claimed.add(match)
                latex = formulas[match].latex
        block = _region_block(region, inside, page, image_files, options, latex)
        if block is None:
            continue
        lost = _unheld(block, inside, options)
        if lost and latex is not None and match is not None:  # the region took in lines of text: the block is its formula
            block.bbox = formulas[match].bbox
        unheld += lost
        if block.type.is_discarded:
            discarded.append(block)
        elif block.type in ATTACHED:
            attached.append(block)
        else:
            blocks.append(block)
    attach_children(attached, blocks)
    holders = [r.bbox for r in regions if r.type in (BlockType.IMAGE, BlockType.TABLE)]
    for k, formula in enumerate(formulas):  # display formulas no equation region took (a figure's or table's stay)
        if k not in claimed and not any(inside_share(formula.bbox, box) > 0.5 for box in holders):
            blocks.append(Block(type=BlockType.INTERLINE_EQUATION, bbox=formula.bbox, latex=formula.latex, score=formula.score))

    items = [Item(bbox_union([b.bbox] + [c.bbox for c in b.children]), block=b) for b in blocks]
    items += [Item(line.bbox, line=line) for i, line in enumerate(lines) if owner[i] is None and i not in furniture_lines]
    items += [Item(line.bbox, line=line) for line in unheld]
    discarded.sort(key=lambda b: (b.bbox[1], b.bbox[0]))
    return LayoutPage(items=items, discarded=discarded, image_files=image_files)


def _body_text_regions(
    regions: list[LayoutBox], owner: list[int | None], lines: list[Line], height: float, furniture: dict[int, BlockType]
) -> list[LayoutBox]:
    """The regions, with header and footer regions that are no page furniture (:func:`is_furniture_region`: a
    sentence, or text below the page's body text) turned into text regions."""
    body = [i for i, o in enumerate(owner) if i not in furniture and (o is None or family(regions[o].type) != "discarded")]
    out = []
    for k, region in enumerate(regions):
        if region.type in (BlockType.HEADER, BlockType.FOOTER):
            inside = [i for i, o in enumerate(owner) if o == k]
            at_top = region.type == BlockType.HEADER
            if not is_furniture_region(region.bbox, at_top, inside, body, lines, height, furniture):
                region = replace(region, type=BlockType.TEXT)
        out.append(region)
    return out


def _text_dense_figure(region: LayoutBox, inside: list[Line], page: PageText, options: LayoutOptions) -> bool:
    """A figure region full of text-layer text (a slide, a formula sheet), or one with text that covers the page
    (a cover, a poster: the page's background, as the fast path skips background images), is text, not a
    picture to crop away."""
    if region.type is not BlockType.IMAGE or not inside:
        return False
    box = region.bbox
    if (box[2] - box[0]) * (box[3] - box[1]) >= options.background_area * page.width * page.height:
        return True
    chars = sum(len(line_text(line).strip()) for line in inside)
    covered = sum((b[2] - b[0]) * (b[3] - b[1]) for b in (line.bbox for line in inside))
    area = max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))
    return chars >= options.figure_text_chars and covered / area >= options.figure_text_cover


def _region_block(
    region: LayoutBox,
    inside: list[Line],
    page: PageText,
    image_files: dict[str, bytes],
    options: LayoutOptions,
    latex: str | None = None,
) -> Block | None:
    kind = region.type
    if family(kind) != "visual":
        block = _text_block(kind, region, inside, options)
        return block if block.text else None
    crop = matching_crop(region.type, region.bbox, page.crops, options.match_iou)
    img_path = None
    if crop is not None:
        img_path = crop_name(crop.data)
        image_files[img_path] = crop.data
    block = Block(type=kind, bbox=region.bbox, score=region.score, img_path=img_path, latex=latex)
    if kind == BlockType.TABLE:
        match = best_match(region.bbox, [t.bbox for t in page.tables], options.match_iou)
        block.html = page.tables[match].html if match is not None and page.tables[match].html else None
    if kind != BlockType.IMAGE and block.img_path is None and block.html is None and block.latex is None:
        fallback = _text_block(BlockType.TEXT, region, inside, options)
        return fallback if fallback.text else None
    return block


def _unheld(block: Block, inside: list[Line], options: LayoutOptions) -> list[Line]:
    """The text of a table's or equation's lines that the block does not show (:mod:`.held_text`), and the lines
    of running text in a figure."""
    ordered = [inside[i] for i in reading_order([ln.bbox for ln in inside], OrderOptions())]
    if block.type == BlockType.IMAGE:
        return [ln for ln in ordered if len(tokens(line_text(ln), 2, numbers=False)) >= options.figure_prose_words]
    if block.type == BlockType.TABLE:
        return unheld_lines(ordered, html_text(block.html or ""))
    if block.type == BlockType.INTERLINE_EQUATION:  # a line of running text comes out whole, its inline math too
        unheld = unheld_lines(ordered, latex_text(block.latex or ""), options.equation_min_letters, numbers=False)
        return [ln for ln in ordered if any(_shares_span(ln, u) for u in unheld)]
    return []


def _shares_span(line: Line, part: Line) -> bool:
    return any(span is s for span in line.spans for s in part.spans)


def _matching_formula(box: BBox, formulas: list[Formula], claimed: set[int], min_iou: float) -> int | None:
    """The unclaimed display formula that is this equation region: overlapping it by ``min_iou``, or mostly inside it."""
    best, best_score = None, 0.0
    for k, formula in enumerate(formulas):
        if k in claimed:
            continue
        score = max(iou(box, formula.bbox), inside_share(formula.bbox, box))
        if score > best_score:
            best, best_score = k, score
    return best if best_score >= min_iou else None


def matching_crop(kind: BlockType, box: BBox, crops: list[Crop], min_iou: float) -> Crop | None:
    """The crop of a region of type ``kind`` at ``box``: same top-level type (``image_body`` is ``image``), best IoU."""
    same = [c for c in crops if canonical_type(c.type) == canonical_type(kind)]
    match = best_match(box, [c.bbox for c in same], min_iou)
    return same[match] if match is not None else None


def attach_children(attached: list[Block], blocks: list[Block]) -> None:
    """Captions and footnotes become children of the nearest figure/table; orphans become text."""
    for child in attached:
        parents = [b for b in blocks if b.type == _PARENT_OF[child.type]]
        if not parents:
            child.type = BlockType.TEXT
            blocks.append(child)
            continue
        parent = min(parents, key=lambda b: gap_distance(b.bbox, child.bbox))
        parent.children.append(child)
    for block in blocks:
        block.children.sort(key=lambda c: (c.bbox[1], c.bbox[0]))


def _text_block(kind: BlockType, region: LayoutBox | None, lines: list[Line], options: LayoutOptions) -> Block:
    ordered = [lines[i] for i in reading_order([ln.bbox for ln in lines], OrderOptions())] if lines else []
    text = join_lines([line_text(ln, options.inline_delimiters) for ln in ordered], options.dehyphenate)
    if region is not None:
        return Block(type=kind, bbox=region.bbox, lines=ordered, text=text, score=region.score)
    return Block(type=kind, bbox=bbox_union([ln.bbox for ln in ordered]), lines=ordered, text=text)
