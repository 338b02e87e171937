"""End to end through the model pipelines (standard, ocr): real ONNX models on PDFs the tests generate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from docray.formats.mineru_schema import validate_content_list, validate_middle_json
from docray.pipelines.executors import LocalExecutor, RayExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import load_pipeline
from docray.testing.pdfs import DEFAULT_SCAN_LINES, scanned_page, two_column_article
from docray.testing.report import report_with_table_and_figure


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("models_in")
    report = report_with_table_and_figure()
    article = two_column_article(pages=2)
    (root / "report.pdf").write_bytes(report.pdf)
    (root / "article.pdf").write_bytes(article.pdf)
    (root / "scan.pdf").write_bytes(scanned_page())
    return root, report, article


@pytest.fixture(scope="module")
def standard_run(inputs, tmp_path_factory):
    root, _, _ = inputs
    out = tmp_path_factory.mktemp("standard_out")
    report = run_pipeline(load_pipeline("standard"), [str(root)], str(out), executor=LocalExecutor())
    return out, report


def _files(out: Path, name: str, method: str = "auto") -> Path:
    return out / "files" / name / method


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]+", text.lower())


def test_standard_report_has_table_html_figure_crop_and_captions(inputs, standard_run):
    _, truth, _ = inputs
    out, report = standard_run
    assert report.complete and report.stats.by_status["ok"] == 3, report.stats.errors
    folder = _files(out, "report")
    content = json.loads((folder / "report_content_list.json").read_text())
    validate_content_list(content)
    validate_middle_json(json.loads((folder / "report_middle.json").read_text()))
    assert content[0]["type"] == "text" and content[0].get("text_level") == 1 and truth.title in content[0]["text"]

    tables = [item for item in content if item["type"] == "table"]
    assert len(tables) == 1
    body = tables[0]["table_body"]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    assert len(rows) == len(truth.table)
    february = next(r for r in rows if "February" in r)
    assert all(cell in february for cell in truth.table[2]), february
    assert any("Table 1" in c for c in tables[0]["table_caption"])

    images = [item for item in content if item["type"] == "image"]
    assert images and any("Figure 1" in c for item in images for c in item["image_caption"])
    for item in images + tables:
        assert (folder / item["img_path"]).is_file(), item["img_path"]
    md = (folder / "report.md").read_text()
    assert "<table>" in md and "](images/" in md
    assert (folder / "report_model.json").is_file()


def test_standard_keeps_text_layer_reading_order_and_ocrs_the_scan(inputs, standard_run):
    _, _, article = inputs
    out, _ = standard_run
    md = (_files(out, "article") / "article.md").read_text()
    positions = [md.find(marker) for marker in article.markers]
    assert -1 not in positions and positions == sorted(positions)
    scan_md = (_files(out, "scan") / "scan.md").read_text()
    expected = [w for line in DEFAULT_SCAN_LINES for w in _words(line)]
    found = set(_words(scan_md))
    recall = sum(w in found for w in expected) / len(expected)
    assert recall >= 0.8, (recall, scan_md)
    pages = pads.dataset(out / "pages", format="parquet").to_table().to_pylist()
    scan_page = next(p for p in pages if p["name"] == "scan")
    assert scan_page["route"] == "ocr" and scan_page["ocr_lines"]
    assert all(line["score"] > 0.5 for line in scan_page["ocr_lines"])
    assert all(p["layout_blocks"] for p in pages if p["name"] == "report")


def test_ocr_pipeline_reads_a_born_digital_page_from_pixels(inputs, tmp_path):
    root, truth, _ = inputs
    report = run_pipeline(load_pipeline("ocr"), [str(root / "report.pdf")], str(tmp_path), executor=LocalExecutor())
    assert report.stats.by_status == {"ok": 1}
    md = (_files(tmp_path, "report", "ocr") / "report.md").read_text()
    title_words = _words(truth.title)
    assert sum(w in set(_words(md)) for w in title_words) >= len(title_words) - 1, md[:300]
    pages = pads.dataset(tmp_path / "pages", format="parquet").to_table().to_pylist()
    assert pages[0]["route"] == "ocr" and pages[0]["route_reason"] == "forced"
    # OCR lines have no font size: box heights that differ with the letters (descenders) must not cut a paragraph
    blocks = [set(_words(block)) for block in md.split("\n\n")]
    for paragraph in truth.paragraphs:
        words = set(_words(paragraph))
        assert max(len(words & block) for block in blocks) >= 0.9 * len(words), (paragraph, md)


@pytest.mark.ray
def test_standard_pipeline_runs_on_ray_with_model_actors(inputs, tmp_path):
    root, _, _ = inputs
    report = run_pipeline(
        load_pipeline("standard"), [str(root / "report.pdf"), str(root / "scan.pdf")], str(tmp_path),
        executor=RayExecutor(num_cpus=2, progress_bars=False),
    )  # fmt: skip
    assert report.complete and report.stats.by_status == {"ok": 2}, report.stats.errors
    assert {"layout", "ocr", "table", "crop"} <= set(report.stats.stage_seconds)
