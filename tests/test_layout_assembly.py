"""Layout-driven assembly (the assemble operator on page rows with layout, OCR, tables and crops).

Page rows are built by hand (no model runs here): text-layer spans from ``textlayer_pages``,
layout boxes, OCR lines, recognised tables and JPEG crops with the columns the model stages write.
"""

from __future__ import annotations

import hashlib
import io
import json

import pyarrow as pa
from PIL import Image
from textlayer_pages import lines_at, paragraph, span, words

from docray.datamodel import bbox_union
from docray.formats.mineru_schema import validate_content_list, validate_middle_json, validate_model_json
from docray.operators.assemble import AssembleConfig, AssembleOperator
from docray.schema import PAGES, BlockType, FontFlags, Status, field

DOC = {"doc_id": "e" * 64, "source": "memory://layout.pdf", "name": "layout", "kind": "pdf", "num_pages": 2}
SCHEMA = pa.schema(list(PAGES) + [field(c) for c in ("layout_blocks", "ocr_lines", "tables", "crops")])
TABLE_HTML = "<table><tr><td>Alpha</td><td>1</td></tr><tr><td>Beta</td><td>2</td></tr></table>"


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), colour).save(out, format="JPEG")
    return out.getvalue()


def _box(kind: BlockType, bbox, score: float = 0.9, label: str = "") -> dict:
    return {"type": kind.value, "bbox": [float(v) for v in bbox], "score": score, "label": label or kind.value}


def _around(spans, pad: float = 2.0) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = bbox_union([s.bbox for s in spans])
    return (x0 - pad, y0 - pad, x1 + pad, y1 + pad)


def _ocr(text: str, bbox) -> dict:
    x0, y0, x1, y1 = (float(v) for v in bbox)
    return {"text": text, "bbox": [x0, y0, x1, y1], "score": 0.95, "poly": [x0, y0, x1, y0, x1, y1, x0, y1]}


def _row(idx: int, spans, layout, route: str = "txt", **extra) -> dict:
    row = {
        **DOC, "page_idx": idx, "width": 612.0, "height": 792.0, "rotation": 0, "image": None, "image_dpi": 144.0,
        "route": route, "route_reason": "text_layer" if route == "txt" else "no_text_layer", "num_chars": 100,
        "garbled_ratio": 0.0, "image_coverage": 0.0, "spans": [s.to_row() for s in spans], "image_boxes": [],
        "status": "ok", "error": None, "error_code": None, "timings": {"render": 0.5},
        "layout_blocks": layout, "ocr_lines": [], "tables": [], "crops": [],
    }  # fmt: skip
    row.update(extra)
    return row


FIGURE_JPEG, TABLE_JPEG, EQUATION_JPEG = _jpeg((200, 30, 30)), _jpeg((30, 30, 200)), _jpeg((30, 160, 30))
PARA_A_LINES = ["Layout regions drive this page and a", "word is split as exam-", "ple here and the text goes on", "for a while in this column."]
PARA_B = "The right column continues with a second paragraph " + words(18, 2)


