"""``docray eval``: reading run outputs (Parquet of a real `fast` run, hand-made Parquet, MinerU and .md folders),
matching them to olmOCR-bench PDFs / OmniDocBench pages, the table, the JSON, exit codes; plus the validation on the
published OmniDocBench demo results and olmOCR's reference outputs (only where ../shared/eval is present)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("rapidfuzz", reason="the eval extra (rapidfuzz) is not installed")
pytest.importorskip("fuzzysearch", reason="the eval extra (fuzzysearch) is not installed")

from docray.cli import main  # noqa: E402
from docray.evaluation.run_outputs import (  # noqa: E402
    MARKDOWN,
    MINERU,
    PARQUET,
    find_runs,
    olmocr_outputs,
    read_run_outputs,
)
from docray.evaluation.run_scores import EvalError, detect_kind  # noqa: E402
from docray.schema import schema_of  # noqa: E402

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
OLMOCR = EVAL / "olmocr_bench_sample"
DEMO = EVAL / "omnidocbench_demo"


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def run_eval(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(["eval", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_run(out: Path, pages: list[dict], documents: list[dict] | None, pipeline: str | None = None) -> Path:
    """A run-output folder in `docray run`'s shape: pages/ and documents/ Parquet (+ run.json)."""
    (out / "pages").mkdir(parents=True)
    page_columns = ("source", "name", "page_idx", "status", "markdown")
    pq.write_table(pa.Table.from_pylist(pages, schema=schema_of(page_columns)), out / "pages" / "part-0.parquet")
    if documents is not None:
        (out / "documents").mkdir()
        doc_columns = ("source", "name", "status", "markdown")
        pq.write_table(pa.Table.from_pylist(documents, schema=schema_of(doc_columns)), out / "documents" / "part-0.parquet")
    if pipeline:
        (out / "run.json").write_text(json.dumps({"pipeline": {"name": pipeline}}), encoding="utf-8")
    return out


# --- olmOCR-bench on a real `fast` run ---------------------------------------------------------------------------------


def body_pdf(pages: list[list[str]]) -> bytes:
    """A PDF whose pages hold the given lines mid-page (body text, not a running header)."""
    import io

    from reportlab.lib.pagesizes import LETTER
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=LETTER, invariant=1)
    for lines in pages:
        pdf.setFont("Helvetica", 11)
        for number, line in enumerate(lines):
            pdf.drawString(72, 500 - 16 * number, line)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()



@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """An olmOCR-bench-shaped folder over two generated PDFs (one in a subfolder), and a real `fast` run over it."""
    from docray.pipelines.executors import LocalExecutor
    from docray.pipelines.runner import run_pipeline
    from docray.pipelines.spec import load_pipeline
    root = tmp_path_factory.mktemp("bench")
    (root / "pdfs" / "sub").mkdir(parents=True)
    alpha = [[f"Alpha report, page {page}.", "Quarterly revenue grew by nine percent.", f"Closing line {page}."]
             for page in (1, 2)]  # fmt: skip
    (root / "pdfs" / "alpha.pdf").write_bytes(body_pdf(alpha))
    (root / "pdfs" / "sub" / "beta.pdf").write_bytes(body_pdf([["Beta memo about the harbour bridge."]]))
    write_jsonl(root / "dataset.jsonl", [
        {"pdf": "alpha.pdf", "page": 1, "id": "a1_present", "type": "present", "text": "Alpha report, page 1"},
        {"pdf": "alpha.pdf", "page": 2, "id": "a2_present", "type": "present", "text": "Alpha report, page 2"},
        {"pdf": "alpha.pdf", "page": 1, "id": "a1_not_p2", "type": "absent", "text": "Alpha report, page 2"},
        {"pdf": "alpha.pdf", "page": 1, "id": "a1_order", "type": "order", "before": "Alpha", "after": "Closing line 1"},
        {"pdf": "sub/beta.pdf", "page": 1, "id": "b_present", "type": "present", "text": "harbour bridge"},
        {"pdf": "sub/beta.pdf", "page": 1, "id": "b_wrong", "type": "present", "text": "tunnel under the river"},
    ])  # fmt: skip
    out = root / "runs" / "fast"
    run_pipeline(load_pipeline("fast"), [str(root / "pdfs")], str(out), executor=LocalExecutor())
    return root, out


