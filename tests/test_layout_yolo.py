"""YOLO layout engine: letterbox, both output layouts, NMS, through tiny ONNX models built here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from pydantic import ValidationError

from docray.models import registry
from docray.models.layout_picodet import PicoDetOptions
from docray.models.layout_yolo import (
    PAD_VALUE,
    Letterbox,
    YoloLayout,
    YoloOptions,
    letterbox,
    output_format_of,
)
from docray.operators.layout import LayoutConfig
from docray.schema import BlockType

CLASSES = ["title", "plain text", "table"]
BLOCK_TYPES = {"title": "title", "plain text": "text", "table": "table"}


def constant_model(path: Path, prediction: np.ndarray, input_hw: tuple[int, int], batch: int | str = "N") -> Path:
    """An ONNX model whose output is ``prediction`` (shape [1, ...]) repeated for every image of the batch.

    The output is ``prediction + 0 * mean(image)`` so it depends on the input and has the input's batch size.
    """
    rank = prediction.ndim
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, *input_hw])
    output = helper.make_tensor_value_info("output0", TensorProto.FLOAT, [batch, *prediction.shape[1:]])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=1),  # [N, 1, 1, 1]
        helper.make_node("Reshape", ["mean", "shape"], ["mean_r"]),  # [N, 1, 1] (rank of the output)
        helper.make_node("Mul", ["mean_r", "zero"], ["nothing"]),
        helper.make_node("Add", ["nothing", "prediction"], ["output0"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array([0] + [1] * (rank - 1), dtype=np.int64), "shape"),
        numpy_helper.from_array(np.zeros(1, dtype=np.float32), "zero"),
        numpy_helper.from_array(prediction.astype(np.float32), "prediction"),
    ]
    graph = helper.make_graph(nodes, "constant_yolo", [image], [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def anchors_prediction() -> np.ndarray:
    """[1, 4 + 3, 5] YOLOv8 head: anchor columns (cx, cy, w, h, class scores) in input pixels of a 128 x 128 input."""
    columns = [
        (64, 64, 64, 32, 0.0, 0.0, 0.9),  # a table, best
        (65, 64, 64, 32, 0.0, 0.0, 0.8),  # the same table again: NMS drops it
        (64, 64, 64, 32, 0.0, 0.7, 0.0),  # the same region as text: cross-class IoU 1 drops it
        (20, 90, 16, 8, 0.6, 0.2, 0.0),  # a title, best class wins
        (100, 110, 10, 10, 0.1, 0.0, 0.0),  # below the score threshold
    ]
    return np.array(columns, dtype=np.float32).T[None]


def options(path: Path, **extra) -> YoloOptions:
    return YoloOptions(weights=str(path), class_names=CLASSES, block_types=BLOCK_TYPES, input_size=128, **extra)


def test_letterbox_centres_the_image_on_grey():
    image = np.full((128, 256, 3), 255, dtype=np.uint8)  # wide: 256 x 128 into 128 x 128
    tensor, placement = letterbox(image, 128, 128)
    assert tensor.shape == (3, 128, 128) and tensor.dtype == np.float32
    assert placement == Letterbox(scale=0.5, pad_x=0.0, pad_y=32.0)
    assert np.allclose(tensor[:, :32], PAD_VALUE / 255) and np.allclose(tensor[:, 96:], PAD_VALUE / 255)
    assert np.allclose(tensor[:, 32:96], 1.0)
    red = np.zeros((10, 10, 3), dtype=np.uint8)
    red[..., 0] = 255
    tensor, _ = letterbox(red, 20, 20)
    assert tensor[0].min() == 1.0 and tensor[1].max() == 0.0  # RGB order kept
    back = placement.to_image(np.array([[32.0, 48.0, 96.0, 80.0]]))
    assert back.tolist() == [[64.0, 32.0, 192.0, 96.0]]


def test_output_format_is_told_by_shape():
    assert output_format_of(np.zeros((1, 7, 500)), 3) == "anchors"
    assert output_format_of(np.zeros((2, 300, 6)), 3) == "end2end"
    assert output_format_of(np.zeros((2, 300, 6)), 3, "anchors") == "anchors"
    with pytest.raises(ValueError, match="output_format"):
        output_format_of(np.zeros((1, 9, 500)), 3)


def test_yolo_anchor_head_decoded_through_the_letterbox_with_nms(tmp_path):
    model = registry.create("layout", options(constant_model(tmp_path / "m.onnx", anchors_prediction(), (128, 128))), threads=1)
    assert isinstance(model, YoloLayout) and model.max_batch is None
    wide = np.full((128, 256, 3), 255, dtype=np.uint8)  # scale 0.5, 32 px of padding above and below
    tall = np.full((512, 256, 3), 255, dtype=np.uint8)  # scale 0.25, 32 px of padding left and right
    wide_dets, tall_dets = model.detect([wide, tall])
    assert [(d.label, round(d.score, 3)) for d in wide_dets] == [("table", 0.9), ("title", 0.6)]
    table, title = wide_dets
    assert table.box == pytest.approx((64, 32, 192, 96))  # input (32, 48, 96, 80) back through the letterbox
    assert title.box == pytest.approx((24, 108, 56, 124))  # input (12, 86, 28, 94)
    tall_table = tall_dets[0]
    assert tall_table.label == "table" and tall_table.box == pytest.approx(((32 - 32) * 4, 48 * 4, (96 - 32) * 4, 80 * 4))
    keep_both = registry.create(
        "layout", options(tmp_path / "m.onnx", cross_class_iou=None), threads=1
    ).detect([wide])[0]
    assert sorted(d.label for d in keep_both) == ["plain text", "table", "title"]


def test_yolo_end2end_output_with_a_fixed_batch_of_one(tmp_path):
    rows = [
        (10, 20, 60, 40, 0.95, 0),  # title
        (0, 50, 128, 120, 0.5, 2),  # table
        (5, 5, 9, 9, 0.05, 1),  # below the threshold
    ]
    prediction = np.array(rows, dtype=np.float32)[None]  # [1, 3, 6]
    path = constant_model(tmp_path / "e2e.onnx", prediction, (128, 128), batch=1)
    model = YoloLayout.from_options(options(path), threads=1)
    assert model.max_batch == 1  # the export's batch is fixed: one run per image
    square = np.full((256, 256, 3), 255, dtype=np.uint8)  # scale 0.5, no padding
    first, second = model.detect([square, square])
    assert first == second
    assert [(d.label, d.box) for d in first] == [("title", (20.0, 40.0, 120.0, 80.0)), ("table", (0.0, 100.0, 256.0, 240.0))]


def test_layout_model_options_are_checked():
    with pytest.raises(ValidationError, match="class_names"):
        YoloOptions(block_types={})
    with pytest.raises(ValidationError, match="not in class_names"):
        YoloOptions(class_names=["a"], block_types={"b": "text"})
    config = LayoutConfig.model_validate(
        {"op": "layout", "model": {"kind": "yolo_onnx", "class_names": CLASSES, "block_types": BLOCK_TYPES}}
    )
    assert isinstance(config.model, YoloOptions) and config.model.block_types["plain text"] is BlockType.TEXT
    with pytest.raises(ValidationError):
        LayoutConfig.model_validate({"op": "layout", "model": {"kind": "detr"}})
    # a partial model (as --set layout.model.score_threshold=0.4 gives) means the default engine
    partial = LayoutConfig.model_validate({"op": "layout", "model": {"score_threshold": 0.4}}).model
    assert isinstance(partial, PicoDetOptions) and partial.score_threshold == 0.4