def _two_column_page() -> dict:
    header = [span("Journal of Layout Tests", 72, 30, 8)]
    footer = [span("Confidential draft", 72, 760, 8), span("7", 540, 760, 8)]
    title = [span("Layout Driven Assembly", 200, 60, 18, FontFlags.BOLD)]
    para_a, _ = lines_at(PARA_A_LINES, 72, 100)
    figure_label = [span("axis label 42", 120, 300, 8)]
    figure_caption = [span("Figure 1: A test figure.", 72, 388, 9)]
    table_caption = [span("Table 1: Test values.", 316, 100, 9)]
    table_cells = [span("Cell Alpha", 330, 140, 9), span("Cell Beta", 330, 170, 9)]
    equation = [span("E = m c 2", 400, 238, 10)]
    para_b, _ = paragraph(PARA_B, 316, 280, 224)
    loose, _ = lines_at(["This line has no layout box."], 316, 600)
    spans = header + footer + title + para_a + figure_label + figure_caption + table_caption + table_cells
    spans += equation + para_b + loose
    para_b_box = _around(para_b)
    layout = [
        _box(BlockType.HEADER, _around(header)),
        _box(BlockType.FOOTER, _around(footer[:1])),
        _box(BlockType.PAGE_NUMBER, _around(footer[1:])),
        _box(BlockType.TITLE, _around(title)),
        _box(BlockType.TEXT, _around(para_a)),
        _box(BlockType.TEXT, _around(para_a[:1], 1.0), score=0.95),  # nested in the paragraph's box
        _box(BlockType.IMAGE, (72, 220, 296, 380)),
        _box(BlockType.TEXT, _around(figure_label), score=0.6),  # a label inside the figure
        _box(BlockType.IMAGE_CAPTION, _around(figure_caption)),
        _box(BlockType.TABLE_CAPTION, _around(table_caption)),
        _box(BlockType.TABLE, (316, 120, 540, 220)),
        _box(BlockType.INTERLINE_EQUATION, (390, 232, 470, 252)),
        _box(BlockType.TEXT, para_b_box, score=0.97),
        _box(BlockType.TEXT, (para_b_box[0], para_b_box[1] + 4, para_b_box[2], para_b_box[3] + 6), score=0.5),  # duplicate
    ]
    crops = [
        {"type": "image", "bbox": [72.0, 220.0, 296.0, 380.0], "data": FIGURE_JPEG},
        {"type": "table", "bbox": [316.0, 120.0, 540.0, 220.0], "data": TABLE_JPEG},
        {"type": "interline_equation", "bbox": [390.0, 232.0, 470.0, 252.0], "data": EQUATION_JPEG},
    ]
    tables = [{"bbox": [316.5, 120.5, 539.0, 219.0], "html": TABLE_HTML, "score": 0.9, "num_rows": 2, "num_cols": 2}]
    return _row(0, spans, layout, tables=tables, crops=crops)


def _run(rows: list[dict]) -> dict:
    cfg = AssembleConfig()
    op = AssembleOperator(cfg, output_schema=AssembleOperator.output_schema_for(SCHEMA, cfg))
    table = op(pa.Table.from_pylist(rows, schema=SCHEMA))
    assert table.schema.equals(op.output_schema)
    [result] = table.to_pylist()
    assert result["status"] == Status.OK.value, result["error"]
    return result


def _name(data: bytes) -> str:
    return f"images/{hashlib.sha256(data).hexdigest()}.jpg"


def test_two_column_page_markdown_in_reading_order():
    result = _run([_two_column_page()])
    md = result["markdown"]
    expected_in_order = [
        "# Layout Driven Assembly",
        "Layout regions drive this page",
        f"![]({_name(FIGURE_JPEG)})  \nFigure 1: A test figure.",
        "Table 1: Test values.",
        f"<html><body>{TABLE_HTML}</body></html>",
        f"![]({_name(EQUATION_JPEG)})",
        "The right column continues",
        "This line has no layout box.",
    ]
    positions = [md.find(part) for part in expected_in_order]
    assert -1 not in positions, (positions, md)
    assert positions == sorted(positions)
    assert "example here" in md  # dehyphenated inside a layout block
    for absent in ("axis label", "Cell Alpha", "Journal of Layout", "Confidential", "E = m c"):
        assert absent not in md
    assert md.count("The right column continues") == 1 and md.count("Layout regions drive") == 1
    assert sorted(i["path"] for i in result["images"]) == sorted(_name(d) for d in (FIGURE_JPEG, TABLE_JPEG, EQUATION_JPEG))
    assert {i["path"]: i["data"] for i in result["images"]}[_name(FIGURE_JPEG)] == FIGURE_JPEG


def test_content_list_items_for_figure_table_equation():
    row = _two_column_page()
    result = _run([row])
    items = json.loads(result["content_list"])
    validate_content_list(items)
    assert [i["type"] for i in items] == ["text", "text", "image", "table", "equation", "text", "text"]
    title, _, image, table, equation, *_ = items
    assert title["text_level"] == 1
    assert image["image_caption"] == ["Figure 1: A test figure."] and image["img_path"] == _name(FIGURE_JPEG)
    caption_bottom = row["layout_blocks"][8]["bbox"][3]
    assert image["bbox"][1] == int(220 * 1000 / 792) and image["bbox"][3] == int(caption_bottom * 1000 / 792)
    assert table["table_caption"] == ["Table 1: Test values."] and table["img_path"] == _name(TABLE_JPEG)
    assert table["table_body"] == f"<html><body>{TABLE_HTML}</body></html>"
    assert equation == {**equation, "img_path": _name(EQUATION_JPEG), "text": "", "text_format": "latex"}
    paths = {i["path"] for i in result["images"]}
    assert {i["img_path"] for i in items if "img_path" in i} == paths