def statuses(report_json: dict, run: int = 0) -> dict[str, str]:
    return {o["id"]: o["status"] for o in report_json["runs"][run]["scores"]["outcomes"]}


def test_olmocr_scores_a_real_run_page_by_page(bench, tmp_path, capsys):
    root, out = bench
    code, stdout, _ = run_eval([str(out), "--olmocr", str(root), "--json", str(tmp_path / "e.json")], capsys)
    assert code == 0
    result = json.loads((tmp_path / "e.json").read_text())
    assert statuses(result) == {
        "a1_present": "pass", "a2_present": "pass", "a1_not_p2": "pass", "a1_order": "pass", "b_present": "pass",
        "b_wrong": "fail", "alpha.pdf_baseline": "pass", "sub/beta.pdf_baseline": "pass",
    }  # fmt: skip
    run = result["runs"][0]
    assert run["layout"] == PARQUET and run["pipeline"] == "fast" and run["match"]["by_path"] == ["alpha.pdf", "sub/beta.pdf"]
    assert result["ground_truth"] == {"kind": "olmocr", "path": str(root), "tests": 8, "pdfs": 2}
    row = next(line for line in stdout.splitlines() if line.startswith("| fast "))
    assert "| 2 | 75.0% (3/4) | 100.0% (1/1) | 100.0% (1/1) | 100.0% (2/2) | n/a | n/a |" in row
    assert "| 91.7% | 87.5% (7/8) |" in row  # overall: mean of dataset.jsonl 5/6 and baselines 2/2


def test_auto_format_and_only_matched(bench, tmp_path, capsys):
    root, out = bench
    (root / "pdfs" / "gamma.pdf").write_bytes(b"%PDF-1.4 not run")  # a benchmark PDF the run never saw
    write_jsonl(root / "extra.jsonl", [{"pdf": "gamma.pdf", "page": 1, "id": "g", "type": "present", "text": "gamma"}])
    try:
        code, stdout, err = run_eval([str(out), "--gt", str(root), "--json", str(tmp_path / "all.json")], capsys)
        assert code == 0 and "1 unmatched" in err
        assert statuses(json.loads((tmp_path / "all.json").read_text()))["g"] == "fail"
        code, _, _ = run_eval([str(out), "--gt", str(root), "--only-matched", "--json", str(tmp_path / "m.json")], capsys)
        assert code == 0 and "g" not in statuses(json.loads((tmp_path / "m.json").read_text()))
    finally:
        (root / "pdfs" / "gamma.pdf").unlink()
        (root / "extra.jsonl").unlink()


def test_mineru_folder_is_matched_by_stem_with_whole_document_markdown(bench, tmp_path, capsys):
    root, out = bench
    mineru = tmp_path / "parsed"
    for name in ("alpha", "beta"):
        (mineru / name / "auto").mkdir(parents=True)
        text = (out / "files" / name / "auto" / f"{name}.md").read_text(encoding="utf-8")
        (mineru / name / "auto" / f"{name}.md").write_text(text, encoding="utf-8")
    run = read_run_outputs(mineru)
    assert run.layout == MINERU and [d.name for d in run.documents] == ["alpha", "beta"]
    code, _, _ = run_eval([str(mineru), "--olmocr", str(root), "--json", str(tmp_path / "e.json")], capsys)
    result = json.loads((tmp_path / "e.json").read_text())
    assert code == 0 and result["runs"][0]["match"]["by_stem"] == ["alpha.pdf", "sub/beta.pdf"]
    # one Markdown for the whole document: page 1's tests now also see page 2's text
    assert statuses(result)["a1_not_p2"] == "fail" and statuses(result)["a2_present"] == "pass"


