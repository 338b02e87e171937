"""The ``ocr`` operator on a pyarrow table of page rows (no Ray; real models)."""

from __future__ import annotations

import io

import pyarrow as pa
import pytest

from docray.operators import get_operator
from docray.operators.ocr import OcrConfig, OcrOperator, pixel_region, regions_to_read
from docray.schema import PAGES, ErrorCode, Route, Status, field
from docray.testing.pdfs import text_image

DPI = 150.0
LINES = (
    "Scanned Page Heading",
    "This page is an image of text with no text layer.",
    "Optical character recognition reads it.",
)
PX = (1275, 1650)  # US Letter at 150 dpi
WIDTH_PT, HEIGHT_PT = PX[0] * 72 / DPI, PX[1] * 72 / DPI


def _png(lines=LINES, margin_px=150) -> bytes:
    buffer = io.BytesIO()
    text_image(lines, PX, font_px=30, margin_px=margin_px).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _page(page_idx: int, route: str, **extra) -> dict:
    row = {
        "doc_id": "d", "source": "mem://d.pdf", "name": "d", "kind": "pdf", "num_pages": 4, "page_idx": page_idx,
        "width": WIDTH_PT, "height": HEIGHT_PT, "image": _png(), "image_dpi": DPI, "route": route,
        "status": Status.OK.value, "spans": [], "timings": {},
    }  # fmt: skip
    row.update(extra)
    return row


def _run(rows: list[dict], config: dict | None = None) -> list[dict]:
    schema = pa.schema(list(PAGES) + [field("layout_blocks")])
    table = pa.Table.from_pylist(rows, schema=schema)
    cfg = OcrConfig.model_validate(config or {"op": "ocr"})
    op = OcrOperator(cfg, output_schema=OcrOperator.output_schema_for(schema, cfg))
    return op(table).to_pylist()


@pytest.fixture(scope="module")
def results() -> list[dict]:
    # the heading's box: lines start 150 px (72 pt) from the top-left; 30 px font ~ 14.4 pt
    heading_box = [60.0, 60.0, 400.0, 95.0]
    text_span = {
        "text": "Scanned Page Heading",
        "bbox": [72.0, 72.0, 250.0, 86.0],
        "font": "F",
        "size": 14.0,
        "flags": 0,
    }
    rows = [
        _page(0, Route.OCR.value),
        _page(1, Route.TXT.value, spans=[text_span]),  # text page without layout: nothing to OCR
        _page(
            2,
            Route.OCR.value,
            status=Status.ERROR.value,
            error="render: boom",
            error_code=ErrorCode.RENDER_FAILED.value,
        ),
        # text page with layout: the heading region has a span, the paragraph region has none -> only it is read
        _page(
            3,
            Route.TXT.value,
            spans=[text_span],
            layout_blocks=[
                {"type": "title", "bbox": heading_box, "score": 0.9, "label": "title"},
                {"type": "text", "bbox": [60.0, 95.0, 560.0, 160.0], "score": 0.9, "label": "text"},
            ],
        ),
    ]
    return _run(rows)


def test_ocr_page_gets_lines_in_points_inside_the_page(results):
    lines = results[0]["ocr_lines"]
    assert [line["text"] for line in lines][:1] == ["Scanned Page Heading"]
    assert "optical character recognition" in " ".join(line["text"] for line in lines).lower()
    for line in lines:
        x0, y0, x1, y1 = line["bbox"]
        assert 0 <= x0 < x1 <= WIDTH_PT and 0 <= y0 < y1 <= HEIGHT_PT
        assert len(line["poly"]) == 8 and 0.5 <= line["score"] <= 1
    heading = lines[0]["bbox"]
    assert heading[0] == pytest.approx(72, abs=8) and heading[1] == pytest.approx(72, abs=10)
    assert dict(results[0]["timings"])["ocr"] > 0


def test_txt_page_without_layout_gets_no_lines(results):
    assert results[1]["ocr_lines"] == []
    assert results[1]["status"] == Status.OK.value


