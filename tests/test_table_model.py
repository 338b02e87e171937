"""The table stage end to end: SLANet-plus ONNX on a generated ruled table, and the operator on page rows."""

from __future__ import annotations

import io
import re
from html import unescape

import numpy as np
import pyarrow as pa
import pytest

from docray.models import registry
from docray.models.protocols import TableModel
from docray.models.table_grid import grid_size
from docray.models.table_slanet import SlanetOptions, SlanetPlus
from docray.operators import get_operator
from docray.operators.page_image import decode_page_image
from docray.operators.render import RenderOperator
from docray.operators.table import TableConfig, TableOperator
from docray.schema import FIELDS, PAGES, Status

CELLS = [
    ["Item", "Quantity", "Unit price", "Note"],
    ["apple", "3", "1.20", "R&D budget"],
    ["pear", "12", "0.85", "x<y holds"],
]
LEFT, TOP, COL_W, ROW_H = 90.0, 220.0, 110.0, 28.0
TABLE_BOX = (LEFT, TOP, LEFT + 4 * COL_W, TOP + 3 * ROW_H)  # points, top-left origin
PAGE_W, PAGE_H = 612.0, 792.0


def ruled_table_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(PAGE_W, PAGE_H))
    pdf.setFont("Helvetica", 11)
    pdf.drawString(LEFT, PAGE_H - 120, "A page with a small ruled table below this line of ordinary text.")
    pdf.drawString(LEFT, PAGE_H - (TOP - 14), "Table 1: fruit prices")
    pdf.setLineWidth(0.8)
    for r in range(4):
        y = PAGE_H - (TOP + r * ROW_H)
        pdf.line(LEFT, y, LEFT + 4 * COL_W, y)
    for c in range(5):
        x = LEFT + c * COL_W
        pdf.line(x, PAGE_H - TOP, x, PAGE_H - (TOP + 3 * ROW_H))
    for r, row in enumerate(CELLS):
        pdf.setFont("Helvetica-Bold" if r == 0 else "Helvetica", 11)
        for c, text in enumerate(row):
            pdf.drawString(LEFT + c * COL_W + 6, PAGE_H - (TOP + r * ROW_H + 18), text)
    pdf.drawString(LEFT, PAGE_H - (TOP + 3 * ROW_H + 30), "Text after the table continues the page.")
    pdf.save()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def page_row() -> dict:
    data = ruled_table_pdf()
    document = {
        "doc_id": "t", "source": "mem://t.pdf", "name": "t", "kind": "pdf", "bytes": data, "mime": "application/pdf",
        "size_bytes": len(data), "status": "ok", "error": None, "error_code": None, "timings": {},
    }  # fmt: skip
    rows = RenderOperator({"op": "render", "dpi": 144, "method": "txt"}).render_table(pa.Table.from_pylist([document])).to_pylist()
    assert len(rows) == 1 and rows[0]["status"] == "ok"
    return rows[0]


@pytest.fixture(scope="module")
def model() -> SlanetPlus:
    return registry.create("table", SlanetOptions(), threads=1)


def html_rows(html: str) -> list[list[str]]:
    return [[unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr)] for tr in re.findall(r"<tr>(.*?)</tr>", html)]


def table_crop(page_row: dict, pad: float = 4.0) -> np.ndarray:
    image = decode_page_image(page_row["image"])
    px = image.shape[1] / PAGE_W
    x0, y0, x1, y1 = (
        int(v * px) for v in (TABLE_BOX[0] - pad, TABLE_BOX[1] - pad, TABLE_BOX[2] + pad, TABLE_BOX[3] + pad)
    )
    return image[y0:y1, x0:x1]


def test_registry_builds_a_table_model(model):
    assert isinstance(model, TableModel)
    assert model.tokens[0] == "sos" and model.tokens[-1] == "eos" and "<td></td>" in model.tokens


def test_structure_of_a_ruled_3x4_table(model, page_row):
    crop = table_crop(page_row)
    structure = model.structure([crop])[0]
    assert grid_size(structure.cells) == (3, 4)
    assert structure.score > 0.9
    # cell boxes lie in the crop, in grid order, and the columns' boxes sit left to right
    h, w = crop.shape[:2]
    assert all(0 <= c.box[0] < c.box[2] <= w and 0 <= c.box[1] < c.box[3] <= h for c in structure.cells)
    first_row = sorted((c for c in structure.cells if c.row == 0), key=lambda c: c.col)
    assert [c.box[0] for c in first_row] == sorted(c.box[0] for c in first_row)


