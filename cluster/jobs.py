"""Ray's Job Submission SDK for docray: connect, submit, wait (used by ``docray submit``, usable on its own).

    job_id = submit("http://127.0.0.1:8265", entrypoint, runtime_env)
    result = wait("http://127.0.0.1:8265", job_id, timeout_s=3600)
    result.succeeded, result.status, tail(result.logs, 40)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from docray.cluster.runtime_env import SubmitError

TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "STOPPED")


def job_client(address: str):
    """A ``JobSubmissionClient`` for the dashboard at ``address``; SubmitError when unreachable."""
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError as exc:
        raise SubmitError(
            f"docray submit needs Ray's job submission client: pip install 'docray[cluster]' ({exc})"
        ) from None
    try:
        return JobSubmissionClient(address)
    except Exception as exc:  # ConnectionError, ValueError (bad address), RuntimeError (version check)
        raise SubmitError(f"cannot reach the Ray dashboard at {address}: {exc}") from None


def submit(
    address: Any,
    entrypoint: str,
    runtime_env: dict[str, Any],
    *,
    job_id: str | None = None,
    metadata: dict[str, str] | None = None,
) -> str:
    """Submit one job (uploading its working_dir and py_modules now); returns its submission id.

    ``address`` is the dashboard address or a ``JobSubmissionClient`` already connected to it."""
    client = job_client(address) if isinstance(address, str) else address
    try:
        return client.submit_job(
            entrypoint=entrypoint, runtime_env=runtime_env, submission_id=job_id, metadata=metadata
        )
    except Exception as exc:  # RuntimeError from the dashboard (duplicate id, bad runtime env), upload errors
        raise SubmitError(f"submitting the job failed: {exc}") from None


@dataclass
class JobResult:
    """Where a job stood when :func:`wait` returned."""

    job_id: str
    status: str  # PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED
    message: str
    logs: str
    seconds: float  # waited
    timed_out: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


def wait(
    address: str,
    job_id: str,
    *,
    timeout_s: float | None = None,
    poll_s: float = 1.0,
    on_status: Callable[[str, float], None] | None = None,
) -> JobResult:
    """Poll the job until it ends or ``timeout_s`` passes; ``on_status(status, seconds)`` on every change."""
    client = job_client(address)
    started, last = time.monotonic(), None
    while True:
        try:
            info = client.get_job_info(job_id)
        except Exception as exc:  # the dashboard went away or forgot the job
            raise SubmitError(f"lost track of job {job_id}: {exc}") from None
        status = getattr(info.status, "value", str(info.status))
        elapsed = time.monotonic() - started
        if status != last and on_status is not None:
            on_status(status, elapsed)
        last = status
        timed_out = timeout_s is not None and elapsed >= timeout_s
        if status in TERMINAL_STATUSES or timed_out:
            logs = client.get_job_logs(job_id)
            return JobResult(
                job_id, status, info.message or "", logs, elapsed, timed_out and status not in TERMINAL_STATUSES
            )
        time.sleep(poll_s)


def tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:]) if lines > 0 else ""
