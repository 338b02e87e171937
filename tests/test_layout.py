"""Layout stage: box helpers, PicoDet decoding, the real PicoDet-CDLA model on a generated page, the operator."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pypdfium2 as pdfium
import pytest

from docray.models import registry
from docray.models.layout_common import (
    block_type_of,
    candidates,
    iou_one_to_many,
    nms,
    per_class_nms,
    postprocess,
)
from docray.models.layout_picodet import (
    CDLA_BLOCK_TYPES,
    CDLA_LABELS,
    PicoDetLayout,
    PicoDetOptions,
    cell_centres,
    decode,
    distribution_to_distance,
    pair_levels,
)
from docray.models.protocols import Detection, LayoutModel
from docray.operators import get_operator
from docray.operators.layout import NO_IMAGE_MESSAGE, LayoutConfig, LayoutOperator, layout_boxes, points_per_pixel
from docray.schema import PAGE_COLUMNS, BlockType, ErrorCode, Status, schema_of
from docray.testing.report import PAGE, TITLE, report_with_table_and_figure


def iou(a, b) -> float:
    return float(iou_one_to_many(np.asarray(a, dtype=float), np.asarray([b], dtype=float))[0])


# ---------------------------------------------------------------- pure helpers


def test_iou_and_greedy_nms_keep_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10.5]], dtype=float)
    scores = np.array([0.6, 0.9, 0.5, 0.3])
    assert iou(boxes[0], boxes[2]) == 0.0
    assert iou(boxes[0], boxes[0]) == pytest.approx(1.0)
    assert iou(boxes[0], boxes[1]) == pytest.approx(81 / 119)
    # 0.68 IoU: suppressed at 0.5, both kept at 0.7
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert nms(boxes, scores, 0.7).tolist() == [1, 0, 2]


def test_per_class_nms_never_suppresses_across_classes():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7])
    classes = np.array([0, 1, 0])
    assert per_class_nms(boxes, scores, classes, 0.5).tolist() == [0, 1]
    assert per_class_nms(boxes, scores, classes, 0.5, max_keep=1).tolist() == [0]


def test_candidates_multi_label_or_best_class():
    scores = np.array([[0.9, 0.6, 0.1], [0.2, 0.3, 0.4]])
    rows, classes, values = candidates(scores, 0.5, multi_label=True)
    assert rows.tolist() == [0, 0] and classes.tolist() == [0, 1] and values.tolist() == [0.9, 0.6]
    rows, classes, values = candidates(scores, 0.35, multi_label=False)
    assert rows.tolist() == [0, 1] and classes.tolist() == [0, 2] and values.tolist() == [0.9, 0.4]


def test_postprocess_clips_and_drops_a_region_labelled_twice():
    boxes = np.array([[-5, 10, 50, 60], [-4, 10, 50, 61], [60, 0, 120, 40]], dtype=float)
    scores = np.array([0.9, 0.7, 0.8])
    classes = np.array([0, 1, 1])
    labels = ["text", "title"]
    both = postprocess(boxes, scores, classes, labels, nms_iou=0.5, max_detections=10, image_size=(100, 50))
    assert [(d.label, d.score) for d in both] == [("text", 0.9), ("title", 0.8), ("title", 0.7)]
    assert both[0].box == (0.0, 10.0, 50.0, 50.0)  # clipped to the 100 x 50 image
    assert both[1].box == (60.0, 0.0, 100.0, 40.0)
    deduplicated = postprocess(
        boxes, scores, classes, labels, nms_iou=0.5, max_detections=10, image_size=(100, 50), cross_class_iou=0.8
    )
    assert [(d.label, d.score) for d in deduplicated] == [("text", 0.9), ("title", 0.8)]


def test_cdla_classes_map_to_mineru_block_types():
    assert set(CDLA_BLOCK_TYPES) == set(CDLA_LABELS)
    assert block_type_of("figure", CDLA_BLOCK_TYPES) is BlockType.IMAGE
    assert block_type_of("figure_caption", CDLA_BLOCK_TYPES) is BlockType.IMAGE_CAPTION
    assert block_type_of("equation", CDLA_BLOCK_TYPES) is BlockType.INTERLINE_EQUATION
    assert block_type_of("reference", CDLA_BLOCK_TYPES) is BlockType.REF_TEXT
    assert block_type_of("stamp", CDLA_BLOCK_TYPES) is None


# ---------------------------------------------------------------- PicoDet decoding


def test_cell_centres_and_gfl_distances():
    centres = cell_centres(800, 608, 64)  # 13 rows x 10 columns (the last row and column are partial)
    assert centres.shape == (130, 2)
    assert centres[0].tolist() == [32.0, 32.0] and centres[10].tolist() == [32.0, 96.0]
    assert centres[-1].tolist() == [9.5 * 64, 12.5 * 64]
    peaked = np.full((1, 32), -50.0)
    peaked[0, [3, 8 + 0, 16 + 7, 24 + 5]] = 50.0  # left 3 bins, top 0, right 7, bottom 5
    assert distribution_to_distance(peaked, 16)[0] == pytest.approx([48, 0, 112, 80])
    uniform = np.zeros((1, 32))
    assert distribution_to_distance(uniform, 8)[0] == pytest.approx([28, 28, 28, 28])  # mean bin 3.5


def synthetic_outputs(cell: int, stride: int, cls: int, score: float, sides: tuple[int, int, int, int]) -> list[np.ndarray]:
    """Network outputs (batch axis removed) with one confident cell at ``stride``."""
    outputs_scores, outputs_dists = [], []
    for s in (8, 16, 32, 64):
        cells = -(-800 // s) * -(-608 // s)
        scores = np.zeros((cells, 10), dtype=np.float32)
        dists = np.zeros((cells, 32), dtype=np.float32)
        if s == stride:
            scores[cell, cls] = score
            for side, bins in enumerate(sides):
                dists[cell, side * 8 + bins] = 60.0
        outputs_scores.append(scores)
        outputs_dists.append(dists)
    return outputs_scores + outputs_dists


def test_decode_maps_one_cell_to_a_box_in_image_pixels():
    # cell 40 at stride 16: row 1, column 2 (38 columns) -> centre (40, 24) in the 608 x 800 input
    outputs = synthetic_outputs(cell=40, stride=16, cls=4, score=0.9, sides=(2, 1, 3, 4))
    input_box = np.array([40 - 32, 24 - 16, 40 + 48, 24 + 64])
    dets = decode(
        outputs, CDLA_LABELS, input_size=(800, 608), image_size=(1216, 400), score_threshold=0.5, nms_iou=0.5, max_detections=10
    )
    assert len(dets) == 1 and dets[0].label == "table" and dets[0].score == pytest.approx(0.9)
    scale = np.array([1216 / 608, 400 / 800] * 2)
    assert dets[0].box == pytest.approx(tuple(input_box * scale), abs=1e-3)
    assert decode(outputs, CDLA_LABELS, input_size=(800, 608), image_size=(608, 800), score_threshold=0.95, nms_iou=0.5, max_detections=10) == []


def test_pair_levels_rejects_outputs_of_another_model():
    with pytest.raises(ValueError, match="unexpected PicoDet outputs"):
        pair_levels([np.zeros((100, 10)), np.zeros((100, 32))], 10, 800, 608)


# ---------------------------------------------------------------- the real model


@pytest.fixture(scope="module")
def picodet() -> PicoDetLayout:
    return registry.create("layout", PicoDetOptions(), threads=1)


@pytest.fixture(scope="module")
def report():
    return report_with_table_and_figure()


def render(pdf: bytes, dpi: float) -> np.ndarray:
    page = pdfium.PdfDocument(pdf)[0]
    return np.asarray(page.render(scale=dpi / 72).to_pil().convert("RGB"))


def best(detections: list[Detection], label: str, target, scale: float) -> tuple[float, Detection | None]:
    """The detection of ``label`` overlapping ``target`` (points) most, with its IoU."""
    scored = [(iou([v * scale for v in d.box], target), d) for d in detections if d.label == label]
    return max(scored, key=lambda pair: pair[0], default=(0.0, None))


def title_box() -> tuple[float, float, float, float]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    width = stringWidth(TITLE, "Helvetica-Bold", 18)
    return (72.0, 80 - 0.72 * 18, 72.0 + width, 80 + 0.21 * 18)  # baseline 80 pt from the top


def test_picodet_finds_the_title_table_figure_and_text_of_a_generated_page(picodet, report):
    assert isinstance(picodet, LayoutModel)
    assert picodet.labels == CDLA_LABELS  # read from the ONNX metadata
    detections = picodet.detect([render(report.pdf, 144)])[0]
    to_points = 72 / 144
    assert all(d.score >= 0.5 for d in detections)
    title_iou, _ = best(detections, "title", title_box(), to_points)
    table_iou, _ = best(detections, "table", report.table_box, to_points)
    figure_iou, _ = best(detections, "figure", report.figure_box, to_points)
    assert title_iou > 0.5 and table_iou > 0.8 and figure_iou > 0.8
    paragraphs = (72.0, 100.0, PAGE[0] - 72, 190.0)  # the two paragraphs below the title
    text = [d for d in detections if d.label == "text"]
    covered = sum(iou([v * to_points for v in d.box], paragraphs) for d in text)
    assert covered > 0.5
    # nothing is detected in the empty lower part of the page
    assert not [d for d in detections if d.box[1] * to_points > 600]


def test_picodet_batches_and_finds_nothing_on_a_blank_page(picodet, report):
    page = render(report.pdf, 100)
    blank = np.full((800, 600, 3), 255, dtype=np.uint8)
    together = picodet.detect([page, blank, page])
    assert len(together) == 3 and together[1] == []
    assert together[0] == together[2] == picodet.detect([page])[0]


# ---------------------------------------------------------------- the operator


def page_row(pdf: bytes | None, dpi: float | None, **extra) -> dict:
    row = {c: None for c in PAGE_COLUMNS}
    row.update(doc_id="d", source="mem://report.pdf", name="report", kind="pdf", num_pages=1, page_idx=0)
    row.update(width=PAGE[0], height=PAGE[1], rotation=0, status=Status.OK.value, timings={})
    if pdf is not None:
        buffer = io.BytesIO()
        from PIL import Image

        Image.fromarray(render(pdf, dpi)).save(buffer, format="PNG")
        row.update(image=buffer.getvalue(), image_dpi=dpi)
    row.update(extra)
    return row


def test_points_per_pixel_and_layout_boxes_in_points():
    assert points_per_pixel(144, 612, 1224) == 0.5
    assert points_per_pixel(None, 612, 1224) == 0.5
    dets = [
        Detection("table", (100, 200, 1300, 400), 0.9),
        Detection("stamp", (0, 0, 10, 10), 0.9),
        Detection("text", (0, 0, 10, 10), 0.3),
        Detection("title", (1250, 10, 1300, 20), 0.9),  # right of the page once clipped
    ]
    boxes = layout_boxes(dets, CDLA_BLOCK_TYPES, 0.5, (612, 792), min_score=0.5)
    assert boxes == [{"type": "table", "bbox": [50.0, 100.0, 612.0, 200.0], "score": 0.9, "label": "table"}]


def test_layout_operator_on_page_rows(report):
    config = LayoutConfig(batch_size=4)
    assert get_operator("layout") is LayoutOperator
    schema = schema_of(PAGE_COLUMNS)
    rows = [
        page_row(report.pdf, 144),
        page_row(None, None),  # rendered with image_format none
        page_row(None, None, status=Status.ERROR.value, error="render: broken", error_code=ErrorCode.RENDER_FAILED.value),
        page_row(report.pdf, 100),
    ]
    op = LayoutOperator(config, output_schema=LayoutOperator.output_schema_for(schema, config))
    out = op(pa.Table.from_pylist(rows, schema=schema)).to_pylist()

    assert [r["status"] for r in out] == ["ok", "error", "error", "ok"]
    assert NO_IMAGE_MESSAGE in out[1]["error"] and out[1]["layout_blocks"] == []
    assert out[2]["error"] == "render: broken" and out[2]["layout_blocks"] == []
    assert "layout" in dict(out[0]["timings"]) and "layout" not in dict(out[2]["timings"] or ())
    at_144, at_100 = out[0]["layout_blocks"], out[3]["layout_blocks"]
    for blocks in (at_144, at_100):
        types = {b["type"] for b in blocks}
        assert {"title", "text", "table", "image", "table_caption", "image_caption"} <= types
        for b in blocks:
            x0, y0, x1, y1 = b["bbox"]
            assert 0 <= x0 < x1 <= PAGE[0] and 0 <= y0 < y1 <= PAGE[1]
        table = max((b for b in blocks if b["type"] == "table"), key=lambda b: b["score"])
        assert iou(table["bbox"], report.table_box) > 0.8  # points, whatever the render dpi
        figure = next(b for b in blocks if b["type"] == "image")
        assert figure["label"] == "figure" and iou(figure["bbox"], report.figure_box) > 0.8
