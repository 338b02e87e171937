"""Line-by-line reading of pages whose layout regions do not follow the text (receipts, forms), as pure functions."""

from __future__ import annotations

import math

from textlayer_pages import page, paragraph, span, words

from docray.datamodel import LayoutBox, Line, OcrLine, PageText, TableRegion
from docray.operators.textlayer.document import assemble_document
from docray.operators.textlayer.lines import group_lines
from docray.operators.textlayer.regions import ocr_as_lines, resolve_regions
from docray.operators.textlayer.row_order import (
    layout_fallback,
    page_fallback,
    page_slope,
    paragraph_lines,
    right_to_left,
    row_groups,
    row_items,
    row_lines,
    rows_order,
    rows_of,
    text_columns,
    trusted_regions,
    word_count,
)
from docray.schema import BlockType, LayoutFallback, Route

ROWS = [("Invoice No:", "CS0012"), ("Date:", "23-01-2019"), ("Cashier:", "ALICE"), ("Subtotal:", "25.40"),
        ("Rounding:", "0.00"), ("TOTAL:", "25.40"), ("Cash:", "30.00"), ("Change:", "4.60")]  # fmt: skip


def _box(kind: BlockType, bbox) -> LayoutBox:
    return LayoutBox(type=kind, bbox=tuple(float(v) for v in bbox), score=0.9)


def _receipt_spans():
    spans = [span("CORNER HARDWARE SDN BHD", 180, 60, 12)]
    for k, (label, value) in enumerate(ROWS):
        y = 100 + 16 * k
        spans.append(span(label, 72, y))
        spans.append(span(value, 480 - 5 * len(value), y))  # right-aligned values
    return spans


def _markdown_lines(layout) -> list[str]:
    return [block.text for block in layout.blocks]


def test_rows_join_side_by_side_boxes_and_keep_stacked_ones_apart():
    boxes = [(72, 100, 120, 110), (400, 101, 440, 111), (72, 114, 130, 124), (72, 126, 300, 136), (100, 127, 200, 137)]
    assert rows_of(boxes) == [[0, 1], [2], [3], [4]]  # 4 overlaps 3 horizontally: a line below, not beside


def test_label_value_regions_fall_back_to_rows_with_each_label_beside_its_value():
    spans = _receipt_spans()
    labels = _box(BlockType.TEXT, (70, 98, 160, 230))  # the layout model's label column ...
    values = _box(BlockType.TEXT, (420, 98, 482, 230))  # ... and value column: read one after the other
    title = _box(BlockType.TITLE, (178, 58, 320, 74))
    receipt = PageText(page_idx=0, width=612, height=792, spans=spans, layout=[title, labels, values])
    lines = group_lines(spans)
    assert layout_fallback(lines, resolve_regions(receipt.layout, 612, 792)) is LayoutFallback.SPLIT_ROWS

    (layout,) = assemble_document([receipt])
    assert layout.layout_fallback is LayoutFallback.SPLIT_ROWS
    texts = _markdown_lines(layout)
    assert texts[0] == "CORNER HARDWARE SDN BHD"
    assert texts[1:] == [f"{label}  {value}" for label, value in ROWS]


def test_same_page_without_layout_keeps_the_column_reading_and_no_fallback_reason():
    (layout,) = assemble_document([page(0, _receipt_spans())])
    assert layout.layout_fallback is None


def test_a_two_column_paper_keeps_its_regions_and_reads_column_by_column():
    left, _ = paragraph("Left column " + words(120, 1), 72, 100, 222)
    right, _ = paragraph("Right column " + words(120, 2), 318, 100, 222)  # same baselines as the left column
    short = [span("Note", 72, 400), span("Data", 318, 400)]  # two short lines on one row: not a label pair
    regions = [_box(BlockType.TEXT, (70, 98, 296, 300)), _box(BlockType.TEXT, (316, 98, 542, 300))]
    paper = PageText(page_idx=0, width=612, height=792, spans=left + right + short, layout=regions)
    lines = group_lines(paper.spans)
    assert text_columns(lines) >= 1
    assert layout_fallback(lines, resolve_regions(regions, 612, 792)) is None
    (layout,) = assemble_document([paper])
    assert layout.layout_fallback is None
    text = " ".join(_markdown_lines(layout))
    assert text.index("Left column") < text.index("Right column")
    assert not any("Left column" in t and "Right column" in t for t in _markdown_lines(layout))


