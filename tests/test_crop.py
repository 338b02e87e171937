"""The ``crop`` operator on a real rendered page (reportlab report, pdfium render, no Ray)."""

from __future__ import annotations

import hashlib
import io

import pyarrow as pa
import pytest
from PIL import Image
from pydantic import ValidationError

from docray.operators import get_operator
from docray.operators.crop import CropConfig, CropOperator, pixel_box
from docray.operators.render import RenderOperator
from docray.schema import DOCUMENTS, PAGES, BlockType, Status, field
from docray.testing.report import report_with_table_and_figure

DPI = 144.0
SCALE = DPI / 72.0


@pytest.fixture(scope="module")
def report():
    return report_with_table_and_figure()


@pytest.fixture(scope="module")
def page_row(report) -> dict:
    doc = {
        "doc_id": hashlib.sha256(report.pdf).hexdigest(), "source": "memory://report.pdf", "name": "report",
        "mime": "application/pdf", "kind": "pdf", "size_bytes": len(report.pdf), "bytes": report.pdf,
        "status": "ok", "error": None, "error_code": None, "timings": {},
    }  # fmt: skip
    render = RenderOperator({"op": "render", "dpi": DPI}, output_schema=PAGES)
    rows = render.render_table(pa.Table.from_pylist([doc], schema=DOCUMENTS)).to_pylist()
    assert len(rows) == 1 and rows[0]["status"] == "ok" and rows[0]["image"]
    return rows[0]


def _layout_schema() -> pa.Schema:
    return pa.schema(list(PAGES) + [field("layout_blocks")])


def _run(rows: list[dict], config: dict | None = None) -> list[dict]:
    cfg = CropConfig.model_validate(config or {"op": "crop"})
    schema = _layout_schema()
    op = CropOperator(cfg, output_schema=CropOperator.output_schema_for(schema, cfg))
    table = op(pa.Table.from_pylist(rows, schema=schema))
    assert table.schema.equals(op.output_schema)
    return table.to_pylist()


def _box(kind: BlockType, bbox, score: float = 0.9) -> dict:
    return {"type": kind.value, "bbox": [float(v) for v in bbox], "score": score, "label": kind.value}


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image.convert("RGB")


def test_crops_of_figure_and_table_match_the_drawn_regions(report, page_row):
    layout = [
        _box(BlockType.TITLE, (72, 60, 500, 82)),
        _box(BlockType.TABLE, report.table_box),
        _box(BlockType.IMAGE, report.figure_box),
        _box(BlockType.IMAGE, (300, 700, 302, 760)),  # thinner than min_size: skipped
    ]
    [out] = _run([{**page_row, "layout_blocks": layout}])
    crops = out["crops"]
    assert [c["type"] for c in crops] == ["table", "image"]
    assert [tuple(c["bbox"]) for c in crops] == [pytest.approx(report.table_box), pytest.approx(report.figure_box)]

    figure = _decode(crops[1]["data"])
    x0, y0, x1, y1 = report.figure_box
    assert figure.size[0] == pytest.approx((x1 - x0) * SCALE, abs=2)
    assert figure.size[1] == pytest.approx((y1 - y0) * SCALE, abs=2)
    w, h = figure.size
    red = figure.getpixel((int(w * 0.25), int(h * 0.5)))  # the drawn ellipse
    blue = figure.getpixel((int(w * 0.70), int(h * 0.5)))  # the drawn rectangle
    assert red[0] > 150 and red[2] < 100
    assert blue[2] > 150 and blue[0] < 100

    table = _decode(crops[0]["data"]).convert("L")
    histogram = table.histogram()
    assert sum(histogram[:80]) > 0.01 * sum(histogram)  # grid lines and cell text
    assert sum(histogram[200:]) > 0.5 * sum(histogram)  # white cells


