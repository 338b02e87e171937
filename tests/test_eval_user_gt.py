"""``docray eval --text-gt`` / ``--table-gt``: users' own plain-text and HTML-table ground truth, scored on a real
`fast` run of generated PDFs, on hand-made page Parquet and on folders of .md files; the pure metric functions."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("rapidfuzz", reason="the eval extra (rapidfuzz) is not installed")
pytest.importorskip("fuzzysearch", reason="the eval extra (fuzzysearch) is not installed")

from docray.cli import main  # noqa: E402
from docray.evaluation.table_gt import load_table_gt, markdown_tables, score_page  # noqa: E402
from docray.evaluation.text_gt import TextNormalisation, markdown_text, text_score  # noqa: E402
from docray.schema import schema_of  # noqa: E402

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


def run_eval(argv: list[str], capsys) -> tuple[int, str, str, dict | None]:
    out = Path(argv[0]).parent / "eval.json"
    code = main(["eval", *argv, "--json", str(out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err, json.loads(out.read_text()) if out.exists() else None


def text_pdf(lines: list[str]) -> bytes:
    from reportlab.lib.pagesizes import LETTER
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=LETTER, invariant=1)
    pdf.setFont("Helvetica", 12)
    for number, line in enumerate(lines):
        pdf.drawString(72, 600 - 18 * number, line)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# --- the metric -------------------------------------------------------------------------------------------------------


def test_markup_is_stripped_but_literal_symbols_stay():
    markdown = (
        "# Store Name\n\n**Total:** 12.00 and *net* __9__\n\n![logo](images/a.jpg)\n\n<!-- note -->\n"
        "| Item | Qty |\n|---|:-:|\n| Tea | 2 |\n\n<table><tr><td>A&amp;B</td><td>x<br>y</td></tr></table>\n"
        "*** THANK YOU *** 5 * 3 \\*escaped\\*"
    )
    text = " ".join(markdown_text(markdown).split())
    assert text == "Store Name Total: 12.00 and net 9 Item Qty Tea 2 A&B x y *** THANK YOU *** 5 * 3 *escaped*"


def test_cer_and_ned_are_exact():
    assert text_score("HELLO WORLD\nTOTAL 12.00", "# Hello World\n\nTotal 12.00").cer == 0.0
    one_edit = text_score("HELLO WORLD", "Hello W0rld")  # one substitution over 11 characters
    assert one_edit.cer == pytest.approx(1 / 11) and one_edit.ned == pytest.approx(1 / 11)
    longer = text_score("AB", "ABCD")  # two insertions: CER over the GT length, NED over the longer text
    assert longer.cer == pytest.approx(1.0) and longer.ned == pytest.approx(0.5)
    case = text_score("Hello", "hello", TextNormalisation(case_sensitive=True))
    assert case.cer == pytest.approx(1 / 5)
    raw = text_score("# 5 items", "# 5 items", TextNormalisation(strip_markup=False))  # raw text: '#' is text
    assert raw.cer == 0.0 and text_score("# 5 items", "# 5 items").cer > 0
    assert text_score("", "").cer == 0.0 and text_score("", "x").cer == 1.0
    assert text_score("abc", "").cer == 1.0


def test_tables_are_found_in_markdown():
    markdown = (
        "text\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<table><tr><td>x</td></tr></table>\n\n"
        "\\begin{tabular}{ll} p & q \\\\ \\end{tabular}\n| lone row |\n"
    )
    tables = markdown_tables(markdown)
    assert len(tables) == 3
    assert tables[0].count("<tr>") == 2 and ">1</td>" in tables[0]  # separator row dropped
    assert tables[1] == "<table><tr><td>x</td></tr></table>"
    assert "<td>p</td><td>q</td>" in tables[2]


GRID = "<table><tr><td>Name</td><td>Value</td></tr><tr><td>alpha</td><td>1</td></tr></table>"
SWAPPED = "<table><tr><td>Name</td><td>Value</td></tr><tr><td>1</td><td>alpha</td></tr></table>"
OTHER = "<table><tr><td>k</td></tr><tr><td>v</td></tr><tr><td>w</td></tr></table>"


def test_score_page_pairs_one_to_one_and_unmatched_scores_zero():
    perfect, swapped = score_page([[GRID], [OTHER]], [OTHER, SWAPPED])
    assert (swapped.gt, swapped.prediction) == (1, 0) and swapped.teds == 1.0
    assert perfect.prediction == 1 and perfect.teds == pytest.approx(1 - 2 / 6)  # 2 of 6 nodes renamed
    assert perfect.teds_structure == 1.0  # same grid
    first, second = score_page([[GRID], [GRID]], [GRID])  # one prediction for two GT tables
    assert first.teds == 1.0 and second.prediction is None and second.teds == 0.0
    (none,) = score_page([[GRID]], [])
    assert none.teds == 0.0 and none.prediction is None
    (lenient,) = score_page([[OTHER, SWAPPED]], [SWAPPED])  # alternatives: the best version counts
    assert lenient.teds == 1.0


# --- --text-gt on a real `fast` run -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory):
    from docray.pipelines.executors import LocalExecutor
    from docray.pipelines.runner import run_pipeline
    from docray.pipelines.spec import load_pipeline

    root = tmp_path_factory.mktemp("usergt")
    (root / "pdfs").mkdir()
    (root / "pdfs" / "memo.pdf").write_bytes(text_pdf(["Harbour bridge repairs", "Budget approved in March"]))
    (root / "pdfs" / "note.pdf").write_bytes(text_pdf(["Second note"]))
    out = root / "fast"
    run_pipeline(load_pipeline("fast"), [str(root / "pdfs")], str(out), executor=LocalExecutor())
    return root, out


def test_text_gt_scores_a_real_run(fast_run, tmp_path, capsys):
    _, out = fast_run
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "memo.txt").write_text("HARBOUR BRIDGE REPAIRS\nBUDGET APPROVED IN MARCH\n")  # exact, upper-case
    (gt / "note.txt").write_text("Second noteX\n")  # one missing character: CER 1/12
    (gt / "absent.txt").write_text("never run\n")  # no document: scored as empty
    code, stdout, stderr, result = run_eval([str(out), "--text-gt", str(gt)], capsys)
    assert code == 0, stderr
    scores = result["runs"][0]["scores"]
    per_doc = scores["per_document"]
    assert per_doc["memo"]["cer"] == 0.0 and per_doc["memo"]["status"] == "ok"
    assert per_doc["note"]["cer"] == pytest.approx(1 / 12)
    assert per_doc["absent"] == {**per_doc["absent"], "cer": 1.0, "status": "missing", "pred_chars": 0}
    assert scores["summary"]["mean_cer"] == pytest.approx((0 + 1 / 12 + 1) / 3)
    assert "| fast | 3 | 2 | 0.3611 |" in stdout
    assert "1 missing" in stderr
    code, _, _, result = run_eval([str(out), "--text-gt", str(gt), "--only-matched", "--case-sensitive"], capsys)
    per_doc = result["runs"][0]["scores"]["per_document"]
    assert set(per_doc) == {"memo", "note"} and per_doc["memo"]["cer"] > 0.5  # upper-case GT, mixed-case text


def test_text_gt_errors_exit_2(fast_run, tmp_path, capsys):
    _, out = fast_run
    assert main(["eval", str(out), "--text-gt", str(tmp_path / "nothing")]) == 2
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "unrelated.txt").write_text("x")
    assert main(["eval", str(out), "--text-gt", str(tmp_path / "gt")]) == 2  # nothing matched
    assert "none of its 2 documents" in capsys.readouterr().err


# --- --table-gt on page Parquet and on .md folders --------------------------------------------------------------------


def write_pages(out: Path, pages: list[dict]) -> Path:
    (out / "pages").mkdir(parents=True)
    columns = ("source", "name", "page_idx", "status", "markdown")
    pq.write_table(pa.Table.from_pylist(pages, schema=schema_of(columns)), out / "pages" / "part-0.parquet")
    return out


def test_table_gt_matches_page_by_page(tmp_path, capsys):
    run = write_pages(tmp_path / "run", [
        {"source": "file:///d/report.pdf", "name": "report", "page_idx": 0, "status": "ok", "markdown": "no table"},
        {"source": "file:///d/report.pdf", "name": "report", "page_idx": 1, "status": "ok",
         "markdown": f"Text\n\n{SWAPPED}\n\n| k |\n|---|\n| v |\n| w |\n"},
    ])  # fmt: skip
    (tmp_path / "gt").mkdir()
    (tmp_path / "gt" / "grid.html").write_text(GRID)
    manifest = tmp_path / "tables.json"
    manifest.write_text(json.dumps({"tables": [
        {"document": "pdfs/report.pdf", "page": 2, "html_path": "gt/grid.html", "id": "grid"},
        {"document": "report", "page": 2, "html": OTHER, "id": "other"},
        {"document": "report", "page": 1, "html": OTHER, "id": "page1"},  # page 1 has no table: 0
        {"document": "missing", "html": GRID},
    ]}))  # fmt: skip
    code, stdout, stderr, result = run_eval([str(run), "--table-gt", str(manifest)], capsys)
    assert code == 0, stderr
    per_table = {t["id"]: t for t in result["runs"][0]["scores"]["per_table"]}
    assert per_table["grid"]["teds"] == pytest.approx(1 - 2 / 6) and per_table["grid"]["teds_structure"] == 1.0
    assert per_table["other"]["teds"] == 1.0 and per_table["other"]["predicted_tables"] == 2
    assert per_table["page1"]["teds"] == 0.0 and per_table["page1"]["prediction"] is None
    assert per_table["missing_p1_t0"]["status"] == "missing" and per_table["missing_p1_t0"]["teds"] == 0.0
    mean = (1 - 2 / 6 + 1) / 4
    assert result["runs"][0]["scores"]["summary"]["mean_teds"] == pytest.approx(mean)
    assert f"| run | 4 | 2 | 2 | {mean:.4f} |" in stdout


def test_table_gt_on_markdown_files_pools_the_document(tmp_path, capsys):
    (tmp_path / "md").mkdir()
    (tmp_path / "md" / "report.md").write_text(f"# Report\n\n{OTHER}\n\n---\n\n{GRID}\n")
    manifest = tmp_path / "tables.jsonl"
    rows = [{"document": "report", "page": 1, "html": GRID}, {"document": "report", "page": 3, "html": OTHER}]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, _, stderr, result = run_eval([str(tmp_path / "md"), "--table-gt", str(manifest)], capsys)
    assert code == 0, stderr
    assert [t["teds"] for t in result["runs"][0]["scores"]["per_table"]] == [1.0, 1.0]  # no page splits: pooled


SPANNED = '<table><tr><td colspan="2">Sales</td><td rowspan="2">Note</td></tr><tr><td>Units</td><td>Revenue</td></tr></table>'
FLAT = "<table><tr><td>Sales</td><td></td><td>Note</td></tr><tr><td>Units</td><td>Revenue</td><td></td></tr></table>"


def test_flat_grids_compare_spans_as_text_plus_empty_slots(tmp_path, capsys):
    assert score_page([[FLAT]], [SPANNED])[0].teds < 0.8  # every correct span counts as wrong cells
    assert score_page([[FLAT]], [SPANNED], flat=True)[0].teds == 1.0
    assert score_page([[SPANNED]], [SPANNED], flat=True)[0].teds == 1.0
    assert score_page([[FLAT]], [GRID], flat=True)[0].teds < 1.0  # other cells still differ
    run = write_pages(tmp_path / "run", [
        {"source": "file:///d/report.pdf", "name": "report", "page_idx": 0, "status": "ok", "markdown": SPANNED},
    ])  # fmt: skip
    manifest = tmp_path / "tables.json"
    manifest.write_text(json.dumps([{"document": "report", "html": FLAT}]))
    code, stdout, stderr, result = run_eval([str(run), "--table-gt", str(manifest), "--flat-grids"], capsys)
    assert code == 0, stderr
    assert result["runs"][0]["scores"]["per_table"][0]["teds"] == 1.0 and "grids: flat" in stdout
    code, _, _, result = run_eval([str(run), "--table-gt", str(manifest)], capsys)
    assert result["runs"][0]["scores"]["per_table"][0]["teds"] < 0.8


def test_table_manifest_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"page": 1, "html": GRID}]))
    with pytest.raises(ValueError, match="without 'document'"):
        load_table_gt(bad)
    bad.write_text(json.dumps([{"document": "x", "id": "t"}]))  # no html and no gt/t.html
    with pytest.raises(ValueError, match="not found"):
        load_table_gt(bad)
    assert main(["eval", str(tmp_path), "--table-gt", str(tmp_path / "none.json")]) == 2


@pytest.mark.skipif(not (EVAL / "camelot_tables" / "manifest.json").is_file(), reason="../shared/eval not present")
def test_camelot_manifest_loads_as_table_gt():
    gt = load_table_gt(EVAL / "camelot_tables" / "manifest.json")
    assert len(gt.tables) == 23 and all(t.html.startswith("<table>") for t in gt.tables)
