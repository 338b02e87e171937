"""Task state in SQLite (one file beside the results): what was asked, its files, status and progress.

A task is ``pending`` (queued), ``processing``, ``completed`` or ``failed``.  The queue order is the insertion
order (``seq``).  A server that stops mid-task finds the task ``processing`` at its next start: :meth:`recover`
queues it again (its finished documents are kept by the run's resume) until ``max_attempts`` starts, then fails it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class TaskStatus(str, Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


FINAL = (TaskStatus.COMPLETED, TaskStatus.FAILED)


@dataclass
class Task:
    id: str
    client: str  # who asked: a hash of the API key (or "anonymous"); other clients never see the task
    form: dict[str, Any]  # the ParseForm's values
    files: list[dict[str, Any]]  # name, stored (URI of the upload), mime, pages (in the page range)
    status: TaskStatus = TaskStatus.PENDING
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    pages_total: int = 0
    pages_done: int = 0
    documents_done: int = 0
    error: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per document: name, status, error_code, error
    seq: int = 0


_COLUMNS = ("id", "client", "form", "files", "status", "created", "started", "finished", "attempts", "pages_total",
            "pages_done", "documents_done", "error", "rows", "seq")  # fmt: skip
_JSON = ("form", "files", "rows")

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    client TEXT NOT NULL,
    form TEXT NOT NULL,
    files TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    pages_total INTEGER NOT NULL DEFAULT 0,
    pages_done INTEGER NOT NULL DEFAULT 0,
    documents_done INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    rows TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status, seq);
"""


class TaskStore:
    """The tasks of one server, in one SQLite file (WAL; one connection shared under a lock)."""

    def __init__(self, path: str):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a task the client was told about survives a power cut
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---------------------------------------------------------------- writing
    def add(self, task: Task, max_pending: int) -> bool:
        """Insert ``task`` as pending unless ``max_pending`` tasks already wait (then False)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (pending,) = self._db.execute("SELECT COUNT(*) FROM tasks WHERE status = ?", (TaskStatus.PENDING.value,)).fetchone()
                if pending >= max_pending:
                    self._db.execute("ROLLBACK")
                    return False
                values = self._values(task)
                columns = [c for c in _COLUMNS if c != "seq"]
                self._db.execute(f"INSERT INTO tasks ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                                 [values[c] for c in columns])  # fmt: skip
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return True

    def claim_next(self) -> Task | None:
        """The oldest pending task, now ``processing`` (one more attempt), or None."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM tasks WHERE status = ? ORDER BY seq LIMIT 1",
                                   (TaskStatus.PENDING.value,)).fetchone()  # fmt: skip
            if row is None:
                self._db.execute("COMMIT")
                return None
            task = self._task(row)
            task.status, task.attempts = TaskStatus.PROCESSING, task.attempts + 1
            task.started = task.started or time.time()
            self._db.execute("UPDATE tasks SET status = ?, attempts = ?, started = ? WHERE id = ?",
                             (task.status.value, task.attempts, task.started, task.id))  # fmt: skip
            self._db.execute("COMMIT")
            return task

    def progress(self, task_id: str, *, pages_done: int, documents_done: int) -> None:
        with self._lock:
            self._db.execute("UPDATE tasks SET pages_done = ?, documents_done = ? WHERE id = ?", (pages_done, documents_done, task_id))

    def finish(self, task_id: str, status: TaskStatus, *, rows: list[dict[str, Any]], error: str | None = None,
               pages_done: int | None = None) -> None:  # fmt: skip
        with self._lock:
            self._db.execute(
                "UPDATE tasks SET status = ?, rows = ?, error = ?, finished = ?, documents_done = ?, "
                "pages_done = COALESCE(?, pages_done) WHERE id = ?",
                (status.value, json.dumps(rows), error, time.time(), len(rows), pages_done, task_id),
            )

    def recover(self, max_attempts: int) -> dict[str, int]:
        """At start-up: tasks a stopped server left ``processing`` run again, or fail after ``max_attempts``."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            failed = self._db.execute(
                "UPDATE tasks SET status = ?, finished = ?, error = ? WHERE status = ? AND attempts >= ?",
                (TaskStatus.FAILED.value, time.time(), f"the server stopped during this task {max_attempts} times",
                 TaskStatus.PROCESSING.value, max_attempts),
            ).rowcount  # fmt: skip
            requeued = self._db.execute("UPDATE tasks SET status = ? WHERE status = ?",
                                        (TaskStatus.PENDING.value, TaskStatus.PROCESSING.value)).rowcount  # fmt: skip
            self._db.execute("COMMIT")
        return {"requeued": requeued, "failed": failed}

    # ---------------------------------------------------------------- reading
    def get(self, task_id: str) -> Task | None:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return self._task(row) if row else None

    def queued_ahead(self, task: Task) -> int:
        """Pending tasks before ``task`` in the queue (0 once it runs)."""
        if task.status != TaskStatus.PENDING:
            return 0
        with self._lock:
            (ahead,) = self._db.execute("SELECT COUNT(*) FROM tasks WHERE status = ? AND seq < ?",
                                        (TaskStatus.PENDING.value, task.seq)).fetchone()  # fmt: skip
        return int(ahead)

    def counts(self) -> dict[str, int]:
        with self._lock:
            found = dict(self._db.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status").fetchall())
        return {status.value: int(found.get(status.value, 0)) for status in TaskStatus}

    # ---------------------------------------------------------------- rows
    @staticmethod
    def _values(task: Task) -> dict[str, Any]:
        values = {c: getattr(task, c) for c in _COLUMNS}
        values["status"] = task.status.value
        for c in _JSON:
            values[c] = json.dumps(values[c])
        return values

    @staticmethod
    def _task(row: tuple) -> Task:
        values = dict(zip(_COLUMNS, row))
        for c in _JSON:
            values[c] = json.loads(values[c])
        values["status"] = TaskStatus(values["status"])
        return Task(**values)
