"""End-to-end runs of the fast pipeline on PDFs the tests generate: local executor and real Ray."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from docray.cli import main
from docray.formats.mineru_schema import validate_content_list, validate_middle_json
from docray.pipelines.executors import LocalExecutor, RayExecutor
from docray.pipelines.runner import format_summary, run_pipeline
from docray.pipelines.spec import apply_overrides, load_pipeline
from docray.testing.pdfs import two_column_article, write_bad_inputs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def article():
    return two_column_article(pages=3)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, article):
    """A directory with one good article and every kind of bad input; expected error code per name."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "article.pdf").write_bytes(article.pdf)
    nested = root / "nested"
    nested.mkdir()
    expected = {Path(name).stem: code.value for name, code in write_bad_inputs(nested).items()}
    (root / "notes.txt").write_text("ignored: not a supported extension")
    return root, expected


def table(out: Path, name: str) -> list[dict]:
    return pads.dataset(out / name, format="parquet").to_table().to_pylist()


def run_fast(inputs: list[str], out: Path, executor, overrides: tuple[str, ...] = ()):
    spec = apply_overrides(load_pipeline("fast"), list(overrides))
    return run_pipeline(spec, inputs, str(out), executor=executor)


def test_fast_local_two_column_article(tmp_path, article):
    pdf = tmp_path / "article.pdf"
    pdf.write_bytes(article.pdf)
    report = run_fast([str(pdf)], tmp_path / "out", LocalExecutor())
    assert report.complete and report.stats.by_status == {"ok": 1}
    assert report.stats.pages == article.num_pages == 3

    folder = tmp_path / "out" / "files" / "article" / "auto"
    md = (folder / "article.md").read_text()
    assert md.lstrip().startswith(f"# {article.title}")
    for heading in article.headings:  # headings become Markdown headings, below the title level
        assert re.search(rf"^#{{2,4}} {re.escape(heading)}\s*$", md, re.M), heading
    positions = [md.find(marker) for marker in article.markers]
    assert -1 not in positions, "every paragraph's marker sentence is in the Markdown"
    assert positions == sorted(positions), "paragraphs follow the columns' reading order"
    for word in article.hyphenated_words:
        assert re.search(rf"\b{word}\b", md), f"dehyphenated {word!r}"
    assert article.header_text not in md
    for footer in article.footer_texts:
        assert not re.search(rf"^\s*{re.escape(footer)}\s*$", md, re.M), footer

    content = json.loads((folder / "article_content_list.json").read_text())
    validate_content_list(content)
    assert content[0]["type"] == "text" and content[0].get("text_level") == 1
    assert content[0]["text"].strip() == article.title
    assert all(0 <= v <= 1000 for item in content for v in item["bbox"])
    assert {item["page_idx"] for item in content} == {0, 1, 2}
    joined = "\n".join(item.get("text", "") for item in content)
    assert [joined.find(m) for m in article.markers] == sorted(joined.find(m) for m in article.markers)

    middle = json.loads((folder / "article_middle.json").read_text())
    validate_middle_json(middle)
    assert middle["_backend"] == "pipeline" and len(middle["pdf_info"]) == 3
    for i, page in enumerate(middle["pdf_info"]):
        assert page["page_idx"] == i and page["page_size"] == [612, 792]
        assert page["para_blocks"] and page["discarded_blocks"], "body kept, furniture discarded"
        for block in page["para_blocks"]:
            assert block["type"] in ("text", "title", "image") and len(block["bbox"]) == 4
            assert all("spans" in line for line in block.get("lines", []))

    docs = table(tmp_path / "out", "documents")
    assert len(docs) == 1 and docs[0]["status"] == "ok" and docs[0]["num_pages"] == 3
    assert (docs[0]["mime"], docs[0]["size_bytes"]) == ("application/pdf", len(article.pdf))
    assert docs[0]["markdown"] == md
    pages = sorted(table(tmp_path / "out", "pages"), key=lambda p: p["page_idx"])
    assert [p["page_idx"] for p in pages] == [0, 1, 2]
    assert all(p["route"] == "txt" and p["route_reason"] == "text_layer" and p["spans"] for p in pages)
    discarded = {b["type"] for p in pages for b in p["blocks"] if b["order"] == -1}
    assert {"header"} <= discarded and discarded & {"footer", "page_number"}
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["report"]["documents"] == 1 and run["versions"]["docray"]


def test_bad_inputs_give_exactly_one_error_row_each(tmp_path, corpus):
    root, expected = corpus
    report = run_fast([str(root)], tmp_path / "out", LocalExecutor())
    docs = {d["name"]: d for d in table(tmp_path / "out", "documents")}
    assert len(docs) == report.inputs == len(expected) + 1, "one row per input, notes.txt skipped"
    assert docs["article"]["status"] == "ok"
    for name, code in expected.items():
        assert docs[name]["status"] == "error", name
        assert docs[name]["error_code"] == code, (name, docs[name]["error"])
        assert docs[name]["error"] and docs[name]["source"].endswith(name + ".pdf")
    s = report.stats
    assert s.by_status["ok"] + s.by_status["partial"] + s.by_status["error"] == report.inputs
    assert sum(s.error_codes.values()) == len(expected)
    summary = format_summary(report)
    assert f"error {len(expected)}" in summary and "pages/s" in summary and "render" in summary
    assert not (tmp_path / "out" / "files" / "corrupt").exists(), "no MinerU files for error rows"


