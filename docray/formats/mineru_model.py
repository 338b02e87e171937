"""MinerU's ``model.json`` (pipeline backend): the raw detections of each page.

One entry per page: ``{"layout_dets": [...], "page_info": {"page_no", "width", "height"}}``.  A
detection is ``{"category_id", "poly", "score"}``; ``poly`` is the box as 8 numbers (top-left,
top-right, bottom-right, bottom-left) in pixels of the page image, and ``page_info`` gives that
image's size.  Category ids are MinerU's: title 0, plain_text 1, abandon 2 (headers, footers,
page numbers, side notes), figure 3, figure_caption 4, table 5, table_caption 6, table_footnote 7,
isolate_formula 8, formula_caption 9, embedding 13 (inline formula), text 15 (an OCR line, with
its ``text``).  A table detection with recognised HTML carries it as ``html``.

:func:`model_json` writes the raw layout detections (and OCR lines) of pages that have them and
falls back to the assembled blocks (:func:`page_model_from_blocks`) for pages without; the page
image's dpi is the page row's ``image_dpi`` or :data:`DEFAULT_DPI` when the page has no image.
"""

from __future__ import annotations

from typing import Any

from docray.datamodel import BBox, PageLayout, PageText
from docray.schema import BlockType

DEFAULT_DPI = 144.0
OCR_TEXT = 15

_TEXT = 1
_ABANDON = 2
CATEGORY: dict[BlockType, int] = {
    BlockType.TITLE: 0,
    BlockType.IMAGE: 3,
    BlockType.IMAGE_BODY: 3,
    BlockType.IMAGE_CAPTION: 4,
    BlockType.TABLE: 5,
    BlockType.TABLE_BODY: 5,
    BlockType.TABLE_CAPTION: 6,
    BlockType.TABLE_FOOTNOTE: 7,
    BlockType.IMAGE_FOOTNOTE: 7,  # MinerU's detector has one footnote class
    BlockType.INTERLINE_EQUATION: 8,
    BlockType.INLINE_EQUATION: 13,
}
# detector class names that have a MinerU category of their own but no docray block type
LABEL_CATEGORY = {"formula_caption": 9, "equation_caption": 9}


def category_of(kind: BlockType, label: str = "") -> int:
    """MinerU's category id of a block type (or of the detector's label, where it names one)."""
    by_label = LABEL_CATEGORY.get(label.strip().lower().replace(" ", "_"))
    if by_label is not None:
        return by_label
    if kind.is_discarded:
        return _ABANDON
    return CATEGORY.get(kind, _TEXT)


def poly(bbox: BBox, scale: float) -> list[float]:
    x0, y0, x1, y1 = (round(float(v) * scale, 2) for v in bbox)
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def _detection(category: int, bbox: BBox, score: float, scale: float) -> dict[str, Any]:
    return {"category_id": category, "poly": poly(bbox, scale), "score": round(float(score), 3)}


def _page_info(page_idx: int, width: float, height: float, scale: float) -> dict[str, int]:
    return {"page_no": page_idx, "width": int(round(width * scale)), "height": max(1, int(round(height * scale)))}


def page_model_from_blocks(layout: PageLayout, dpi: float) -> dict[str, Any]:
    """A page's model.json entry made from its assembled blocks (pages without layout detections)."""
    scale = dpi / 72.0
    dets: list[dict[str, Any]] = []
    for block in list(layout.blocks) + list(layout.discarded):
        for part in [block] + list(block.children):
            dets.append(_detection(category_of(part.type), part.bbox, part.score, scale))
    return {"layout_dets": dets, "page_info": _page_info(layout.page_idx, layout.width, layout.height, scale)}


def page_model_from_detections(page: PageText) -> dict[str, Any]:
    """A page's model.json entry from its raw layout detections, OCR lines and tables."""
    scale = (page.image_dpi or DEFAULT_DPI) / 72.0
    dets: list[dict[str, Any]] = []
    for box in page.layout:
        det = _detection(category_of(box.type, box.label), box.bbox, box.score, scale)
        if det["category_id"] == CATEGORY[BlockType.TABLE]:
            html = _table_html(box.bbox, page)
            if html:
                det["html"] = html
        dets.append(det)
    for line in page.ocr_lines or []:
        dets.append({**_detection(OCR_TEXT, line.bbox, line.score, scale), "text": line.text})
    return {"layout_dets": dets, "page_info": _page_info(page.page_idx, page.width, page.height, scale)}


def _table_html(bbox: BBox, page: PageText) -> str | None:
    def overlap(other: BBox) -> float:
        w = min(bbox[2], other[2]) - max(bbox[0], other[0])
        h = min(bbox[3], other[3]) - max(bbox[1], other[1])
        if w <= 0 or h <= 0:
            return 0.0
        union = (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) + (other[2] - other[0]) * (other[3] - other[1]) - w * h
        return w * h / union

    best = max(page.tables, key=lambda t: overlap(t.bbox), default=None)
    return best.html if best is not None and overlap(best.bbox) >= 0.5 and best.html else None


def model_json(pages: list[PageText], layouts: list[PageLayout]) -> list[dict[str, Any]]:
    """MinerU's model.json of a document: raw detections where the page has them, else its blocks."""
    by_idx = {layout.page_idx: layout for layout in layouts}
    out: list[dict[str, Any]] = []
    for page in sorted(pages, key=lambda p: p.page_idx):
        if page.layout or page.ocr_lines:
            out.append(page_model_from_detections(page))
        elif page.page_idx in by_idx:
            out.append(page_model_from_blocks(by_idx[page.page_idx], page.image_dpi or DEFAULT_DPI))
    return out


def to_model_json(layouts: list[PageLayout], dpi: float = 72.0) -> list[dict[str, Any]]:
    """model.json made from assembled blocks only, every page at ``dpi``."""
    return [page_model_from_blocks(layout, dpi) for layout in layouts]