def test_middle_json_two_level_blocks_and_page_lists():
    middle = json.loads(_run([_two_column_page()])["middle_json"])
    validate_middle_json(middle)
    page = middle["pdf_info"][0]
    [image], [table], [equation] = page["images"], page["tables"], page["interline_equations"]
    assert [b["type"] for b in image["blocks"]] == ["image_body", "image_caption"]
    assert [b["type"] for b in table["blocks"]] == ["table_caption", "table_body"]
    table_span = table["blocks"][1]["lines"][0]["spans"][0]
    assert table_span["type"] == "table" and TABLE_HTML in table_span["html"]
    assert table_span["image_path"] == _name(TABLE_JPEG).removeprefix("images/")
    assert equation["lines"][0]["spans"][0]["type"] == "interline_equation"
    assert sorted(b["type"] for b in page["discarded_blocks"]) == ["footer", "header", "page_number"]
    assert [b["index"] for b in page["para_blocks"]] == sorted(b["index"] for b in page["para_blocks"])


def test_model_json_holds_the_raw_detections_in_pixels():
    row = _two_column_page()
    pages = json.loads(_run([row])["model_json"])
    validate_model_json(pages)
    [page] = pages
    assert page["page_info"] == {"page_no": 0, "width": 1224, "height": 1584}
    dets = page["layout_dets"]
    assert len(dets) == len(row["layout_blocks"])  # raw: duplicates and nested boxes included
    assert [d["category_id"] for d in dets] == [2, 2, 2, 0, 1, 1, 3, 1, 4, 6, 5, 8, 1, 1]
    x0, y0, x1, y1 = row["layout_blocks"][6]["bbox"]
    assert dets[6]["poly"] == [2 * x0, 2 * y0, 2 * x1, 2 * y0, 2 * x1, 2 * y1, 2 * x0, 2 * y1]
    assert dets[10]["html"] == TABLE_HTML


def test_page_records_flatten_captions_and_leave_crops_out():
    result = _run([_two_column_page()])
    [record] = result["pages"]
    assert "crops" not in record and "image" not in record
    types = [b["type"] for b in record["blocks"]]
    assert types.index("image_caption") == types.index("image") + 1
    assert "table_caption" in types and "interline_equation" in types


def test_ocr_page_takes_its_text_from_ocr_lines():
    ocr = [
        _ocr("Scanned Report Title", (100, 60, 400, 84)),
        _ocr("the first scanned line of the body text", (72, 120, 500, 134)),
        _ocr("and its second line ends here.", (72, 138, 400, 152)),
        _ocr("A line outside every region.", (72, 400, 400, 414)),
    ]
    layout = [_box(BlockType.TITLE, (95, 55, 405, 88)), _box(BlockType.TEXT, (68, 116, 505, 156))]
    result = _run([_row(0, [], layout, route="ocr", ocr_lines=ocr)])
    items = json.loads(result["content_list"])
    assert [(i["type"], i["text"], i.get("text_level")) for i in items] == [
        ("text", "Scanned Report Title", 1),
        ("text", "the first scanned line of the body text and its second line ends here.", None),
        ("text", "A line outside every region.", None),
    ]
    dets = json.loads(result["model_json"])[0]["layout_dets"]
    assert [d["category_id"] for d in dets] == [0, 1, 15, 15, 15, 15]
    assert dets[2]["text"] == "Scanned Report Title"


def test_text_page_region_without_spans_uses_ocr_lines():
    body, _ = paragraph("A text layer paragraph " + words(10), 72, 100, 468)
    layout = [_box(BlockType.TEXT, _around(body)), _box(BlockType.TEXT, (72, 300, 400, 330))]
    ocr = [_ocr("Text found only by OCR inside a picture region.", (74, 305, 398, 320))]
    items = json.loads(_run([_row(0, body, layout, ocr_lines=ocr)])["content_list"])
    assert [i["text"] for i in items][1] == "Text found only by OCR inside a picture region."
    assert items[0]["text"].startswith("A text layer paragraph")


