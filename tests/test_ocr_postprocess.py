"""Pure OCR pre/post-processing: DB boxes from a probability map, CTC decoding with positions, spaces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from docray.models.ocr_ctc import DecodedLine, charset_from_file, charset_from_metadata, ctc_greedy, restore_spaces
from docray.models.ocr_det import DetParams, boxes_from_probability, det_input, order_quad, reading_order, unclip_rect
from docray.models.ocr_rec import crop_quad, width_batches

# --------------------------------------------------------------------------- detection


def _probability_map() -> np.ndarray:
    prob = np.zeros((200, 300), dtype=np.float32)
    prob[120:130, 40:240] = 0.9  # second line (lower)
    prob[30:40, 150:250] = 0.8  # first line, right
    prob[31:41, 20:120] = 0.85  # first line, left (slightly lower top)
    prob[170:180, 40:200] = 0.4  # above thresh 0.3 but below box_thresh 0.5: dropped
    return prob


def test_db_boxes_from_probability_map():
    params = DetParams()
    found = boxes_from_probability(_probability_map(), params)
    assert len(found) == 3
    quads = [q for q, _ in found]
    order = reading_order(quads)
    tops = [quads[i][:, 1].min() for i in order]
    lefts = [quads[i][:, 0].min() for i in order]
    # reading order: the two first-line boxes left to right, then the lower line
    assert lefts[0] < lefts[1] and tops[2] > 100
    for quad, score in found:
        assert 0.6 < score <= 0.9  # the box includes its one-pixel rim of the dilated region
        height = quad[:, 1].max() - quad[:, 1].min()
        # a 10-11 px kernel grows by area * 1.6 / perimeter on each side
        assert 20 < height < 30, height
        assert (quad[0] <= quad[2]).all()  # top-left before bottom-right


def test_db_boxes_scale_back_to_image_pixels():
    found = boxes_from_probability(_probability_map(), DetParams(), scale_x=0.5, scale_y=0.5)
    lower = max(found, key=lambda f: f[0][:, 1].min())[0]
    assert lower[:, 0].min() == pytest.approx(2 * 40 - 2 * 7.6, abs=4)
    assert lower[:, 1].min() > 2 * 110


def test_db_rotated_line_gives_rotated_quad():
    prob = np.zeros((300, 300), dtype=np.float32)
    box = cv2.boxPoints(((150, 150), (200, 12), 30)).astype(np.int32)
    cv2.fillPoly(prob, [box], 0.9)
    ((quad, score),) = boxes_from_probability(prob, DetParams())
    top_edge = quad[1] - quad[0]
    angle = np.degrees(np.arctan2(top_edge[1], top_edge[0]))
    assert abs(abs(angle) - 30) < 3
    assert score > 0.6


def test_unclip_grows_every_side_by_area_ratio_over_perimeter():
    (_, (w, h), _) = unclip_rect(((0, 0), (100, 10), 0), 1.6)
    d = 100 * 10 * 1.6 / 220
    assert w == pytest.approx(100 + 2 * d) and h == pytest.approx(10 + 2 * d)


def test_det_input_keeps_aspect_pads_to_32_and_never_upscales():
    image = np.zeros((50, 70, 3), dtype=np.uint8)
    tensor, scale = det_input(image, DetParams(limit=960, limit_type="max"))
    assert scale == 1.0 and tensor.shape == (1, 3, 64, 96)
    assert tensor[0, :, 0, 0].tolist() == [-1.0, -1.0, -1.0]  # black content
    assert tensor[0, :, 63, 95].tolist() == [1.0, 1.0, 1.0]  # white padding
    big = np.zeros((2000, 1000, 3), dtype=np.uint8)
    tensor, scale = det_input(big, DetParams(limit=960))
    assert scale == pytest.approx(0.48) and tensor.shape[2] == 960 and tensor.shape[3] % 32 == 0


def test_order_quad_from_any_corner_order():
    quad = order_quad(np.array([[10, 20], [0, 0], [10, 0], [0, 20]]))
    assert quad.tolist() == [[0, 0], [10, 0], [10, 20], [0, 20]]


def test_crop_quad_straightens_and_turns_tall_crops():
    image = np.full((100, 100, 3), 255, dtype=np.uint8)
    image[10:20, 10:60] = 0
    crop = crop_quad(image, np.array([[10, 10], [60, 10], [60, 20], [10, 20]], dtype=np.float32))
    assert crop.shape[:2] == (10, 50) and crop.mean() < 60
    tall = crop_quad(image, np.array([[10, 10], [20, 10], [20, 60], [10, 60]], dtype=np.float32))
    assert tall.shape[:2] == (10, 50)


def test_width_batches_sorted_and_bounded():
    batches = width_batches([50, 10, 40, 20, 30], 2)
    assert batches == [[1, 3], [4, 2], [0]]


# --------------------------------------------------------------------------- CTC

CHARSET = ["<blank>", "a", "b", "c", "中", "文", " "]


def _probs(steps: list[int], space_at: dict[int, float] | None = None) -> np.ndarray:
    probs = np.full((len(steps), len(CHARSET)), 0.01, dtype=np.float32)
    for t, cls in enumerate(steps):
        probs[t, cls] = 0.9
    for t, p in (space_at or {}).items():
        probs[t, -1] = p
    return probs


def test_ctc_greedy_merges_repeats_drops_blanks_and_keeps_positions():
    #        t: 0  1  2  3  4  5  6  7  8
    steps = [1, 1, 0, 2, 2, 0, 2, 0, 3]
    line = ctc_greedy(_probs(steps), CHARSET)
    assert line.text == "abbc"
    assert line.positions == (0.5, 3.5, 6.0, 8.0)
    assert line.score == pytest.approx(0.9)
    assert line.space_gaps == (pytest.approx(0.01), pytest.approx(0.01), pytest.approx(0.01))


def test_ctc_greedy_counts_only_the_crops_own_steps():
    line = ctc_greedy(_probs([1, 0, 2, 0, 3, 3]), CHARSET, num_steps=3)
    assert line.text == "ab"
    assert ctc_greedy(_probs([0, 0]), CHARSET).score == 0.0


def test_restore_spaces_where_the_space_class_rises_between_latin_letters():
    steps = [1, 0, 0, 2, 0, 3, 0, 0, 1]
    line = ctc_greedy(_probs(steps, {1: 0.2, 6: 0.001}), CHARSET)
    assert line.text == "abca"
    assert restore_spaces(line) == "a bca"
    assert restore_spaces(line, space_prob=0.5) == "abca"


def test_restore_spaces_never_inside_cjk_runs():
    line = ctc_greedy(_probs([4, 0, 5, 0, 1], {1: 0.4, 3: 0.4}), CHARSET)
    assert line.text == "中文a"
    assert restore_spaces(line) == "中文a"


def test_restore_spaces_keeps_spaces_the_model_read():
    line = ctc_greedy(_probs([1, 0, 6, 0, 2]), CHARSET)
    assert line.text == "a b" and restore_spaces(line) == "a b"
    assert restore_spaces(DecodedLine("ab", 1.0, (0.0, 4.0))) == "ab"  # no gap data: unchanged


def test_charsets_add_blank_first_and_space_last():
    assert charset_from_metadata("x\ny") == ["<blank>", "x", "y", " "]
    assert charset_from_file("x\r\ny\n") == ["<blank>", "x", "y", " "]


# --------------------------------------------------------------------------- page orientation


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_turn_points_follows_turn_image_and_turns_back(rotation):
    from docray.models.page_orientation import turn_image, turn_points

    image = np.zeros((30, 50), dtype=np.uint8)
    image[4, 7] = 255  # pixel (x=7, y=4): its centre is (7.5, 4.5)
    turned = turn_image(image, rotation)
    ys, xs = np.nonzero(turned)
    (x, y) = turn_points(np.array([[7.5, 4.5]]), rotation, 50, 30)[0]
    assert (xs[0] + 0.5, ys[0] + 0.5) == pytest.approx((x, y))
    back = turn_points(np.array([[x, y]]), (360 - rotation) % 360, turned.shape[1], turned.shape[0])
    assert back[0] == pytest.approx([7.5, 4.5])


def test_sideways_from_line_boxes_and_upside_down_from_confidence():
    from docray.models.page_orientation import is_sideways, longest_lines, upside_down

    wide = np.array([[0, 0], [200, 0], [200, 20], [0, 20]], np.float32)
    tall = wide[:, ::-1].copy()
    square = np.array([[0, 0], [20, 0], [20, 20], [0, 20]], np.float32)
    assert is_sideways([tall, tall, wide]) and not is_sideways([wide, wide, tall])
    assert not is_sideways([square] * 10 + [wide]) and is_sideways([square] * 10 + [tall])
    assert longest_lines([square, wide * 0.5, wide], 2) == [2, 1]
    assert upside_down([0.5, 0.6], [0.9, 0.95], 0.05) and not upside_down([0.9, 0.95], [0.5, 0.6], 0.05)
    assert not upside_down([0.90], [0.93], 0.05) and not upside_down([], [], 0.05)