def test_running_text_is_never_joined_into_a_row():
    left, _ = paragraph(words(60, 3), 72, 100, 222)
    right, _ = paragraph(words(60, 4), 318, 100, 222)
    lines = group_lines(left + right)
    prose = paragraph_lines(lines)
    assert sum(prose) >= len(lines) - 2  # every line but a paragraph's short last one
    joined = [row for row in row_groups(lines) if len(row) > 1]
    assert not any(prose[lines.index(line)] for row in joined for line in row)


def test_a_figure_that_swallows_a_scanned_receipt_falls_back_and_keeps_its_text():
    ocr = [OcrLine(text="SHOP NAME SDN BHD", bbox=(60.0, 60.0, 160.0, 70.0))]
    for k, (label, value) in enumerate(ROWS * 3):
        y = 80.0 + 12 * k
        ocr.append(OcrLine(text=label, bbox=(10.0, y, 10.0 + 5 * len(label), y + 9)))
        ocr.append(OcrLine(text=value, bbox=(200.0 - 5 * len(value), y, 200.0, y + 9)))
    figure = _box(BlockType.IMAGE, (0, 0, 600, 780))  # the photographed receipt taken for a picture, text sparse in it
    scan = PageText(page_idx=0, width=600, height=800, route=Route.OCR, ocr_lines=ocr, layout=[figure])
    (layout,) = assemble_document([scan])
    assert layout.layout_fallback is LayoutFallback.TEXT_IN_FIGURE
    texts = _markdown_lines(layout)
    assert "SHOP NAME SDN BHD" in texts and "TOTAL:  25.40" in texts
    assert not any(b.type is BlockType.IMAGE for b in layout.blocks)


def test_regions_cutting_through_lines_fall_back():
    spans = []
    for k in range(8):
        spans.append(span(f"Item {k} description", 72, 100 + 14 * k))
        spans.append(span(f"{k}.50 EUR", 167, 100 + 14 * k))  # half an em after the description: one text line
    lines = group_lines(spans)
    assert len(lines) == 8
    regions = [_box(BlockType.TEXT, (70, 98, 150, 215)), _box(BlockType.TEXT, (151, 98, 260, 215))]
    assert layout_fallback(lines, resolve_regions(regions, 612, 792)) is LayoutFallback.CUT_LINES


def test_rows_of_right_to_left_script_read_from_the_right():
    label, value = span("\u0627\u0644\u0645\u062c\u0645\u0648\u0639", 400, 100), span("25.40", 72, 100)
    (row,) = row_lines([Line(spans=[label], bbox=label.bbox), Line(spans=[value], bbox=value.bbox)])
    assert row.text.split() == [label.text, "25.40"]
    assert right_to_left(label.text + " 25.40") and not right_to_left("TOTAL 25.40")


def test_word_count_counts_cjk_characters_in_pairs():
    assert word_count("Total RM 25.40") == 3
    assert word_count("\u4e2d\u6587\u6587\u5b57") == 2


def test_word_count_takes_a_token_of_letters_and_digits_as_one_word():
    assert word_count("A1 BIHUN ISTIMEWA 3KG") == 4
    assert word_count("16-03-18 13:49 SH01 B026") == 4


def _item_lines() -> list[Line]:
    """A receipt's item list: each item's code and name on one row, its quantity and prices on the row below."""
    ocr: list[Line] = []
    for k in range(6):
        y = 100.0 + 40 * k
        row = (("01110002" + str(k), 20, 80, y), (f"ABC TEPUNG UBI KAYU {k}KG", 100, 260, y))
        prices = (("1 CTN", 40, 75, y + 20), ("27.00", 110, 150, y + 20), ("27.00 ZRL", 190, 260, y + 20))
        for text, x0, x1, top in row + prices:
            s = span(text, x0, top)
            ocr.append(Line(spans=[s], bbox=(float(x0), top - 5, float(x1), top + 19)))  # padded boxes, as OCR detects
    return ocr


def test_item_names_with_price_rows_between_them_are_not_running_text():
    lines = _item_lines()
    assert not any(paragraph_lines(lines))  # a name line of 5 words is stacked over the next name, a price row between
    joined = [" ".join(line.text for line in row) for row in row_groups(lines)]
    assert joined[:2] == ["011100020 ABC TEPUNG UBI KAYU 0KG", "1 CTN 27.00 27.00 ZRL"]


def test_a_piece_beside_running_text_is_read_after_it_even_when_its_top_is_higher():
    texts = ["Received above goods in good order and", "the recipient of these products is required",
             "to make the adjustments to its input tax"]  # fmt: skip
    lines = [_ocr_line(text, 20, 300, 100 + 30 * k) for k, text in enumerate(texts)]
    lines.append(_ocr_line("dition.", 310, 360, 97))  # the row's last word, detected apart, its box 3 px higher
    items = row_items(lines)
    order = [items[i] for i in rows_order(items)]
    text = " ".join(item.line.text if item.line is not None else item.block.text for item in order)
    assert text.startswith("Received above goods in good order and dition.")


