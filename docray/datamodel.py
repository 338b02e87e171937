"""Typed in-memory objects for page logic.

Pure page functions (text-layer grouping, reading order, MinerU formatting) take and return these
dataclasses, never Arrow or dicts, so tests call them without Ray.  ``from_row``/``to_row``
convert to and from the Arrow structs declared in :mod:`docray.schema`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from docray.schema import BlockType, FontFlags, FormulaKind, FormulaSource, LayoutFallback, Route, RouteReason

Delimiters = tuple[str, str]  # left, right
INLINE_DELIMITERS: Delimiters = ("$", "$")
DISPLAY_DELIMITERS: Delimiters = ("$$", "$$")


@dataclass(frozen=True, slots=True)
class LatexDelimiters:
    """How formulas are written into text (MinerU's ``latex-delimiter-config``)."""

    inline: Delimiters = INLINE_DELIMITERS
    display: Delimiters = DISPLAY_DELIMITERS

    def display_text(self, latex: str) -> str:
        """A display formula as its own paragraph: ``$$\nlatex\n$$`` by default."""
        return f"{self.display[0]}\n{latex.strip()}\n{self.display[1]}"

BBox = tuple[float, float, float, float]  # x0, y0, x1, y1 in PDF points, origin top-left


def bbox_union(boxes: list[BBox]) -> BBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def centre_inside(box: Sequence[float], region: Sequence[float]) -> bool:
    """The centre of ``box`` lies in ``region`` (borders included)."""
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] <= x <= region[2] and region[1] <= y <= region[3]


@dataclass(slots=True)
class Span:
    """A run of text-layer characters with one font on one baseline."""

    text: str
    bbox: BBox
    font: str = ""
    size: float = 0.0
    flags: FontFlags = FontFlags.NONE

    @property
    def bold(self) -> bool:
        return bool(self.flags & FontFlags.BOLD)

    @property
    def italic(self) -> bool:
        return bool(self.flags & FontFlags.ITALIC)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Span:
        return cls(
            text=row["text"],
            bbox=tuple(row["bbox"]),  # type: ignore[arg-type]
            font=row.get("font") or "",
            size=float(row.get("size") or 0.0),
            flags=FontFlags(int(row.get("flags") or 0)),
        )

    def to_row(self) -> dict[str, Any]:
        return {"text": self.text, "bbox": list(self.bbox), "font": self.font, "size": self.size, "flags": int(self.flags)}


@dataclass(slots=True)
class Line:
    spans: list[Span]
    bbox: BBox

    @property
    def text(self) -> str:
        return self.render()

    def render(self, inline: Delimiters = INLINE_DELIMITERS) -> str:
        """The line's text; an inline formula span (``FontFlags.MATH``) is its LaTeX between ``inline`` delimiters."""
        return "".join(_span_text(s, inline) for s in self.spans)


def _span_text(span: Span, inline: Delimiters) -> str:
    if not span.flags & FontFlags.MATH:
        return span.text
    latex = span.text.strip()
    if not latex:
        return span.text
    lead = span.text[: len(span.text) - len(span.text.lstrip())]
    trail = span.text[len(span.text.rstrip()) :]
    return f"{lead}{inline[0]}{latex}{inline[1]}{trail}"


@dataclass(slots=True)
class Formula:
    """A formula found on a page, with its LaTeX (no delimiters) when one could be read."""

    kind: FormulaKind
    bbox: BBox
    latex: str | None = None
    score: float = 0.0
    source: FormulaSource = FormulaSource.NONE

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Formula:
        return cls(
            kind=FormulaKind(row["kind"]),
            bbox=tuple(row["bbox"]),  # type: ignore[arg-type]
            latex=row.get("latex"),
            score=float(row.get("score") or 0.0),
            source=FormulaSource(row.get("source") or FormulaSource.NONE.value),
        )

    def to_row(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "bbox": list(self.bbox),
            "latex": self.latex,
            "score": self.score,
            "source": self.source.value,
        }


@dataclass(slots=True)
class Block:
    """A typed region of a page in reading order (a paragraph, a title, a figure, page furniture)."""

    type: BlockType
    bbox: BBox
    lines: list[Line] = field(default_factory=list)
    text: str = ""  # the block's final text (lines joined, dehyphenated)
    level: int = 0  # title level, 1 = top
    order: int = -1  # reading order on the page; -1 for discarded blocks
    score: float = 1.0
    img_path: str | None = None
    html: str | None = None
    latex: str | None = None
    # captions and footnotes of a figure or table (image_caption, image_footnote, table_caption,
    # table_footnote blocks), in reading order; MinerU's second-level blocks
    children: list[Block] = field(default_factory=list)

    @classmethod
    def from_block_row(cls, row: dict[str, Any]) -> Block:
        """A block from a ``vlm_blocks`` row (schema.VLM_BLOCK: content as the model read it) or a ``converted_blocks``
        row (read from an Office/web document's structure): no lines; ``img_path`` where the row has one."""
        return cls(
            type=BlockType(row["type"]),
            bbox=tuple(row["bbox"]),  # type: ignore[arg-type]
            text=row.get("text") or "",
            level=int(row.get("level") or 0),
            score=float(row["score"]) if row.get("score") is not None else 1.0,
            html=row.get("html"),
            latex=row.get("latex"),
            img_path=row.get("img_path"),
        )

    def to_row(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "bbox": list(self.bbox),
            "order": self.order,
            "level": self.level,
            "text": self.text,
            "score": self.score,
            "html": self.html,
            "latex": self.latex,
            "img_path": self.img_path,
        }