def test_padding_grows_the_crop_and_types_select_regions(report, page_row):
    layout = [_box(BlockType.IMAGE_BODY, report.figure_box), _box(BlockType.TABLE, report.table_box)]
    plain = _run([{**page_row, "layout_blocks": layout}], {"op": "crop", "types": ["image"]})[0]["crops"]
    padded = _run([{**page_row, "layout_blocks": layout}], {"op": "crop", "types": ["image"], "padding": 10})[0]["crops"]
    assert [c["type"] for c in plain] == ["image"]  # image_body counts as image; the table is not wanted
    a, b = _decode(plain[0]["data"]).size, _decode(padded[0]["data"]).size
    assert b[0] - a[0] == pytest.approx(20 * SCALE, abs=2)
    assert b[1] - a[1] == pytest.approx(20 * SCALE, abs=2)
    assert padded[0]["bbox"] == plain[0]["bbox"]  # the region's box, not the padded one


def test_pages_without_image_or_layout_and_error_rows(page_row):
    rows = [
        {**page_row, "page_idx": 0, "layout_blocks": [_box(BlockType.IMAGE, (72, 300, 400, 500))], "image": None},
        {**page_row, "page_idx": 1, "layout_blocks": []},
        {**page_row, "page_idx": 2, "layout_blocks": None, "status": "error", "error": "render: boom", "error_code": "render_failed"},
        {**page_row, "page_idx": 3, "layout_blocks": [_box(BlockType.IMAGE, (72, 300, 400, 500))], "image": b"not an image"},
    ]
    out = _run(rows)
    assert out[0]["crops"] == [] and out[1]["crops"] == []
    assert out[2]["status"] == Status.ERROR.value and out[2]["error"] == "render: boom"
    assert out[3]["status"] == Status.ERROR.value and out[3]["error"].startswith("crop:")


def test_pixel_box_clips_to_the_image():
    assert pixel_box((10, 10, 20, 30), 144, (1000, 1000)) == (20, 20, 40, 60)
    assert pixel_box((-5, -5, 600, 900), 72, (612, 792)) == (0, 0, 600, 792)
    assert pixel_box((700, 10, 800, 20), 72, (612, 792)) is None


def test_config_and_registration():
    assert get_operator("crop") is CropOperator
    assert CropOperator.writes == ("crops",) and CropOperator.stateful is False
    with pytest.raises(ValidationError):
        CropConfig.model_validate({"op": "crop", "jpeg_quality": 0})
    with pytest.raises(ValidationError):
        CropConfig.model_validate({"op": "crop", "types": ["nonsense"]})


def test_render_crop_assemble_on_the_report(report, page_row):
    """Layout boxes from the drawn ground truth; real spans and a real page image."""
    from docray.operators.assemble import AssembleConfig, AssembleOperator

    x0, y0, x1, y1 = report.figure_box
    layout = [
        _box(BlockType.TITLE, (66, 58, 546, 86)),
        _box(BlockType.TABLE_CAPTION, (66, report.table_box[1] - 16, 400, report.table_box[1] - 1)),
        _box(BlockType.TABLE, report.table_box),
        _box(BlockType.IMAGE, report.figure_box),
        _box(BlockType.IMAGE_CAPTION, (66, y1 + 2, 400, y1 + 22)),
    ]
    [cropped] = _run([{**page_row, "layout_blocks": layout}])
    schema = pa.schema(list(_layout_schema()) + [field("crops")])
    cfg = AssembleConfig()
    assemble = AssembleOperator(cfg, output_schema=AssembleOperator.output_schema_for(schema, cfg))
    [result] = assemble(pa.Table.from_pylist([cropped], schema=schema)).to_pylist()
    md = result["markdown"]
    assert md.startswith(f"# {report.title}\n\n")
    for text in report.paragraphs:  # lines outside every region are kept as paragraphs
        assert " ".join(text.split()) in md
    figure_path = f"images/{hashlib.sha256(cropped['crops'][1]['data']).hexdigest()}.jpg"
    table_path = f"images/{hashlib.sha256(cropped['crops'][0]['data']).hexdigest()}.jpg"
    assert f"{report.table_caption}\n![]({table_path})" in md
    assert f"![]({figure_path})  \n{report.figure_caption}" in md
    assert md.index(table_path) < md.index(figure_path)
    # no table stage ran: the table is its image, and its text-layer words stay in the text after it (issue 16:
    # no text is lost to the layout model), once
    assert md.count("January") == 1 and md.index(f"![]({table_path})") < md.index("January") < md.index(figure_path)
    assert {i["path"] for i in result["images"]} == {figure_path, table_path}
