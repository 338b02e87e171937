"""What the loopback test servers (:class:`~docray.testing.s3.S3Server`, :class:`~docray.testing.ray_head.RayHead`,
:class:`VlmServeProcess`, :class:`~docray.testing.serve.ServeProcess`) share: free ports, waiting for a started process
to answer HTTP, the context-manager protocol, and a health-checked server process (:class:`HealthCheckedProcess`)."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for_http(
    process: subprocess.Popen | None,
    url: str,
    *,
    timeout_s: float,
    poll_s: float,
    request_timeout_s: float,
    ok_status: int | None = None,
    http_error_answers: bool = False,
) -> bool:
    """Poll ``url`` until the server answers: True then, False when ``process`` exits or ``timeout_s`` passes.

    An answer is a response with status ``ok_status`` (any status when None), or, with ``http_error_answers``,
    an HTTP error response too (the server is up, whatever it said).
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is None or process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=request_timeout_s) as response:
                if ok_status is None or response.status == ok_status:
                    return True
        except urllib.error.HTTPError:
            if http_error_answers:
                return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(poll_s)
    return False


class LoopbackServer:
    """A server a test starts and stops: ``with Server(...) as server:`` runs :meth:`start` and :meth:`stop`."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> object:
        raise NotImplementedError

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class HealthCheckedProcess(LoopbackServer):
    """A Python server process on a free loopback port, waited for until ``/health`` answers 200; its output goes to
    a temporary file (:meth:`output`).  A subclass names its :meth:`command` (and :meth:`environment`); :meth:`start`
    after :meth:`stop` starts a new process on the same port."""

    name = "server"  # in the error when it does not start
    poll_s = 0.2  # between /health polls
    output_chars = 4000  # the tail of its output that :meth:`output` returns

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        """The process's environment (None: this process's)."""
        return None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command(), stdout=self.log, stderr=subprocess.STDOUT, env=self.environment()
        )
        if not wait_for_http(self.process, f"{self.url}/health", timeout_s=120, poll_s=self.poll_s, request_timeout_s=2,
                             ok_status=200):  # fmt: skip
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-self.output_chars :]

    def stop(self) -> int | None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return None if self.process is None else self.process.returncode


class VlmServeProcess(HealthCheckedProcess):
    """``python -m docray.vlm_serve`` on a free port, waited for until /health answers."""

    name = "vlm-serve"

    def __init__(self, *args: str):
        super().__init__()
        self.args = args

    def command(self) -> list[str]:
        return [sys.executable, "-m", "docray.vlm_serve", *self.args, "--port", str(self.port)]
