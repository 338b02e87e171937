"""Many concurrent uploads against one ``docray serve`` (loopback): what each request got back, and how long it took.

Used by ``tests/test_serve_load.py`` (nothing lost, limits answer as they should) and ``benchmarks/bench_serve.py``
(latency percentiles)."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from docray.testing.pdfs import corrupt_pdf, not_a_pdf
from docray.testing.tables import prose_pdf


@dataclass
class Upload:
    """One request to make: ``kind`` good (a prose PDF), corrupt (sniffs as PDF, cannot open) or html (415)."""

    index: int
    kind: str
    sync: bool

    @property
    def filename(self) -> str:
        return f"{self.kind}-{self.index}.pdf"


@dataclass
class Answer:
    upload: Upload
    status: int
    seconds: float
    body: dict = field(default_factory=dict)


def mixed_uploads(good: int, corrupt: int, html: int, sync_every: int = 0) -> list[Upload]:
    """``good`` + ``corrupt`` + ``html`` uploads, interleaved; every ``sync_every``-th good one is synchronous."""
    kinds = ["good"] * good + ["corrupt"] * corrupt + ["html"] * html
    order = sorted(range(len(kinds)), key=lambda i: (i * 7919) % len(kinds))  # a fixed shuffle
    uploads, good_seen = [], 0
    for position, i in enumerate(order):
        kind = kinds[i]
        sync = kind == "good" and sync_every > 0 and good_seen % sync_every == 0
        good_seen += kind == "good"
        uploads.append(Upload(position, kind, sync))
    return uploads


def send(url: str, upload: Upload, payloads: dict[str, bytes], headers: dict[str, str] | None = None) -> Answer:
    path = "/file_parse" if upload.sync else "/tasks"
    t0 = time.perf_counter()
    response = requests.post(f"{url}{path}", files=[("files", (upload.filename, payloads[upload.kind], "application/pdf"))],
                             headers=headers, timeout=600)  # fmt: skip
    seconds = time.perf_counter() - t0
    try:
        body = response.json()
    except ValueError:
        body = {}
    return Answer(upload, response.status_code, seconds, body)


def run_concurrently(url: str, uploads: list[Upload], concurrency: int, headers: dict[str, str] | None = None) -> list[Answer]:
    payloads = {"good": prose_pdf(), "corrupt": corrupt_pdf(), "html": not_a_pdf()}
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda u: send(url, u, payloads, headers), uploads))


def wait_all(url: str, task_ids: list[str], timeout_s: float, headers: dict[str, str] | None = None) -> dict[str, dict]:
    """Final status of every task (raises TimeoutError naming those not done)."""
    done: dict[str, dict] = {}
    deadline = time.monotonic() + timeout_s
    while len(done) < len(task_ids):
        for task_id in task_ids:
            if task_id not in done:
                status = requests.get(f"{url}/tasks/{task_id}", headers=headers, timeout=30).json()
                if status.get("status") in ("completed", "failed"):
                    done[task_id] = status
        if len(done) < len(task_ids):
            if time.monotonic() > deadline:
                raise TimeoutError(f"not done: {sorted(set(task_ids) - set(done))}")
            time.sleep(0.2)
    return done


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    cut = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return {"n": len(ordered), "p50": round(cut[49], 3), "p95": round(cut[94], 3), "max": round(ordered[-1], 3)}
