"""The task queue: uploads in, workers that run docray's pipelines on them, and the state kept in a :class:`TaskStore`.

Each task has a folder in the output root, ``tasks/<task_id>/``: ``inputs/<n>.<ext>`` (the uploads, under names
the server makes: a client's file name is a label, never a path) and ``out/`` (``docray parse``'s layout,
``<name>/<method>/<name>.md`` ...).  A worker runs a task with the executor ``docray parse`` would choose
(in-process for a small task, Ray for a large one, or as ``--executor`` says); in-process runs keep their models
loaded between tasks.  A task started again after a server stop resumes: documents already written are kept.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any

import pyarrow.parquet as pq

from docray.operators.ingest import ExpandedInputs, stem_of, unique_names
from docray.pipelines.executors import LocalExecutor
from docray.pipelines.plan import Plan
from docray.schema import DocKind, Status
from docray.serve.config import ServeConfig
from docray.serve.forms import FormError, ParseForm, build_spec
from docray.serve.limits import CheckedFile, Refusal, pages_in_range
from docray.serve.store import Task, TaskStatus, TaskStore
from docray.storage import url_to_fs

log = logging.getLogger(__name__)
ROW_COLUMNS = ("source", "name", "status", "error_code", "error", "num_pages")


class TaskTimeout(Exception):
    pass


class WarmLocalExecutor(LocalExecutor):
    """The in-process executor, keeping the last few stage set-ups (loaded models) from one task to the next."""

    def __init__(self, keep: int = 16, **kwargs: Any):
        super().__init__(**kwargs)
        self.keep = keep
        self._warm: OrderedDict[tuple, Any] = OrderedDict()

    def operators(self, plan: Plan) -> list[Any]:
        found = []
        for stage in plan.stages:
            key = (stage.operator, stage.config.model_dump_json(), str(stage.output_schema))
            if key not in self._warm:
                self._warm[key] = stage.instantiate()
            self._warm.move_to_end(key)
            found.append(self._warm[key])
        while len(self._warm) > self.keep:
            self._warm.popitem(last=False)
        return found


class RunWatcher:
    """Copies a run's ``progress.json`` (rewritten by the runner as parts are written: the Ray executor's only
    progress) into the task's pages and documents done, every ``every_s`` seconds until stopped."""

    def __init__(self, store: TaskStore, task_id: str, progress_url: str, base: dict[str, int], every_s: float = 1.0):
        self.store, self.task_id, self.progress_url, self.base, self.every_s = store, task_id, progress_url, dict(base), every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name=f"docray-serve-watch-{task_id[:8]}", daemon=True)

    def poll_once(self) -> dict[str, int] | None:
        """Read progress.json once; the progress it gives (also stored), or None when there is none yet."""
        fs, path = url_to_fs(self.progress_url)
        try:
            with fs.open(path, "r") as handle:
                progress = json.load(handle)
        except (FileNotFoundError, ValueError):  # not written yet, or being replaced
            return None
        done = {"pages": self.base["pages"] + int(progress.get("pages") or 0),
                "documents": self.base["documents"] + int(progress.get("documents") or 0)}  # fmt: skip
        self.store.progress(self.task_id, pages_done=done["pages"], documents_done=done["documents"])
        return done

    def _follow(self) -> None:
        while not self._stop.wait(self.every_s):
            self.poll_once()

    def __enter__(self) -> RunWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)


