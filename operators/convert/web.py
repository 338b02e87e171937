"""HTML (and the XHTML of e-books) to blocks, with lxml's HTML parser.

The body is walked in document order: ``h1``-``h6`` are titles of that level; ``p`` and runs of
inline content are paragraphs; ``ul``/``ol`` (nested, numbered from ``start``) and ``dl`` are lists;
``table`` is a table with its ``rowspan``/``colspan`` and ``caption``; ``pre`` is code; ``img``
and ``figure``/``figcaption`` are figures with captions (``data:`` images are decoded; other sources
are read through ``resolve_image`` when the caller has one, as the EPUB reader does, else kept as a
figure without a file: a converter never fetches URLs); MathML with a TeX annotation is an equation.
``script``, ``style``, ``template`` and ``head`` are skipped; a ``header``/``footer`` that is a
direct child of ``body``, and every ``nav`` (site navigation), are page furniture (kept out of the body).  The whole document is one page.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from typing import Callable

import lxml.html
from lxml import etree

from docray.operators.convert.blocks import Cell, ConvertedPage, PageBuilder
from docray.schema import BlockType

ImageResolver = Callable[[str], "bytes | None"]

HEADINGS = {f"h{i}": i for i in range(1, 7)}
SKIPPED = {"script", "style", "noscript", "template", "head", "title", "meta", "link", "button", "select", "input", "iframe"}
BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "aside", "header", "footer", "nav", "ul", "ol", "li", "dl", "dt", "dd",
    "table", "pre", "blockquote", "figure", "figcaption", "hr", "form", "fieldset", "address", "details", "summary",
    "body", "center", "img", "math", "caption", "tr", "td", "th", "thead", "tbody", "tfoot", *HEADINGS,
}  # fmt: skip
_SPACE = re.compile(r"\s+")


def convert(data: bytes) -> list[ConvertedPage]:
    builder = PageBuilder()
    HtmlWalker(builder).document(parse_html(data))
    return [builder.page()]


def parse_html(data: bytes) -> etree._Element:
    """The document element (lxml's HTML parser: forgiving, honours the declared charset)."""
    return lxml.html.document_fromstring(data)


def local(el: etree._Element) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag.rsplit("}", 1)[-1].lower()


class HtmlWalker:
    """Emits a document's blocks to a :class:`PageBuilder`."""

    def __init__(self, builder: PageBuilder, resolve_image: ImageResolver | None = None):
        self.builder = builder
        self.resolve_image = resolve_image

    def document(self, root: etree._Element) -> None:
        body = next((el for el in root.iter() if local(el) == "body"), root)
        for child in body:
            name = local(child)
            if name in ("header", "footer"):
                kind = BlockType.HEADER if name == "header" else BlockType.FOOTER
                self.builder.furniture(kind, inline_text(child))
        self.block(body, furniture_free=True)

    # ------------------------------------------------------------------ block level
    def block(self, el: etree._Element, depth: int = 0, furniture_free: bool = False) -> None:
        """A container: its inline runs are paragraphs, its block children are handled by kind."""
        run: list[str] = [el.text or ""]
        for child in el:
            name = local(child)
            if not name or name in SKIPPED:
                run.append(child.tail or "")
                continue
            if furniture_free and name in ("header", "footer"):
                run.append(child.tail or "")
                continue
            if name in BLOCK_TAGS or _has_block(child):
                self._paragraph(run)
                run = []
                self.element(child, depth)
            else:
                run.append(_inline(child))
            run.append(child.tail or "")
        self._paragraph(run)

    def element(self, el: etree._Element, depth: int) -> None:
        name = local(el)
        if name in HEADINGS:
            self.builder.title(inline_text(el), HEADINGS[name])
            for img in _images_in(el):
                self.image(img)
        elif name in ("ul", "ol"):
            self.list(el, depth)
        elif name == "dl":
            for child in el:
                if local(child) in ("dt", "dd"):
                    self.builder.list_item(inline_text(child), depth + (local(child) == "dd"))
        elif name == "table":
            self.table(el)
        elif name == "pre":
            self.builder.code(el.text_content())
        elif name == "img":
            self.image(el)
        elif name == "figure":
            self.figure(el, depth)
        elif name == "math":
            self.math(el)
        elif name == "hr":
            return
        elif name == "nav":  # site navigation (menus, tables of contents): page furniture, out of the body
            self.builder.furniture(BlockType.ASIDE_TEXT, inline_text(el))
        elif name == "p" and not _has_block(el):
            self.builder.text(inline_text(el))
            for img in _images_in(el):
                self.image(img)
        else:
            self.block(el, depth)

    def list(self, el: etree._Element, depth: int) -> None:
        ordered = local(el) == "ol"
        number = _int(el.get("start"), 1) if ordered else None
        for item in el:
            if local(item) != "li":
                if local(item) in ("ul", "ol"):
                    self.list(item, depth + 1)
                continue
            text = _text_without(item, {"ul", "ol", "table", "pre", "img", "figure"})
            self.builder.list_item(text, depth, ordered, number=_int(item.get("value"), number) if ordered else None)
            if ordered and number is not None:
                number = _int(item.get("value"), number) + 1
            for child in item.iter():
                if child is item:
                    continue
                name = local(child)
                if name in ("ul", "ol") and _nearest(child, {"li"}) is item:
                    self.list(child, depth + 1)
                elif name in ("table", "pre", "img") and _nearest(child, {"li"}) is item and _nearest(child, {"table"}) in (None, child):
                    self.element(child, depth)

    def table(self, el: etree._Element) -> None:
        rows: list[list[Cell]] = []
        for tr in _own_rows(el):
            cells = [
                Cell(_cell_text(td), rowspan=max(1, _int(td.get("rowspan"), 1)), colspan=max(1, _int(td.get("colspan"), 1)))
                for td in tr
                if local(td) in ("td", "th")
            ]
            rows.append(cells)
        caption = next((inline_text(c) for c in el if local(c) == "caption"), "")
        self.builder.table(rows, caption=caption)
        for img in el.iter():
            if local(img) == "img":
                self.image(img)

    def figure(self, el: etree._Element, depth: int) -> None:
        caption = " ".join(inline_text(c) for c in el if local(c) == "figcaption")
        images = [img for img in el.iter() if local(img) == "img"]
        tables = [t for t in el if local(t) == "table"]
        if tables:
            for table in tables:
                self.table(table)
            self.builder.caption(caption)
            return
        for img in images:
            self.image(img, caption if img is images[-1] else "")
        if not images:
            for child in el:
                if local(child) != "figcaption":
                    self.element(child, depth)
            self.builder.text(caption)

    def image(self, el: etree._Element, caption: str = "") -> None:
        self.builder.image(self._image_data(el.get("src") or ""), caption)

    def math(self, el: etree._Element) -> None:
        tex = next(
            (a.text for a in el.iter() if local(a) == "annotation" and "tex" in (a.get("encoding") or "").lower() and a.text),
            None,
        )
        if el.get("display") == "block" and tex:
            self.builder.equation(tex)
        else:
            self.builder.text(f"${tex.strip()}$" if tex else (el.get("alttext") or el.text_content()))

    # ------------------------------------------------------------------ helpers
    def _paragraph(self, run: list[str]) -> None:
        text = _SPACE.sub(" ", "".join(run)).strip()
        if text:
            self.builder.text(text)

    def _image_data(self, src: str) -> bytes | None:
        if src.startswith("data:"):
            header, _, payload = src.partition(",")
            try:
                return base64.b64decode(payload) if ";base64" in header else urllib.parse.unquote_to_bytes(payload)
            except ValueError:
                return None
        if self.resolve_image is not None and src:
            return self.resolve_image(src)
        return None


def inline_text(el: etree._Element) -> str:
    """An element's text with whitespace collapsed (``<br>`` as a space), scripts and styles left out."""
    return _SPACE.sub(" ", _inline_inner(el)).strip()


def _inline(el: etree._Element) -> str:
    return " " if local(el) == "br" else _inline_inner(el)


def _inline_inner(el: etree._Element) -> str:
    parts = [el.text or ""]
    for child in el:
        if local(child) and local(child) not in SKIPPED:
            parts.append(_inline(child))
            if local(child) in BLOCK_TAGS:
                parts.append(" ")
        parts.append(child.tail or "")
    return "".join(parts)


def _text_without(el: etree._Element, skip: set[str]) -> str:
    parts = [el.text or ""]
    for child in el:
        name = local(child)
        if name and name not in skip and name not in SKIPPED:
            parts.append(" " if name == "br" else _text_without(child, skip))
            if name in BLOCK_TAGS:
                parts.append(" ")
        parts.append(child.tail or "")
    return _SPACE.sub(" ", "".join(parts)).strip()


def _cell_text(td: etree._Element) -> str:
    return _text_without(td, set())


def _has_block(el: etree._Element) -> bool:
    return any(local(d) in BLOCK_TAGS for d in el.iterdescendants())


def _images_in(el: etree._Element) -> list[etree._Element]:
    return [d for d in el.iterdescendants() if local(d) == "img"]


def _own_rows(table: etree._Element) -> list[etree._Element]:
    rows = []
    for child in table:
        name = local(child)
        if name == "tr":
            rows.append(child)
        elif name in ("thead", "tbody", "tfoot"):
            rows.extend(tr for tr in child if local(tr) == "tr")
    return rows


def _nearest(el: etree._Element, names: set[str]) -> etree._Element | None:
    parent = el.getparent()
    while parent is not None:
        if local(parent) in names:
            return parent
        parent = parent.getparent()
    return None


def _int(value: str | None, default: int | None) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default if default is not None else 1
