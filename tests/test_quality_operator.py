"""The ``quality`` operator on RESULTS from real fast-pipeline runs, and the Parquet it leaves."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pytest
from test_extract_quality import OPAQUE_TYPE3, _raw_pdf

from docray.operators.base import GroupOperator
from docray.operators.ingest import expand_inputs
from docray.operators.quality import PAGE_QUALITY_COLUMNS, QualityOperator
from docray.pipelines.executors import LocalExecutor, _apply_grouped, _collect
from docray.pipelines.plan import SOURCES_SCHEMA, build_plan
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import apply_overrides, load_pipeline
from docray.schema import FIELDS, QualityFlag, Status
from docray.testing.pdfs import corrupt_pdf, scanned_page, two_column_article

LOOP = "\n\n".join(["The results are shown in the table below."] * 40)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("quality_inputs")
    (root / "article.pdf").write_bytes(two_column_article(pages=3).pdf)
    (root / "scan.pdf").write_bytes(scanned_page())
    (root / "corrupt.pdf").write_bytes(corrupt_pdf())
    return root


def fast_results(paths: list[str], overrides: tuple[str, ...] = ()) -> tuple[pa.Table, QualityOperator]:
    """RESULTS of the fast pipeline's stages before ``quality``, and the plan's quality operator."""
    plan = build_plan(apply_overrides(load_pipeline("fast"), list(overrides)))
    *before, last = plan.stages
    assert last.name == "quality" and last.operator is QualityOperator
    operators = [stage.instantiate() for stage in before]
    parts = []
    for row in expand_inputs(paths).files:
        table = pa.Table.from_pylist([row], schema=SOURCES_SCHEMA)
        for op in operators:
            table = _apply_grouped(op, table) if isinstance(op, GroupOperator) else _collect(op(table))
        parts.append(table)
    return pa.concat_tables(parts), last.instantiate()


@pytest.fixture(scope="module")
def results(inputs):
    table, quality = fast_results([str(inputs)])
    return table, quality, {row["name"]: row for row in quality(table).to_pylist()}


def test_clean_article_scores_high_in_english(results):
    _, _, scored = results
    article = scored["article"]
    assert article["status"] == Status.OK.value
    assert article["lang"] == "en" and article["quality_score"] > 0.9 and article["quality_flags"] == []
    for page in article["pages"]:
        assert page["lang"] == "en" and page["lang_score"] > 0.9
        assert page["repetition"] < 0.1 and page["ocr_confidence"] is None and page["text_density"] > 2.0
        assert page["quality_score"] > 0.9


def test_scanned_page_without_ocr_scores_zero_with_needs_ocr(results):
    _, _, scored = results
    scan = scored["scan"]
    assert scan["status"] == Status.ERROR.value  # the fast pipeline reads no scans
    [page] = scan["pages"]
    assert page["route"] == "ocr" and page["quality_score"] == 0.0
    assert page["quality_flags"] == [QualityFlag.NEEDS_OCR.value] and page["lang"] is None
    assert scan["quality_score"] == 0.0 and scan["lang"] is None
    assert set(scan["quality_flags"]) == {QualityFlag.FAILED.value, QualityFlag.NEEDS_OCR.value}


def test_document_that_failed_before_pages_scores_zero_failed(results):
    _, _, scored = results
    corrupt = scored["corrupt"]
    assert corrupt["status"] == Status.ERROR.value and corrupt["pages"] == []
    assert corrupt["quality_score"] == 0.0 and corrupt["quality_flags"] == [QualityFlag.FAILED.value]
    assert corrupt["lang"] is None


def test_a_looping_page_lowers_its_page_and_its_document(results):
    table, quality, scored = results
    rows = table.to_pylist()
    article = next(r for r in rows if r["name"] == "article")
    article["pages"][1]["markdown"] = LOOP  # what a VLM caught in a loop would have left
    [looped] = quality(pa.Table.from_pylist([article], schema=table.schema)).to_pylist()
    page = looped["pages"][1]
    assert page["repetition"] > 0.9 and QualityFlag.REPETITIVE.value in page["quality_flags"]
    assert page["quality_score"] < 0.2
    assert looped["quality_score"] < scored["article"]["quality_score"]
    assert QualityFlag.REPETITIVE.value in looped["quality_flags"]
    assert [p["quality_score"] for p in looped["pages"][::2]] == [
        p["quality_score"] for p in scored["article"]["pages"][::2]
    ]


def test_garbled_text_layer_forced_to_txt_is_flagged(tmp_path):
    pdf = tmp_path / "garbled.pdf"
    pdf.write_bytes(_raw_pdf(OPAQUE_TYPE3, b"abcdefgh ijklmnop qrstuvwxyz abcdefgh"))
    table, quality = fast_results([str(pdf)], ("render.method=txt",))
    [row] = quality(table).to_pylist()
    [page] = row["pages"]
    assert page["route"] == "txt" and page["garbled_ratio"] > 0.9
    assert page["quality_flags"] == [QualityFlag.GARBLED.value] and page["quality_score"] == 0.0
    assert row["quality_score"] == 0.0 and row["quality_flags"] == [QualityFlag.GARBLED.value]


def test_output_schema_extends_page_records_and_keeps_their_fields(results):
    table, quality, _ = results
    schema = QualityOperator.output_schema_for(table.schema, quality.config)
    record = schema.field("pages").type.value_type
    before = table.schema.field("pages").type.value_type
    assert [f.name for f in record] == [f.name for f in before] + list(PAGE_QUALITY_COLUMNS)
    assert schema.names == table.schema.names + ["lang", "quality_score", "quality_flags"]
    again = QualityOperator.output_schema_for(schema, quality.config)  # idempotent: no duplicate fields
    assert again == schema


def test_fast_run_writes_quality_columns_to_both_parquet_tables(inputs, tmp_path):
    report = run_pipeline(load_pipeline("fast"), [str(inputs)], str(tmp_path / "out"), executor=LocalExecutor())
    assert report.stats.documents == 3
    pages = pads.dataset(tmp_path / "out" / "pages", format="parquet").to_table()
    documents = pads.dataset(tmp_path / "out" / "documents", format="parquet").to_table()
    for name in PAGE_QUALITY_COLUMNS:
        assert pages.schema.field(name).type == FIELDS[name].type, name
    for name in ("lang", "quality_score", "quality_flags", "status", "error_code"):
        assert documents.schema.field(name).type == FIELDS[name].type, name
    assert {"markdown", "route", "garbled_ratio", "blocks"} <= set(pages.column_names)
    by_name = {row["name"]: row for row in documents.to_pylist()}
    assert by_name["article"]["quality_score"] > 0.9 and by_name["scan"]["quality_score"] == 0.0
    page_scores = {(r["name"], r["page_idx"]): r["quality_score"] for r in pages.to_pylist()}
    assert page_scores[("scan", 0)] == 0.0 and min(page_scores[("article", i)] for i in range(3)) > 0.9