@dataclass(slots=True)
class LayoutBox:
    """A region found by a layout detector (points)."""

    type: BlockType
    bbox: BBox
    score: float = 1.0
    label: str = ""  # the detector's own class name

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LayoutBox:
        return cls(
            type=BlockType(row["type"]),
            bbox=tuple(row["bbox"]),  # type: ignore[arg-type]
            score=float(row["score"] if row.get("score") is not None else 1.0),
            label=row.get("label") or "",
        )


@dataclass(slots=True)
class OcrLine:
    """A text line read by OCR (points)."""

    text: str
    bbox: BBox
    score: float = 1.0
    poly: tuple[float, ...] | None = None  # the detector's quadrilateral (x1, y1, ..., x4, y4 from top-left), points

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> OcrLine:
        poly = row.get("poly")
        return cls(
            text=row.get("text") or "",
            bbox=tuple(row["bbox"]),  # type: ignore[arg-type]
            score=float(row["score"] if row.get("score") is not None else 1.0),
            poly=tuple(float(v) for v in poly) if poly is not None and len(poly) == 8 else None,
        )


@dataclass(slots=True)
class TableRegion:
    """A recognised table: its region (points) and its ``<table>`` HTML."""

    bbox: BBox
    html: str
    score: float = 1.0

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TableRegion:
        return cls(
            bbox=tuple(row["bbox"]),  # type: ignore[arg-type]
            html=row.get("html") or "",
            score=float(row["score"] if row.get("score") is not None else 1.0),
        )


@dataclass(slots=True)
class Crop:
    """An encoded image (JPEG) of a page region; ``bbox`` is the region's box before padding."""

    type: BlockType
    bbox: BBox
    data: bytes

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Crop:
        return cls(type=BlockType(row["type"]), bbox=tuple(row["bbox"]), data=bytes(row["data"]))  # type: ignore[arg-type]


@dataclass(slots=True)
class PageText:
    """What the text-layer assembler needs of one rendered page."""

    page_idx: int
    width: float
    height: float
    spans: list[Span] = field(default_factory=list)
    image_boxes: list[BBox] = field(default_factory=list)
    route: Route = Route.TXT
    route_reason: RouteReason = RouteReason.TEXT_LAYER
    # model stages (empty when the pipeline has none)
    layout: list[LayoutBox] = field(default_factory=list)
    ocr_lines: list[OcrLine] | None = None  # None: no OCR stage ran on this page
    ocr_rotation: int | None = None  # clockwise degrees OCR turned the page to read it (None: not read)
    tables: list[TableRegion] = field(default_factory=list)
    crops: list[Crop] = field(default_factory=list)
    image_dpi: float | None = None
    formulas: list[Formula] = field(default_factory=list)  # from a formula stage (empty without one)
    vlm_blocks: list[Block] | None = None  # None: no vlm stage read this page

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PageText:
        ocr = row.get("ocr_lines")
        vlm = row.get("vlm_blocks")
        return cls(
            page_idx=int(row["page_idx"]),
            width=float(row["width"]),
            height=float(row["height"]),
            spans=[Span.from_row(s) for s in row.get("spans") or []],
            image_boxes=[tuple(b) for b in row.get("image_boxes") or []],  # type: ignore[misc]
            route=Route(row.get("route") or Route.TXT.value),
            route_reason=RouteReason(row.get("route_reason") or RouteReason.TEXT_LAYER.value),
            layout=[LayoutBox.from_row(b) for b in row.get("layout_blocks") or []],
            ocr_lines=None if ocr is None else [OcrLine.from_row(o) for o in ocr],
            ocr_rotation=int(row["ocr_rotation"]) if row.get("ocr_rotation") is not None else None,
            tables=[TableRegion.from_row(t) for t in row.get("tables") or []],
            crops=[Crop.from_row(c) for c in row.get("crops") or [] if c.get("data")],
            image_dpi=float(row["image_dpi"]) if row.get("image_dpi") else None,
            formulas=[Formula.from_row(f) for f in row.get("formulas") or []],
            vlm_blocks=None if vlm is None else [Block.from_block_row(b) for b in vlm],
        )


@dataclass(slots=True)
class PageLayout:
    """An assembled page: content blocks in reading order plus discarded furniture."""

    page_idx: int
    width: float
    height: float
    blocks: list[Block] = field(default_factory=list)
    discarded: list[Block] = field(default_factory=list)
    image_files: dict[str, bytes] = field(default_factory=dict)  # file name (img_path) -> encoded image
    layout_fallback: LayoutFallback | None = None  # why the page's layout regions were not used (read line by line)
