"""Layout regions: overlap resolution, line assignment, caption attachment (pure functions)."""

from __future__ import annotations

from textlayer_pages import span

from docray.datamodel import LayoutBox, Line, PageText
from docray.operators.textlayer.layout_page import layout_page
from docray.operators.textlayer.lines import group_lines
from docray.operators.textlayer.regions import assign_lines, gap_distance, resolve_regions
from docray.schema import BlockType

W, H = 612.0, 792.0


def _box(kind: BlockType, bbox, score: float = 0.9) -> LayoutBox:
    return LayoutBox(type=kind, bbox=tuple(float(v) for v in bbox), score=score)


def _line(text: str, x: float, y: float, size: float = 10.0) -> Line:
    s = span(text, x, y, size)
    return Line(spans=[s], bbox=s.bbox)


def _kinds(boxes: list[LayoutBox]) -> list[tuple[str, float]]:
    return sorted((b.type.value, b.score) for b in boxes)


def test_duplicates_keep_the_higher_score():
    boxes = [
        _box(BlockType.TEXT, (72, 100, 300, 200), 0.6),
        _box(BlockType.TEXT, (72, 110, 300, 205), 0.9),  # IoU > 0.5 with the first, same family
        _box(BlockType.TITLE, (72, 300, 300, 320), 0.7),
        _box(BlockType.IMAGE, (74, 301, 300, 321), 0.5),  # IoU > 0.8 across families: a duplicate
        _box(BlockType.IMAGE, (72, 400, 300, 500), 0.8),
        _box(BlockType.TABLE, (150, 430, 400, 560), 0.7),  # overlaps the figure a little: both stay
    ]
    assert _kinds(resolve_regions(boxes, W, H)) == [("image", 0.8), ("table", 0.7), ("text", 0.9), ("title", 0.7)]


def test_text_inside_a_figure_goes_but_its_caption_stays():
    boxes = [
        _box(BlockType.IMAGE, (72, 100, 400, 400), 0.5),
        _box(BlockType.TEXT, (100, 150, 200, 170), 0.95),  # a label drawn in the figure
        _box(BlockType.IMAGE_CAPTION, (80, 380, 390, 398), 0.9),  # a caption the figure box includes
        _box(BlockType.TEXT, (72, 200, 560, 300), 0.9),  # a paragraph only partly over the figure
    ]
    assert _kinds(resolve_regions(boxes, W, H)) == [("image", 0.5), ("image_caption", 0.9), ("text", 0.9)]


def test_nested_boxes_of_one_family_keep_the_bigger_and_boxes_are_clipped():
    boxes = [
        _box(BlockType.TEXT, (72, 100, 540, 300), 0.5),
        _box(BlockType.TITLE, (72, 100, 300, 120), 0.9),  # inside the paragraph box
        _box(BlockType.IMAGE_BODY, (500, 600, 700, 900), 0.9),  # off the page's right and bottom edges
        _box(BlockType.TEXT, (100, 700, 101, 720), 0.9),  # thinner than min_size
    ]
    kept = resolve_regions(boxes, W, H)
    assert _kinds(kept) == [("image", 0.9), ("text", 0.5)]
    assert next(b for b in kept if b.type == BlockType.IMAGE).bbox == (500.0, 600.0, W, H)


def test_each_line_goes_to_the_smallest_region_holding_its_centre():
    regions = [_box(BlockType.TEXT, (50, 50, 560, 400)), _box(BlockType.INTERLINE_EQUATION, (200, 200, 400, 230))]
    lines = [_line("in the text", 60, 60), _line("x+y", 280, 210), _line("outside everything", 60, 500)]
    assert assign_lines(lines, regions) == [0, 1, None]


def test_captions_attach_to_the_nearest_figure_or_table_and_orphans_become_text():
    spans = [
        span("Figure 1: left figure.", 72, 310, 9),
        span("Figure 2: right figure.", 330, 310, 9),
        span("Table 9: no table on this page.", 72, 600, 9),
    ]
    layout = [
        _box(BlockType.IMAGE, (72, 100, 290, 300)),
        _box(BlockType.IMAGE, (330, 100, 540, 300)),
        _box(BlockType.IMAGE_CAPTION, (70, 308, 290, 321)),
        _box(BlockType.IMAGE_CAPTION, (328, 308, 540, 321)),
        _box(BlockType.TABLE_CAPTION, (70, 598, 300, 611)),
    ]
    page = PageText(page_idx=0, width=W, height=H, spans=spans, layout=layout)
    result = layout_page(page, group_lines(spans), {})
    blocks = [item.block for item in result.items if item.block is not None]
    figures = [b for b in blocks if b.type == BlockType.IMAGE]
    assert [[c.text for c in f.children] for f in sorted(figures, key=lambda b: b.bbox[0])] == [
        ["Figure 1: left figure."],
        ["Figure 2: right figure."],
    ]
    assert [b.text for b in blocks if b.type == BlockType.TEXT] == ["Table 9: no table on this page."]
    assert not [item for item in result.items if item.line is not None]  # every line is in a region


def test_gap_distance():
    assert gap_distance((0, 0, 10, 10), (5, 5, 20, 20)) == 0.0
    assert gap_distance((0, 0, 10, 10), (13, 14, 20, 20)) == 5.0


def test_partly_overlapping_text_boxes_become_one_region():
    from docray.datamodel import LayoutBox
    from docray.operators.textlayer.regions import resolve_regions
    from docray.schema import BlockType

    big = LayoutBox(BlockType.TEXT, (314.0, 197.0, 549.0, 455.0), 0.98, "text")
    top = LayoutBox(BlockType.TEXT, (315.0, 177.0, 556.0, 260.0), 0.87, "text")  # 74 % of it inside `big`
    title = LayoutBox(BlockType.TITLE, (54.0, 77.0, 466.0, 94.0), 0.96, "title")
    regions = resolve_regions([big, top, title], 612.0, 792.0)
    texts = [r for r in regions if r.type is BlockType.TEXT]
    assert [r.bbox for r in texts] == [(314.0, 177.0, 556.0, 455.0)]
    assert any(r.type is BlockType.TITLE for r in regions)


def test_a_loose_table_box_around_a_surer_table_goes_and_frees_the_text_beside_it():
    surer = _box(BlockType.TABLE, (72, 500, 540, 700), 0.86)
    column = _box(BlockType.TEXT, (320, 300, 540, 480), 0.98)  # the other column's paragraph, above the table
    loose = _box(BlockType.TABLE, (70, 250, 542, 705), 0.54)  # drawn around both (and the sidebar beside them)
    kept = resolve_regions([surer, column, loose], W, H)
    assert _kinds(kept) == [("table", 0.86), ("text", 0.98)]
    # the loose box is dropped only for holding a table the detector is surer of; a surer outer table stays
    inner, outer = _box(BlockType.TABLE, surer.bbox, 0.5), _box(BlockType.TABLE, loose.bbox, 0.9)
    assert _kinds(resolve_regions([inner, column, outer], W, H)) == [("table", 0.9)]
