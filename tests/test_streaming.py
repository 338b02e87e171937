"""One streaming pass per run: segment rows between render and assemble, long documents joined, Parquet inputs.

Real PDFs (``docray.testing``), real local Ray on this machine's CPUs; outputs compared with the in-process
executor, which runs the same operators one document at a time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from docray.operators.render import RenderOperator
from docray.pipelines.executors import LocalExecutor, RayExecutor
from docray.pipelines.outputs import ResultWriter
from docray.pipelines.plan import build_plan
from docray.pipelines.runner import run_pipeline
from docray.pipelines.segments import SEGMENTS_DIR, RenderSegments, explode, nest, segment_keys, segment_schema
from docray.pipelines.spec import OutputSpec, apply_overrides, load_pipeline
from docray.testing.corpus import write_corpus
from docray.testing.pdfs import scanned_page, two_column_article


def rows(out: Path, table: str = "documents") -> list[dict]:
    return pads.dataset(out / table, format="parquet", partitioning="hive").to_table().to_pylist()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    # 1 to 5 pages: with segment_pages=2 most documents are several segments, joined after the pass
    return write_corpus(tmp_path_factory.mktemp("streaming"), 10, corrupt_fraction=0.2, pages=(1, 5), seed=3)


def test_render_segments_split_long_documents_and_mark_the_last():
    article = two_column_article(pages=3).pdf
    batch = pa.table({"doc_id": ["a", "b"], "source": ["a.pdf", "b.pdf"], "name": ["a", "b"], "kind": ["pdf", "pdf"],
                      "bytes": [article, b"not a pdf"]})  # fmt: skip
    plan = build_plan(apply_overrides(load_pipeline("fast"), ["render.segment_pages=2", "render.timeout_s=null"]))
    stage = plan.stage("render")
    render = RenderSegments(stage.config.model_dump(mode="json"), stage.output_schema)
    segments = pa.concat_tables(list(render(batch)))
    keys = segment_keys(segments)
    assert [(k[0], k[2], k[3]) for k in keys] == [("a.pdf", 0, False), ("a.pdf", 1, True), ("b.pdf", 0, True)]
    pages, owner = explode(segments)
    assert owner == [0, 0, 1, 2]
    assert pages.column("page_idx").to_pylist() == [0, 1, 2, -1]  # b failed before it had pages: one error row
    # nesting the exploded pages again gives the same segments
    again = nest(pages, keys, owner, segment_schema(stage.output_schema))
    assert again.equals(segments.cast(again.schema))
    whole = RenderOperator(stage.config, output_schema=stage.output_schema).render_table(batch)
    assert whole.column("page_idx").to_pylist() == pages.column("page_idx").to_pylist()


@pytest.mark.ray
def test_ray_one_pass_with_segments_matches_local(tmp_path, corpus):
    spec = apply_overrides(load_pipeline("fast"), ["render.segment_pages=2"])
    local = run_pipeline(spec, [str(corpus.directory)], str(tmp_path / "local"), executor=LocalExecutor())
    ray_run = run_pipeline(spec, [str(corpus.directory)], str(tmp_path / "ray"),
                           executor=RayExecutor(num_cpus=2, progress_bars=False), shard_size=4)  # fmt: skip
    assert ray_run.complete and ray_run.shards == 3 and ray_run.executor == "ray"
    assert ray_run.stats.documents == len(corpus.paths) and ray_run.stats.pages == local.stats.pages
    assert any(n > 2 for n in corpus.pages.values())  # some documents were joined from staged segments

    def key(table):
        return {r["source"]: (r["status"], r["error_code"], r["markdown"], r["num_pages"]) for r in table}

    assert key(rows(tmp_path / "ray")) == key(rows(tmp_path / "local"))
    pages = [(r["source"], r["page_idx"]) for r in rows(tmp_path / "ray", "pages")]
    assert len(pages) == len(set(pages)) == sum(corpus.pages.values())
    assert not (tmp_path / "ray" / SEGMENTS_DIR).exists()  # staged segments are removed once joined
    markers = sorted((tmp_path / "ray" / "_docray" / "shards").glob("*.json"))
    assert [json.loads(m.read_text())["missing"] for m in markers] == [[], [], []]
    manifest = json.loads((tmp_path / "ray" / "run.json").read_text())
    assert manifest["report"]["executor"] == "ray"


def _parquet_input(directory: Path) -> tuple[Path, list[str]]:
    article = two_column_article(pages=2).pdf
    docs = {"s3://corpus/article.pdf": article, "s3://corpus/scan.pdf": scanned_page(),
            "s3://corpus/broken.pdf": b"%PDF-1.7 broken"}  # fmt: skip
    directory.mkdir()
    items = list(docs.items())
    for k, (source, data) in enumerate(items):  # one document per file: three Parquet files, one stream
        pq.write_table(pa.table({"source": [source], "bytes": [data]}), directory / f"part-{k}.parquet")
    return directory, sorted(docs)


@pytest.mark.ray
@pytest.mark.parametrize("pipeline", ["fast", "fast-math", "standard", "ocr"])
def test_every_pipeline_finishes_over_parquet_input_on_two_cpus(tmp_path, pipeline):
    """The Parquet read asks for a fraction of a CPU: it runs beside the model pools that hold most of them."""
    directory, sources = _parquet_input(tmp_path / "in")
    out = tmp_path / "out"
    report = run_pipeline(load_pipeline(pipeline), [str(directory)], str(out),
                          executor=RayExecutor(num_cpus=2, progress_bars=False))  # fmt: skip
    assert report.complete and report.shards == 1
    docs = {r["source"]: r for r in rows(out)}
    assert sorted(docs) == sources
    assert docs["s3://corpus/broken.pdf"]["status"] == "error"
    assert docs["s3://corpus/article.pdf"]["status"] == "ok" and docs["s3://corpus/article.pdf"]["markdown"]
    scan = docs["s3://corpus/scan.pdf"]
    if pipeline.startswith("fast"):  # no OCR stage: the scan's page has no text
        assert (scan["status"], scan["error_code"]) == ("error", "needs_ocr")
    else:
        assert scan["status"] == "ok" and scan["markdown"].strip()
        assert set(report.setups) >= {"layout", "ocr", "table"}  # each model stage set up ...
        assert all(n == 1 for n in report.setups.values()), report.setups  # ... once (one actor, one pass)
    again = run_pipeline(load_pipeline(pipeline), [str(directory)], str(out),
                         executor=RayExecutor(num_cpus=2, progress_bars=False))  # fmt: skip
    assert again.stats.documents == 0 and again.output_documents == 3  # resumed: nothing ran again


@pytest.fixture(scope="module")
def scripted_vlm_server():
    """A scripted OpenAI-compatible VLM on loopback: MinerU2.5's prompts (vlm) and general handwriting's."""
    from docray.operators.vlmparse.prompts import load_contexts
    from docray.testing import mineru25_script
    from docray.testing.vlm_scripted import ScriptedVlm
    from docray.vlm_serve import VlmServer

    lines = json.dumps([{"text": "Handwritten line one", "bbox": [80, 40, 700, 90]}])
    handwriting = (load_contexts()["general_handwriting"].page.prompt[:60], lines)
    with VlmServer(ScriptedVlm([handwriting, *mineru25_script.rules()])) as server:
        yield server


@pytest.mark.ray
@pytest.mark.parametrize("pipeline", ["vlm", "handwriting"])
def test_vlm_pipelines_finish_over_parquet_input_on_two_cpus(tmp_path, pipeline, scripted_vlm_server):
    """The VLM pipelines (a scripted model behind the http engine: the bundled models cannot run here) over the
    same 3-file Parquet input: every document one row, the VLM actor set up once, the rerun resumes."""
    directory, sources = _parquet_input(tmp_path / "in")
    spec = apply_overrides(load_pipeline(pipeline), [
        f"vlm.engine={{kind: http, url: '{scripted_vlm_server.url}', max_concurrency: 4}}", "vlm.resources.num_gpus=0",
    ])  # fmt: skip
    out = tmp_path / "out"
    report = run_pipeline(spec, [str(directory)], str(out), executor=RayExecutor(num_cpus=2, progress_bars=False))
    assert report.complete and report.shards == 1
    docs = {r["source"]: r for r in rows(out)}
    assert sorted(docs) == sources
    assert docs["s3://corpus/broken.pdf"]["status"] == "error"
    expected = "Handwritten line one" if pipeline == "handwriting" else "# 1 Introduction"
    for source in ("s3://corpus/article.pdf", "s3://corpus/scan.pdf"):  # the model reads scans and text layers alike
        assert docs[source]["status"] == "ok", docs[source]["error"]
        assert expected in docs[source]["markdown"]
    assert report.setups == {"vlm": 1}  # the model stage set up once (one actor, one pass)
    again = run_pipeline(spec, [str(directory)], str(out), executor=RayExecutor(num_cpus=2, progress_bars=False))
    assert again.stats.documents == 0 and again.output_documents == 3  # resumed: nothing ran again


def test_writer_shards_are_directories(tmp_path):
    writer = ResultWriter(str(tmp_path), OutputSpec(), "auto").for_shard("r-00001")
    assert writer.part_path(str(tmp_path), "documents", "x").endswith("documents/shard=r-00001/part-x.parquet")


def test_parse_of_a_small_job_runs_in_process_and_keeps_mineru_debug_files(tmp_path, capsys):
    from docray.cli import main

    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(two_column_article(pages=2).pdf)
    assert main(["parse", str(pdf), "-o", str(tmp_path / "out"), "--pipeline", "fast"]) == 0
    assert "(local executor)" in capsys.readouterr().out  # auto: a small job starts no Ray
    folder = tmp_path / "out" / "paper" / "auto"
    assert (folder / "paper_layout.pdf").stat().st_size > 0 and (folder / "paper_span.pdf").stat().st_size > 0
    assert "layout_pdf" not in load_pipeline("standard").output.files  # corpus runs: debug PDFs only when asked
