"""Manifest inputs: .jsonl / .ndjson / .csv / .txt files and Parquet without bytes that list document URIs."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from docray.operators.ingest_inputs import expand_inputs
from docray.operators.ingest_manifest import (
    ManifestEntry,
    manifest_source_column,
    parse_csv,
    parse_jsonl,
    parse_txt,
    resolve_uri,
)
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import load_pipeline
from docray.testing.pdfs import simple_pdf


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """pdfs/a.pdf, pdfs/b.pdf and pdfs/sub/a.pdf (same stem as pdfs/a.pdf), each a real PDF."""
    for relative, text in (("pdfs/a.pdf", "Alpha page {page}"), ("pdfs/b.pdf", "Bravo page {page}"),
                           ("pdfs/sub/a.pdf", "Second alpha {page}")):  # fmt: skip
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(simple_pdf(1, text=text))
    return tmp_path


def rows(found) -> dict[str, str]:
    return {f["source"]: f["name"] for f in found.files}


# --------------------------------------------------------------------------- pure parsing


def test_parse_txt_skips_blanks_and_comments():
    assert parse_txt("a.pdf\n\n  # a comment\n s3://b/c.pdf  \n") == [
        ManifestEntry("a.pdf"),
        ManifestEntry("s3://b/c.pdf"),
    ]


def test_parse_jsonl_strings_and_objects():
    text = '"a.pdf"\n\n{"source": "b.pdf", "name": "Bee"}\n{"path": "c.pdf"}\n{"url": "s3://x/d.pdf", "name": ""}\n{"uri": "e.pdf"}\n'
    assert parse_jsonl(text) == [
        ManifestEntry("a.pdf"),
        ManifestEntry("b.pdf", "Bee"),
        ManifestEntry("c.pdf"),
        ManifestEntry("s3://x/d.pdf"),
        ManifestEntry("e.pdf"),
    ]


@pytest.mark.parametrize("line", ['{"file": "a.pdf"}', "42", "{broken", '{"source": null}'])
def test_parse_jsonl_rejects_lines_it_cannot_use_naming_the_line(line):
    with pytest.raises(ValueError, match="m.jsonl line 2"):
        parse_jsonl(f'"ok.pdf"\n{line}\n', "m.jsonl")


def test_parse_csv_with_and_without_header():
    assert parse_csv("name,Path,lang\nFirst,a.pdf,en\n,b.pdf,de\n\n") == [
        ManifestEntry("a.pdf", "First"),
        ManifestEntry("b.pdf"),
    ]
    assert parse_csv("a.pdf,x\nb.pdf\n") == [ManifestEntry("a.pdf"), ManifestEntry("b.pdf")]
    with pytest.raises(ValueError, match="no URI"):
        parse_csv("source,name\n,orphan\n")


def test_parquet_manifest_needs_a_source_column_and_no_bytes():
    assert (
        manifest_source_column(pa.schema([("id", pa.int64()), ("url", pa.string()), ("path", pa.string())])) == "path"
    )
    assert manifest_source_column(pa.schema([("path", pa.string()), ("bytes", pa.binary())])) is None
    assert manifest_source_column(pa.schema([("content", pa.large_binary()), ("source", pa.string())])) is None
    assert manifest_source_column(pa.schema([("title", pa.string())])) is None


def test_resolve_uri():
    assert resolve_uri("sub/a.pdf", "/data/lists") == "/data/lists/sub/a.pdf"
    assert resolve_uri("../a.pdf", "/data/lists") == "/data/a.pdf"
    assert resolve_uri("/abs/a.pdf", "s3://bucket/lists") == "/abs/a.pdf"
    assert resolve_uri("file:///abs/./a.pdf", "/x") == "/abs/a.pdf"
    assert resolve_uri("docs/a.pdf", "s3://bucket/lists") == "s3://bucket/lists/docs/a.pdf"
    assert resolve_uri("../a.pdf", "s3://bucket/lists") == "s3://bucket/a.pdf"
    assert resolve_uri("a.pdf", "memory:///dir") == "memory:///dir/a.pdf"
    assert resolve_uri("gs://other/a.pdf", "s3://bucket/lists") == "gs://other/a.pdf"


# --------------------------------------------------------------------------- expand_inputs


def test_jsonl_manifest_relative_paths_names_and_duplicates(corpus):
    manifest = corpus / "lists" / "m.jsonl"
    manifest.parent.mkdir()
    lines = [
        json.dumps("../pdfs/a.pdf"),
        json.dumps({"path": "../pdfs/b.pdf", "name": "report 2024/b"}),
        json.dumps({"source": str(corpus / "pdfs" / "sub" / "a.pdf")}),
        "",
        json.dumps({"uri": "../pdfs/./a.pdf"}),  # the same document again
        json.dumps({"url": "s3://bucket/remote.pdf"}),
    ]
    manifest.write_text("\n".join(lines) + "\n")
    found = expand_inputs([str(manifest)])
    a, sub_a = str(corpus / "pdfs" / "a.pdf"), str(corpus / "pdfs" / "sub" / "a.pdf")
    names = rows(found)
    assert set(names) == {a, str(corpus / "pdfs" / "b.pdf"), sub_a, "s3://bucket/remote.pdf"}
    assert names[str(corpus / "pdfs" / "b.pdf")] == "report 2024_b"  # manifest name, made path-safe
    assert names["s3://bucket/remote.pdf"] == "remote"
    assert names[a] != names[sub_a] and names[a].startswith("a_")  # equal stems made unique
    assert any("skipped 1 duplicate entry" in w for w in found.warnings)
    assert found.parquet == []


def test_csv_txt_and_ndjson_manifests(corpus):
    (corpus / "m.csv").write_text("path,name\npdfs/a.pdf,Alpha\npdfs/b.pdf,\n")
    (corpus / "m.txt").write_text("# corpus\npdfs/sub/a.pdf\n\n")
    (corpus / "m.ndjson").write_text('"pdfs/b.pdf"\n')
    found = expand_inputs([str(corpus / "m.csv"), str(corpus / "m.txt"), str(corpus / "m.ndjson")])
    names = rows(found)
    assert names == {
        str(corpus / "pdfs" / "a.pdf"): "Alpha",
        str(corpus / "pdfs" / "b.pdf"): "b",
        str(corpus / "pdfs" / "sub" / "a.pdf"): "a",
    }
    assert any("m.ndjson: skipped 1 duplicate entry" in w for w in found.warnings)


def test_parquet_manifest_versus_parquet_with_bytes(corpus):
    listing = pa.table({"uri": ["pdfs/a.pdf", None, "pdfs/b.pdf"], "name": ["first", None, None], "n": [1, 2, 3]})
    pq.write_table(listing, corpus / "list.parquet")
    carrying = pa.table({"path": ["x.pdf"], "bytes": [simple_pdf(1)]})
    pq.write_table(carrying, corpus / "carrying.parquet")
    found = expand_inputs([str(corpus / "list.parquet"), str(corpus / "carrying.parquet")])
    assert rows(found) == {str(corpus / "pdfs" / "a.pdf"): "first", str(corpus / "pdfs" / "b.pdf"): "b"}
    assert found.parquet == [str(corpus / "carrying.parquet")]
    assert any("skipped 1 row(s) without a URI" in w for w in found.warnings)


def test_manifest_on_another_filesystem_resolves_there():
    fs = fsspec.filesystem("memory")
    fs.pipe_file("/manifests/lists/m.txt", b"../docs/a.pdf\ns3://bucket/b.pdf\n")
    fs.pipe_file("/manifests/docs/a.pdf", b"%PDF-1.4")  # a .txt is a manifest when its lines are files or URLs
    found = expand_inputs(["memory:///manifests/lists/m.txt"])
    assert rows(found) == {"memory:///manifests/docs/a.pdf": "a", "s3://bucket/b.pdf": "b"}
    assert found.decisions == ["memory:///manifests/lists/m.txt: read as a manifest: each of its 2 lines is a URL or an existing file"]


def test_txt_csv_jsonl_are_manifests_only_by_content_or_by_option(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "notes.txt").write_text("a.pdf\nsee the other folder\n")  # one line is no document: a document
    (tmp_path / "table.csv").write_text("title,year\nx,2020\n")  # no source-like column: a document
    (tmp_path / "log.jsonl").write_text('{"event": "start"}\n')  # first line names no document: a document
    found = expand_inputs([str(tmp_path / n) for n in ("notes.txt", "table.csv", "log.jsonl")])
    assert sorted(rows(found)) == sorted(str(tmp_path / n) for n in ("notes.txt", "table.csv", "log.jsonl"))
    assert all("read as a document, not a manifest" in d for d in found.decisions) and len(found.decisions) == 3
    assert "entry 2 ('see the other folder') is neither a URL nor an existing file" in found.decisions[0]
    forced = expand_inputs([], manifests=[str(tmp_path / "notes.txt")])  # --manifest: read as one whatever it holds
    assert rows(forced) == {str(tmp_path / "a.pdf"): "a", str(tmp_path / "see the other folder"): "see the other folder"}
    with pytest.raises(ValueError, match="no such file"):
        expand_inputs([], manifests=[str(tmp_path / "absent.txt")])


def test_empty_manifest_warns_and_missing_manifest_is_a_row(tmp_path):
    (tmp_path / "empty.txt").write_text("\n# nothing\n")
    found = expand_inputs([str(tmp_path / "absent.jsonl")], manifests=[str(tmp_path / "empty.txt")])
    assert any("lists no documents" in w for w in found.warnings)
    assert rows(found) == {str(tmp_path / "absent.jsonl"): "absent"}  # becomes a not_found row
    assert found.missing == [str(tmp_path / "absent.jsonl")]  # reported before any work


def test_malformed_manifest_fails_before_any_work(tmp_path):
    (tmp_path / "bad.jsonl").write_text('"a.pdf"\n{"title": "no uri"}\n')
    with pytest.raises(ValueError, match="bad.jsonl line 2"):
        expand_inputs([str(tmp_path / "bad.jsonl")])


# --------------------------------------------------------------------------- through the pipeline


def test_manifest_entries_become_rows_missing_ones_not_found(corpus, tmp_path):
    manifest = corpus / "m.jsonl"
    manifest.write_text(
        "\n".join(json.dumps(x) for x in ({"path": "pdfs/a.pdf", "name": "alpha"}, "pdfs/b.pdf", "pdfs/missing.pdf"))
    )
    out = tmp_path / "out"
    report = run_pipeline(load_pipeline("fast"), [str(manifest)], str(out), executor=LocalExecutor())
    docs = {d["name"]: d for d in pads.dataset(out / "documents", format="parquet").to_table().to_pylist()}
    assert set(docs) == {"alpha", "b", "missing"} and report.inputs == 3
    assert docs["missing"]["status"] == "error" and docs["missing"]["error_code"] == "not_found"
    assert docs["missing"]["source"] == str(corpus / "pdfs" / "missing.pdf")
    assert docs["alpha"]["status"] == docs["b"]["status"] == "ok"
    assert "Alpha page 1" in (out / "files" / "alpha" / "auto" / "alpha.md").read_text()
    assert "Bravo page 1" in (out / "files" / "b" / "auto" / "b.md").read_text()
