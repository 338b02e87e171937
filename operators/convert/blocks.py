"""The blocks a converter builds for one "page" of an Office/web/e-book document, and their geometry.

A converter walks its document in reading order and calls a :class:`PageBuilder`: titles with
levels, paragraphs, list items (nested, numbered), tables (:class:`Cell` grids, written as HTML
with ``rowspan``/``colspan``), images (with captions), display equations (LaTeX), code and page
furniture (headers/footers, kept out of the body as discarded blocks).  :meth:`PageBuilder.page`
returns a :class:`ConvertedPage` of :class:`docray.datamodel.Block` objects, which the shared
writers turn into Markdown, content_list.json and middle.json like any assembled page.

Geometry: these formats have no fixed page geometry (except slides), so a page is a
:data:`PAGE_WIDTH`-point-wide column and blocks are stacked top to bottom in reading order, each
as tall as its text lines (:func:`stack_blocks`); a slide keeps its shapes' own boxes.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from dataclasses import dataclass, field

from PIL import Image

from docray.datamodel import BBox, Block, bbox_union
from docray.schema import BlockType

PAGE_WIDTH = 612.0  # points (US Letter width)
LINE_HEIGHT = 14.0  # points per text line in a stacked page
CHARS_PER_LINE = 90
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def clean_text(text: str) -> str:
    """Runs of spaces collapsed, each line trimmed, blank lines dropped."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


@dataclass(slots=True)
class Cell:
    """One table cell as the document declares it (spans in grid rows/columns)."""

    text: str
    rowspan: int = 1
    colspan: int = 1


def table_html(rows: list[list[Cell]]) -> str:
    """``<table>`` HTML of a cell grid (``None`` cells covered by a span are simply absent)."""
    out = ["<table>"]
    for row in rows:
        out.append("<tr>")
        for cell in row:
            attrs = (f' rowspan="{cell.rowspan}"' if cell.rowspan > 1 else "") + (
                f' colspan="{cell.colspan}"' if cell.colspan > 1 else ""
            )
            text = html.escape(cell.text, quote=False).replace("\n", "<br>")
            out.append(f"<td{attrs}>{text}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def grid_rows(values: list[list[str]]) -> list[list[Cell]]:
    """Plain rows of text (a CSV, a sheet without merges) as cells, padded to the widest row."""
    width = max((len(r) for r in values), default=0)
    return [[Cell(v) for v in row] + [Cell("") for _ in range(width - len(row))] for row in values]


_PIL_KEEP = {"PNG": "png", "JPEG": "jpg"}
_MAGIC_EXT = ((b"\x01\x00\x00\x00", "emf"), (b"\xd7\xcd\xc6\x9a", "wmf"), (b"<svg", "svg"), (b"<?xml", "svg"))


def image_file(data: bytes) -> tuple[str, bytes]:
    """``(file name, bytes)`` of an embedded image: PNG and JPEG as they are, other raster formats as PNG,
    vector formats PIL cannot read (EMF, WMF, SVG) kept as they are under their own extension.
    The name is the sha256 of the bytes written, as the crops of the PDF route are named."""
    ext = None
    try:
        with Image.open(io.BytesIO(data)) as image:
            ext = _PIL_KEEP.get(image.format or "")
            if ext is None:
                buffer = io.BytesIO()
                frame = image.convert("RGBA") if image.mode not in ("RGB", "RGBA", "L", "LA") else image
                frame.save(buffer, format="PNG")
                data, ext = buffer.getvalue(), "png"
    except Exception:
        ext = next((e for magic, e in _MAGIC_EXT if data.lstrip()[:8].startswith(magic)), "bin")
    return f"{hashlib.sha256(data).hexdigest()}.{ext}", data


@dataclass(slots=True)
class ConvertedPage:
    """One page of a converted document: blocks in reading order (captions as children), furniture, images."""

    blocks: list[Block] = field(default_factory=list)
    discarded: list[Block] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)
    width: float = PAGE_WIDTH
    height: float = 0.0  # 0: stacked (computed by stack_blocks)

    @property
    def text_chars(self) -> int:
        return sum(len(b.text) + sum(len(c.text) for c in b.children) for b in self.blocks)


