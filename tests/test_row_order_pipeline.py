"""End to end through ``standard`` (real layout and OCR models): receipts read label beside value, a paper keeps its layout."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import load_pipeline
from docray.testing.forms import receipt_image, receipt_pdf
from docray.testing.pdfs import two_column_article


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("rows_in")
    (root / "receipt.pdf").write_bytes(receipt_pdf().data)
    (root / "receipt_scan.png").write_bytes(receipt_image().data)
    article = two_column_article(pages=1)
    (root / "article.pdf").write_bytes(article.pdf)
    out = tmp_path_factory.mktemp("rows_out")
    report = run_pipeline(load_pipeline("standard"), [str(root)], str(out), executor=LocalExecutor())
    assert report.complete and report.stats.by_status["ok"] == 3, report.stats.errors
    pages = pads.dataset(out / "pages").to_table(columns=["name", "page_idx", "layout_fallback"]).to_pylist()
    return out, {(p["name"], p["page_idx"]): p["layout_fallback"] for p in pages}, article


def _markdown(out: Path, name: str) -> str:
    return (out / "files" / name / "auto" / f"{name}.md").read_text()


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


@pytest.mark.parametrize("name", ["receipt", "receipt_scan"])
def test_receipt_reads_each_label_beside_its_value(run, name):
    out, fallback, _ = run
    assert fallback[(name, 0)] is not None  # the page's regions were not used: read line by line
    lines = [_squash(line) for line in _markdown(out, name).splitlines() if line.strip()]
    rows = receipt_pdf().rows
    for label, value in rows:
        assert any(f"{_squash(label)} {_squash(value)}" in line for line in lines), (label, value, lines)
    starts = [next(i for i, line in enumerate(lines) if line.startswith(_squash(label))) for label, _ in rows]
    assert starts == sorted(starts)  # rows top to bottom


def test_two_column_article_keeps_its_layout_reading(run):
    out, fallback, article = run
    assert fallback[("article", 0)] is None
    md = _markdown(out, "article")
    positions = [md.find(marker) for marker in article.markers]
    assert -1 not in positions and positions == sorted(positions)  # column by column, paragraphs in order
