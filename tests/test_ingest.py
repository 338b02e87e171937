"""Input expansion, format sniffing and the ingest operator, on real files and real bytes."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import docray.schema
from docray.operators.base import DocrayError
from docray.operators.ingest import (
    IngestConfig,
    IngestOperator,
    describe_head,
    expand_inputs,
    read_document,
    sniff_format,
    sources_from_parquet,
)
from docray.schema import DocKind, ErrorCode
from docray.testing import pdfs

SOURCES_SCHEMA = pa.schema([docray.schema.field(c) for c in ("source", "name", "bytes")])


def sha1_8(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    return pdfs.simple_pdf(2)


@pytest.fixture
def tree(tmp_path: Path, pdf_bytes: bytes) -> Path:
    """docs/ with nested supported files, an unsupported one and hidden ones."""
    root = tmp_path / "docs"
    for relative in ("a.pdf", "sub/b.PDF", "sub/deeper/c.png", "d.jpeg", "e.TIFF", "f.webp", "g.jpg", "h.tif"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(pdf_bytes)
    (root / "notes.txt").write_text("not a document")
    (root / ".hidden.pdf").write_bytes(pdf_bytes)
    (root / ".cache").mkdir()
    (root / ".cache" / "x.pdf").write_bytes(pdf_bytes)
    return root


@pytest.fixture
def memory_root():
    fs = fsspec.filesystem("memory")
    root = f"/docray-test-{uuid.uuid4().hex}"
    yield fs, root
    fs.rm(root, recursive=True)


# --------------------------------------------------------------------------- expand_inputs


def test_directory_is_searched_recursively_for_supported_files(tree: Path) -> None:
    found = expand_inputs([str(tree)])
    expected = ["a.pdf", "d.jpeg", "e.TIFF", "f.webp", "g.jpg", "h.tif", "sub/b.PDF", "sub/deeper/c.png"]
    assert [f["source"] for f in found.files] == sorted(str(tree / p) for p in expected)
    assert {f["name"] for f in found.files} == {"a", "b", "c", "d", "e", "f", "g", "h"}
    assert all(f["bytes"] is None for f in found.files)
    assert found.parquet == []
    assert any("skipped 1 file" in w for w in found.warnings)  # notes.txt


def test_glob_and_url_forms_name_the_same_files(tree: Path) -> None:
    by_glob = expand_inputs([f"{tree}/**/*.pdf"])
    assert [Path(f["source"]).name for f in by_glob.files] == ["a.pdf"]  # globs are case-sensitive
    assert expand_inputs([f"{tree}/sub/*"]).files == expand_inputs([str(tree / "sub")]).files
    as_url = expand_inputs([f"file://{tree}/a.pdf", str(tree / "a.pdf"), f"{tree}/a.pdf"])
    assert as_url.files == [{"source": str(tree / "a.pdf"), "name": "a", "bytes": None}]


def test_relative_paths_become_absolute(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    assert expand_inputs(["sub/b.PDF"]).files[0]["source"] == str(tree / "sub" / "b.PDF")


def test_missing_paths_still_become_rows(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.pdf")
    found = expand_inputs([missing, str(tmp_path / "no-glob-match-*.pdf")])
    assert found.files == [{"source": missing, "name": "nope", "bytes": None}]
    assert any("no supported documents match" in w for w in found.warnings)


def test_explicit_file_is_kept_whatever_its_suffix(tree: Path) -> None:
    # .txt/.csv/.jsonl files that list documents are manifests (tests/test_manifests.py); anything else is a document
    (tree / "notes.rtf").write_text("not a document")
    assert [f["name"] for f in expand_inputs([str(tree / "notes.rtf")]).files] == ["notes"]


def test_duplicate_stems_get_a_source_hash(tree: Path) -> None:
    (tree / "other").mkdir()
    (tree / "other" / "A.pdf").write_bytes(b"%PDF-1.4")
    found = expand_inputs([str(tree / "a.pdf"), str(tree / "other"), str(tree / "d.jpeg")])
    names = {f["source"]: f["name"] for f in found.files}
    first, second = str(tree / "a.pdf"), str(tree / "other" / "A.pdf")
    assert names == {first: f"a_{sha1_8(first)}", second: f"A_{sha1_8(second)}", str(tree / "d.jpeg"): "d"}


def test_names_are_filesystem_safe(tmp_path: Path) -> None:
    odd = tmp_path / 'we:ird*na"me?.pdf'
    odd.write_bytes(b"%PDF-1.4")
    (name,) = [f["name"] for f in expand_inputs([str(tmp_path)]).files]
    assert name == "we_ird_na_me_" and "/" not in name


def test_directory_without_documents_yields_a_warning(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "x.md").write_text("# hi")
    found = expand_inputs([str(tmp_path / "empty"), str(tmp_path / "texts")])
    assert found.empty
    assert sum("no supported documents" in w for w in found.warnings) == 2


def test_memory_urls(memory_root, pdf_bytes: bytes) -> None:
    fs, root = memory_root
    fs.pipe(f"{root}/x/one.pdf", pdf_bytes)
    fs.pipe(f"{root}/x/two.png", pdfs.image_file("png", size=(64, 64)))
    fs.pipe(f"{root}/x/skip.txt", b"text")
    found = expand_inputs([f"memory://{root}/x"])
    assert [f["source"] for f in found.files] == [f"memory://{root}/x/one.pdf", f"memory://{root}/x/two.png"]
    assert expand_inputs([f"memory://{root}/x/*.pdf"]).files == found.files[:1]
    assert read_document(found.files[0]["source"], None, 10_000_000) == pdf_bytes


def test_parquet_inputs_are_listed_separately(tmp_path: Path, tree: Path) -> None:
    table = pa.table({"bytes": [b"%PDF-1.4"]})
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    pq.write_table(table, dataset / "part-0.parquet")
    pq.write_table(table, dataset / "part-1.parquet")
    (dataset / "_SUCCESS").write_bytes(b"")
    single = tmp_path / "single.parquet"
    pq.write_table(table, single)
    pq.write_table(table, tree / "results.parquet")  # beside documents: not an input
    found = expand_inputs([str(dataset), str(single), str(tree)])
    assert found.parquet == sorted([str(dataset / "part-0.parquet"), str(dataset / "part-1.parquet"), str(single)])
    assert len(found.files) == 8
    assert any("ignored 1 Parquet" in w for w in found.warnings)


def test_unknown_protocol_is_a_plan_time_error() -> None:
    with pytest.raises(ValueError, match="nosuchproto"):
        expand_inputs(["nosuchproto://bucket/a.pdf"])


# --------------------------------------------------------------------------- sniffing and reading


@pytest.mark.parametrize(
    ("make", "kind", "mime"),
    [
        (lambda: pdfs.simple_pdf(1), DocKind.PDF, "application/pdf"),
        (lambda: b"junk before the header\n" + pdfs.simple_pdf(1), DocKind.PDF, "application/pdf"),
        (lambda: pdfs.image_file("png", size=(32, 32)), DocKind.IMAGE, "image/png"),
        (lambda: pdfs.image_file("jpeg", size=(32, 32)), DocKind.IMAGE, "image/jpeg"),
        (lambda: pdfs.image_file("tiff", size=(32, 32)), DocKind.IMAGE, "image/tiff"),
        (lambda: b"MM\x00*" + b"\x00" * 60, DocKind.IMAGE, "image/tiff"),  # big-endian TIFF
        (lambda: pdfs.image_file("webp", size=(32, 32)), DocKind.IMAGE, "image/webp"),
    ],
)
def test_sniff_format_recognises_supported_documents(make, kind: DocKind, mime: str) -> None:
    assert sniff_format(make()[:1024]) == (kind, mime)


@pytest.mark.parametrize(
    "head", [pdfs.not_a_pdf(), b"", b"GIF89a...", b"x" * 1024 + b"%PDF-1.4", b"RIFF\x00\x00\x00\x00WAVEfmt "]
)
def test_sniff_format_rejects_everything_else(head: bytes) -> None:
    assert sniff_format(head) is None


def test_describe_head_says_what_it_looks_like() -> None:
    assert describe_head(pdfs.not_a_pdf()).startswith("starts with b'404 Not Found")
    assert "plain text" in describe_head(pdfs.not_a_pdf())
    assert "HTML" in describe_head(b"<?xml version='1.0'?><svg/>")
    assert "ZIP" in describe_head(b"PK\x03\x04rest")
    assert "plain text" in describe_head(b"just some notes\n")


def test_read_document_errors(tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * 5000)
    with pytest.raises(DocrayError) as missing:
        read_document(str(tmp_path / "missing.pdf"), None, 100)
    assert missing.value.code is ErrorCode.NOT_FOUND and "missing.pdf" in str(missing.value)
    with pytest.raises(DocrayError) as too_large:
        read_document(str(big), None, 1000)
    assert too_large.value.code is ErrorCode.TOO_LARGE and "5009 bytes" in str(too_large.value)
    with pytest.raises(DocrayError) as directory:
        read_document(str(tmp_path), None, 1000)
    assert directory.value.code is ErrorCode.READ_FAILED
    assert read_document(f"file://{big}", {}, 5009) == big.read_bytes()


# --------------------------------------------------------------------------- the operator


def run_ingest(rows: list[dict], **config) -> list[dict]:
    table = pa.Table.from_pylist(rows, schema=SOURCES_SCHEMA)
    operator = IngestOperator({"op": "ingest", **config}, output_schema=docray.schema.DOCUMENTS)
    out = operator(table)
    assert out.schema == docray.schema.DOCUMENTS
    return out.to_pylist()


def test_ingest_reads_every_input_into_one_row(tmp_path: Path) -> None:
    written = {
        "article.pdf": pdfs.two_column_article(1).pdf,
        "scan.png": pdfs.image_file("png", size=(64, 64)),
        "photo.jpg": pdfs.image_file("jpeg", size=(64, 64)),
        "page.tif": pdfs.image_file("tiff", size=(64, 64)),
        "page.webp": pdfs.image_file("webp", size=(64, 64)),
        "image_named.pdf": pdfs.image_file("png", size=(64, 64)),  # sniffed, not trusted by suffix
    }
    for filename, data in written.items():
        (tmp_path / filename).write_bytes(data)
    (tmp_path / "huge.pdf").write_bytes(pdfs.simple_pdf(1) + b"%" * 200_000)
    bad = pdfs.write_bad_inputs(tmp_path / "bad")
    inputs = expand_inputs([str(tmp_path), str(tmp_path / "gone.pdf")])
    inline = {"source": "inline://doc", "name": "inline", "bytes": pdfs.simple_pdf(1)}
    rows = run_ingest(inputs.files + [inline], max_bytes=100_000)
    assert [r["source"] for r in rows] == [f["source"] for f in inputs.files] + ["inline://doc"]
    by_name = {r["name"]: r for r in rows}
    page_names = {f"page_{sha1_8(str(tmp_path / f))}" for f in ("page.tif", "page.webp")}
    assert by_name.keys() >= page_names
    for filename, data in written.items():
        (row,) = [r for r in rows if r["source"] == str(tmp_path / filename)]
        assert row["status"] == "ok" and row["error_code"] is None
        assert row["doc_id"] == hashlib.sha256(data).hexdigest()
        assert row["bytes"] == data and row["size_bytes"] == len(data)
        assert row["timings"] and "ingest" in dict(row["timings"])
    assert (by_name["article"]["kind"], by_name["article"]["mime"]) == ("pdf", "application/pdf")
    assert (by_name["image_named"]["kind"], by_name["image_named"]["mime"]) == ("image", "image/png")
    assert by_name["photo"]["mime"] == "image/jpeg"
    assert by_name["inline"]["status"] == "ok" and by_name["inline"]["kind"] == "pdf"

    # Bad inputs that ingest itself catches; the rest (corrupt, encrypted...) are PDFs to ingest.
    assert by_name["gone"]["error_code"] == ErrorCode.NOT_FOUND.value
    assert by_name["huge"]["error_code"] == ErrorCode.TOO_LARGE.value
    assert by_name["huge"]["doc_id"] is None and by_name["huge"]["size_bytes"] > 100_000
    for name, code in bad.items():
        row = by_name[name]
        if code in (ErrorCode.EMPTY_FILE, ErrorCode.UNSUPPORTED_FORMAT):
            assert row["error_code"] == code.value
        else:
            assert (row["status"], row["kind"]) == ("ok", "pdf"), name
    for row in rows:
        if row["status"] == "error":
            assert row["error"].startswith("ingest: ") and row["source"] in row["error"]
            assert row["bytes"] is None and row["kind"] is None and row["name"]
    assert by_name["empty"]["doc_id"] == hashlib.sha256(b"").hexdigest()
    assert by_name["not_a_pdf"]["doc_id"] == hashlib.sha256(pdfs.not_a_pdf()).hexdigest()
    assert "is not a PDF, image, Office, OpenDocument, HTML, EPUB or CSV document: starts with b'404" in by_name["not_a_pdf"]["error"]


def test_inline_bytes_over_the_limit_are_too_large() -> None:
    (row,) = run_ingest([{"source": "inline://big", "name": "big", "bytes": b"%PDF-" + b"0" * 100}], max_bytes=50)
    assert (row["status"], row["error_code"], row["size_bytes"], row["doc_id"]) == ("error", "too_large", 105, None)


def test_unreadable_protocol_is_a_read_failure() -> None:
    (row,) = run_ingest([{"source": "nosuchproto://x/a.pdf", "name": "a", "bytes": None}])
    assert row["error_code"] == ErrorCode.READ_FAILED.value and row["source"] == "nosuchproto://x/a.pdf"


def test_config_is_strict_and_documented() -> None:
    assert IngestConfig().max_bytes == 512 * 1024 * 1024
    with pytest.raises(ValueError):
        IngestConfig(max_byte=10)
    from docray.config import OperatorConfig

    own = set(IngestConfig.model_fields) - set(OperatorConfig.model_fields) | {"op"}
    assert own == {"op", "max_bytes", "storage_options", "bytes_column", "source_column"}
    assert all(IngestConfig.model_fields[name].description for name in own)
    assert IngestOperator.output_schema_for(SOURCES_SCHEMA, IngestConfig()) == docray.schema.DOCUMENTS


# --------------------------------------------------------------------------- Parquet input


def test_sources_from_parquet_with_a_path_column(tmp_path: Path) -> None:
    article, scan = pdfs.simple_pdf(1), pdfs.image_file("png", size=(32, 32))
    path = tmp_path / "docs.parquet"
    paths = ["s3://b/x/report.pdf", "s3://b/y/report.pdf", "s3://b/scan.png"]
    pq.write_table(pa.table({"path": paths, "bytes": [article, article, scan], "lang": ["en"] * 3}), path)
    sources = sources_from_parquet(pq.read_table(path), uri=str(path))
    assert sources.schema == SOURCES_SCHEMA
    assert sources.column("source").to_pylist() == ["s3://b/x/report.pdf", "s3://b/y/report.pdf", "s3://b/scan.png"]
    names = sources.column("name").to_pylist()
    assert names == [f"report_{sha1_8('s3://b/x/report.pdf')}", f"report_{sha1_8('s3://b/y/report.pdf')}", "scan"]
    rows = IngestOperator(output_schema=docray.schema.DOCUMENTS)(sources).to_pylist()
    assert [(r["status"], r["kind"]) for r in rows] == [("ok", "pdf"), ("ok", "pdf"), ("ok", "image")]
    assert rows[2]["doc_id"] == hashlib.sha256(scan).hexdigest()


def test_sources_from_parquet_without_a_source_column() -> None:
    data = pdfs.simple_pdf(1)
    digest = hashlib.sha256(data).hexdigest()
    table = pa.table({"content": pa.array([data, data, None], pa.large_binary())})
    sources = sources_from_parquet(table, uri="mem://in.parquet", bytes_column="content").to_pylist()
    empty = hashlib.sha256(b"").hexdigest()
    assert sources == [  # identical content is one document
        {"source": f"mem://in.parquet#sha256={digest}", "name": f"doc-{digest[:16]}", "bytes": data},
        {"source": f"mem://in.parquet#sha256={empty}", "name": f"doc-{empty[:16]}", "bytes": b""},
    ]
    rows = IngestOperator(output_schema=docray.schema.DOCUMENTS)(pa.Table.from_pylist(sources, schema=SOURCES_SCHEMA))
    assert rows.column("error_code").to_pylist() == [None, ErrorCode.EMPTY_FILE.value]


def test_sources_from_parquet_config_errors() -> None:
    table = pa.table({"path": ["a.pdf"], "data": [b"%PDF-1.4"], "text": ["x"]})
    with pytest.raises(ValueError, match=r"no column 'bytes'.*path, data, text"):
        sources_from_parquet(table, uri="in.parquet")
    with pytest.raises(ValueError, match="'url'"):
        sources_from_parquet(table, uri="in.parquet", bytes_column="data", source_column="url")
    with pytest.raises(ValueError, match="must be binary"):
        sources_from_parquet(table, uri="in.parquet", bytes_column="text")
    named = sources_from_parquet(table, uri="in.parquet", bytes_column="data", source_column="text")
    assert named.to_pylist() == [{"source": "x", "name": "x", "bytes": b"%PDF-1.4"}]
