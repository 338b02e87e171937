"""The assemble operator on Arrow page tables (no Ray): results, statuses, schema, timings."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from pydantic import ValidationError
from textlayer_pages import lines_at, paragraph, span, words

import docray
from docray.config import OperatorConfig
from docray.operators.assemble import (
    AssembleConfig,
    AssembleOperator,
    parse_method_of,
    sum_timings,
)
from docray.schema import (
    PAGES,
    RESULT_COLUMNS,
    RESULTS,
    ErrorCode,
    FontFlags,
    RouteReason,
    Status,
)

DOC = {"doc_id": "d" * 64, "source": "s3://bucket/paper.pdf", "name": "paper", "kind": "pdf", "num_pages": 3}


def _spans(idx: int) -> list[dict]:
    spans = [span("Running head", 72, 30, 8), span(str(idx + 1), 303, 760, 9)]
    if idx == 0:
        spans.append(span("The Title", 250, 80, 20, FontFlags.BOLD))
    body, y = paragraph(f"Page {idx} body " + words(40, idx), 72, 130, 468)
    spans += body
    hyphen, _ = lines_at(["a line that ends in exam-", "ple text."], 72, y + 12)
    spans += hyphen
    return [s.to_row() for s in spans]


def _page_row(idx: int, **overrides) -> dict:
    row = {
        **DOC,
        "page_idx": idx,
        "width": 612.0,
        "height": 792.0,
        "rotation": 0,
        "image": b"\x89PNG fake",
        "image_dpi": 144.0,
        "route": "txt",
        "route_reason": "text_layer",
        "num_chars": 500,
        "garbled_ratio": 0.0,
        "image_coverage": 0.0,
        "spans": _spans(idx),
        "image_boxes": [[100.0, 400.0, 500.0, 700.0]] if idx == 1 else [],
        "status": "ok",
        "error": None,
        "error_code": None,
        "timings": {"render": 0.25, "ingest": 0.125},
    }
    row.update(overrides)
    return row


def _run(rows: list[dict], config: dict | None = None, schema: pa.Schema = PAGES) -> dict:
    cfg = AssembleConfig.model_validate(config or {"op": "assemble"})
    op = AssembleOperator(cfg, output_schema=AssembleOperator.output_schema_for(schema, cfg))
    table = op(pa.Table.from_pylist(rows, schema=schema))
    assert table.num_rows == 1
    assert table.schema.equals(op.output_schema)
    return table.to_pylist()[0]


def test_default_output_schema_is_exactly_results():
    schema = AssembleOperator.output_schema_for(PAGES, AssembleConfig())
    assert schema.equals(RESULTS, check_metadata=True)
    assert AssembleOperator.writes == RESULT_COLUMNS


def test_extra_page_columns_survive_in_the_page_records():
    schema = PAGES.append(pa.field("layout_model", pa.string()))
    result_schema = AssembleOperator.output_schema_for(schema, AssembleConfig())
    page_struct = result_schema.field("pages").type.value_type
    assert "layout_model" in page_struct.names and "image" not in page_struct.names
    assert page_struct.names[-3:] == ["blocks", "markdown", "layout_fallback"]
    rows = [_page_row(i, layout_model=f"m{i}") for i in (2, 0, 1)]
    result = _run(rows, schema=schema)
    assert [p["layout_model"] for p in result["pages"]] == ["m0", "m1", "m2"]


def test_a_document_with_all_pages_ok():
    result = _run([_page_row(i) for i in (2, 0, 1)])  # unsorted, as map_groups may deliver them
    assert result["status"] == Status.OK.value and result["error"] is None and result["error_code"] is None
    assert {k: result[k] for k in DOC} == DOC
    assert result["mime"] is None and result["size_bytes"] is None
    markdown = result["markdown"]
    assert markdown.startswith("# The Title\n\nPage 0 body ")
    assert markdown.index("Page 0 body") < markdown.index("Page 1 body") < markdown.index("Page 2 body")
    assert "a line that ends in example text." in markdown
    assert "Running head" not in markdown
    assert result["images"] == []

    content = json.loads(result["content_list"])
    assert {item["page_idx"] for item in content} == {0, 1, 2}
    assert content[0] == {**content[0], "type": "text", "text": "The Title", "text_level": 1}
    assert any(item["type"] == "image" and item["page_idx"] == 1 for item in content)

    middle = json.loads(result["middle_json"])
    assert middle["_version_name"] == docray.__version__
    assert middle["_parse_type"] == "auto" and middle["_backend"] == "pipeline"
    assert [p["page_idx"] for p in middle["pdf_info"]] == [0, 1, 2]


def test_page_records_carry_blocks_markdown_and_no_image():
    result = _run([_page_row(i) for i in range(3)])
    pages = result["pages"]
    assert [p["page_idx"] for p in pages] == [0, 1, 2]
    for record in pages:
        assert "image" not in record
        assert record["spans"] and record["route"] == "txt"
        kinds = [(b["type"], b["order"]) for b in record["blocks"]]
        assert ("header", -1) in kinds and ("page_number", -1) in kinds
        content_orders = [order for kind, order in kinds if order >= 0]
        assert content_orders == list(range(len(content_orders)))
        assert record["markdown"] and "Running head" not in record["markdown"]
    assert pages[0]["markdown"].startswith("# The Title")
    assert [b["type"] for b in pages[1]["blocks"] if b["order"] >= 0][-1] == "image"


def test_timings_are_summed_over_pages_plus_assemble():
    result = _run([_page_row(i) for i in range(3)])
    timings = dict(result["timings"])
    assert timings["render"] == pytest.approx(0.75)
    assert timings["ingest"] == pytest.approx(0.375)
    assert timings["assemble"] > 0


def test_sum_timings_accepts_dicts_pairs_and_nulls():
    rows = [{"timings": {"a": 1.0}}, {"timings": [("a", 2.0), ("b", 0.5)]}, {"timings": None}, {}]
    assert sum_timings(rows) == {"a": 3.0, "b": 0.5}


def test_some_pages_failed_is_partial():
    rows = [_page_row(0), _page_row(1, status="error", error="render: boom", error_code="render_failed", spans=None), _page_row(2)]
    result = _run(rows)
    assert result["status"] == Status.PARTIAL.value
    assert result["error_code"] == ErrorCode.RENDER_FAILED.value
    assert "1 of 3 pages failed" in result["error"] and "page_idx 1: render: boom" in result["error"]
    assert "Page 0 body" in result["markdown"] and "Page 2 body" in result["markdown"]
    assert {item["page_idx"] for item in json.loads(result["content_list"])} == {0, 2}
    failed = result["pages"][1]
    assert failed["status"] == "error" and failed["blocks"] == [] and failed["markdown"] is None


def test_all_pages_failed_is_an_error_without_outputs():
    rows = [_page_row(i, status="error", error=f"render: bad {i}", error_code="render_failed") for i in range(3)]
    result = _run(rows)
    assert result["status"] == Status.ERROR.value
    assert result["error"].startswith("3 of 3 pages failed")
    assert result["markdown"] is None and result["content_list"] is None and result["middle_json"] is None
    assert [p["page_idx"] for p in result["pages"]] == [0, 1, 2]


def test_a_document_that_failed_before_render_keeps_its_error():
    row = {
        **DOC,
        "num_pages": None,
        "page_idx": -1,
        "status": "error",
        "error": "ingest: file is encrypted",
        "error_code": "encrypted",
        "timings": {"ingest": 0.5},
    }
    result = _run([row])
    assert (result["status"], result["error"], result["error_code"]) == ("error", "ingest: file is encrypted", "encrypted")
    assert result["markdown"] is None and result["pages"] == [] and result["images"] == []
    assert dict(result["timings"])["ingest"] == 0.5
    assert result["source"] == DOC["source"]


def test_ocr_routed_pages_assemble_to_empty_pages_and_are_reported():
    rows = [_page_row(0), _page_row(1, route="ocr", route_reason="image_only")]
    result = _run(rows)
    assert (result["status"], result["error_code"]) == (Status.PARTIAL.value, "needs_ocr")
    assert "1 of 2 pages need OCR (image_only 1)" in result["error"]
    assert "Page 1 body" not in result["markdown"]
    assert result["pages"][1]["blocks"] == []
    assert result["pages"][0]["blocks"], "the text-layer page is still assembled"


def test_document_with_only_ocr_pages_is_an_error_row_naming_the_reason():
    rows = [_page_row(i, route="ocr", route_reason="no_text_layer") for i in range(2)]
    result = _run(rows)
    assert (result["status"], result["error_code"]) == (Status.ERROR.value, "needs_ocr")
    assert "2 of 2 pages need OCR (no_text_layer 2)" in result["error"]


def test_parse_method_comes_from_forced_routes():
    forced = RouteReason.FORCED.value
    assert parse_method_of([{"route": "txt", "route_reason": forced}] * 2) == "txt"
    assert parse_method_of([{"route": "ocr", "route_reason": forced}]) == "ocr"
    assert parse_method_of([{"route": "txt", "route_reason": forced}, {"route": "txt", "route_reason": "text_layer"}]) == "auto"
    rows = [_page_row(i, route_reason=forced) for i in range(2)]
    assert json.loads(_run(rows)["middle_json"])["_parse_type"] == "txt"


def test_config_options_reach_the_assembler():
    rows = [_page_row(i) for i in range(3)]
    kept = _run(rows, {"op": "assemble", "remove_furniture": False, "dehyphenate": False})
    assert "Running head" in kept["markdown"]
    assert "exam-ple" in kept["markdown"]
    listed = _run(rows, {"op": "assemble", "include_discarded": True})
    assert {"header", "page_number"} <= {item["type"] for item in json.loads(listed["content_list"])}


def test_config_rejects_unknown_fields_and_bad_values():
    with pytest.raises(ValidationError):
        AssembleConfig.model_validate({"op": "assemble", "colour": "red"})
    with pytest.raises(ValidationError):
        AssembleConfig(title_size_ratio=0.9)
    own = set(AssembleConfig.model_fields) - set(OperatorConfig.model_fields)
    assert {"dehyphenate", "remove_furniture", "include_discarded"} <= own
    for name in own:
        assert AssembleConfig.model_fields[name].description, name


def test_an_assembly_crash_becomes_an_assemble_failed_result():
    bad = _page_row(0, spans=[{"text": "x", "bbox": [1.0, 2.0, 3.0], "font": "F", "size": 10.0, "flags": 0}])
    cfg = AssembleConfig()
    op = AssembleOperator(cfg)  # no schema: the short bbox survives into the rows
    result = op.process_rows([bad])[0]
    assert result["status"] == Status.ERROR.value
    assert result["error_code"] == ErrorCode.ASSEMBLE_FAILED.value
    assert result["source"] == DOC["source"] and result["markdown"] is None
    assert result["timings"]["render"] == 0.25 and "assemble" in result["timings"]
