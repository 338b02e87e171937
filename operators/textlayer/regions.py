"""Layout regions on a page: box geometry, overlap resolution and which region each text line is in.

Layout detectors return overlapping boxes: duplicates of one region, text boxes inside a figure
(the figure's own labels), a paragraph box inside a bigger paragraph box.  :func:`resolve_regions`
keeps one consistent set:

1. boxes are clipped to the page; boxes thinner than ``min_size`` points are dropped;
2. in order of falling score, a box is dropped when it overlaps a kept box with an IoU above
   ``duplicate_iou`` (any types), or above ``same_family_iou`` when both are of one family
   (text-like, visual, discarded);
3. a text-like box (not a caption or footnote) whose area lies for at least ``contained`` inside a
   visual box (figure, table, equation) is dropped: its text belongs to that figure or table;
4. a box lying for at least ``contained`` inside a bigger box of its own family is dropped: its
   lines go to the bigger box; but a table box holding a table box the detector is surer of is dropped
   first (before 3 and 4): two tables do not nest, and a loose box drawn around a confident table, the
   text beside it and the page's other column would swallow them all (:func:`around_surer_table`).

Each text line then belongs to the smallest kept region that contains its centre
(:func:`assign_lines`), or to none; a line is used once.
"""

from __future__ import annotations

from dataclasses import dataclass

from docray.datamodel import BBox, LayoutBox, Line, OcrLine, Span
from docray.schema import BlockType

VISUAL = frozenset({BlockType.IMAGE, BlockType.IMAGE_BODY, BlockType.TABLE, BlockType.TABLE_BODY, BlockType.INTERLINE_EQUATION})
ATTACHED = frozenset({BlockType.IMAGE_CAPTION, BlockType.IMAGE_FOOTNOTE, BlockType.TABLE_CAPTION, BlockType.TABLE_FOOTNOTE})
_BODY_OF = {BlockType.IMAGE_BODY: BlockType.IMAGE, BlockType.TABLE_BODY: BlockType.TABLE}


@dataclass(frozen=True, slots=True)
class RegionOptions:
    min_size: float = 2.0  # points; thinner boxes are dropped
    duplicate_iou: float = 0.8  # boxes of any types overlapping this much are one region
    same_family_iou: float = 0.5  # boxes of one family overlapping this much are one region
    contained: float = 0.8  # share of a box's area inside another that makes it part of it
    merge_overlap: float = 0.3  # plain-text boxes sharing this much of the smaller one's area become their union


def family(kind: BlockType) -> str:
    if kind in VISUAL:
        return "visual"
    if kind.is_discarded:
        return "discarded"
    return "text"


def canonical_type(kind: BlockType) -> BlockType:
    """A layout type as a top-level block type (``image_body`` -> ``image``)."""
    return _BODY_OF.get(kind, kind)


def area(box: BBox) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def intersection(a: BBox, b: BBox) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def iou(a: BBox, b: BBox) -> float:
    inter = intersection(a, b)
    return inter / (area(a) + area(b) - inter) if inter > 0 else 0.0


def inside_share(inner: BBox, outer: BBox) -> float:
    """Share of ``inner``'s area that lies inside ``outer``."""
    own = area(inner)
    return intersection(inner, outer) / own if own > 0 else 0.0


def contains_point(box: BBox, x: float, y: float) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def gap_distance(a: BBox, b: BBox) -> float:
    """Euclidean distance between two boxes (0 when they touch or overlap)."""
    dx = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    return (dx * dx + dy * dy) ** 0.5


def clip(box: BBox, width: float, height: float) -> BBox:
    return (max(0.0, box[0]), max(0.0, box[1]), min(width, box[2]), min(height, box[3]))


