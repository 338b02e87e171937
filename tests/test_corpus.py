"""docray.testing.corpus: many small distinct PDFs, some corrupt, as docray's ingest and render see them."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pyarrow.dataset as pads
import pypdfium2 as pdfium
import pytest

from docray.pipelines.executors import LocalExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import load_pipeline
from docray.testing.corpus import CORRUPT_KINDS, write_corpus


def test_counts_pages_and_distinct_documents(tmp_path):
    corpus = write_corpus(tmp_path / "c", 200, pages=(1, 3), seed=3)
    assert len(corpus.paths) == 200 and sorted(corpus.directory.iterdir()) == corpus.paths
    assert len(corpus.corrupt) == 10 and set(corpus.corrupt.values()) == set(CORRUPT_KINDS)
    assert set(corpus.good) == set(corpus.paths) - set(corpus.corrupt) and len(corpus.good) == 190
    assert set(corpus.pages.values()) == {1, 2, 3} and corpus.total_pages == sum(corpus.pages.values())
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in corpus.good}
    assert len(digests) == len(corpus.good), "every good PDF has its own doc_id"
    for path in corpus.good:
        document = pdfium.PdfDocument(str(path))
        try:
            assert len(document) == corpus.pages[path]
            first = document[0].get_textpage().get_text_range()
            last = document[len(document) - 1].get_textpage().get_text_range()
        finally:
            document.close()
        assert corpus.first_lines[path] in first
        index = int(path.stem.split("_")[1])
        assert f"Document {index} page {corpus.pages[path]} of {corpus.pages[path]} ends here." in last
    for path in corpus.corrupt:
        with pytest.raises(pdfium.PdfiumError):
            pdfium.PdfDocument(str(path))


def test_deterministic_in_seed_and_validates_arguments(tmp_path):
    first = write_corpus(tmp_path / "a", 30, corrupt_fraction=0.2, seed=5)
    again = write_corpus(tmp_path / "b", 30, corrupt_fraction=0.2, seed=5)
    other = write_corpus(tmp_path / "c", 30, corrupt_fraction=0.2, seed=6)

    def contents(corpus):
        return [p.read_bytes() for p in corpus.paths]

    assert contents(first) == contents(again)
    assert [p.name for p in first.corrupt] == [p.name for p in again.corrupt]
    assert contents(first) != contents(other)
    assert write_corpus(tmp_path / "d", 4, corrupt_fraction=0.0).corrupt == {}
    assert len(write_corpus(tmp_path / "e", 4, corrupt_fraction=1.0).good) == 0
    with pytest.raises(ValueError):
        write_corpus(tmp_path / "f", 3, pages=(0, 2))
    with pytest.raises(ValueError):
        write_corpus(tmp_path / "g", 3, corrupt_fraction=1.5)


def test_fast_pipeline_errors_exactly_the_corrupt_files(tmp_path):
    corpus = write_corpus(tmp_path / "c", 30, corrupt_fraction=1 / 3, seed=1)
    assert Counter(corpus.corrupt.values()) == {kind: 2 for kind in CORRUPT_KINDS}
    out = tmp_path / "out"
    report = run_pipeline(load_pipeline("fast"), [str(corpus.directory)], str(out), executor=LocalExecutor())
    assert report.complete and report.stats.pages == corpus.total_pages

    rows = pads.dataset(out / "documents", format="parquet").to_table().to_pylist()
    docs = {Path(d["source"]): d for d in rows}
    assert len(rows) == len(docs), "one row per source"
    assert set(docs) == set(corpus.paths)
    errors = {path for path, d in docs.items() if d["status"] == "error"}
    assert errors == set(corpus.corrupt)
    for path in corpus.corrupt:
        expected = corpus.expected_error(path).value
        assert docs[path]["error_code"] == expected, (corpus.corrupt[path], docs[path]["error"])
    for path in corpus.good:
        doc = docs[path]
        assert doc["status"] == "ok" and doc["num_pages"] == corpus.pages[path]
        md = (out / "files" / path.stem / "auto" / f"{path.stem}.md").read_text()
        assert md == doc["markdown"] and md.lstrip().startswith(f"# {corpus.first_lines[path]}")
        index = int(path.stem.split("_")[1])
        assert f"Document {index} page {corpus.pages[path]} of {corpus.pages[path]} ends here." in md