def _ocr_line(text: str, x0: float, x1: float, top: float) -> Line:
    return Line(spans=[span(text, x0, top)], bbox=(float(x0), top, float(x1), top + 24))


def _tilted_receipt(degrees: float) -> list[OcrLine]:
    """The receipt's label/value rows photographed turned by ``degrees`` (right side higher): OCR lines with the
    detector's quadrilaterals and their axis-aligned boxes."""
    t = math.tan(math.radians(degrees))
    ocr = [_quad("SHOP NAME SDN BHD LOT 12 JALAN", 20, 420, 20, t)]
    for k, (label, value) in enumerate(ROWS * 2):
        y = 60.0 + 22 * k
        ocr.append(_quad(label, 20, 20 + 12 * len(label), y, t))
        ocr.append(_quad(value, 560 - 12 * len(value), 560, y, t))
    return ocr


def _quad(text: str, x0: float, x1: float, y: float, t: float) -> OcrLine:
    top0, top1 = y - t * x0, y - t * x1  # the line's top edge rises to the right
    poly = (x0, top0, x1, top1, x1, top1 + 16, x0, top0 + 16)
    return OcrLine(text=text, bbox=(x0, min(top0, top1), x1, max(top0, top1) + 16), poly=tuple(map(float, poly)))


def test_page_slope_is_the_median_skew_of_long_lines():
    ocr = _tilted_receipt(3.0)
    assert abs(page_slope(ocr) - (-0.0524)) < 0.002
    assert page_slope([OcrLine(text="x", bbox=(0.0, 0.0, 100.0, 10.0))]) == 0.0  # no quadrilaterals: level


def test_a_tilted_receipt_is_read_in_level_rows_with_each_label_beside_its_value():
    ocr = _tilted_receipt(3.0)
    labels = _box(BlockType.TEXT, (15, 30, 160, 420))  # the layout model's label column and value column
    values = _box(BlockType.TEXT, (380, 10, 565, 400))
    scan = PageText(page_idx=0, width=600, height=800, route=Route.OCR, ocr_lines=ocr, layout=[labels, values])
    boxes = [o.bbox for o in ocr[1:]]
    assert len(rows_of(boxes)) > len(ROWS * 2)  # level rows of the axis-aligned boxes mix neighbouring rows
    (layout,) = assemble_document([scan])
    assert layout.layout_fallback is LayoutFallback.SPLIT_ROWS
    texts = _markdown_lines(layout)
    assert [f"{label}  {value}" for label, value in ROWS] == texts[1 : 1 + len(ROWS)]


_REPORT_TEXT = ["The bank reported a rise in revenue of twelve percent", "over the first half of the year while its",
                "net interest margin held steady against the first quarter", "and the quality of its loan book stayed",
                "among the best of its peers with few loans past their due date"]  # fmt: skip
_KEY_VALUES = [("Sector", "Banks"), ("Shares (m)", "2,741"), ("Price", "7.15"), ("Book value", "8.32")]


def _report_with_margin_titles() -> PageText:
    """A scanned research report: two titles set down the margin (lines standing on end), each level with a short
    heading of the sidebar, a key/value table in the sidebar and a column of running text."""
    ocr = [OcrLine(text="Company report", bbox=(10.0, 110.0, 30.0, 210.0)),
           OcrLine(text="Research report", bbox=(10.0, 480.0, 30.0, 580.0)),
           OcrLine(text="Strong buy (kept)", bbox=(60.0, 152.0, 230.0, 168.0)),
           OcrLine(text="Related reports", bbox=(60.0, 522.0, 200.0, 538.0))]  # fmt: skip
    for k, (key, value) in enumerate(_KEY_VALUES):
        y = 300.0 + 22 * k
        ocr.append(OcrLine(text=key, bbox=(62.0, y, 62.0 + 9 * len(key), y + 16)))
        ocr.append(OcrLine(text=value, bbox=(240.0 - 9 * len(value), y, 240.0, y + 16)))
    for k, text in enumerate(_REPORT_TEXT * 2):
        ocr.append(OcrLine(text=text, bbox=(300.0, 600.0 + 16 * k, 580.0, 614.0 + 16 * k)))
    table = _box(BlockType.TABLE, (58, 296, 244, 388))
    regions = [_box(BlockType.TEXT, (58, 150, 232, 170)), _box(BlockType.TITLE, (58, 520, 202, 540)), table,
               _box(BlockType.TEXT, (298, 598, 582, 780))]  # fmt: skip
    html = "<table>" + "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in _KEY_VALUES) + "</table>"
    return PageText(page_idx=0, width=600, height=800, route=Route.OCR, ocr_lines=ocr, layout=regions,
                    tables=[TableRegion(bbox=table.bbox, html=html)])  # fmt: skip


