"""Resume, exactly-once and shards: re-running a command skips finished documents; outputs hold each once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from docray.cli import main
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.outputs import ResultWriter
from docray.pipelines.resume import OutputState
from docray.pipelines.runner import plan_shards, run_pipeline
from docray.pipelines.spec import PipelineError, apply_overrides, load_pipeline
from docray.pipelines.status import collect_status, format_status
from docray.testing.corpus import write_corpus


def documents(out: Path, folder: str = "documents") -> list[dict]:
    table = pads.dataset(out / folder, format="parquet", partitioning="hive").to_table(
        columns=["source", "status", "error_code"]
    )
    return table.to_pylist()


def sources_of(out: Path, folder: str = "documents") -> list[str]:
    return sorted(row["source"] for row in documents(out, folder))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"), 12, corrupt_fraction=0.25, seed=7)


def fast():
    return load_pipeline("fast")


def test_shards_are_committed_with_markers_and_a_rerun_skips_everything(tmp_path, corpus):
    out = tmp_path / "out"
    first = run_pipeline(fast(), [str(corpus.directory)], str(out), executor=LocalExecutor(), shard_size=5)
    assert first.shards == 3 and first.complete and first.already_done == 0
    assert sources_of(out) == sorted(str(p) for p in corpus.paths)
    shard_dirs = sorted(p.name for p in (out / "documents").iterdir())
    assert len(shard_dirs) == 3 and all(d.startswith("shard=") for d in shard_dirs)
    markers = [json.loads(p.read_text()) for p in sorted((out / "_docray" / "shards").glob("*.json"))]
    assert [m["expected"] for m in markers] == [5, 5, 2] and all(m["missing"] == [] for m in markers)
    assert sum(m["status"].get("error", 0) for m in markers) == len(corpus.corrupt)
    # pages parts sit beside the documents parts, one per shard
    assert sorted(p.name for p in (out / "pages").iterdir()) == shard_dirs

    again = run_pipeline(fast(), [str(corpus.directory)], str(out), executor=LocalExecutor(), shard_size=5)
    assert again.already_done == len(corpus.paths) and again.stats.documents == 0 and again.shards == 0
    assert again.complete and again.output_documents == len(corpus.paths)
    assert sources_of(out) == sorted(str(p) for p in corpus.paths)


def test_a_partial_output_is_completed_and_new_inputs_are_added(tmp_path, corpus):
    out = tmp_path / "out"
    half = [str(p) for p in corpus.paths[:6]]
    run_pipeline(fast(), half, str(out), executor=LocalExecutor())
    report = run_pipeline(fast(), [str(corpus.directory)], str(out), executor=LocalExecutor())
    assert report.already_done == 6 and report.stats.documents == len(corpus.paths) - 6
    assert sources_of(out) == sorted(str(p) for p in corpus.paths)
    run = json.loads((out / "run.json").read_text())
    assert run["report"]["already_done"] == 6 and run["report"]["output"]["complete"] is True


def test_duplicated_rows_are_removed_on_the_next_run(tmp_path, corpus):
    out = tmp_path / "out"
    run_pipeline(fast(), [str(corpus.directory)], str(out), executor=LocalExecutor(), shard_size=100)
    parts = sorted((out / "documents").rglob("part-*.parquet"))
    assert len(parts) == 1
    # a retried write whose upstream was recomputed wrote the same documents under another part name
    for table in ("documents", "pages"):
        src = next((out / table).rglob(parts[0].name))
        shutil.copy(src, src.with_name("part-zzzz-retried.parquet"))
    writer = ResultWriter(str(out), fast().output, "auto")
    assert len(OutputState.scan(writer, repair=False).duplicates()) == len(corpus.paths)

    report = run_pipeline(fast(), [str(corpus.directory)], str(out), executor=LocalExecutor())
    assert report.duplicates_removed == len(corpus.paths) and report.complete
    assert sources_of(out) == sorted(str(p) for p in corpus.paths)
    pages = pads.dataset(out / "pages", format="parquet", partitioning="hive").to_table(columns=["source", "page_idx"])
    keys = list(zip(pages.column("source").to_pylist(), pages.column("page_idx").to_pylist()))
    assert len(keys) == len(set(keys)) == sum(corpus.pages.values())


def test_leftover_temp_files_and_unreadable_parts_are_cleaned_and_their_documents_run_again(tmp_path, corpus):
    out = tmp_path / "out"
    run_pipeline(fast(), [str(p) for p in corpus.paths[:4]], str(out), executor=LocalExecutor(), shard_size=2)
    shard_dirs = sorted((out / "documents").iterdir())
    victim = next(shard_dirs[0].glob("part-*.parquet"))
    lost = {r["source"] for r in pq.read_table(victim).to_pylist()}
    victim.write_bytes(victim.read_bytes()[:50])  # a part cut short by a filesystem without atomic rename
    (shard_dirs[1] / ".part-x.parquet.123.tmp").write_bytes(b"half a file")
    report = run_pipeline(fast(), [str(p) for p in corpus.paths[:4]], str(out), executor=LocalExecutor())
    assert report.already_done == 2 and report.stats.documents == len(lost) == 2
    assert not list((out / "documents").rglob(".*.tmp")) and not victim.exists()
    assert sources_of(out) == sorted(str(p) for p in corpus.paths[:4])


def test_retry_errors_reruns_error_rows_only(tmp_path, corpus):
    out = tmp_path / "out"
    run_pipeline(fast(), [str(corpus.directory)], str(out), executor=LocalExecutor())
    report = run_pipeline(fast(), [str(corpus.directory)], str(out), executor=LocalExecutor(), retry_errors=True)
    assert report.stats.documents == len(corpus.corrupt) == report.stats.by_status["error"]
    assert report.already_done == len(corpus.paths) - len(corpus.corrupt)
    rows = documents(out)
    assert sorted(r["source"] for r in rows) == sorted(str(p) for p in corpus.paths)
    assert {r["source"] for r in rows if r["status"] == "error"} == {str(p) for p in corpus.corrupt}


def test_a_different_pipeline_does_not_resume_into_an_output_but_fresh_starts_over(tmp_path, corpus):
    out = tmp_path / "out"
    inputs = [str(p) for p in corpus.paths[:3]]
    run_pipeline(fast(), inputs, str(out), executor=LocalExecutor())
    changed = apply_overrides(fast(), ["render.method=txt"])
    with pytest.raises(PipelineError, match="different pipeline"):
        run_pipeline(changed, inputs, str(out), executor=LocalExecutor())
    # runtime settings (batch size, resources) may change between runs
    resized = apply_overrides(fast(), ["render.batch_size=1", "render.resources.num_cpus=0.5"])
    assert run_pipeline(resized, inputs, str(out), executor=LocalExecutor()).already_done == 3
    fresh = run_pipeline(changed, inputs, str(out), executor=LocalExecutor(), fresh=True)
    assert fresh.already_done == 0 and fresh.stats.documents == 3 and len(documents(out)) == 3


def test_parquet_inputs_resume_by_source(tmp_path, corpus):
    good = corpus.good[:4]
    table = pa.table({"path": [str(p) for p in good], "bytes": [p.read_bytes() for p in good]})
    (tmp_path / "in").mkdir()
    pq.write_table(table.slice(0, 2), tmp_path / "in" / "a.parquet")
    pq.write_table(table.slice(2, 2), tmp_path / "in" / "b.parquet")
    out = tmp_path / "out"
    first = run_pipeline(fast(), [str(tmp_path / "in")], str(out), executor=LocalExecutor())
    assert first.shards == 1 and first.stats.documents == 4 and first.complete  # all Parquet inputs: one commit record
    again = run_pipeline(fast(), [str(tmp_path / "in")], str(out), executor=LocalExecutor())
    assert again.stats.documents == 0 and again.output_documents == 4
    assert sources_of(out) == sorted(str(p) for p in good)


def test_plan_shards_keeps_every_source_once():
    files = [{"source": f"/d/{i}.pdf", "name": str(i), "bytes": None} for i in range(7)]
    shards = plan_shards(files, [], 3, "r")
    assert [len(s.expected) for s in shards] == [3, 3, 1]
    assert [src for s in shards for src in s.expected] == [f["source"] for f in files]
    assert len({s.id for s in shards}) == 3
    with pytest.raises(ValueError):
        plan_shards(files, [], 0, "r")


def test_parse_without_tables_still_resumes_from_hidden_commit_records(tmp_path, corpus, capsys):
    args = ["parse", str(corpus.directory), "-o", str(tmp_path / "o"), "--executor", "local", "--pipeline", "fast"]
    assert main(args) == 4  # some inputs are corrupt: docray.exitcodes
    assert not (tmp_path / "o" / "documents").exists()  # MinerU's folder layout: no Parquet tables asked for
    (state,) = (tmp_path / "o" / "_docray").glob("parse-*")  # one commit record per set of parse options
    assert sources_of(tmp_path / "o", f"_docray/{state.name}/documents") == sorted(str(p) for p in corpus.paths)
    capsys.readouterr()
    assert main(args) == 4
    # docray parse, like MinerU, parses error rows again; the ok ones are skipped
    assert f"resumed: {len(corpus.paths) - len(corpus.corrupt)} documents were already in the output" in capsys.readouterr().out


def test_status_reports_a_finished_run_and_a_killed_one(tmp_path, corpus, capsys):
    out = tmp_path / "out"
    run_pipeline(fast(), [str(corpus.directory)], str(out), executor=LocalExecutor(), shard_size=4)
    info = collect_status(str(out))
    assert info["state"] == "finished" and info["documents"] == len(corpus.paths)
    assert info["status"]["error"] == len(corpus.corrupt) and info["remaining"] == 0
    assert info["shards_done"] == info["shards_total"] == 3 and info["duplicates"] == 0
    assert "finished" in format_status(info)
    # a run killed mid-way leaves progress.json saying running, with a process that is gone
    progress_path = out / "_docray" / "progress.json"
    progress = json.loads(progress_path.read_text())
    progress.update(state="running", pid=2**22 + 12345)
    progress_path.write_text(json.dumps(progress))
    assert collect_status(str(out))["state"].startswith("killed")
    assert main(["status", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["documents"] == len(corpus.paths)
    assert main(["status", str(tmp_path / "nothing")]) == 2
