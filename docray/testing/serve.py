"""``docray serve`` as a real uvicorn server on loopback, for tests: start, kill (SIGKILL), start again."""

from __future__ import annotations

import os
import sys

from docray.testing.servers import HealthCheckedProcess


class ServeProcess(HealthCheckedProcess):
    """``python -m docray.cli serve --output-root ROOT ARGS...`` on a free port, waited for until /health answers.

    ``env`` adds environment variables (e.g. ``DOCRAY_API_KEYS``).  :meth:`kill` stops it the hard way (a crash);
    :meth:`start` again starts a new process on the same port and output root."""

    name = "docray serve"
    poll_s = 0.1
    output_chars = 6000

    def __init__(self, output_root: str, *args: str, env: dict[str, str] | None = None):
        super().__init__()
        self.output_root = output_root
        self.args = args
        self.env = env or {}

    def command(self) -> list[str]:
        serve = ["serve", "--port", str(self.port), "--output-root", self.output_root]
        return [sys.executable, "-m", "docray.cli", *serve, *self.args]

    def environment(self) -> dict[str, str]:
        return {**os.environ, "RAY_AUTH_MODE": "disabled", **self.env}

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind, as when the machine or the process dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