def test_by_pipeline_gives_one_row_per_run_folder(bench, tmp_path, capsys):
    root, out = bench
    pages = [{"source": str(root / "pdfs" / "alpha.pdf"), "name": "alpha", "page_idx": 0, "status": "ok", "markdown": "nothing useful"}]
    write_run(out.parent / "other", pages, None, pipeline="standard")
    try:
        assert [p.name for p in find_runs(out.parent)] == ["fast", "other"]
        code, stdout, err = run_eval([str(out.parent), "--olmocr", str(root), "--by-pipeline"], capsys)
        assert code == 0 and "1 unmatched" in err  # sub/beta.pdf is not in the second run
        rows = [line.split(" | ")[0] for line in stdout.splitlines() if line.startswith("| ") and "---" not in line]
        assert rows == ["| run", "| fast", "| standard"]
    finally:
        import shutil

        shutil.rmtree(out.parent / "other")


# --- hand-made Parquet run outputs -------------------------------------------------------------------------------------


def test_source_outside_pdfs_falls_back_to_stem_and_page_markdown_wins(tmp_path):
    pdfs = tmp_path / "bench" / "pdfs"
    (pdfs / "sub").mkdir(parents=True)
    source = "file:///elsewhere/copy/sub/beta.pdf"  # run over a copy: only the suffix / stem tell which PDF it is
    run = read_run_outputs(write_run(
        tmp_path / "run",
        [{"source": source, "name": "beta", "page_idx": 0, "status": "ok", "markdown": "page one"},
         {"source": "/x/lonely.pdf", "name": "lonely", "page_idx": 0, "status": "ok", "markdown": "?"}],
        [{"source": source, "name": "beta", "status": "ok", "markdown": "whole"},
         {"source": "/x/lonely.pdf", "name": "lonely", "status": "ok", "markdown": "?"}],
    ))  # fmt: skip
    outputs, match = olmocr_outputs(run, ["sub/beta.pdf", "alpha.pdf"], pdfs)
    assert outputs == {"sub/beta.pdf": "whole", ("sub/beta.pdf", 1): "page one"}
    assert match.by_path == ["sub/beta.pdf"] and match.unmatched == ["alpha.pdf"] and match.unused == ["/x/lonely.pdf"]
    outputs, match = olmocr_outputs(run, ["other/beta.pdf"], pdfs)
    assert match.by_stem == ["other/beta.pdf"] and outputs[("other/beta.pdf", 1)] == "page one"


def test_same_stem_twice_is_ambiguous(tmp_path):
    pages = [{"source": f"/r/{d}/x.pdf", "name": f"x_{d}", "page_idx": 0, "status": "ok", "markdown": d} for d in "ab"]
    run = read_run_outputs(write_run(tmp_path / "run", pages, None))
    outputs, match = olmocr_outputs(run, ["x.pdf"], tmp_path / "pdfs")
    assert outputs == {} and match.ambiguous == ["x.pdf"]


OMNI_PAGES = [
    {"page_info": {"image_path": "images/doc.pdf_0.jpg", "page_attribute": {}}, "extra": {"relation": []},
     "layout_dets": [{"category_type": "text_block", "order": 1, "anno_id": 1, "text": "The first paragraph of the page."},
                     {"category_type": "title", "order": 0, "anno_id": 2, "text": "A Title"}]},
    {"page_info": {"image_path": "images/other_3.png", "page_attribute": {}}, "extra": {"relation": []},
     "layout_dets": [{"category_type": "text_block", "order": 0, "anno_id": 1, "text": "Something else entirely here."}]},
    {"page_info": {"image_path": "images/never.jpg", "page_attribute": {}}, "extra": {"relation": []},
     "layout_dets": [{"category_type": "text_block", "order": 0, "anno_id": 1, "text": "Not predicted."}]},
]  # fmt: skip


