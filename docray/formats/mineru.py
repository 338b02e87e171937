"""MinerU's output formats (Markdown, content_list.json, middle.json, model.json) from page layouts.

Pure functions of :class:`~docray.datamodel.PageLayout` lists; the results are plain
``json.dumps``-able values.  Conventions, as in MinerU's pipeline backend:

* Markdown: blocks in reading order separated by a blank line; a title is ``'#' * level``
  (level clamped to 1..6) + its text; an image is ``![](images/<file>)`` when it has an image
  file and is left out otherwise; discarded blocks (headers, footers, page numbers) never appear.
* ``Block.img_path`` is the image's file name relative to the image folder (MinerU's
  ``image_path``); a path that already starts with ``<image_dir>/`` is used as it is.
* content_list: one item per content block; ``bbox`` is the block box scaled to 0..1000 of the
  page width/height (integers, truncated as MinerU does); titles carry ``text_level``.  Discarded
  blocks are left out like the pipeline backend does, unless ``include_discarded=True`` (then
  they follow each page's content as items typed header/footer/page_number, like the VLM backend).
* middle.json: one ``pdf_info`` entry per layout; text blocks hold lines of ``text`` spans,
  image blocks are two-level (``image`` -> ``image_body`` -> a span of type ``image`` with
  ``image_path``), titles carry ``level``, every block its reading-order ``index``.
"""

from __future__ import annotations

from typing import Any

from docray.datamodel import BBox, Block, Line, PageLayout
from docray.schema import BlockType

_MODEL_CATEGORY = {BlockType.TITLE: 0, BlockType.TEXT: 1, BlockType.IMAGE: 3, BlockType.IMAGE_CAPTION: 4}
_ABANDON = 2


def _rounded(bbox: BBox, digits: int = 3) -> list[float]:
    return [round(float(v), digits) for v in bbox]


def normalised_bbox(bbox: BBox, width: float, height: float) -> list[int]:
    """A box in points scaled to MinerU's 0..1000 page coordinates."""
    if width <= 0 or height <= 0:
        return [0, 0, 0, 0]
    scale = (width, height, width, height)
    return [min(1000, max(0, int(float(v) * 1000 / s))) for v, s in zip(bbox, scale)]


def image_link(img_path: str, image_dir: str) -> str:
    """The path of an image file as the Markdown and the content list refer to it."""
    if not image_dir or img_path.startswith(image_dir.rstrip("/") + "/"):
        return img_path
    return f"{image_dir.rstrip('/')}/{img_path}"


# ---------------------------------------------------------------------------- Markdown


def block_markdown(block: Block, image_dir: str = "images") -> str:
    """One content block as Markdown ('' for blocks that have nothing to show)."""
    if block.type.is_discarded:
        return ""
    if block.type == BlockType.IMAGE:
        return f"![]({image_link(block.img_path, image_dir)})" if block.img_path else ""
    text = block.text.strip()
    if not text:
        return ""
    if block.type == BlockType.TITLE:
        return f"{'#' * min(max(block.level, 1), 6)} {text}"
    if text.startswith("#"):  # a paragraph that would read as a heading
        return "\\" + text
    return text


def page_markdown(layout: PageLayout, image_dir: str = "images") -> str:
    parts = (block_markdown(block, image_dir) for block in layout.blocks)
    return "\n\n".join(part for part in parts if part)


def to_markdown(layouts: list[PageLayout], image_dir: str = "images") -> str:
    """The document's Markdown: its pages' content blocks, separated by blank lines."""
    pages = (page_markdown(layout, image_dir) for layout in layouts)
    return "\n\n".join(page for page in pages if page)


# ---------------------------------------------------------------------------- content_list


def _content_item(block: Block, layout: PageLayout, image_dir: str) -> dict[str, Any] | None:
    item: dict[str, Any]
    if block.type == BlockType.IMAGE:
        item = {
            "type": "image",
            "img_path": image_link(block.img_path, image_dir) if block.img_path else "",
            "image_caption": [],
            "image_footnote": [],
        }
    elif block.type == BlockType.TITLE:
        item = {"type": "text", "text": block.text}
        if block.level > 0:
            item["text_level"] = block.level
    elif block.type.is_discarded:
        item = {"type": block.type.value, "text": block.text}
    elif block.text:
        item = {"type": "text", "text": block.text}
    else:
        return None
    item["bbox"] = normalised_bbox(block.bbox, layout.width, layout.height)
    item["page_idx"] = layout.page_idx
    return item