def test_paragraph_continues_across_pages_and_pages_without_layout_fall_back():
    first, _ = lines_at(["The first page ends in the middle of a", "sentence that goes on to the"], 72, 700)
    second, _ = lines_at(["next page where it finally ends."], 72, 80)
    third, _ = paragraph("A page without layout detections. " + words(12, 3), 72, 100, 468)
    rows = [
        _row(0, first, [_box(BlockType.TEXT, _around(first))]),
        _row(1, second, [_box(BlockType.TEXT, _around(second))]),
        _row(2, third, [], layout_blocks=None, tables=None, crops=None, ocr_lines=None),
    ]
    result = _run(rows)
    items = json.loads(result["content_list"])
    assert items[0]["text"] == (
        "The first page ends in the middle of a sentence that goes on to the next page where it finally ends."
    )
    assert items[0]["page_idx"] == 0 and items[1]["text"].startswith("A page without layout")
    model = json.loads(result["model_json"])
    validate_model_json(model)
    assert [p["page_info"]["page_no"] for p in model] == [0, 1, 2]
    assert [d["category_id"] for d in model[2]["layout_dets"]] == [1]  # from the assembled block


def test_table_without_html_or_crop_keeps_its_text():
    cells, _ = lines_at(["Name Value", "Gamma 3"], 100, 200)
    layout = [_box(BlockType.TABLE, _around(cells)), _box(BlockType.IMAGE, (100, 400, 300, 500))]
    result = _run([_row(0, cells, layout)])
    items = json.loads(result["content_list"])
    assert [(i["type"], i.get("text")) for i in items] == [("text", "Name Value Gamma 3"), ("image", None)]
    assert items[1]["img_path"] == "" and result["images"] == []
    assert "![]" not in result["markdown"]


def test_captions_share_their_figure_reading_order_number():
    [record] = _run([_two_column_page()])["pages"]
    orders = {b["type"]: b["order"] for b in record["blocks"]}
    assert orders["image_caption"] == orders["image"] >= 0
    assert orders["table_caption"] == orders["table"] >= 0
    assert all(b["order"] == -1 for b in record["blocks"] if b["type"] in ("header", "footer", "page_number"))


def test_a_text_region_with_two_paragraphs_gives_two_blocks():
    first, y = lines_at(["The first paragraph has two lines of", "text and ends with a full stop."], 72, 100)
    second, _ = lines_at(["The second paragraph starts after a", "wider gap and also ends here."], 72, y + 14)
    spans = first + second
    result = _run([_row(0, spans, [_box(BlockType.TEXT, _around(spans))])])
    texts = [i["text"] for i in json.loads(result["content_list"])]
    assert texts == [
        "The first paragraph has two lines of text and ends with a full stop.",
        "The second paragraph starts after a wider gap and also ends here.",
    ]


def test_a_figure_box_full_of_text_layer_text_is_read_as_text_and_a_chart_stays_a_figure():
    # a formula sheet the detector calls a figure: two columns of text inside one "image" box
    left, _ = lines_at([f"Left card line {i} " + words(4, i) for i in range(6)], 72, 120)
    right, _ = lines_at([f"Right card line {i} " + words(4, 10 + i) for i in range(6)], 330, 120)
    chart_label = [span("axis 42", 120, 500, 8)]
    layout = [_box(BlockType.IMAGE, (60, 110, 560, 200)), _box(BlockType.IMAGE, (60, 450, 400, 600))]
    crop = {"type": "image", "bbox": [60.0, 450.0, 400.0, 600.0], "data": FIGURE_JPEG}
    result = _run([_row(0, left + right + chart_label, layout, crops=[crop])])
    md = result["markdown"]
    assert md.find("Left card line 0") < md.find("Left card line 5") < md.find("Right card line 0"), md
    assert "axis 42" not in md, "labels inside a real chart stay part of the figure"
    assert md.count("](images/") == 1