def test_omnidocbench_parquet_run_failed_page_scores_as_empty(tmp_path, capsys):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(OMNI_PAGES), encoding="utf-8")
    assert detect_kind(gt) == "omnidocbench" and detect_kind(tmp_path) == "omnidocbench"
    docs = [
        {"source": "/imgs/doc.pdf_0.jpg", "name": "doc.pdf_0", "status": "ok",
         "markdown": "# A Title\n\nThe first paragraph of the page."},
        {"source": "/imgs/other_3.png", "name": "other_3", "status": "error", "markdown": ""},  # as `fast` writes it
    ]  # fmt: skip
    out = write_run(tmp_path / "run", [], docs, pipeline="standard")
    code, stdout, _ = run_eval([str(out), "--gt", str(gt), "--json", str(tmp_path / "e.json")], capsys)
    assert code == 0
    run = json.loads((tmp_path / "e.json").read_text())["runs"][0]
    assert run["match"] == {"matched": 2, "failed": ["other_3.png"], "missing": ["never.jpg"], "unused_documents": []}
    per_page = run["scores"]["per_page"]
    assert per_page["doc.pdf_0.jpg"]["text_edit"] == 0.0 and per_page["other_3.png"]["text_edit"] == 1.0
    assert run["scores"]["summary"]["text_edit"] == pytest.approx(0.5)
    assert re.search(r"\| standard \| 2 \| 1 \| 1 \| 0\.5000 \|", stdout)


def test_omnidocbench_markdown_folder_by_image_stem(tmp_path, capsys):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(OMNI_PAGES), encoding="utf-8")
    (tmp_path / "preds" / "deep").mkdir(parents=True)
    (tmp_path / "preds" / "doc_0.md").write_text("A Title\n\nThe first paragraph of the page.", encoding="utf-8")
    (tmp_path / "preds" / "deep" / "other_3.md").write_text("Something else entirely here.", encoding="utf-8")
    assert read_run_outputs(tmp_path / "preds").layout == MARKDOWN
    code, _, _ = run_eval([str(tmp_path / "preds"), "--omnidocbench", str(gt), "--json", str(tmp_path / "e.json")], capsys)
    run = json.loads((tmp_path / "e.json").read_text())["runs"][0]
    assert code == 0 and run["scores"]["summary"]["text_edit"] == 0.0 and run["match"]["missing"] == ["never.jpg"]


def test_bad_arguments_exit_2_with_a_message(tmp_path, capsys):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(OMNI_PAGES), encoding="utf-8")
    (tmp_path / "preds").mkdir()
    (tmp_path / "preds" / "unrelated.md").write_text("x", encoding="utf-8")
    cases = [
        ([str(tmp_path / "preds"), "--omnidocbench", str(tmp_path / "missing.json")], "not found"),
        ([str(tmp_path / "nowhere"), "--omnidocbench", str(gt)], "no such file or directory"),
        ([str(tmp_path / "preds"), "--omnidocbench", str(gt)], "none of its 1 documents matches"),
        ([str(tmp_path / "preds"), "--olmocr", str(tmp_path)], "no *.jsonl test files"),
        ([str(tmp_path / "preds"), "--gt", str(tmp_path / "preds")], "cannot tell the ground-truth kind"),
        ([str(tmp_path / "empty_run"), "--gt", str(gt)], "no documents/ or pages/ Parquet and no .md files"),
    ]
    (tmp_path / "empty_run").mkdir()
    for argv, message in cases:
        code, _, err = run_eval(argv, capsys)
        assert code == 2 and message in err, (argv, err)
    with pytest.raises(SystemExit) as exit_info:  # argparse: no ground truth given
        main(["eval", str(tmp_path / "preds")])
    assert exit_info.value.code == 2
    with pytest.raises(EvalError):
        detect_kind(tmp_path / "preds")


# --- validation on the published results (needs ../shared/eval) --------------------------------------------------------