def resolve_regions(
    boxes: list[LayoutBox], width: float, height: float, options: RegionOptions = RegionOptions()
) -> list[LayoutBox]:
    """The layout boxes worth a block, without duplicates or nested boxes (see the module doc)."""
    candidates: list[LayoutBox] = []
    for box in boxes:
        clipped = clip(box.bbox, width, height)
        if clipped[2] - clipped[0] >= options.min_size and clipped[3] - clipped[1] >= options.min_size:
            candidates.append(LayoutBox(canonical_type(box.type), clipped, box.score, box.label))
    candidates.sort(key=lambda b: -b.score)

    kept: list[LayoutBox] = []
    for box in candidates:
        duplicate = any(
            iou(box.bbox, other.bbox) > (options.same_family_iou if family(box.type) == family(other.type) else options.duplicate_iou)
            for other in kept
        )
        if not duplicate:
            kept.append(box)
    kept = [box for box in kept if not around_surer_table(box, kept, options.contained)]

    def swallowed(box: LayoutBox) -> bool:
        for other in kept:
            if other is box or inside_share(box.bbox, other.bbox) < options.contained:
                continue
            if family(box.type) == "text" and box.type not in ATTACHED and family(other.type) == "visual":
                return True
            if family(box.type) == family(other.type) and area(other.bbox) > area(box.bbox):
                return True
        return False

    return merge_overlapping_text([box for box in kept if not swallowed(box)], options.merge_overlap)


def around_surer_table(box: LayoutBox, boxes: list[LayoutBox], contained: float) -> bool:
    """Whether ``box`` is a table that holds (``contained`` of its area) a table box of a higher score."""
    return box.type is BlockType.TABLE and any(
        other.type is BlockType.TABLE and other.score > box.score and inside_share(other.bbox, box.bbox) >= contained
        for other in boxes
        if other is not box
    )


def merge_overlapping_text(boxes: list[LayoutBox], min_share: float) -> list[LayoutBox]:
    """Replace plain-text boxes that overlap by ``min_share`` of the smaller one with their union.

    Two partly overlapping paragraph boxes would otherwise split a paragraph's lines between them
    and be read in the wrong order; the union is split into paragraphs again downstream.
    """
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        for i, a in enumerate(merged):
            for j in range(i + 1, len(merged)):
                b = merged[j]
                if a.type is not BlockType.TEXT or b.type is not BlockType.TEXT:
                    continue
                smaller, larger = (a, b) if area(a.bbox) <= area(b.bbox) else (b, a)
                if inside_share(smaller.bbox, larger.bbox) >= min_share:
                    union = (min(a.bbox[0], b.bbox[0]), min(a.bbox[1], b.bbox[1]),
                             max(a.bbox[2], b.bbox[2]), max(a.bbox[3], b.bbox[3]))  # fmt: skip
                    merged[i] = LayoutBox(BlockType.TEXT, union, max(a.score, b.score), larger.label)
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    return merged


def assign_lines(lines: list[Line], regions: list[LayoutBox]) -> list[int | None]:
    """For each line, the index of the smallest region containing its centre, or None."""
    out: list[int | None] = []
    for line in lines:
        x = (line.bbox[0] + line.bbox[2]) / 2
        y = (line.bbox[1] + line.bbox[3]) / 2
        best: int | None = None
        for i, region in enumerate(regions):
            if contains_point(region.bbox, x, y) and (best is None or area(region.bbox) < area(regions[best].bbox)):
                best = i
        out.append(best)
    return out


def ocr_as_lines(ocr_lines: list[OcrLine]) -> list[Line]:
    """OCR lines as text lines of one span each (no font size: sizes fall back to the box height)."""
    lines = [
        Line(spans=[Span(text=o.text, bbox=tuple(float(v) for v in o.bbox))], bbox=tuple(float(v) for v in o.bbox))  # type: ignore[arg-type]
        for o in ocr_lines
        if o.text and o.text.strip()
    ]
    lines.sort(key=lambda ln: (ln.bbox[1], ln.bbox[0]))
    return lines
