"""Tasks survive a server killed mid-task (SIGKILL) and started again on the same output root: the interrupted
task runs again and completes, the queued one behind it too, and neither is lost or run twice."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("fastapi", reason="docray serve needs the serve extra (pip install 'docray[serve]')")
requests = pytest.importorskip("requests")

from docray.testing.pdfs import simple_pdf  # noqa: E402
from docray.testing.serve import ServeProcess  # noqa: E402
from docray.testing.slow_pdfs import slow_pdf  # noqa: E402


def status_of(server: ServeProcess, task_id: str) -> dict:
    return requests.get(f"{server.url}/tasks/{task_id}", timeout=30).json()


def wait_for(server: ServeProcess, task_id: str, wanted: set[str], timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        status = status_of(server, task_id)
        if status["status"] in wanted:
            return status
        assert time.monotonic() < deadline, f"{task_id}: {status}\n{server.output()}"
        time.sleep(0.05)


def test_killed_server_resumes_its_tasks(tmp_path):
    server = ServeProcess(str(tmp_path / "root"), "--executor", "local", "--pipeline", "fast", "--workers", "1")
    server.start()
    try:
        heavy = slow_pdf(text_runs=3000, paths=3000)  # seconds of work: the kill lands mid-task
        first = requests.post(f"{server.url}/tasks", timeout=30,
                              files=[("files", ("heavy.pdf", heavy, "application/pdf")), ("files", ("light.pdf", simple_pdf(2), "application/pdf"))])  # fmt: skip
        second = requests.post(f"{server.url}/tasks", files=[("files", ("next.pdf", simple_pdf(1), "application/pdf"))], timeout=30)
        assert first.status_code == second.status_code == 202
        first_id, second_id = first.json()["task_id"], second.json()["task_id"]
        wait_for(server, first_id, {"processing"}, 60)
        assert status_of(server, second_id)["queued_ahead"] == 0 and status_of(server, second_id)["status"] == "pending"
        server.kill()

        server.start()  # same port, same output root
        health = requests.get(f"{server.url}/health", timeout=30).json()
        assert health["recovered_at_start"] == {"requeued": 1, "failed": 0}
        done = wait_for(server, first_id, {"completed", "failed"}, 240)
        assert done["status"] == "completed" and done["attempts"] == 2
        assert wait_for(server, second_id, {"completed", "failed"}, 60)["status"] == "completed"
        results = requests.get(f"{server.url}/tasks/{first_id}/result", timeout=30).json()["results"]
        assert set(results) == {"heavy", "light"}
        assert all(r["status"] in ("ok", "partial") for r in results.values())
        assert requests.get(f"{server.url}/health", timeout=30).json()["tasks"] == {"pending": 0, "processing": 0, "completed": 2, "failed": 0}
    finally:
        server.kill()