def to_content_list(
    layouts: list[PageLayout], image_dir: str = "images", include_discarded: bool = False
) -> list[dict[str, Any]]:
    """MinerU's content_list.json items, in reading order."""
    items: list[dict[str, Any]] = []
    for layout in layouts:
        blocks = list(layout.blocks) + (list(layout.discarded) if include_discarded else [])
        for block in blocks:
            item = _content_item(block, layout, image_dir)
            if item is not None:
                items.append(item)
    return items


# ---------------------------------------------------------------------------- middle.json


def _line_json(line: Line, score: float) -> dict[str, Any]:
    return {
        "bbox": _rounded(line.bbox),
        "spans": [
            {"bbox": _rounded(span.bbox), "content": span.text, "type": "text", "score": round(float(score), 3)}
            for span in line.spans
        ],
    }


def block_json(block: Block) -> dict[str, Any]:
    """One block as a middle.json block."""
    if block.type == BlockType.IMAGE:
        body = {
            "type": BlockType.IMAGE_BODY.value,
            "bbox": _rounded(block.bbox),
            "lines": [
                {
                    "bbox": _rounded(block.bbox),
                    "spans": [
                        {
                            "bbox": _rounded(block.bbox),
                            "type": "image",
                            "image_path": block.img_path or "",
                            "score": round(float(block.score), 3),
                        }
                    ],
                }
            ],
            "index": block.order,
        }
        return {"type": "image", "bbox": _rounded(block.bbox), "blocks": [body], "index": block.order}
    if not block.lines and block.text:  # a block without text-layer lines (OCR, models): one line, one span
        out_lines = [
            {
                "bbox": _rounded(block.bbox),
                "spans": [
                    {"bbox": _rounded(block.bbox), "content": block.text, "type": "text", "score": round(float(block.score), 3)}
                ],
            }
        ]
    else:
        out_lines = [_line_json(line, block.score) for line in block.lines]
    out: dict[str, Any] = {"type": block.type.value, "bbox": _rounded(block.bbox), "lines": out_lines, "index": block.order}
    if block.type == BlockType.TITLE:
        out["level"] = block.level
    return out


def page_json(layout: PageLayout) -> dict[str, Any]:
    """One page's ``pdf_info`` entry."""
    blocks = [block_json(b) for b in layout.blocks]
    return {
        "preproc_blocks": [block_json(b) for b in layout.blocks],
        "page_idx": layout.page_idx,
        "page_size": [round(float(layout.width), 3), round(float(layout.height), 3)],
        "images": [b for b in blocks if b["type"] == "image"],
        "tables": [b for b in blocks if b["type"] == "table"],
        "interline_equations": [b for b in blocks if b["type"] == "interline_equation"],
        "discarded_blocks": [block_json(b) for b in layout.discarded],
        "para_blocks": blocks,
    }


def to_middle_json(layouts: list[PageLayout], *, parse_method: str, version: str) -> dict[str, Any]:
    """MinerU's middle.json document (pipeline backend)."""
    return {
        "pdf_info": [page_json(layout) for layout in layouts],
        "_backend": "pipeline",
        "_version_name": version,
        "_parse_type": parse_method,
    }


# ---------------------------------------------------------------------------- model.json


def to_model_json(layouts: list[PageLayout], dpi: float = 72.0) -> list[dict[str, Any]]:
    """MinerU's model.json: per page, the layout detections as 8-number polygons.

    Coordinates are scaled from points to pixels of a page image at ``dpi`` (MinerU's own
    model.json uses the rendered page image's pixels).
    """
    scale = dpi / 72.0
    pages: list[dict[str, Any]] = []
    for layout in layouts:
        dets = []
        for block in list(layout.blocks) + list(layout.discarded):
            category = _ABANDON if block.type.is_discarded else _MODEL_CATEGORY.get(block.type)
            if category is None:
                continue
            x0, y0, x1, y1 = (round(float(v) * scale, 2) for v in block.bbox)
            dets.append({"category_id": category, "poly": [x0, y0, x1, y0, x1, y1, x0, y1], "score": round(float(block.score), 3)})
        pages.append(
            {
                "layout_dets": dets,
                "page_info": {
                    "page_no": layout.page_idx,
                    "width": int(round(layout.width * scale)),
                    "height": int(round(layout.height * scale)),
                },
            }
        )
    return pages
