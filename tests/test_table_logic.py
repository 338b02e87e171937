"""Pure table logic: token decoding, the cell grid, word-to-cell matching and HTML (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from docray.models.protocols import TableCell
from docray.models.table_cells import (
    Word,
    assign_words,
    cell_text,
    grid_edges,
    split_words,
    table_html,
    to_page_box,
    words_of,
)
from docray.models.table_grid import cells_from_tokens, grid_size, span_attribute
from docray.models.table_slanet import END_TOKEN, START_TOKEN, decode, prepare, to_crop_box, vocabulary
from docray.operators.table import trim_captions

METADATA = [
    "<thead>",
    "</thead>",
    "<tbody>",
    "</tbody>",
    "<tr>",
    "</tr>",
    "<td",
    ">",
    "</td>",
    ' colspan="2"',
    ' rowspan="2"',
    "<td></td>",
]


def one_hot(tokens: list[str], sequence: list[str], confidence: float = 0.9) -> np.ndarray:
    probabilities = np.full((len(sequence), len(tokens)), (1 - confidence) / (len(tokens) - 1), dtype=np.float32)
    for step, token in enumerate(sequence):
        probabilities[step, tokens.index(token)] = confidence
    return probabilities


def test_vocabulary_wraps_metadata_in_start_and_end_tokens():
    tokens = vocabulary(["<tr>", "<td>", "</tr>"])
    assert tokens[0] == START_TOKEN and tokens[-1] == END_TOKEN
    assert "<td>" not in tokens and "<td></td>" in tokens
    assert vocabulary(METADATA)[1:-1] == METADATA  # SLANet-plus's own list is kept as it is


def test_decode_stops_at_end_token_and_keeps_boxes_of_cell_openers():
    tokens = vocabulary(METADATA)
    sequence = [
        START_TOKEN,
        "<tr>",
        "<td></td>",
        "<td",
        ' colspan="2"',
        ">",
        "</td>",
        "</tr>",
        END_TOKEN,
        "<tr>",
        "<td></td>",
    ]
    locations = np.arange(len(sequence) * 8, dtype=np.float32).reshape(len(sequence), 8) / 100
    out, boxes, score = decode(one_hot(tokens, sequence), locations, tokens)
    assert out == ["<tr>", "<td></td>", "<td", ' colspan="2"', ">", "</td>", "</tr>"]
    assert len(boxes) == 2
    np.testing.assert_allclose(boxes[0], locations[2])  # the step of "<td></td>"
    np.testing.assert_allclose(boxes[1], locations[3])  # the step of "<td"
    assert score == pytest.approx(0.9)


def test_decode_ignores_an_end_token_at_the_first_step():
    tokens = vocabulary(METADATA)
    sequence = [END_TOKEN, "<tr>", "<td></td>", "</tr>", END_TOKEN]
    out, boxes, _ = decode(one_hot(tokens, sequence), np.zeros((5, 8), np.float32), tokens)
    assert out == ["<tr>", "<td></td>", "</tr>"] and len(boxes) == 1


def test_prepare_resizes_longest_side_pads_and_maps_boxes_back():
    image = np.full((244, 976, 3), 255, dtype=np.uint8)
    image[:, :488, 0] = 0  # left half without red: channel order shows in the tensor
    prepared = prepare(image)
    assert prepared.tensor.shape == (3, 488, 488) and prepared.scale == pytest.approx(0.5)
    assert np.all(prepared.tensor[:, 122:, :] == 0)  # padding below the 122 resized rows
    red_in_bgr = prepared.tensor[2]
    assert red_in_bgr[10, 10] < 0 < red_in_bgr[10, 400]
    location = np.array([0.1, 0.05, 0.3, 0.05, 0.3, 0.2, 0.1, 0.2], dtype=np.float32)
    assert to_crop_box(location, prepared) == pytest.approx((97.6, 48.8, 292.8, 195.2), abs=1e-3)
    far = np.array([0.1, 0.1, 0.9, 0.1, 0.9, 0.9, 0.1, 0.9], dtype=np.float32)
    assert to_crop_box(far, prepared)[3] == 244  # clipped to the crop


def test_span_attribute():
    assert span_attribute(' colspan="3"') == ("colspan", 3)
    assert span_attribute(' rowspan="12"') == ("rowspan", 12)
    assert span_attribute(">") is None


def test_grid_places_cells_after_row_spans():
    # | a (2 rows) | b (2 cols)  | c (2 rows) |
    # |            |  d   |  e   |            |
    # |  f   |  g  |  h   |  i   |  j         |
    tokens = (
        ["<thead>", "<tr>", "<td", ' rowspan="2"', ">", "</td>", "<td", ' colspan="2"', ">", "</td>"]
        + ["<td", ' rowspan="2"', ">", "</td>", "</tr>", "<tr>", "<td></td>", "<td></td>", "</tr>", "</thead>"]
        + ["<tbody>", "<tr>"] + ["<td></td>"] * 5 + ["</tr>", "</tbody>"]
    )  # fmt: skip
    boxes = [(float(i), 0.0, float(i) + 1, 1.0) for i in range(10)]
    cells = cells_from_tokens(tokens, boxes)
    assert [(c.row, c.col, c.rowspan, c.colspan) for c in cells] == [
        (0, 0, 2, 1), (0, 1, 1, 2), (0, 3, 2, 1), (1, 1, 1, 1), (1, 2, 1, 1),
        (2, 0, 1, 1), (2, 1, 1, 1), (2, 2, 1, 1), (2, 3, 1, 1), (2, 4, 1, 1),
    ]  # fmt: skip
    assert [c.box[0] for c in cells] == list(range(10))  # boxes follow the cell-opening tokens
    assert grid_size(cells) == (3, 5)


def test_grid_tolerates_malformed_tokens():
    # a cell before any <tr>, a missing </tr>, a rowspan past the last row, a "<td" never closed
    tokens = ["<td></td>", "<td", ' rowspan="5"', ">", "</td>", "<tr>", "<td></td>", "<td"]
    cells = cells_from_tokens(tokens, [])
    assert [(c.row, c.col, c.rowspan) for c in cells] == [(0, 0, 1), (0, 1, 2), (1, 0, 1), (1, 2, 1)]
    assert all(c.box == (0.0, 0.0, 0.0, 0.0) for c in cells)
    assert grid_size(cells) == (2, 3)
    assert grid_size([]) == (0, 0)


def test_split_words_cuts_boxes_by_character_position():
    words = split_words("ab  cdef", (0, 10, 80, 20))
    assert [w.text for w in words] == ["ab", "cdef"]
    assert words[0].box == pytest.approx((0, 10, 20, 20))
    assert words[1].box == pytest.approx((40, 10, 80, 20))
    assert words_of([("", (0, 0, 1, 1)), ("x y", (0, 0, 30, 10))])[1].box == pytest.approx((20, 0, 30, 10))


def test_grid_edges_lie_between_rows_and_columns_outvoting_one_bad_box():
    cells = [
        TableCell(0, 0, (0, 0, 40, 10)),
        TableCell(0, 1, (60, 0, 100, 10)),
        TableCell(0, 2, (120, 2, 160, 30)),  # too tall: one box among three
        TableCell(1, 0, (0, 20, 75, 50), rowspan=2),  # too wide: one box among two ending in column 0
        TableCell(1, 1, (60, 20, 100, 30)),
        TableCell(1, 2, (120, 20, 160, 30)),
        TableCell(2, 1, (60, 40, 100, 50), colspan=2),
    ]
    rows, cols = grid_edges(cells)
    assert rows == pytest.approx([15.0, 35.0])
    assert rows[0] < 20  # the tall box alone would have put the boundary below row 1's top
    assert cols == pytest.approx([58.75, 110.0])  # column 0 ends at the median of 40 and 75


def test_assign_words_uses_the_whole_row_not_one_misplaced_box():
    # text rows at y 0-10, 14-22 and 30-38; the first column's boxes of rows 1 and 2 sit too low
    # (a SLANet habit below tall header rows), so by overlap alone "two" would land in row 1
    cells = [
        TableCell(0, 0, (0, 0, 50, 10)),
        TableCell(0, 1, (60, 0, 110, 10)),
        TableCell(1, 0, (0, 19, 50, 33)),
        TableCell(1, 1, (60, 14, 110, 22)),
        TableCell(2, 0, (0, 36, 50, 48)),
        TableCell(2, 1, (60, 30, 110, 38)),
    ]
    region = (-5, -5, 115, 50)
    words = words_of([("left right", (5, 1, 105, 9))])  # one span over two columns: a word in each
    words += [Word("one", (2, 14, 40, 22)), Word("two", (2, 30, 40, 38)), Word("2", (62, 30, 70, 38))]
    words.append(Word("caption", (0, 60, 40, 70)))  # outside the region: dropped
    assigned = assign_words(words, cells, region=region)
    assert [[w.text for w in ws] for ws in assigned] == [["left"], ["right"], ["one"], [], ["two"], ["2"]]
    assert assign_words(words, [], region=region) == []


def test_assign_words_falls_back_to_overlap_where_the_grid_has_a_hole():
    cells = [TableCell(0, 0, (0, 0, 50, 10)), TableCell(0, 1, (60, 0, 110, 10)), TableCell(1, 0, (0, 20, 50, 30))]
    orphan = Word("orphan", (45, 21, 75, 29))  # its centre is in slot (1, 1), which no cell covers
    assert [len(ws) for ws in assign_words([orphan], cells, region=(0, 0, 110, 30))] == [0, 0, 1]


def test_cell_text_orders_lines_then_words():
    words = [
        Word("two", (40, 12, 60, 20)),
        Word("line", (0, 12, 30, 20)),
        Word("first", (30, 0, 50, 9)),
        Word("A", (0, 1, 10, 9)),
    ]
    assert cell_text(words) == "A first line two"
    assert cell_text([]) == ""


def test_table_html_spans_and_escaping():
    cells = [
        TableCell(0, 0, (0, 0, 1, 1), rowspan=2),
        TableCell(0, 1, (0, 0, 1, 1), colspan=2),
        TableCell(1, 2, (0, 0, 1, 1)),
        TableCell(1, 1, (0, 0, 1, 1)),
    ]
    html = table_html(cells, ["R&D", "<b>", "z", "y"])
    assert html == (
        '<table><tr><td rowspan="2">R&amp;D</td><td colspan="2">&lt;b&gt;</td></tr>'
        "<tr><td>y</td><td>z</td></tr></table>"
    )


def test_to_page_box_adds_crop_offset_and_scales():
    assert to_page_box((10, 20, 30, 40), (100, 200), 0.5) == pytest.approx((55, 110, 65, 120))


def test_trim_captions_cuts_top_and_bottom_captions_only():
    table = (100.0, 100.0, 400.0, 300.0)
    above = (100.0, 95.0, 250.0, 115.0)  # overlaps the top edge
    below = (120.0, 290.0, 300.0, 310.0)  # overlaps the bottom edge
    beside = (380.0, 150.0, 600.0, 170.0)  # mostly outside horizontally: a neighbour, not a caption
    far = (100.0, 400.0, 300.0, 420.0)
    assert trim_captions(table, [above, below, beside, far]) == (100.0, 115.0, 400.0, 290.0)
    huge = (100.0, 90.0, 400.0, 250.0)  # cutting it would leave too little of the table
    assert trim_captions(table, [huge]) == table
