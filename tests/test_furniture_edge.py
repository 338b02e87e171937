"""Lines at the very top or bottom edge of a single page: furniture only when set apart from the text."""

from __future__ import annotations

from textlayer_pages import span

from docray.operators.textlayer.furniture import find_furniture
from docray.operators.textlayer.lines import group_lines
from docray.schema import BlockType

SIZE = (300.0, 792.0)  # a tightly cropped receipt scan: the page edge is the paper's edge


def _receipt(last_top: float) -> list:
    spans = [span(f"ITEM {k}  {k}.50", 20, 20 + 14 * k) for k in range(54)]  # rows every 14 pt down to y = 772
    spans.append(span("Thank you. Please come again", 20, last_top))
    return group_lines(spans)


def test_the_last_line_of_a_tightly_cropped_receipt_continuing_its_line_spacing_is_text():
    lines = _receipt(776)  # centre 781: within 2 % of the bottom edge, 4 pt below the row above (as every row)
    (found,) = find_furniture([SIZE], [lines])
    assert not any(lines[i].text.startswith("Thank you") for i in found)


def test_a_last_line_overlapping_the_row_above_is_not_set_apart():
    lines = _receipt(770)  # padded OCR boxes overlap the row above (ending at 772), whose line does not end above it
    (found,) = find_furniture([SIZE], [lines])
    assert found == {}


def test_a_stamp_at_the_edge_set_apart_from_the_text_is_still_a_footer():
    spans = [span(f"ITEM {k}  {k}.50", 20, 20 + 14 * k) for k in range(40)]  # text ends at y = 576
    spans.append(span("Downloaded 2020-01-01", 20, 778))
    lines = group_lines(spans)
    (found,) = find_furniture([SIZE], [lines])
    assert [(lines[i].text, kind) for i, kind in found.items()] == [("Downloaded 2020-01-01", BlockType.FOOTER)]


def test_a_line_near_the_edge_one_line_height_below_the_text_is_text():
    spans = [span(f"ITEM {k}  {k}.50", 20, 20 + 14 * k) for k in range(53)]  # the last row ends at y = 758
    lines = group_lines([*spans, span("GOODS SOLD ARE NOT RETURNABLE", 20, 770)])
    (found,) = find_furniture([SIZE], [lines])  # centre 775: within 4 % of the edge, 1.2 line heights below the text
    assert found == {}


def test_a_running_head_near_the_top_set_apart_by_more_than_the_line_pitch_is_a_header():
    spans = [span("Title of the chapter", 200, 18, 16)]  # 16 pt high, centre 26: within 4 % of the top edge
    spans += [span(f"Body line {k} of the page", 60, 64 + 14 * k) for k in range(40)]  # pitch 14, 30 pt below it
    lines = group_lines(spans)
    (found,) = find_furniture([SIZE], [lines])
    assert [(lines[i].text, kind) for i, kind in found.items()] == [("Title of the chapter", BlockType.HEADER)]


def test_a_line_set_apart_but_with_the_documents_own_text_beyond_it_is_text():
    spans = [span("-gnature not requ ed", 20, 0), span("ACCOUNT'S COPY", 100, 6, 16)]  # a cut-off line above it
    spans += [span(f"ITEM {k}  {k}.50", 20, 60 + 14 * k) for k in range(40)]  # the receipt, 38 pt further down
    lines = group_lines(spans)
    (found,) = find_furniture([SIZE], [lines])
    assert not any(lines[i].text.startswith("ACCOUNT") for i in found)