_NO_BOX: BBox = (0.0, 0.0, 0.0, 0.0)


class PageBuilder:
    """Collects one page's blocks in reading order; consecutive list items become one list block."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._page = ConvertedPage()
        self._list: list[str] = []
        self._list_box: BBox | None = None
        self._numbers: dict[int, int] = {}
        self._top_ordered: bool | None = None
        self._code: list[str] = []

    # ------------------------------------------------------------------ content
    def title(self, text: str, level: int, bbox: BBox | None = None) -> None:
        text = clean_text(text).replace("\n", " ")
        if text:
            self._add(Block(type=BlockType.TITLE, bbox=bbox or _NO_BOX, text=text, level=max(1, min(level, 6))))

    def text(self, text: str, bbox: BBox | None = None) -> None:
        text = clean_text(text)
        if text:
            self._add(Block(type=BlockType.TEXT, bbox=bbox or _NO_BOX, text=text))

    def list_item(self, text: str, depth: int = 0, ordered: bool = False, number: int | None = None, bbox: BBox | None = None) -> None:
        """One list item at ``depth`` (0 = top); numbered items count per depth unless ``number`` is given."""
        text = clean_text(text).replace("\n", " ")
        if not text:
            return
        self._flush_code()
        depth = max(0, depth)
        if depth == 0 and self._list and self._top_ordered is not None and self._top_ordered != ordered:
            self._flush_list()  # a bulleted list after a numbered one (or the reverse) is another list
        if depth == 0:
            self._top_ordered = ordered
        for deeper in [d for d in self._numbers if d > depth]:
            del self._numbers[deeper]
        if ordered:
            self._numbers[depth] = number if number is not None else self._numbers.get(depth, 0) + 1
            marker = f"{self._numbers[depth]}."
        else:
            self._numbers.pop(depth, None)
            marker = "-"
        self._list.append(f"{'    ' * depth}{marker} {text}")
        if bbox is not None:
            self._list_box = bbox if self._list_box is None else bbox_union([self._list_box, bbox])

    def code_line(self, text: str) -> None:
        """A line of a code block (consecutive lines form one block)."""
        self._flush_list()
        self._code.append(text.rstrip())

    def code(self, text: str, bbox: BBox | None = None) -> None:
        text = text.strip("\n")
        if text.strip():
            self._add(Block(type=BlockType.CODE, bbox=bbox or _NO_BOX, text=text))

    def equation(self, latex: str, bbox: BBox | None = None) -> None:
        if latex.strip():
            self._add(Block(type=BlockType.INTERLINE_EQUATION, bbox=bbox or _NO_BOX, latex=latex.strip()))

    def table(self, rows: list[list[Cell]], caption: str = "", footnote: str = "", bbox: BBox | None = None) -> None:
        rows = [row for row in rows if row]
        while rows and not any(cell.text.strip() for cell in rows[-1]) and not _spanned_into(rows, len(rows) - 1):
            rows.pop()  # trailing empty rows (a sheet's or slide table's unused grid) carry nothing
        if not rows or not any(cell.text.strip() for row in rows for cell in row):
            return
        block = Block(type=BlockType.TABLE, bbox=bbox or _NO_BOX, html=table_html(rows))
        self._children(block, BlockType.TABLE_CAPTION, caption, BlockType.TABLE_FOOTNOTE, footnote)
        self._add(block)

    def image(self, data: bytes | None, caption: str = "", bbox: BBox | None = None) -> None:
        """A figure; without ``data`` (an external link, an unreadable part) it is kept without a file."""
        block = Block(type=BlockType.IMAGE, bbox=bbox or _NO_BOX)
        if data:
            name, data = image_file(data)
            self._page.images[name] = data
            block.img_path = name
            self._children(block, BlockType.IMAGE_CAPTION, caption, BlockType.IMAGE_FOOTNOTE, "")
        self._add(block)
        if not data:  # the writers show no figure without a file: its caption stays as text
            self.text(caption, bbox)

    def caption(self, text: str) -> bool:
        """Attach ``text`` as the caption of the last figure or table, if the last block is one without a caption."""
        last = self._page.blocks[-1] if self._page.blocks and not self._list and not self._code else None
        if last is None or last.type not in (BlockType.IMAGE, BlockType.TABLE) or last.children:
            return False
        if last.type == BlockType.IMAGE and not last.img_path:
            return False
        kind = BlockType.IMAGE_CAPTION if last.type == BlockType.IMAGE else BlockType.TABLE_CAPTION
        self._children(last, kind, text, kind, "")
        return bool(last.children)

    def furniture(self, kind: BlockType, text: str) -> None:
        """A header/footer/page number: kept out of the body (MinerU's discarded blocks)."""
        text = clean_text(text)
        if text and not any(b.text == text and b.type == kind for b in self._page.discarded):
            self._page.discarded.append(Block(type=kind, bbox=_NO_BOX, text=text))

    # ------------------------------------------------------------------ page
    @property
    def empty(self) -> bool:
        return not (self._page.blocks or self._list or self._code or self._page.images)

    def page(self, width: float = 0.0, height: float = 0.0) -> ConvertedPage:
        """The page built so far (blocks keep their boxes when width/height are given, else are stacked)."""
        self._flush_list()
        self._flush_code()
        page = self._page
        if width > 0 and height > 0 and all(b.bbox != _NO_BOX for b in page.blocks):
            page.width, page.height = width, height
            for block in page.blocks + page.discarded:
                block.bbox = _clip(block.bbox, width, height) if block.bbox != _NO_BOX else (0.0, 0.0, width, 1.0)
                for child in block.children:
                    child.bbox = block.bbox
        else:
            stack_blocks(page)
        self._reset()
        return page

    # ------------------------------------------------------------------ internals
    def _add(self, block: Block) -> None:
        self._flush_list()
        self._flush_code()
        self._page.blocks.append(block)

    def _flush_list(self) -> None:
        if self._list:
            block = Block(type=BlockType.LIST, bbox=self._list_box or _NO_BOX, text="\n".join(self._list))
            self._list, self._list_box, self._numbers, self._top_ordered = [], None, {}, None
            self._page.blocks.append(block)

    def _flush_code(self) -> None:
        if self._code:
            text = "\n".join(self._code).strip("\n")
            self._code = []
            if text.strip():
                self._page.blocks.append(Block(type=BlockType.CODE, bbox=_NO_BOX, text=text))

    @staticmethod
    def _children(block: Block, caption_type: BlockType, caption: str, footnote_type: BlockType, footnote: str) -> None:
        for kind, text in ((caption_type, caption), (footnote_type, footnote)):
            text = clean_text(text)
            if text:
                block.children.append(Block(type=kind, bbox=block.bbox, text=text))


def _spanned_into(rows: list[list[Cell]], index: int) -> bool:
    """A cell of an earlier row spans down into row ``index``."""
    return any(j + cell.rowspan - 1 >= index for j, row in enumerate(rows[:index]) for cell in row)


def _clip(box: BBox, width: float, height: float) -> BBox:
    x0, y0 = min(max(0.0, box[0]), width), min(max(0.0, box[1]), height)
    return (x0, y0, min(max(x0, box[2]), width), min(max(y0, box[3]), height))


def _lines_of(block: Block) -> int:
    if block.type == BlockType.TABLE:
        return max(1, (block.html or "").count("<tr>"))
    if block.type == BlockType.IMAGE:
        return 10
    text = block.text or block.latex or ""
    return max(1, sum(1 + len(line) // CHARS_PER_LINE for line in text.split("\n")))


def stack_blocks(page: ConvertedPage) -> None:
    """Give every block (children after their parent, then furniture) a box one column wide, top to bottom."""
    y = 0.0
    for block in page.blocks + page.discarded:
        parts = [block, *block.children]
        top = y
        for part in parts:
            height = LINE_HEIGHT * _lines_of(part)
            part.bbox = (0.0, y, page.width, y + height)
            y += height
        if block.children:  # the parent's own box is its body; group_bbox unions the children
            block.bbox = (0.0, top, page.width, top + LINE_HEIGHT * _lines_of(block))
    page.height = max(y, LINE_HEIGHT)