@pytest.mark.skipif(not DEMO.is_dir(), reason=f"OmniDocBench demo not found at {DEMO}")
def test_reproduces_published_omnidocbench_demo_results(tmp_path, capsys):
    code, _, _ = run_eval([str(DEMO / "sample_predictions" / "end2end"), "--gt", str(DEMO / "OmniDocBench_demo.json"),
                           "--json", str(tmp_path / "e.json")], capsys)  # fmt: skip
    assert code == 0
    summary = json.loads((tmp_path / "e.json").read_text())["runs"][0]["scores"]["summary"]
    published = json.loads((DEMO / "sample_results" / "end2end_quick_match_metric_result.json").read_text())
    assert summary["pages"] == 18 and summary["missing_pages"] == 0
    expected = {
        "text_edit": (published["text_block"]["all"]["Edit_dist"]["ALL_page_avg"], 0.002),
        "formula_edit": (published["display_formula"]["all"]["Edit_dist"]["ALL_page_avg"], 0.002),
        "table_teds": (published["table"]["all"]["TEDS"]["all"], 0.002),
        "table_teds_structure": (published["table"]["all"]["TEDS_structure_only"]["all"], 0.002),
        "table_edit": (published["table"]["all"]["Edit_dist"]["ALL_page_avg"], 0.002),
        # one page's pipe tables swallow a few text lines in OmniDocBench's Markdown-table conversion, not in ours
        "reading_order_edit": (published["reading_order"]["all"]["Edit_dist"]["ALL_page_avg"], 0.01),
    }
    for key, (value, tolerance) in expected.items():
        assert summary[key] == pytest.approx(value, abs=tolerance), key


REFERENCE = re.compile(r"^(?P<stem>.+)_pg(?P<page>\d+)_repeat1\.md$")


def olmocr_reference_pages() -> list[tuple[str, int, str]]:
    """(pdf relative to pdfs/, 1-based page, Markdown) of olmOCR's own outputs."""
    folder = OLMOCR / "reference_outputs" / "olmocr_pipeline"
    found = []
    for md in sorted(folder.rglob("*_repeat1.md")):
        match = REFERENCE.match(md.relative_to(folder).as_posix())
        found.append((f"{match['stem']}.pdf", int(match["page"]), md.read_text(encoding="utf-8")))
    return found


@pytest.mark.skipif(not OLMOCR.is_dir(), reason=f"olmOCR-bench sample not found at {OLMOCR}")
def test_olmocr_reference_outputs_score_as_the_library_scores_them(tmp_path, capsys):
    from docray.evaluation.olmocr_bench import add_default_baselines, load_tests, score

    reference = olmocr_reference_pages()
    pages = [{"source": str(OLMOCR / "pdfs" / pdf), "name": Path(pdf).stem, "page_idx": page - 1, "status": "ok",
              "markdown": text} for pdf, page, text in reference]  # fmt: skip
    out = write_run(tmp_path / "olmocr_run", pages, None)
    code, _, _ = run_eval([str(out), "--olmocr", str(OLMOCR), "--json", str(tmp_path / "e.json")], capsys)
    assert code == 0
    ours = json.loads((tmp_path / "e.json").read_text())["runs"][0]
    pdfs = OLMOCR / "pdfs"
    tests = add_default_baselines(load_tests(sorted(OLMOCR.glob("*.jsonl"))),
                                  [p.relative_to(pdfs).as_posix() for p in pdfs.rglob("*.pdf")])  # fmt: skip
    library = score(tests, {(pdf, page): text for pdf, page, text in reference})
    assert {o["id"]: o["status"] for o in ours["scores"]["outcomes"]} == {o.test.id: o.status for o in library.outcomes}
    assert ours["scores"]["overall"] == library.overall and ours["match"]["matched"] == 21
    assert library.overall > 0.9 and library.mean_over_tests > 0.85  # olmOCR's own outputs pass nearly everything
    # every test type is scored, math among them (approximately)
    assert set(ours["scores"]["by_type"]) == {"present", "absent", "order", "baseline", "table", "math"}
    assert ours["scores"]["approximate_types"] == ["math"]
