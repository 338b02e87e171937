"""MinerU's output formats (Markdown, content_list.json, middle.json) from page layouts.

Pure functions of :class:`~docray.datamodel.PageLayout` lists; the results are plain
``json.dumps``-able values (model.json: :mod:`docray.formats.mineru_model`).  Conventions, as in
MinerU's pipeline backend:

* Markdown: blocks in reading order separated by a blank line; a title is ``'#' * level``
  (level clamped to 1..6) + its text; an image is ``![](images/<file>)`` followed by its captions
  and footnotes (each after ``"  \n"``) when it has an image file, and is left out otherwise; a
  table is its captions, its HTML (``<html><body><table>...``, or its image without HTML) and its
  footnotes, one per line; a display equation is ``$$ latex $$``, or its image while it has no
  LaTeX; discarded blocks (headers, footers, page numbers) never appear.
* ``Block.img_path`` is the image's file name relative to the image folder (MinerU's
  ``image_path``); a path that already starts with ``<image_dir>/`` is used as it is.
* content_list: one item per content block; ``bbox`` is the block box scaled to 0..1000 of the
  page width/height (integers, truncated as MinerU does); titles carry ``text_level``; figures
  carry ``image_caption``/``image_footnote``, tables ``table_caption``/``table_footnote``/
  ``table_body``, equations ``text`` (``$$...$$`` or ``""``) and ``text_format: "latex"``.
  Discarded blocks are left out like the pipeline backend does, unless ``include_discarded=True``
  (then they follow each page's content as items typed header/footer/page_number, like the VLM
  backend).
* middle.json: one ``pdf_info`` entry per layout; text blocks hold lines of ``text`` spans;
  figures and tables are two-level (``image`` -> ``image_body`` (a span of type ``image`` with
  ``image_path``) + ``image_caption``/``image_footnote`` blocks; ``table`` -> ``table_caption``,
  ``table_body`` (a ``table`` span with ``html`` and ``image_path``), ``table_footnote``); a display
  equation holds one ``interline_equation`` span (``content`` = LaTeX, ``image_path``); titles
  carry ``level``, every block its reading-order ``index``.
"""

from __future__ import annotations

from typing import Any

from docray.datamodel import BBox, Block, LatexDelimiters, Line, PageLayout, bbox_union
from docray.formats.mineru_model import to_model_json  # noqa: F401  (re-exported)
from docray.schema import BlockType, FontFlags

DEFAULT_DELIMITERS = LatexDelimiters()


def _rounded(bbox: BBox, digits: int = 3) -> list[float]:
    return [round(float(v), digits) for v in bbox]


def group_bbox(block: Block) -> BBox:
    """A block's box together with its captions and footnotes (a figure or table as a whole)."""
    return bbox_union([block.bbox] + [child.bbox for child in block.children]) if block.children else block.bbox


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


def block_markdown(block: Block, image_dir: str = "images", delimiters: LatexDelimiters = DEFAULT_DELIMITERS) -> str:
    """One content block as Markdown ('' for blocks that have nothing to show)."""
    if block.type.is_discarded:
        return ""
    if block.type == BlockType.IMAGE:
        if not block.img_path:
            return ""
        return "  \n".join([f"![]({image_link(block.img_path, image_dir)})"] + _child_texts(block))
    if block.type == BlockType.TABLE:
        return _table_markdown(block, image_dir)
    if block.type == BlockType.INTERLINE_EQUATION:
        if block.latex:
            return delimiters.display_text(block.latex)
        return f"![]({image_link(block.img_path, image_dir)})" if block.img_path else ""
    text = block.text.strip()
    if not text:
        return ""
    if block.type in (BlockType.CODE, BlockType.ALGORITHM):  # VLM backend: code and algorithms verbatim
        fence = "````" if "```" in text else "```"
        return "  \n".join(_child_texts(block) + [f"{fence}\n{block.text.strip(chr(10))}\n{fence}"])
    if block.type == BlockType.TITLE:
        return f"{'#' * min(max(block.level, 1), 6)} {text}"
    if text.startswith("#"):  # a paragraph that would read as a heading
        return "\\" + text
    return text


def _child_texts(block: Block, *kinds: BlockType) -> list[str]:
    return [c.text.strip() for c in block.children if c.text.strip() and (not kinds or c.type in kinds)]


def table_body(html: str | None) -> str:
    """A table's HTML as MinerU's ``table_body`` (``<html><body><table>...</table></body></html>``)."""
    if not html:
        return ""
    html = html.strip()
    return html if html.startswith("<html") else f"<html><body>{html}</body></html>"


def _table_markdown(block: Block, image_dir: str) -> str:
    """Captions, then the table's HTML (or its image), then footnotes, as MinerU's Markdown."""
    if block.html:
        body = table_body(block.html)
    elif block.img_path:
        body = f"![]({image_link(block.img_path, image_dir)})"
    else:
        body = ""
    captions = _child_texts(block, BlockType.TABLE_CAPTION)
    footnotes = _child_texts(block, BlockType.TABLE_FOOTNOTE)
    parts = (["  \n".join(captions)] if captions else []) + ([body] if body else []) + (["  \n".join(footnotes)] if footnotes else [])
    return "\n".join(parts)


def page_markdown(layout: PageLayout, image_dir: str = "images", delimiters: LatexDelimiters = DEFAULT_DELIMITERS) -> str:
    parts = (block_markdown(block, image_dir, delimiters) for block in layout.blocks)
    return "\n\n".join(part for part in parts if part)