def test_error_rows_pass_through(results):
    assert results[2]["status"] == Status.ERROR.value and results[2]["error"] == "render: boom"
    assert results[2]["ocr_lines"] == []


def test_txt_page_reads_only_layout_regions_without_text_layer(results):
    lines = results[3]["ocr_lines"]
    texts = " ".join(line["text"] for line in lines).lower()
    assert "this page is an image" in texts and "heading" not in texts
    for line in lines:  # mapped back from the region crop to page points
        x0, y0, x1, y1 = line["bbox"]
        assert 56 <= x0 and y0 >= 91 and y1 <= 164


def test_ocr_route_without_image_is_an_error_row():
    (row,) = _run([_page(0, Route.OCR.value, image=None)])
    assert row["status"] == Status.ERROR.value and "image" in row["error"] and row["ocr_lines"] == []


def test_config_lang_shortcut_and_registration():
    config = OcrConfig.model_validate({"op": "ocr", "lang": "en", "mode": "regions"})
    assert config.model.lang == "en" and config.batch_size == 4
    assert get_operator("ocr") is OcrOperator
    assert OcrOperator.writes == ("ocr_lines", "ocr_rotation") and OcrOperator.stateful
    # a model mapping without kind is the default engine's (--set ocr.model.version=v4)
    config = OcrConfig.model_validate({"op": "ocr", "model": {"version": "v4"}})
    assert config.model.kind == "ppocr_onnx" and config.model.version == "v4"


def test_turned_scan_reads_upright_and_keeps_page_coordinates():
    from PIL import Image

    png = _png()
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).rotate(90, expand=True).save(buffer, format="PNG")  # counter-clockwise
    upright, turned = _run(
        [_page(0, Route.OCR.value), _page(1, Route.OCR.value, image=buffer.getvalue(), width=HEIGHT_PT, height=WIDTH_PT)]
    )
    assert [line["text"] for line in turned["ocr_lines"]] == [line["text"] for line in upright["ocr_lines"]]
    assert upright["ocr_rotation"] == 0 and turned["ocr_rotation"] == 90
    for a, b in zip(upright["ocr_lines"], turned["ocr_lines"]):  # (x, y) upright -> (y, page width - x) turned
        x0, y0, x1, y1 = a["bbox"]
        assert b["bbox"] == pytest.approx([y0, WIDTH_PT - x1, y1, WIDTH_PT - x0], abs=6)


def test_missing_recogniser_fails_ocr_pages_only(tmp_path):
    config = {"op": "ocr", "lang": "korean", "model": {"kind": "ppocr_onnx", "models_dir": str(tmp_path)}}
    ocr_page, txt_page = _run([_page(0, Route.OCR.value), _page(1, Route.TXT.value)], config)
    assert ocr_page["status"] == Status.ERROR.value and ocr_page["error_code"] == ErrorCode.MODEL_UNAVAILABLE.value
    assert "ppocr/korean_rec.onnx" in ocr_page["error"]
    assert txt_page["status"] == Status.OK.value and txt_page["ocr_lines"] == [] and txt_page["ocr_rotation"] is None


def test_region_selection_and_pixel_regions():
    config = OcrConfig.model_validate({"op": "ocr", "mode": "regions"})
    blocks = [{"type": "text", "bbox": [10.0, 10.0, 100.0, 50.0]}, {"type": "image", "bbox": [0.0, 60.0, 100.0, 200.0]}]
    assert regions_to_read({"route": "ocr", "layout_blocks": blocks}, config) == [[10.0, 10.0, 100.0, 50.0]]
    assert regions_to_read({"route": "ocr", "layout_blocks": []}, config) is None
    assert regions_to_read({"route": "ocr", "layout_blocks": blocks}, OcrConfig()) is None
    region = pixel_region([10.0, 10.0, 100.0, 50.0], 2.0, 4.0, 150, 150)
    assert (region.x0, region.y0, region.x1, region.y1) == (12, 12, 150, 108)
    assert pixel_region([500.0, 500.0, 600.0, 600.0], 2.0, 0.0, 150, 150) is None
