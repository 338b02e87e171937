"""ResultWriter's per-document files: every MinerU file kind, end to end with the local executor."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pypdfium2 as pdfium
import pytest

from docray.formats.mineru_schema import validate_middle_json
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.outputs import ResultWriter, WriteStats
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import OutputSpec, PipelineError, apply_overrides, load_pipeline
from docray.schema import RESULTS
from docray.testing.pdfs import simple_pdf, two_column_article

ALL_FILES = "output.files=[markdown,content_list,middle,model,layout_pdf,span_pdf,origin_pdf]"
DEBUG_FILES = ("layout_pdf", "span_pdf", "origin_pdf")


@pytest.fixture(scope="module")
def article():
    return two_column_article(pages=2)


def _run(inputs: list[str], out: Path):
    spec = apply_overrides(load_pipeline("fast"), [ALL_FILES])
    return run_pipeline(spec, inputs, str(out), executor=LocalExecutor())


def _page_count(path: Path) -> int:
    pdf = pdfium.PdfDocument(path.read_bytes())
    try:
        return len(pdf)
    finally:
        pdf.close()


def test_every_file_kind_is_written_and_opens(tmp_path, article):
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(article.pdf)
    report = _run([str(pdf)], tmp_path / "out")
    assert report.stats.by_status == {"ok": 1}
    assert report.stats.skipped_files == report.stats.failed_files == 0, report.stats.file_notes
    folder = tmp_path / "out" / "files" / "paper" / "auto"
    assert (folder / "paper.md").read_text().strip()
    assert json.loads((folder / "paper_content_list.json").read_text())
    middle = json.loads((folder / "paper_middle.json").read_text())
    validate_middle_json(middle)
    if "model_json" in RESULTS.names:  # model output is written where the pipeline's results carry it
        assert isinstance(json.loads((folder / "paper_model.json").read_text()), list)
    else:
        assert not (folder / "paper_model.json").exists()
    assert (folder / "paper_origin.pdf").read_bytes() == article.pdf
    for name in ("paper_layout.pdf", "paper_span.pdf"):
        assert _page_count(folder / name) == article.num_pages == len(middle["pdf_info"])
        assert (folder / name).read_bytes() != article.pdf
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["report"]["skipped_files"] == 0 and run["report"]["failed_files"] == 0


def test_parquet_bytes_input_skips_the_files_that_need_the_original(tmp_path, article):
    corpus = tmp_path / "corpus.parquet"
    pq.write_table(pa.Table.from_pylist([{"bytes": article.pdf}, {"bytes": simple_pdf(1)}]), corpus)
    report = _run([str(corpus)], tmp_path / "out")
    assert report.stats.by_status == {"ok": 2}
    assert report.stats.skipped_files == 2 * len(DEBUG_FILES) and report.stats.failed_files == 0
    assert {note["file"] for note in report.stats.file_notes} == set(DEBUG_FILES)
    assert all("#sha256=" in note["source"] for note in report.stats.file_notes)
    name = f"doc-{hashlib.sha256(article.pdf).hexdigest()[:16]}"
    folder = tmp_path / "out" / "files" / name / "auto"
    written = {p.name for p in folder.iterdir()}
    assert {f"{name}.md", f"{name}_content_list.json", f"{name}_middle.json"} <= written
    assert not any(p.endswith(".pdf") for p in written)
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["report"]["skipped_files"] == 2 * len(DEBUG_FILES)


def _results_row(pdf_path: Path, pdf_bytes: bytes, middle_json: str, **changes) -> dict:
    row = {
        "doc_id": hashlib.sha256(pdf_bytes).hexdigest(),
        "source": str(pdf_path),
        "name": pdf_path.stem,
        "kind": "pdf",
        "status": "ok",
        "num_pages": 1,
        "markdown": "Hello",
        "content_list": "[]",
        "middle_json": middle_json,
        "images": [],
        "pages": [],
    }
    return {**row, **changes}


def test_unreadable_changed_or_image_sources_and_drawing_errors_never_fail_the_write(tmp_path):
    pdf_bytes = simple_pdf(1)
    middle = json.dumps(
        {"pdf_info": [{"page_idx": 0, "page_size": [612, 792], "para_blocks": [], "discarded_blocks": []}]}
    )
    good = tmp_path / "good.pdf"
    good.write_bytes(pdf_bytes)
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(simple_pdf(2))  # not the bytes that were parsed
    rows = [
        _results_row(good, pdf_bytes, middle),
        _results_row(tmp_path / "gone.pdf", pdf_bytes, middle),
        _results_row(changed, pdf_bytes, middle),
        _results_row(good, pdf_bytes, middle, name="picture", kind="image"),
        _results_row(good, pdf_bytes, '{"no_pdf_info": 1}', name="broken"),
    ]
    spec = OutputSpec(tables=[], files=["markdown", "layout_pdf", "span_pdf", "origin_pdf"])
    stats = ResultWriter(str(tmp_path / "out"), spec, "txt").write(pa.Table.from_pylist(rows, schema=RESULTS))
    assert stats.documents == 5
    assert stats.skipped_files == 3 * 3, "gone, changed and image: three files each"
    assert stats.failed_files == 2, "broken middle.json: layout and span PDFs fail, the origin is written"
    files = tmp_path / "out" / "files"
    for name in ("good", "gone", "changed", "picture", "broken"):
        assert (files / name / "txt" / f"{name}.md").read_text() == "Hello", "text files are always written"
    assert {p.name for p in (files / "good" / "txt").iterdir()} == {
        "good.md",
        "good_layout.pdf",
        "good_span.pdf",
        "good_origin.pdf",
    }
    assert {p.name for p in (files / "broken" / "txt").iterdir()} == {"broken.md", "broken_origin.pdf"}
    reasons = {(n["name"], n["file"]): n["reason"] for n in stats.file_notes}
    assert "changed since it was parsed" in reasons[("changed", "layout_pdf")]
    assert "cannot read" in reasons[("gone", "origin_pdf")]
    assert "image input has no original PDF" in reasons[("picture", "span_pdf")]
    assert reasons[("broken", "layout_pdf")].startswith("failed: ValueError")


def test_write_stats_merge_file_counts():
    a, b = WriteStats(skipped_files=2, failed_files=1), WriteStats(skipped_files=3)
    b.note_file({"source": "s3://x.pdf", "name": "x"}, "span_pdf", "skipped: why", failed=False)
    merged = a.merge(b).to_dict()
    assert merged["skipped_files"] == 6 and merged["failed_files"] == 1
    assert merged["file_notes"] == [{"source": "s3://x.pdf", "name": "x", "file": "span_pdf", "reason": "skipped: why"}]


def test_unknown_file_kind_is_a_pipeline_error():
    with pytest.raises(PipelineError):
        apply_overrides(load_pipeline("fast"), ["output.files=[markdown,spans_pdf]"])
