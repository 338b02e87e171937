"""The task queue without HTTP: a task run in this process on the real pipelines (in-process executor)."""

from __future__ import annotations

import io
import zipfile

import pytest

from docray.serve.config import ServeConfig
from docray.serve.forms import ParseForm
from docray.serve.limits import check_upload
from docray.serve.results import result_json, result_zip
from docray.serve.store import TaskStatus, TaskStore
from docray.serve.tasks import TaskQueue, WarmLocalExecutor
from docray.testing.pdfs import simple_pdf
from docray.testing.tables import prose_pdf


def queue_for(tmp_path, **settings) -> TaskQueue:
    config = ServeConfig(output_root=str(tmp_path / "root"), executor="local", pipeline="fast", **settings)
    return TaskQueue(config, TaskStore(config.db_path()))


def run_next(queue: TaskQueue, executor: WarmLocalExecutor):
    task = queue.store.claim_next()
    queue.run(task, executor)
    return queue.store.get(task.id)


def test_files_with_different_languages_run_as_groups_into_one_result(tmp_path):
    queue = queue_for(tmp_path)
    files = [check_upload("one.pdf", prose_pdf()), check_upload("two.pdf", simple_pdf(2))]
    submitted = queue.submit(ParseForm(lang_list=["en", "ch"]), files, "anonymous")
    assert [f["lang"] for f in submitted.files] == ["en", "ch"] and submitted.pages_total == 3
    done = run_next(queue, WarmLocalExecutor())
    assert done.status == TaskStatus.COMPLETED
    assert [(r["name"], r["status"]) for r in done.rows] == [("one", "ok"), ("two", "ok")]
    assert done.pages_done == 3 and done.documents_done == 2


def test_a_task_over_its_time_fails_between_documents(tmp_path):
    queue = queue_for(tmp_path, task_timeout_s=0.001)
    files = [check_upload(f"d{i}.pdf", simple_pdf(1)) for i in range(3)]
    queue.submit(ParseForm(), files, "anonymous")
    done = run_next(queue, WarmLocalExecutor())
    assert done.status == TaskStatus.FAILED and "ran over" in done.error


def test_warm_executor_sets_up_each_stage_once(tmp_path):
    from docray.pipelines.plan import build_plan
    from docray.serve.forms import build_spec

    queue = queue_for(tmp_path)
    executor = WarmLocalExecutor()
    first_setups = None
    for i in range(2):
        queue.submit(ParseForm(), [check_upload(f"d{i}.pdf", simple_pdf(1))], "anonymous")
        assert run_next(queue, executor).status == TaskStatus.COMPLETED
        first_setups = first_setups or {id(op) for op in executor._warm.values()}
    stages = build_plan(build_spec(ParseForm(), queue.config, None)).stages
    assert len(executor._warm) == len(stages)  # one set-up per stage ...
    assert {id(op) for op in executor._warm.values()} == first_setups  # ... made by the first task, reused by the second


def test_an_fsspec_output_root_holds_uploads_and_results(tmp_path):
    config = ServeConfig(output_root="memory://serve-root", state_db=str(tmp_path / "tasks.sqlite3"), executor="local", pipeline="fast")
    queue = TaskQueue(config, TaskStore(config.db_path()))
    queue.submit(ParseForm(return_content_list=True), [check_upload("paper.pdf", prose_pdf())], "anonymous")
    done = run_next(queue, WarmLocalExecutor())
    assert done.status == TaskStatus.COMPLETED and done.files[0]["stored"].startswith("memory://serve-root/tasks/")
    answer = result_json(done, f"{queue.task_dir(done.id)}/out")
    assert answer["results"]["paper"]["md_content"].startswith("# Introduction") and answer["results"]["paper"]["content_list"]
    assert "paper/auto/paper.md" in zipfile.ZipFile(io.BytesIO(result_zip(done, f"{queue.task_dir(done.id)}/out"))).namelist()


def test_a_remote_output_root_needs_a_local_state_db():
    with pytest.raises(ValueError, match="--state-db"):
        ServeConfig(output_root="s3://bucket/serve").db_path()


def test_run_watcher_copies_a_runs_progress_into_the_task(tmp_path):
    from docray.serve.forms import build_spec
    from docray.serve.tasks import RunWatcher

    queue = queue_for(tmp_path)
    submitted = queue.submit(ParseForm(), [check_upload("a.pdf", simple_pdf(3)), check_upload("b.pdf", simple_pdf(2))], "anonymous")
    run_next(queue, WarmLocalExecutor())  # a real run: its progress.json says 2 documents, 5 pages
    queue.store.progress(submitted.id, pages_done=0, documents_done=0)
    state_dir = build_spec(ParseForm(), queue.config, None).output.state_dir
    watcher = RunWatcher(queue.store, submitted.id, f"{queue.task_dir(submitted.id)}/out/{state_dir}/progress.json",
                         base={"pages": 1, "documents": 1})  # fmt: skip
    assert watcher.poll_once() == {"pages": 6, "documents": 3}
    task = queue.store.get(submitted.id)
    assert (task.pages_done, task.documents_done) == (6, 3)
    missing = RunWatcher(queue.store, submitted.id, str(tmp_path / "nothing.json"), base={"pages": 0, "documents": 0})
    assert missing.poll_once() is None
