"""``docray serve`` as a real uvicorn server on loopback, for tests: start, kill (SIGKILL), start again."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from docray.testing.servers import LoopbackServer, free_port, wait_for_http


class ServeProcess(LoopbackServer):
    """``python -m docray.cli serve --output-root ROOT ARGS...`` on a free port, waited for until /health answers.

    ``env`` adds environment variables (e.g. ``DOCRAY_API_KEYS``).  :meth:`kill` stops it the hard way (a crash);
    :meth:`start` again starts a new process on the same port and output root."""

    def __init__(self, output_root: str, *args: str, env: dict[str, str] | None = None):
        self.output_root = output_root
        self.args = args
        self.env = env or {}
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "docray.cli", "serve", "--port", str(self.port), "--output-root", self.output_root, *self.args]
        env = {**os.environ, "RAY_AUTH_MODE": "disabled", **self.env}
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        if not wait_for_http(self.process, f"{self.url}/health", timeout_s=120, poll_s=0.1, request_timeout_s=2, ok_status=200):
            self.stop()
            raise RuntimeError(f"docray serve did not start:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-6000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind, as when the machine or the process dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> int | None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return None if self.process is None else self.process.returncode