def test_page_range_and_forced_method(tmp_path, article):
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(article.pdf)
    out = tmp_path / "out"
    code = main(["parse", str(pdf), "-o", str(out), "-m", "txt", "-s", "1", "-e", "1", "--executor", "local", "--parquet"])
    assert code == 0
    folder = out / "paper" / "txt"
    assert {p.name for p in folder.iterdir()} >= {"paper.md", "paper_content_list.json", "paper_middle.json"}
    middle = json.loads((folder / "paper_middle.json").read_text())
    assert len(middle["pdf_info"]) == 1
    pages = table(out, "pages")
    assert [p["page_idx"] for p in pages] == [1] and pages[0]["route_reason"] == "forced"
    md = (folder / "paper.md").read_text()
    assert article.title not in md, "page 0 (with the title) is outside the range"


def test_cli_run_prints_summary_and_counts_inputs(tmp_path, corpus, capsys):
    root, expected = corpus
    code = main(["run", str(ROOT / "pipelines" / "fast.yaml"), "--input", str(root), "--output", str(tmp_path / "o"),
                 "--executor", "local", "--set", "render.dpi=100"])  # fmt: skip
    assert code == 4  # the bad inputs are error rows (docray.exitcodes)
    out = capsys.readouterr().out
    assert re.search(rf"{len(expected) + 1} documents \(ok 1, partial 0, error {len(expected)}\)", out), out
    assert json.loads((tmp_path / "o" / "run.json").read_text())["stages"]["render"]["dpi"] == 100


def test_cli_reports_config_errors(tmp_path, capsys):
    assert main(["run", "fast", "-i", str(tmp_path), "-o", str(tmp_path / "o"), "--set", "render.nope=1"]) == 2
    assert "invalid config" in capsys.readouterr().err
    assert main(["parse", str(tmp_path), "-o", str(tmp_path / "o"), "-b", "vlm-sglang-client"]) == 2
    assert "unknown backend 'vlm-sglang-client'" in capsys.readouterr().err


@pytest.mark.ray
def test_ray_executor_matches_local(tmp_path, corpus):
    root, expected = corpus
    local = run_fast([str(root)], tmp_path / "local", LocalExecutor())
    distributed = run_fast([str(root)], tmp_path / "ray", RayExecutor(num_cpus=2, progress_bars=False))
    assert distributed.complete and distributed.stats.documents == local.stats.documents == len(expected) + 1
    assert distributed.stats.by_status == local.stats.by_status
    assert distributed.stats.pages == local.stats.pages

    def key(rows):
        return {r["source"]: (r["status"], r["error_code"], r["markdown"], r["quality_score"]) for r in rows}

    assert key(table(tmp_path / "ray", "documents")) == key(table(tmp_path / "local", "documents"))
    assert len(table(tmp_path / "ray", "pages")) == len(table(tmp_path / "local", "pages"))
    md = tmp_path / "ray" / "files" / "article" / "auto" / "article.md"
    assert md.read_text() == (tmp_path / "local" / "files" / "article" / "auto" / "article.md").read_text()
    assert set(distributed.stats.stage_seconds) == {"ingest", "render", "assemble", "quality"}


def _parquet_corpus(path: Path, article) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from docray.testing.pdfs import corrupt_pdf

    rows = [
        {"path": "s3://bucket/papers/article.pdf", "bytes": article.pdf, "lang": "en"},
        {"path": "s3://bucket/papers/broken.pdf", "bytes": corrupt_pdf(), "lang": "en"},
    ]
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_parquet_input_with_a_bytes_column_and_fsspec_output(tmp_path, article):
    source = _parquet_corpus(tmp_path / "corpus.parquet", article)
    out = "memory://docray-test/run1"
    report = run_fast([str(source)], out, LocalExecutor())
    assert report.stats.documents == 2 and report.stats.by_status == {"ok": 1, "error": 1}
    import fsspec

    fs = fsspec.filesystem("memory")
    docs = pads.dataset("/docray-test/run1/documents", filesystem=fs, format="parquet").to_table().to_pylist()
    by_source = {d["source"]: d for d in docs}
    assert by_source["s3://bucket/papers/broken.pdf"]["error_code"] == "corrupt"
    assert by_source["s3://bucket/papers/article.pdf"]["name"] == "article"
    md = fs.cat("/docray-test/run1/files/article/auto/article.md").decode()
    assert md.lstrip().startswith(f"# {article.title}")
    assert fs.exists("/docray-test/run1/run.json")


@pytest.mark.ray
def test_ray_executor_reads_parquet_input(tmp_path, article):
    source = _parquet_corpus(tmp_path / "corpus.parquet", article)
    report = run_fast([str(source)], tmp_path / "out", RayExecutor(num_cpus=2, progress_bars=False))
    docs = {d["name"]: d for d in table(tmp_path / "out", "documents")}
    assert set(docs) == {"article", "broken"} and report.stats.pages == article.num_pages
    assert docs["article"]["status"] == "ok" and docs["broken"]["error_code"] == "corrupt"


def test_parse_lang_reaches_the_ocr_stage_and_unknown_languages_fail_clearly(tmp_path, article, capsys):
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(article.pdf)
    args = [str(pdf), "-s", "0", "-e", "0", "--executor", "local"]
    assert main(["parse", *args, "-o", str(tmp_path / "o"), "-l", "en"]) == 0
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["stages"]["ocr"]["lang"] == "en"
    assert main(["parse", *args, "-o", str(tmp_path / "o2"), "-l", "klingon"]) == 2
    assert "klingon" in capsys.readouterr().err
