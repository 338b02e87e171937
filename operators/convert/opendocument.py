"""OpenDocument text, spreadsheet and presentation files (.odt, .ods, .odp) to blocks, with odfpy.

* ODT (one page: soft page breaks are the word processor's layout, not the document's structure):
  ``text:h`` is a title of its outline level + 1 and a paragraph whose style derives from ``Title`` a
  level-1 title (as in Word, the document title sits above heading level 1); ``text:list`` items are
  list items at their nesting depth, numbered when the list style's level is ``list-level-style-number``;
  ``table:table`` is a table with ``number-columns-spanned``/``number-rows-spanned``; ``draw:image``
  frames are figures (their ``Pictures/...`` part); a paragraph in a code/preformatted style is code;
  headers and footers live in the master styles and are not read (kept out of the body).
* ODS: a page per sheet, its name as a level-1 title, its cells grouped into tables as Excel's are
  (:mod:`.sheet_tables`); repeated rows and columns are expanded, empty repeats are not.
* ODP: a page per slide (``draw:page``), frames in document order: ``presentation:class`` title
  frames are level-1 titles, outline frames list items, other text boxes paragraphs; tables and
  images as in ODT.  Speaker notes are not slide content.
"""

from __future__ import annotations

import io
import re

from odf import teletype
from odf.namespaces import DRAWNS, PRESENTATIONNS, STYLENS, TABLENS, TEXTNS, XLINKNS
from odf.opendocument import load

from docray.operators.convert.blocks import Cell, ConvertedPage, PageBuilder
from docray.operators.convert.sheet_tables import sheet_blocks
from docray.schema import DocKind

_CODE_STYLE = re.compile(r"code|source|preformatted", re.IGNORECASE)
_MAX_REPEAT = 1000  # a repeated row/column of content is expanded up to this many times (empty repeats are skipped)


def convert(data: bytes, kind: DocKind) -> list[ConvertedPage]:
    document = load(io.BytesIO(data))
    reader = OdfReader(document)
    if kind == DocKind.ODS:
        return reader.spreadsheet()
    if kind == DocKind.ODP:
        return reader.presentation()
    builder = PageBuilder()
    reader.children(document.text, builder)
    return [builder.page()]


def _name(element) -> tuple[str, str]:
    return element.qname if element.nodeType == 1 else ("", "")


def _attr(element, ns: str, name: str) -> str | None:
    value = element.attributes.get((ns, name))
    return str(value) if value is not None else None


