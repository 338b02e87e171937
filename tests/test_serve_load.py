"""50 concurrent uploads, good and bad, against one server, which is killed (SIGKILL) and started again while its
queue is still full: every accepted file gets exactly one result, the refused ones are refused as they should be."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="docray serve needs the serve extra (pip install 'docray[serve]')")
requests = pytest.importorskip("requests")

from docray.testing.serve import ServeProcess  # noqa: E402
from docray.testing.serve_load import mixed_uploads, run_concurrently, wait_all  # noqa: E402


def test_concurrent_uploads_lose_nothing_across_a_restart(tmp_path):
    server = ServeProcess(str(tmp_path / "root"), "--executor", "local", "--pipeline", "fast", "--queue-size", "200")
    server.start()
    try:
        first = run_concurrently(server.url, mixed_uploads(good=30, corrupt=10, html=10), concurrency=50)
        assert all(a.status == 415 for a in first if a.upload.kind == "html")
        accepted = {a.body["task_id"]: a.upload for a in first if a.status == 202}
        assert len(accepted) == 40, [(a.upload.kind, a.status, a.body) for a in first if a.status != 202]
        before = requests.get(f"{server.url}/health", timeout=30).json()["tasks"]
        assert before["pending"] + before["processing"] > 0  # the kill lands with work still queued
        server.kill()

        server.start()
        second = run_concurrently(server.url, mixed_uploads(good=10, corrupt=0, html=0, sync_every=1), concurrency=10)
        assert [a.status for a in second] == [200] * 10
        assert all(list(a.body["results"]) == [a.upload.filename[:-4]] for a in second)
        final = wait_all(server.url, list(accepted), timeout_s=300)
        for task_id, upload in accepted.items():
            result = requests.get(f"{server.url}/tasks/{task_id}/result", timeout=30)
            if upload.kind == "good":
                assert final[task_id]["status"] == "completed" and result.status_code == 200
                assert list(result.json()["results"]) == [upload.filename[:-4]]
                assert result.json()["results"][upload.filename[:-4]]["md_content"].startswith("# Introduction")
            else:
                assert final[task_id]["status"] == "failed" and result.status_code == 409
                assert [row["name"] for row in result.json()["rows"]] == [upload.filename[:-4]]
        counts = requests.get(f"{server.url}/health", timeout=30).json()["tasks"]
        assert counts == {"pending": 0, "processing": 0, "completed": 40, "failed": 10}
    finally:
        server.kill()