def test_lines_standing_on_end_make_no_rows_and_the_report_keeps_its_regions_and_table():
    report = _report_with_margin_titles()
    lines = ocr_as_lines(report.ocr_lines or [])
    regions = resolve_regions(report.layout, 600, 800)
    # measured with the margin titles, each "row" of a title and the heading beside it is read apart: 2 split pairs
    assert layout_fallback(lines, regions) is LayoutFallback.SPLIT_ROWS
    upright = [line for line in lines if line.bbox[3] - line.bbox[1] < 2 * (line.bbox[2] - line.bbox[0])]
    assert len(upright) == len(lines) - 2 and layout_fallback(upright, regions) is None
    assert page_fallback(report, lines) is None  # the titles on end take no part: the regions are trusted

    (layout,) = assemble_document([report])
    assert layout.layout_fallback is None
    tables = [block for block in layout.blocks if block.type is BlockType.TABLE]
    assert len(tables) == 1 and "<td>Shares (m)</td><td>2,741</td>" in (tables[0].html or "")
    assert not any("Research report" in (b.text or "") and "Related" in (b.text or "") for b in layout.blocks)


def _stacked(texts: list[str], x: float, top: float) -> list[Line]:
    return [Line(spans=[s], bbox=s.bbox) for s in (span(text, x, top + 14 * k) for k, text in enumerate(texts))]


def test_a_table_beside_the_next_column_s_paragraph_is_trusted_but_not_beside_a_form_s_labels():
    cells = _stacked(["12.50", "3.20", "7.00"], 100, 300)
    prose = group_lines(paragraph(words(80, 5), 320, 296, 220)[0])  # the other column's running text, level with it
    table = _box(BlockType.TABLE, (96, 296, 140, 345))
    page = PageText(page_idx=0, width=612, height=792, layout=[table])
    assert trusted_regions(page, cells + prose).layout == [table]
    labels = _stacked(["Sub:", "Tax:", "Tip:"], 30, 300)
    assert trusted_regions(page, cells + labels).layout == []  # a form's labels left of its values: read by rows


def _table_with_turned_heads_taken_for_a_figure() -> PageText:
    """A scanned vote tally: twelve candidate names standing on end over columns of single-digit counts, row labels
    at the left, and the layout model's figure box over the heads and the counts (not over the labels)."""
    ocr = [OcrLine(text=f"Candidate name {k:02d}", bbox=(160.0 + 32 * k, 100.0, 170.0 + 32 * k, 220.0))
           for k in range(12)]  # fmt: skip
    for row in range(10):
        y = 280.0 + 20 * row
        ocr.append(OcrLine(text=f"Township nr {row:02d}", bbox=(20.0, y, 140.0, y + 12)))
        ocr.extend(OcrLine(text=str((row + k) % 10), bbox=(162.0 + 32 * k, y, 168.0 + 32 * k, y + 10))
                   for k in range(12))  # fmt: skip
    figure = _box(BlockType.IMAGE, (150, 90, 590, 700))  # text lines cover under a tenth of it: a picture
    return PageText(page_idx=0, width=600, height=800, route=Route.OCR, ocr_lines=ocr, layout=[figure])


def test_turned_heads_a_figure_swallows_count_as_its_text_and_the_page_falls_back():
    tally = _table_with_turned_heads_taken_for_a_figure()
    lines = ocr_as_lines(tally.ocr_lines or [])
    upright = [line for line in lines if line.bbox[3] - line.bbox[1] < 2 * (line.bbox[2] - line.bbox[0])]
    regions = resolve_regions(tally.layout, 600, 800)
    # the upright text alone: the counts are too few characters to be the page's text in a picture
    assert len(upright) == len(lines) - 12 and layout_fallback(upright, regions) is None
    # the names on end are text the picture would swallow: the page is read line by line and keeps them
    assert page_fallback(tally, lines) is LayoutFallback.TEXT_IN_FIGURE
    (layout,) = assemble_document([tally])
    assert layout.layout_fallback is LayoutFallback.TEXT_IN_FIGURE
    text = " ".join(block.text or "" for block in layout.blocks)
    assert all(f"Candidate name {k:02d}" in text for k in range(12)) and "Township nr 09" in text
    assert not any(b.type is BlockType.IMAGE for b in layout.blocks)