def test_batched_structure_matches_one_by_one(model, page_row):
    crop = table_crop(page_row)
    images = [crop, table_crop(page_row, pad=20.0), crop[:, : crop.shape[1] // 2]]
    batched = SlanetPlus(SlanetOptions(max_batch=3))
    together = batched.structure(images)
    alone = [model.structure([image])[0] for image in images]
    assert len(together) == 3
    for a, b in zip(together, alone):
        assert a.tokens == b.tokens
        np.testing.assert_allclose([c.box for c in a.cells], [c.box for c in b.cells], atol=0.5)
    assert grid_size(alone[2].cells)[1] < 4  # the half crop is a different table: the batch kept them apart


def pages_schema(*extra: str) -> pa.Schema:
    return pa.schema(list(PAGES) + [FIELDS[name] for name in ("layout_blocks", *extra)])


def layout(*boxes: tuple[float, ...], kind: str = "table") -> list[dict]:
    return [{"type": kind, "bbox": list(b), "score": 0.9, "label": kind} for b in boxes]


def run_operator(rows: list[dict], schema: pa.Schema, **config) -> list[dict]:
    cls = get_operator("table")
    assert cls is TableOperator
    op_config = TableConfig(**config)
    op = cls(op_config, output_schema=cls.output_schema_for(schema, op_config))
    return op(pa.Table.from_pylist(rows, schema=schema)).to_pylist()


def test_operator_fills_cells_from_the_text_layer(page_row):
    rows = [
        {**page_row, "layout_blocks": layout(TABLE_BOX) + layout((90, 100, 500, 130), kind="text")},
        {**page_row, "page_idx": 1, "layout_blocks": []},  # no table on this page
        {**page_row, "page_idx": 2, "status": Status.ERROR.value, "error": "render: broken", "error_code": "internal"},
        {**page_row, "page_idx": 3, "image": None, "layout_blocks": layout(TABLE_BOX)},  # a table but no image
    ]
    out = run_operator(rows, pages_schema(), aligned_tables=False)  # the layout boxes only: SLANet reads them
    assert len(out) == 4
    ok, empty, passed, no_image = out
    assert ok["status"] == "ok" and len(ok["tables"]) == 1
    table = ok["tables"][0]
    assert table["bbox"] == pytest.approx(list(TABLE_BOX))
    assert (table["num_rows"], table["num_cols"]) == (3, 4)
    assert html_rows(table["html"]) == CELLS
    assert "R&amp;D budget" in table["html"] and "x&lt;y holds" in table["html"]  # escaped in the HTML
    assert table["html"].startswith("<table><tr>") and table["html"].endswith("</tr></table>")
    assert "Table 1" not in table["html"]  # the caption above the box stays out
    assert dict(ok["timings"])["table"] > 0
    assert empty["status"] == "ok" and empty["tables"] == []
    assert passed["status"] == "error" and passed["error"] == "render: broken" and passed["tables"] == []
    assert no_image["status"] == "error" and no_image["error"].startswith("table:") and "no image" in no_image["error"]


def test_operator_trims_an_overlapping_caption(page_row):
    x0, y0, x1, y1 = TABLE_BOX
    caption = (x0, y0 - 24, x0 + 120, y0 - 8)
    loose = (x0 - 6, y0 - 26, x1 + 6, y1 + 6)  # the layout box swallows the caption above the table
    with_caption = run_operator([{**page_row, "layout_blocks": layout(loose)}], pages_schema(), aligned_tables=False)[0]["tables"][0]
    assert "Table 1" in with_caption["html"]  # measured: the model gives the caption a row of its own
    blocks = layout(loose) + layout(caption, kind="table_caption")
    trimmed = run_operator([{**page_row, "layout_blocks": blocks}], pages_schema())[0]["tables"][0]
    assert html_rows(trimmed["html"]) == CELLS
    assert trimmed["bbox"][1] == pytest.approx(caption[3])


def test_operator_reads_ocr_lines_on_ocr_pages_and_drops_low_scores(page_row):
    # an OCR page: no text layer, lines (points) as an OCR stage writes them; one line spans two cells
    lines = []
    for r, row in enumerate(CELLS):
        y0 = TOP + r * ROW_H + 8
        for c, text in enumerate(row):
            x0 = LEFT + c * COL_W + 6
            lines.append({"text": text, "bbox": [x0, y0, x0 + 6 * len(text), y0 + 12], "score": 0.9, "poly": [0.0] * 8})
    lines[0:2] = [
        {"text": "Item          Quantity", "bbox": [96.0, 228.0, 96 + 110 + 48, 240.0], "score": 0.9, "poly": [0.0] * 8}
    ]
    row = {**page_row, "route": "ocr", "spans": [], "ocr_lines": lines, "layout_blocks": layout(TABLE_BOX)}
    schema = pages_schema("ocr_lines")
    out = run_operator([row], schema)[0]
    assert out["status"] == "ok"
    assert html_rows(out["tables"][0]["html"]) == CELLS
    assert run_operator([row], schema, min_score=1.0)[0]["tables"] == []
