"""``docray serve``'s limits on a real server: API keys (401), upload and page caps (413), per-key rate (429),
the bounded queue (503) and the request timeout (504)."""

from __future__ import annotations

import time
import uuid

import pytest

pytest.importorskip("fastapi", reason="docray serve needs the serve extra (pip install 'docray[serve]')")
requests = pytest.importorskip("requests")

from docray.testing.pdfs import simple_pdf  # noqa: E402
from docray.testing.serve import ServeProcess  # noqa: E402
from docray.testing.slow_pdfs import slow_pdf  # noqa: E402


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def pdf_files(data: bytes, name: str = "a.pdf") -> list:
    return [("files", (name, data, "application/pdf"))]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-keys")
    args = ("--executor", "local", "--pipeline", "fast", "--api-key", "k-one", "--max-upload-mb", "0.25", "--max-pages", "4")
    with ServeProcess(str(root), *args, env={"DOCRAY_API_KEYS": "k-two, k-three"}) as running:
        yield running


@pytest.fixture(scope="module")
def busy(tmp_path_factory):
    """One worker, a queue of one, a 1 s request timeout, 3 submissions a minute per key."""
    root = tmp_path_factory.mktemp("serve-busy")
    args = ("--executor", "local", "--pipeline", "fast", "--api-key", "k-queue", "--api-key", "k-rate", "--workers", "1",
            "--queue-size", "1", "--request-timeout", "1", "--rate-per-minute", "3")  # fmt: skip
    running = ServeProcess(str(root), *args)
    running.start()
    yield running
    running.kill()  # its worker is inside a slow PDF; nothing to wait for


def test_keys_are_required_where_set(keyed):
    url = keyed.url
    assert requests.post(f"{url}/tasks", files=pdf_files(simple_pdf(1)), timeout=30).status_code == 401
    wrong = requests.post(f"{url}/file_parse", files=pdf_files(simple_pdf(1)), headers=bearer("k-four"), timeout=30)
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
    assert requests.get(f"{url}/tasks/abc", headers={"Authorization": "Basic k-one"}, timeout=30).status_code == 401
    for key in ("k-one", "k-two", "k-three"):  # --api-key and DOCRAY_API_KEYS (read at start-up)
        answer = requests.post(f"{url}/file_parse", files=pdf_files(simple_pdf(1)), headers=bearer(key), timeout=60)
        assert answer.status_code == 200, (key, answer.text)
    for open_path in ("/health", "/", "/docs", "/openapi.json"):
        assert requests.get(f"{url}{open_path}", timeout=30).status_code == 200


def test_a_task_is_only_visible_to_its_key(keyed):
    created = requests.post(f"{keyed.url}/tasks", files=pdf_files(simple_pdf(1)), headers=bearer("k-one"), timeout=30).json()
    assert requests.get(created["status_url"], headers=bearer("k-one"), timeout=30).status_code == 200
    assert requests.get(created["status_url"], headers=bearer("k-two"), timeout=30).status_code == 404
    assert requests.get(created["result_url"], headers=bearer("k-two"), timeout=30).status_code == 404


def test_uploads_over_the_cap_answer_413(keyed):
    big = simple_pdf(1) + b"%" + b"x" * 300_000  # a PDF with a long trailing comment: 0.3 MB > 0.25 MiB
    answer = requests.post(f"{keyed.url}/tasks", files=pdf_files(big), headers=bearer("k-one"), timeout=30)
    assert answer.status_code == 413 and "over" in answer.json()["detail"]
    # the same body without Content-Length (chunked): counted as it arrives
    prepared = requests.Request("POST", f"{keyed.url}/tasks", files=pdf_files(big), headers=bearer("k-one")).prepare()
    body, content_type = prepared.body, prepared.headers["Content-Type"]
    chunked = requests.post(f"{keyed.url}/tasks", data=(body[i : i + 65536] for i in range(0, len(body), 65536)),
                            headers={**bearer("k-one"), "Content-Type": content_type}, timeout=30)  # fmt: skip
    assert chunked.status_code == 413


def test_too_many_files_answer_413(keyed):
    files = [("files", (f"f{i}.pdf", simple_pdf(1), "application/pdf")) for i in range(21)]  # --max-files 20 (default)
    answer = requests.post(f"{keyed.url}/tasks", files=files, headers=bearer("k-one"), timeout=30)
    assert answer.status_code == 413 and "at most 20" in answer.json()["detail"]


def test_pages_over_the_cap_answer_413_and_the_range_counts(keyed):
    six = simple_pdf(6)
    over = requests.post(f"{keyed.url}/tasks", files=pdf_files(six), headers=bearer("k-one"), timeout=30)
    assert over.status_code == 413 and "6 pages" in over.json()["detail"]
    ranged = requests.post(f"{keyed.url}/tasks", files=pdf_files(six), data={"start_page_id": "1", "end_page_id": "4"},
                           headers=bearer("k-one"), timeout=30)  # fmt: skip
    assert ranged.status_code == 202
    status = requests.get(ranged.json()["status_url"], headers=bearer("k-one"), timeout=30).json()
    assert status["pages"]["total"] == 4


def test_server_url_is_refused_unless_allowed(keyed):
    answer = requests.post(f"{keyed.url}/tasks", files=pdf_files(simple_pdf(1)), headers=bearer("k-one"), timeout=30,
                           data={"backend": "vlm-http-client", "server_url": "http://127.0.0.1:9/"})  # fmt: skip
    assert answer.status_code == 400 and "not allowed" in answer.json()["detail"]


def test_rate_limit_answers_429_with_retry_after(busy):
    answers = [requests.post(f"{busy.url}/tasks", files=pdf_files(b"", "empty.pdf"), headers=bearer("k-rate"), timeout=30)
               for _ in range(4)]  # fmt: skip
    assert [a.status_code for a in answers[:3]] == [400, 400, 400]  # refused for the empty file, allowance spent
    assert answers[3].status_code == 429
    assert int(answers[3].headers["Retry-After"]) >= 1


def test_bounded_queue_answers_503_and_sync_requests_time_out(busy):
    slow = requests.post(f"{busy.url}/tasks", files=pdf_files(slow_pdf(), "slow.pdf"), headers=bearer("k-queue"), timeout=30)
    assert slow.status_code == 202
    deadline = time.monotonic() + 30
    while requests.get(slow.json()["status_url"], headers=bearer("k-queue"), timeout=30).json()["status"] != "processing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    waited = requests.post(f"{busy.url}/file_parse", files=pdf_files(simple_pdf(1)), headers=bearer("k-queue"), timeout=30)
    assert waited.status_code == 504  # the worker is busy: not done within --request-timeout 1
    queued = waited.json()["task_id"]
    status = requests.get(f"{busy.url}/tasks/{queued}", headers=bearer("k-queue"), timeout=30).json()
    assert status["status"] == "pending" and status["queued_ahead"] == 0
    full = requests.post(f"{busy.url}/tasks", files=pdf_files(simple_pdf(1), f"{uuid.uuid4().hex}.pdf"),
                         headers=bearer("k-queue"), timeout=30)  # fmt: skip
    assert full.status_code == 503 and full.headers["Retry-After"]
    health = requests.get(f"{busy.url}/health", timeout=30).json()
    assert health["processing"] == 1 and health["queued"] == 1 and health["queue_size"] == 1
