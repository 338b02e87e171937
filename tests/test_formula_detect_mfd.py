"""MFD formula detection through a tiny YOLOv8-head ONNX model with known inline and display boxes."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError
from test_layout_yolo import constant_model

from docray.models.formula_detect import FormulaBox, MfdDetector, MfdOptions
from docray.models.layout_yolo import YoloOptions
from docray.schema import BlockType


def mfd_head() -> np.ndarray:
    """[1, 4 + 2, 5] YOLOv8 head over a 128 x 128 input: cx, cy, w, h, then the inline and isolated scores."""
    columns = [
        (40, 50, 20, 8, 0.85, 0.05),  # an inline formula
        (41, 50, 20, 8, 0.60, 0.00),  # the same inline formula again: NMS drops it
        (64, 80, 80, 20, 0.10, 0.92),  # a display (isolated) formula
        (64, 80, 80, 20, 0.70, 0.00),  # the display box also scored inline: class-aware NMS keeps both, as MinerU does
        (100, 20, 10, 10, 0.20, 0.10),  # below conf 0.25
    ]
    return np.array(columns, dtype=np.float32).T[None]


@pytest.fixture
def onnx_path(tmp_path, monkeypatch):
    (tmp_path / "MFD" / "YOLO").mkdir(parents=True)
    constant_model(tmp_path / "MFD" / "YOLO" / "yolo_v8_ft.onnx", mfd_head(), (128, 128))
    monkeypatch.setenv("DOCRAY_MODELS_DIR", str(tmp_path))
    return tmp_path / "MFD" / "YOLO" / "yolo_v8_ft.onnx"


def test_mfd_defaults_follow_mineru():
    options = MfdOptions()
    assert options.weights == "models-dir:MFD/YOLO/yolo_v8_ft.onnx"
    assert (options.input_size, options.score_threshold, options.nms_iou) == (1888, 0.25, 0.45)
    yolo = options.yolo_options()
    assert isinstance(yolo, YoloOptions) and yolo.kind == "yolo_onnx"
    assert yolo.class_names == ["inline", "isolated"] and yolo.cross_class_iou is None
    assert yolo.block_types == {"inline": BlockType.INLINE_EQUATION, "isolated": BlockType.INTERLINE_EQUATION}


def test_mfd_finds_inline_and_display_formulas_in_image_pixels(onnx_path):
    # the default weights spec, found in the models directory
    detector = MfdDetector.from_options(MfdOptions(input_size=128, batch_size=2), threads=1)
    page = np.full((256, 512, 3), 255, dtype=np.uint8)  # 512 x 256 into 128 x 128: scale 0.25, 32 px padding above and below
    square = np.full((128, 128, 3), 255, dtype=np.uint8)  # scale 1, no padding
    results = detector.detect([page, square, page])  # three pages in two ONNX runs
    assert len(results) == 3 and results[0] == results[2]
    formulas = results[0]
    assert [(f.type, round(f.score, 2)) for f in formulas] == [
        (BlockType.INTERLINE_EQUATION, 0.92),
        (BlockType.INLINE_EQUATION, 0.85),
        (BlockType.INLINE_EQUATION, 0.70),
    ]
    display, inline, _ = formulas
    assert display.display and not inline.display
    assert display.box == pytest.approx((24 * 4, (70 - 32) * 4, 104 * 4, (90 - 32) * 4))  # input (24, 70, 104, 90)
    assert inline.box == pytest.approx((30 * 4, (46 - 32) * 4, 50 * 4, (54 - 32) * 4))  # input (30, 46, 50, 54)
    assert results[1][1] == FormulaBox(BlockType.INLINE_EQUATION, (30.0, 46.0, 50.0, 54.0), pytest.approx(0.85))


def test_mfd_can_drop_a_class_or_suppress_across_classes(onnx_path):
    only_display = MfdDetector.from_options(
        MfdOptions(weights=str(onnx_path), input_size=128, block_types={"isolated": "interline_equation"})
    )
    assert [f.type for f in only_display.detect([np.zeros((128, 128, 3), np.uint8)])[0]] == [BlockType.INTERLINE_EQUATION]
    one_label = MfdDetector.from_options(MfdOptions(weights=str(onnx_path), input_size=128, cross_class_iou=0.8))
    assert [round(f.score, 2) for f in one_label.detect([np.zeros((128, 128, 3), np.uint8)])[0]] == [0.92, 0.85]


def test_mfd_options_are_checked():
    with pytest.raises(ValidationError, match="inline_equation or interline_equation"):
        MfdOptions(block_types={"inline": "text"})
    with pytest.raises(ValidationError, match="not in class_names"):
        MfdOptions(class_names=["formula"])