class TaskQueue:
    """Accepts tasks (:meth:`submit`) and runs them on ``config.workers`` threads."""

    def __init__(self, config: ServeConfig, store: TaskStore):
        self.config = config
        self.store = store
        self.root = config.output_root.rstrip("/")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.recovered: dict[str, int] = {}

    # ---------------------------------------------------------------- life
    def start(self) -> None:
        self.recovered = self.store.recover(self.config.max_attempts)
        if any(self.recovered.values()):
            log.warning("tasks left by a stopped server: %s", self.recovered)
        for n in range(self.config.workers):
            thread = threading.Thread(target=self._work, name=f"docray-serve-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, wait_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(wait_s)

    # ---------------------------------------------------------------- intake
    def task_dir(self, task_id: str) -> str:
        return f"{self.root}/tasks/{task_id}"

    def submit(self, form: ParseForm, files: list[CheckedFile], client: str) -> Task:
        """Store the uploads and queue a task; 413 over the page cap, 503 when the queue is full."""
        for upload in files:
            upload.pages = pages_in_range(upload.data, upload.kind, form.start_page_id, form.end_page())
        total = sum(upload.pages for upload in files)
        if total > self.config.max_pages:
            raise Refusal(413, f"{total} pages in the asked range; this server takes at most {self.config.max_pages} a task")
        task_id = uuid.uuid4().hex
        fs, task_path = url_to_fs(self.task_dir(task_id))
        folder = f"{task_path}/inputs"
        fs.makedirs(folder, exist_ok=True)
        stored = []
        for index, upload in enumerate(files):
            # the sniffed kind's suffix (pdf, docx, csv: ingest reads a one-column .csv as CSV); an image its type's
            suffix = upload.mime.split("/")[-1] if upload.kind == DocKind.IMAGE else upload.kind.value
            path = f"{folder}/{index:04d}.{suffix}"
            with fs.open(path, "wb") as handle:
                handle.write(upload.data)
            stored.append(f"{self.task_dir(task_id)}/inputs/{index:04d}.{suffix}")
        # the client's file name is a label: its last component (either separator), made safe; never a path
        labels = [(upload.filename or "document").replace("\\", "/").rsplit("/", 1)[-1] for upload in files]
        names = unique_names(stored, [stem_of(label or "document") for label in labels])
        task = Task(
            id=task_id, client=client, form=form.model_dump(mode="json"), pages_total=total,
            files=[{"name": name, "stored": uri, "mime": upload.mime, "pages": upload.pages, "lang": form.lang_of(i)}
                   for i, (name, uri, upload) in enumerate(zip(names, stored, files))],
        )  # fmt: skip
        if not self.store.add(task, self.config.queue_size):
            fs.rm(task_path, recursive=True)
            raise Refusal(503, f"the queue is full ({self.config.queue_size} tasks wait); try again later", {"Retry-After": "5"})
        self._wake.set()
        return self.store.get(task_id) or task

    # ---------------------------------------------------------------- work
    def _work(self) -> None:
        local = WarmLocalExecutor()
        while not self._stop.is_set():
            task = self.store.claim_next()
            if task is None:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                self.run(task, local)
            except Exception as exc:  # never lose the worker; the task says what happened
                log.exception("task %s failed", task.id)
                self.store.finish(task.id, TaskStatus.FAILED, rows=self.read_rows(task), error=f"{type(exc).__name__}: {exc}")

    def run(self, task: Task, local: LocalExecutor) -> None:
        from docray.cli import choose_executor
        from docray.pipelines.runner import make_executor, run_pipeline

        form = ParseForm(**task.form)
        deadline = (task.started or time.time()) + self.config.task_timeout_s
        out = f"{self.task_dir(task.id)}/out"
        groups: dict[str | None, list[dict[str, Any]]] = {}
        for row in task.files:
            groups.setdefault(row.get("lang"), []).append(row)
        done = {"pages": 0, "documents": 0}
        try:
            for lang, rows in groups.items():
                spec = build_spec(form, self.config, lang)
                expanded = ExpandedInputs(files=[{"source": r["stored"], "name": r["name"]} for r in rows])
                name = choose_executor(self.config.executor.value, expanded, self.config.address)
                base = dict(done)

                def progress(count: int, stats: dict[str, Any], base=base) -> None:
                    done["documents"], done["pages"] = base["documents"] + count, done["pages"] + int(stats.get("pages") or 0)
                    self.store.progress(task.id, pages_done=done["pages"], documents_done=done["documents"])
                    if time.time() > deadline:
                        raise TaskTimeout(f"the task ran over {self.config.task_timeout_s:g} s")

                if name == "local":
                    local.progress = progress
                    run_pipeline(spec, expanded, out, executor=local)
                else:
                    executor = make_executor(name, address=self.config.address, progress_bars=False, verbose=False)
                    progress_url = f"{out}/{spec.output.state_dir}/progress.json"
                    with RunWatcher(self.store, task.id, progress_url, base) as watcher:
                        run_pipeline(spec, expanded, out, executor=executor)
                    done.update(watcher.poll_once() or {})
                if time.time() > deadline:
                    raise TaskTimeout(f"the task ran over {self.config.task_timeout_s:g} s")
        except (FormError, TaskTimeout) as exc:
            self.store.finish(task.id, TaskStatus.FAILED, rows=self.read_rows(task), error=str(exc))
            return
        rows = self.read_rows(task)
        pages = sum(int(r.get("num_pages") or 0) for r in rows if r["status"] != Status.ERROR.value)
        failed = not rows or all(r["status"] == Status.ERROR.value for r in rows)
        self.store.finish(task.id, TaskStatus.FAILED if failed else TaskStatus.COMPLETED, rows=rows,
                          error="every document failed" if failed else None, pages_done=pages)  # fmt: skip

    def read_rows(self, task: Task) -> list[dict[str, Any]]:
        """One row per document of ``task`` the runs committed: name, status, error code and message, pages."""
        fs, out = url_to_fs(f"{self.task_dir(task.id)}/out")
        names = {row["stored"]: row["name"] for row in task.files}
        found: dict[str, dict[str, Any]] = {}
        paths = sorted(p for p in fs.glob(f"{out}/_docray/**/documents/**/*.parquet") if not p.rsplit("/", 1)[-1].startswith("."))
        for path in paths:
            with fs.open(path, "rb") as handle:
                table = pq.read_table(handle)
            columns = [c for c in ROW_COLUMNS if c in table.column_names]
            for row in table.select(columns).to_pylist():
                name = names.get(row["source"], row.get("name"))
                found[name] = {"name": name, "status": row["status"], "error_code": row.get("error_code"),
                               "error": row.get("error"), "num_pages": row.get("num_pages")}  # fmt: skip
        return [found[row["name"]] for row in task.files if row["name"] in found]