class OdfReader:
    def __init__(self, document) -> None:
        self.document = document
        self.parents: dict[str, str] = {}  # style name -> parent style name
        self.display: dict[str, str] = {}  # style name -> display name
        self.list_styles: dict[str, dict[int, bool]] = {}  # list style -> level -> numbered
        for container in (document.styles, document.automaticstyles):
            for style in container.childNodes:
                kind = _name(style)
                if kind == (STYLENS, "style"):
                    name = _attr(style, STYLENS, "name") or ""
                    self.parents[name] = _attr(style, STYLENS, "parent-style-name") or ""
                    self.display[name] = _attr(style, STYLENS, "display-name") or name
                elif kind == (TEXTNS, "list-style"):
                    levels = {}
                    for level in style.childNodes:
                        if level.nodeType == 1:
                            levels[int(_attr(level, TEXTNS, "level") or 1)] = level.qname[1] == "list-level-style-number"
                    self.list_styles[_attr(style, STYLENS, "name") or ""] = levels

    # ------------------------------------------------------------------ text documents
    def children(self, parent, builder: PageBuilder, depth: int = 0) -> None:
        for child in parent.childNodes:
            self.element(child, builder, depth)

    def element(self, el, builder: PageBuilder, depth: int = 0, list_style: str | None = None) -> None:
        ns, tag = _name(el)
        if ns == TEXTNS and tag == "h":
            level = int(_attr(el, TEXTNS, "outline-level") or 1)
            builder.title(teletype.extractText(el), level + 1)
            self._frames(el, builder)
        elif ns == TEXTNS and tag == "p":
            text = teletype.extractText(el)
            styles = self._style_chain(_attr(el, TEXTNS, "style-name"))
            if any(s.lower() == "title" for s in styles):
                builder.title(text, 1)
            elif any(s.lower() == "caption" or s.lower().startswith("illustration") for s in styles) and builder.caption(text):
                pass
            elif any(_CODE_STYLE.search(s) for s in styles):
                for line in text.split("\n"):
                    builder.code_line(line)
            else:
                builder.text(text)
            self._frames(el, builder)
        elif ns == TEXTNS and tag == "list":
            self.list(el, builder, depth, _attr(el, TEXTNS, "style-name") or list_style)
        elif ns == TABLENS and tag == "table":
            builder.table(self.table_rows(el))
        elif ns == DRAWNS and tag == "frame":
            self.frame(el, builder)
        elif ns == TEXTNS and tag in ("section", "index-body", "table-of-content", "alphabetical-index", "illustration-index"):
            self.children(el, builder, depth)

    def list(self, el, builder: PageBuilder, depth: int, style: str | None) -> None:
        numbered = self.list_styles.get(style or "", {}).get(depth + 1, False)
        for item in el.childNodes:
            if _name(item) not in ((TEXTNS, "list-item"), (TEXTNS, "list-header")):
                continue
            for child in item.childNodes:
                ns, tag = _name(child)
                if ns == TEXTNS and tag in ("p", "h"):
                    builder.list_item(teletype.extractText(child), depth, numbered)
                    self._frames(child, builder)
                elif ns == TEXTNS and tag == "list":
                    self.list(child, builder, depth + 1, _attr(child, TEXTNS, "style-name") or style)
                else:
                    self.element(child, builder, depth)

    def _frames(self, el, builder: PageBuilder) -> None:
        """Frames anchored in a paragraph (images, text boxes), after its text."""
        for child in el.childNodes:
            if _name(child) == (DRAWNS, "frame"):
                self.frame(child, builder)
            elif child.nodeType == 1 and _name(child)[0] == TEXTNS and _name(child)[1] in ("span", "a"):
                self._frames(child, builder)

    def frame(self, frame, builder: PageBuilder) -> None:
        for child in frame.childNodes:
            ns, tag = _name(child)
            if ns == DRAWNS and tag == "image":
                builder.image(self._part(_attr(child, XLINKNS, "href")))
                return  # further children are replacement images of the same picture
            if ns == DRAWNS and tag == "text-box":
                self.children(child, builder)
            elif ns == TABLENS and tag == "table":
                builder.table(self.table_rows(child))

    def _part(self, href: str | None) -> bytes | None:
        """An embedded picture's bytes (odfpy keeps them in ``Pictures``: path -> (kind, bytes, mime)); None if linked."""
        if not href or "://" in href:
            return None
        entry = self.document.Pictures.get(href.removeprefix("./"))
        return entry[1] if entry and isinstance(entry[1], bytes) else None

    def _style_chain(self, name: str | None) -> list[str]:
        chain = []
        while name and name not in chain and len(chain) < 10:
            chain.append(name)
            name = self.parents.get(name)
        return [self.display.get(n, n).replace("_20_", " ") for n in chain] + chain

    # ------------------------------------------------------------------ tables
    def table_rows(self, table) -> list[list[Cell]]:
        rows: list[list[Cell]] = []
        for row in self._rows(table):
            cells = []
            for cell in row.childNodes:
                ns, tag = _name(cell)
                if ns != TABLENS or tag != "table-cell":
                    continue
                text = teletype.extractText(cell).strip()
                repeat = int(_attr(cell, TABLENS, "number-columns-repeated") or 1)
                span = (int(_attr(cell, TABLENS, "number-rows-spanned") or 1), int(_attr(cell, TABLENS, "number-columns-spanned") or 1))
                cells.extend(Cell(text, rowspan=span[0], colspan=span[1]) for _ in range(min(repeat, _MAX_REPEAT) if text else min(repeat, 1)))
            rows.append(cells)
        return rows

    def _rows(self, table):
        for child in table.childNodes:
            ns, tag = _name(child)
            if ns == TABLENS and tag == "table-row":
                yield child
            elif ns == TABLENS and tag in ("table-header-rows", "table-rows", "table-row-group"):
                yield from self._rows(child)

    # ------------------------------------------------------------------ spreadsheets
    def spreadsheet(self) -> list[ConvertedPage]:
        pages = []
        for table in self.document.spreadsheet.childNodes:
            if _name(table) != (TABLENS, "table"):
                continue
            builder = PageBuilder()
            builder.title(_attr(table, TABLENS, "name") or "", 1)
            values: dict[tuple[int, int], str] = {}
            merges = []
            row_idx = 0
            for row in self._rows(table):
                row_repeat = int(_attr(row, TABLENS, "number-rows-repeated") or 1)
                cells = []
                col = 0
                for cell in row.childNodes:
                    ns, tag = _name(cell)
                    if ns != TABLENS or tag not in ("table-cell", "covered-table-cell"):
                        continue
                    repeat = int(_attr(cell, TABLENS, "number-columns-repeated") or 1)
                    text = teletype.extractText(cell).strip() if tag == "table-cell" else ""
                    if text:
                        rs, cs = int(_attr(cell, TABLENS, "number-rows-spanned") or 1), int(_attr(cell, TABLENS, "number-columns-spanned") or 1)
                        for k in range(min(repeat, _MAX_REPEAT)):
                            cells.append((col + k, text, rs, cs))
                    col += repeat
                repeats = min(row_repeat, _MAX_REPEAT) if cells else 1
                for _ in range(repeats):
                    for c, text, rs, cs in cells:
                        values[(row_idx, c)] = text
                        if rs > 1 or cs > 1:
                            merges.append((row_idx, c, row_idx + rs - 1, c + cs - 1))
                    row_idx += 1
                if not cells:
                    row_idx += row_repeat - 1
            sheet_blocks(builder, values, merges)
            pages.append(builder.page())
        return pages

    # ------------------------------------------------------------------ presentations
    def presentation(self) -> list[ConvertedPage]:
        pages = []
        for slide in self.document.presentation.childNodes:
            if _name(slide) != (DRAWNS, "page"):
                continue
            builder = PageBuilder()
            self._slide_shapes(slide, builder)
            pages.append(builder.page())
        return pages

    def _slide_shapes(self, parent, builder: PageBuilder) -> None:
        for shape in parent.childNodes:
            ns, tag = _name(shape)
            if ns == DRAWNS and tag == "g":
                self._slide_shapes(shape, builder)
            elif ns == DRAWNS and tag == "frame":
                kind = _attr(shape, PRESENTATIONNS, "class") or ""
                if kind == "title":
                    builder.title(teletype.extractText(shape), 1)
                elif kind == "outline":
                    for box in shape.childNodes:
                        for child in box.childNodes:
                            if _name(child) == (TEXTNS, "list"):
                                self.list(child, builder, 0, _attr(child, TEXTNS, "style-name"))
                            else:
                                self.element(child, builder)
                elif kind in ("notes", "page-number", "footer", "date-time", "header"):
                    continue
                else:
                    self.frame(shape, builder)
            elif ns == DRAWNS and tag in ("custom-shape", "rect", "ellipse", "polygon"):
                self.children(shape, builder)
