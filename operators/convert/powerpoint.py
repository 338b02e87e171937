"""PowerPoint (OOXML .pptx/.pptm/.ppsx) to blocks, with python-pptx.  A page is a slide.

Shapes are read in the slide's shape order (PowerPoint's default reading order), group shapes
recursively; each block keeps its shape's box (points), and the page is the slide's size.

* title placeholders are level-1 titles; other text is paragraphs, except paragraphs of body
  placeholders (bulleted by the slide master) and paragraphs with a bullet or auto-number of their
  own (``a:buChar`` / ``a:buAutoNum``), which are list items at their indent level (``a:buNone``: not a list);
* tables with merged cells as row/col spans; pictures as figures (their image part's bytes);
* charts as a table of their categories and series values (the chart's own data), titled by the chart title;
* date, footer and slide-number placeholders are page furniture; speaker notes and comments are not slide content.
"""

from __future__ import annotations

import io

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER
from pptx.util import Emu

from docray.operators.convert.blocks import Cell, ConvertedPage, PageBuilder
from docray.schema import BlockType

A_NS = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_TITLES = {PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE, PP_PLACEHOLDER.VERTICAL_TITLE}
_BODIES = {PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT, PP_PLACEHOLDER.VERTICAL_BODY, PP_PLACEHOLDER.VERTICAL_OBJECT}
_FURNITURE = {
    PP_PLACEHOLDER.DATE: BlockType.HEADER,
    PP_PLACEHOLDER.FOOTER: BlockType.FOOTER,
    PP_PLACEHOLDER.SLIDE_NUMBER: BlockType.PAGE_NUMBER,
    PP_PLACEHOLDER.HEADER: BlockType.HEADER,
}


def convert(data: bytes) -> list[ConvertedPage]:
    presentation = Presentation(io.BytesIO(data))
    width, height = _pt(presentation.slide_width or 9144000), _pt(presentation.slide_height or 6858000)
    pages = []
    for slide in presentation.slides:
        builder = PageBuilder()
        for shape in reading_order(_shapes(slide.shapes)):
            _shape(builder, shape)
        pages.append(builder.page(width, height))
    return pages


def _shapes(shapes) -> list:
    """The shapes of a slide or group; an element python-pptx has no class for is left out, not fatal."""
    from pptx.shapes.shapetree import SlideShapeFactory

    out = []
    for element in shapes._spTree.iter_shape_elms():
        try:
            out.append(SlideShapeFactory(element, shapes))
        except NotImplementedError:
            continue
    return out


def reading_order(shapes: list) -> list:
    """Top to bottom, then left to right (shapes whose top lies within a line's height count as one row);
    shapes without a position keep their shape-tree order after the placed ones."""
    placed = [s for s in shapes if _box(s) is not None]
    rest = [s for s in shapes if _box(s) is None]
    return sorted(placed, key=lambda s: (round(_box(s)[1] / 12.0), _box(s)[0])) + rest


def _pt(emu) -> float:
    return float(Emu(int(emu or 0)).pt)


def _box(shape):
    try:
        if shape.left is None or shape.top is None:
            return None
        x0, y0 = _pt(shape.left), _pt(shape.top)
        return (x0, y0, x0 + _pt(shape.width), y0 + _pt(shape.height))
    except Exception:
        return None


def _type(shape):
    try:
        return shape.shape_type
    except NotImplementedError:  # an auto shape of a preset python-pptx does not know: its text is still read
        return None


def _placeholder_type(shape):
    if not shape.is_placeholder:
        return None
    try:
        return shape.placeholder_format.type
    except Exception:
        return None


def _shape(builder: PageBuilder, shape) -> None:
    box = _box(shape)
    kind = _placeholder_type(shape)
    shape_type = _type(shape)
    if shape_type == MSO_SHAPE_TYPE.GROUP:
        for child in reading_order(_shapes(shape.shapes)):
            _shape(builder, child)
        return
    if kind in _FURNITURE:
        if shape.has_text_frame:
            builder.furniture(_FURNITURE[kind], shape.text_frame.text)
        return
    if getattr(shape, "has_table", False) and shape.has_table:
        builder.table(_table(shape.table), bbox=box)
        return
    if getattr(shape, "has_chart", False) and shape.has_chart:
        _chart(builder, shape.chart, box)
        return
    if shape_type == MSO_SHAPE_TYPE.PICTURE or (kind is not None and hasattr(shape, "image")):
        try:
            data = shape.image.blob
        except Exception:  # a picture whose image part is missing or linked
            data = None
        builder.image(data, bbox=box)
        return
    if not shape.has_text_frame:
        return
    if kind in _TITLES:
        builder.title(shape.text_frame.text, 1, bbox=box)
        return
    body = kind in _BODIES
    for paragraph in shape.text_frame.paragraphs:
        text = "".join(run.text for run in paragraph.runs) or paragraph.text if hasattr(paragraph, "text") else ""
        if not text.strip():
            continue
        bullet = _bullet(paragraph)
        if bullet == "none" or (bullet is None and not body):
            builder.text(text, bbox=box)
        else:
            builder.list_item(text, paragraph.level, ordered=bullet == "number", bbox=box)


def _bullet(paragraph) -> str | None:
    """'number', 'char', 'none' from the paragraph's own properties; None when it inherits them."""
    ppr = paragraph._p.pPr
    if ppr is None:
        return None
    if ppr.find(f"{A_NS}buAutoNum") is not None:
        return "number"
    if ppr.find(f"{A_NS}buChar") is not None or ppr.find(f"{A_NS}buBlip") is not None:
        return "char"
    if ppr.find(f"{A_NS}buNone") is not None:
        return "none"
    return None


def _table(table) -> list[list[Cell]]:
    rows = []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            if cell.is_spanned:
                continue
            spans = (cell.span_height, cell.span_width) if cell.is_merge_origin else (1, 1)
            cells.append(Cell(cell.text.replace("\n", " ").strip(), rowspan=spans[0], colspan=spans[1]))
        rows.append(cells)
    return rows


def _chart(builder: PageBuilder, chart, box) -> None:
    try:
        if chart.has_title and chart.chart_title.has_text_frame:
            builder.text(chart.chart_title.text_frame.text, bbox=box)
        plot = chart.plots[0]
        categories = [str(c) for c in plot.categories]
        series = list(plot.series)
    except Exception:
        return
    header = [Cell("")] + [Cell(s.name or "") for s in series]
    rows = [header]
    for i, category in enumerate(categories):
        rows.append([Cell(category)] + [Cell(_number(s.values[i]) if i < len(s.values) else "") for s in series])
    builder.table(rows, bbox=box)


def _number(value) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)
