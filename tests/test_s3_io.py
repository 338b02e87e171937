"""The fast pipeline reading from and writing to S3: a real S3-compatible server on loopback (moto's server
mode), credentials only from docray.json's ``bucket_info`` (no AWS_* environment), local executor and Ray."""

from __future__ import annotations

import json
import os

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from pyarrow.fs import FSSpecHandler, PyFileSystem

from docray.pipelines.executors import LocalExecutor, RayExecutor
from docray.pipelines.runner import run_pipeline
from docray.pipelines.spec import load_pipeline
from docray.schema import ErrorCode
from docray.testing.pdfs import corrupt_pdf, simple_pdf
from docray.testing.s3 import S3Server

IN, OUT = "docray-in", "docray-out"  # S3 bucket names have at least 3 characters
TEXTS = {"alpha": "Alpha on S3, page {page}", "bravo": "Bravo on S3, page {page}"}


@pytest.fixture(scope="module")
def s3():
    """The server with s3://docray-in/pdfs/{alpha,bravo,broken}.pdf, a manifest and a Parquet input."""
    with S3Server() as server:
        server.make_bucket(IN)
        server.make_bucket(OUT)
        fs = server.filesystem()
        for name, text in TEXTS.items():
            fs.pipe_file(f"{IN}/pdfs/{name}.pdf", simple_pdf(1, text=text))  # one page: a line repeated on
            # every page would be removed as a running header
        fs.pipe_file(f"{IN}/pdfs/broken.pdf", corrupt_pdf())
        manifest = [
            {"source": f"s3://{IN}/pdfs/alpha.pdf", "name": "first"},
            "../pdfs/bravo.pdf",  # relative to the manifest's folder on S3
            {"uri": f"s3://{IN}/pdfs/absent.pdf"},
        ]
        fs.pipe_file(f"{IN}/lists/m.jsonl", "\n".join(json.dumps(e) for e in manifest).encode())
        rows = [{"path": "s3://elsewhere/carried.pdf", "bytes": simple_pdf(1, text="Carried in Parquet {page}")}]
        with fs.open(f"{IN}/parquet/corpus.parquet", "wb") as handle:
            pq.write_table(pa.Table.from_pylist(rows), handle)
        yield server


@pytest.fixture
def config_only(s3, tmp_path, monkeypatch):
    """Credentials from docray.json alone: DOCRAY_CONFIG set, every AWS_* variable removed."""
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "docray.json"
    path.write_text(json.dumps(s3.bucket_info_config(IN, OUT)))
    monkeypatch.setenv("DOCRAY_CONFIG", str(path))
    return path


def documents(s3: S3Server, out: str) -> dict[str, dict]:
    """The documents table under s3://docray-out/<out>, read with pyarrow through s3fs, by name."""
    filesystem = PyFileSystem(FSSpecHandler(s3.filesystem()))
    table = pads.dataset(f"{OUT}/{out}/documents", filesystem=filesystem, format="parquet").to_table()
    return {row["name"]: row for row in table.to_pylist()}


def check_files(s3: S3Server, out: str, name: str, text: str) -> None:
    fs = s3.filesystem()
    folder = f"{OUT}/{out}/files/{name}/auto"
    assert text.format(page=1) in fs.cat_file(f"{folder}/{name}.md").decode()
    content = json.loads(fs.cat_file(f"{folder}/{name}_content_list.json"))
    assert [b["text"] for b in content if b.get("text")] == [text.format(page=1)]
    assert fs.exists(f"{folder}/{name}_middle.json")


def check_directory_run(s3: S3Server, out: str) -> None:
    docs = documents(s3, out)
    assert set(docs) == {"alpha", "bravo", "broken"}
    assert {d["source"] for d in docs.values()} == {f"s3://{IN}/pdfs/{n}.pdf" for n in docs}
    assert docs["alpha"]["status"] == docs["bravo"]["status"] == "ok"
    assert docs["broken"]["status"] == "error" and docs["broken"]["error_code"] == ErrorCode.CORRUPT.value
    for name, text in TEXTS.items():
        check_files(s3, out, name, text)
    run = json.loads(s3.filesystem().cat_file(f"{OUT}/{out}/run.json"))
    assert run["report"]["documents"] == 3


def test_local_executor_s3_directory_in_s3_out(s3, config_only):
    report = run_pipeline(load_pipeline("fast"), [f"s3://{IN}/pdfs/"], f"s3://{OUT}/local1", executor=LocalExecutor())
    assert report.inputs == 3 and report.stats.documents == 3 and report.complete
    check_directory_run(s3, "local1")


def test_local_executor_s3_manifest_and_parquet_input(s3, config_only):
    inputs = [f"s3://{IN}/lists/m.jsonl", f"s3://{IN}/parquet/corpus.parquet"]
    run_pipeline(load_pipeline("fast"), inputs, f"s3://{OUT}/local2", executor=LocalExecutor())
    docs = documents(s3, "local2")
    assert set(docs) == {"first", "bravo", "absent", "carried"}
    assert docs["first"]["source"] == f"s3://{IN}/pdfs/alpha.pdf" and docs["first"]["status"] == "ok"
    assert docs["bravo"]["source"] == f"s3://{IN}/pdfs/bravo.pdf" and docs["bravo"]["status"] == "ok"
    assert docs["absent"]["error_code"] == ErrorCode.NOT_FOUND.value
    assert docs["carried"]["source"] == "s3://elsewhere/carried.pdf" and docs["carried"]["status"] == "ok"
    check_files(s3, "local2", "first", TEXTS["alpha"])
    check_files(s3, "local2", "carried", "Carried in Parquet {page}")


@pytest.mark.ray
def test_ray_executor_s3_in_s3_out(s3, config_only):
    import ray

    ray.shutdown()  # a Ray started by another test would not have DOCRAY_CONFIG in its workers' environment
    try:
        inputs = [f"s3://{IN}/pdfs/", f"s3://{IN}/parquet/corpus.parquet"]
        executor = RayExecutor(num_cpus=2, progress_bars=False)
        run_pipeline(load_pipeline("fast"), inputs, f"s3://{OUT}/ray1", executor=executor)
    finally:
        ray.shutdown()
    docs = documents(s3, "ray1")
    assert set(docs) == {"alpha", "bravo", "broken", "carried"}
    assert docs["broken"]["error_code"] == ErrorCode.CORRUPT.value and docs["carried"]["status"] == "ok"
    for name, text in TEXTS.items():
        check_files(s3, "ray1", name, text)
    assert json.loads(s3.filesystem().cat_file(f"{OUT}/ray1/run.json"))["report"]["documents"] == 4