def to_markdown(layouts: list[PageLayout], image_dir: str = "images", delimiters: LatexDelimiters = DEFAULT_DELIMITERS) -> str:
    """The document's Markdown: its pages' content blocks, separated by blank lines."""
    pages = (page_markdown(layout, image_dir, delimiters) for layout in layouts)
    return "\n\n".join(page for page in pages if page)


# ---------------------------------------------------------------------------- content_list


def _content_item(block: Block, layout: PageLayout, image_dir: str, delimiters: LatexDelimiters) -> dict[str, Any] | None:
    item: dict[str, Any]
    img_path = image_link(block.img_path, image_dir) if block.img_path else ""
    if block.type == BlockType.IMAGE:
        item = {
            "type": "image",
            "img_path": img_path,
            "image_caption": _child_texts(block, BlockType.IMAGE_CAPTION),
            "image_footnote": _child_texts(block, BlockType.IMAGE_FOOTNOTE),
        }
    elif block.type == BlockType.TABLE:
        item = {
            "type": "table",
            "img_path": img_path,
            "table_caption": _child_texts(block, BlockType.TABLE_CAPTION),
            "table_footnote": _child_texts(block, BlockType.TABLE_FOOTNOTE),
            "table_body": table_body(block.html),
        }
    elif block.type == BlockType.INTERLINE_EQUATION:
        latex = delimiters.display_text(block.latex) if block.latex else ""
        item = {"type": "equation", "img_path": img_path, "text": latex, "text_format": "latex"}
    elif block.type == BlockType.TITLE:
        item = {"type": "text", "text": block.text}
        if block.level > 0:
            item["text_level"] = block.level
    elif block.type in (BlockType.CODE, BlockType.ALGORITHM) and block.text:
        item = {"type": "code", "sub_type": block.type.value, "code_caption": _child_texts(block), "code_body": block.text}
    elif block.type == BlockType.LIST and block.text:
        items = [line.strip() for line in block.text.splitlines() if line.strip()]
        item = {"type": "list", "sub_type": "text", "list_items": items}
    elif block.type.is_discarded:
        item = {"type": block.type.value, "text": block.text}
    elif block.text:
        item = {"type": "text", "text": block.text}
    else:
        return None
    item["bbox"] = normalised_bbox(group_bbox(block), layout.width, layout.height)
    item["page_idx"] = layout.page_idx
    return item


def to_content_list(
    layouts: list[PageLayout],
    image_dir: str = "images",
    include_discarded: bool = False,
    delimiters: LatexDelimiters = DEFAULT_DELIMITERS,
) -> list[dict[str, Any]]:
    """MinerU's content_list.json items, in reading order."""
    items: list[dict[str, Any]] = []
    for layout in layouts:
        blocks = list(layout.blocks) + (list(layout.discarded) if include_discarded else [])
        for block in blocks:
            item = _content_item(block, layout, image_dir, delimiters)
            if item is not None:
                items.append(item)
    return items


# ---------------------------------------------------------------------------- middle.json


def _line_json(line: Line, score: float) -> dict[str, Any]:
    spans = []
    for span in line.spans:
        math = bool(span.flags & FontFlags.MATH)
        content = span.text.strip() if math else span.text
        kind = "inline_equation" if math else "text"
        spans.append({"bbox": _rounded(span.bbox), "content": content, "type": kind, "score": round(float(score), 3)})
    return {"bbox": _rounded(line.bbox), "spans": spans}


def _visual_span(block: Block, span_type: str) -> dict[str, Any]:
    span: dict[str, Any] = {
        "bbox": _rounded(block.bbox),
        "type": span_type,
        "image_path": block.img_path or "",
        "score": round(float(block.score), 3),
    }
    if span_type == "table" and block.html:
        span["html"] = table_body(block.html)
    if span_type == "interline_equation":
        span["content"] = block.latex or ""
    return span


def block_json(block: Block) -> dict[str, Any]:
    """One block as a middle.json block (figures and tables as two-level blocks, as MinerU)."""
    if block.type in (BlockType.IMAGE, BlockType.TABLE):
        kind = block.type.value
        body = {
            "type": f"{kind}_body",
            "bbox": _rounded(block.bbox),
            "lines": [{"bbox": _rounded(block.bbox), "spans": [_visual_span(block, kind)]}],
            "index": block.order,
        }
        children = [block_json(child) for child in block.children]
        captions = [c for c in children if c["type"].endswith("_caption")]
        footnotes = [c for c in children if not c["type"].endswith("_caption")]
        # MinerU lists a table's caption before its body, a figure's after it
        parts = captions + [body] + footnotes if block.type == BlockType.TABLE else [body] + captions + footnotes
        return {"type": kind, "bbox": _rounded(group_bbox(block)), "blocks": parts, "index": block.order}
    if block.type == BlockType.INTERLINE_EQUATION:
        line = {"bbox": _rounded(block.bbox), "spans": [_visual_span(block, "interline_equation")]}
        return {"type": block.type.value, "bbox": _rounded(block.bbox), "lines": [line], "index": block.order}
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


def to_middle_json(layouts: list[PageLayout], *, parse_method: str, version: str, backend: str = "pipeline") -> dict[str, Any]:
    """MinerU's middle.json document; ``backend`` is ``pipeline`` or ``vlm`` (pages read by a vision-language model)."""
    return {
        "pdf_info": [page_json(layout) for layout in layouts],
        "_backend": backend,
        "_version_name": version,
        "_parse_type": parse_method,
    }
