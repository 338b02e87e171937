"""A real S3-compatible HTTP server on loopback for tests: moto's server mode in a subprocess.

    with S3Server() as s3:
        s3.make_bucket("docray-in")
        fs = s3.filesystem()                      # s3fs, dummy credentials, the server's endpoint
        fs.pipe_file("docray-in/a.pdf", data)
        config = s3.bucket_info_config("docray-in")   # a docray.json pointing the bucket at the server

Needs ``moto[server]`` and ``s3fs`` (``pip install 'docray[dev]'``).  Nothing here reads or needs
AWS environment variables; the server process gets none of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import Any

from docray.testing.servers import LoopbackServer, free_port, wait_for_http

DUMMY_KEY = "docray-test-key"
DUMMY_SECRET = "docray-test-secret"


class S3Server(LoopbackServer):
    """moto's S3 server (``python -m moto.server``) on ``host`` and a free port, as a context manager."""

    def __init__(self, host: str = "127.0.0.1", *, key: str = DUMMY_KEY, secret: str = DUMMY_SECRET,
                 start_timeout: float = 30.0, attempts: int = 3):  # fmt: skip
        self.host = host
        self.key = key
        self.secret = secret
        self.start_timeout = start_timeout
        self.attempts = attempts
        self.port: int | None = None
        self._process: subprocess.Popen | None = None
        self._log: Any = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the S3 server is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it answers; ``RuntimeError`` (with its log) when it cannot."""
        if self.running:
            return
        failures = []
        for _ in range(self.attempts):  # another process may take the free port before moto binds it
            self.port = free_port(self.host)
            self._log = tempfile.TemporaryFile()
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
            if self._wait_until_answering():
                return
            failures.append(self._log_tail())
            self.stop()
        raise RuntimeError(f"moto S3 server did not start on {self.host}: " + "\n---\n".join(failures))

    def _wait_until_answering(self) -> bool:
        return wait_for_http(
            self._process, f"{self.endpoint_url}/", timeout_s=self.start_timeout, poll_s=0.1, request_timeout_s=2,
            http_error_answers=True,
        )

    def _log_tail(self, chars: int = 2000) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-chars:]

    def stop(self) -> None:
        """Terminate the server (then kill it if it lingers)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    # ------------------------------------------------------------------ clients

    def storage_options(self) -> dict[str, Any]:
        """s3fs keyword arguments for this server: dummy credentials and its endpoint."""
        return {
            "key": self.key,
            "secret": self.secret,
            "client_kwargs": {"endpoint_url": self.endpoint_url},
            "config_kwargs": {"s3": {"addressing_style": "path"}},
        }

    def bucket_info_config(self, *buckets: str, default: bool = False) -> dict[str, Any]:
        """A docray config dict (``docray.json``) pointing ``buckets`` (and ``[default]`` when
        ``default``) at this server, in MinerU's ``bucket_info`` format."""
        entry = [self.key, self.secret, self.endpoint_url]
        info = {bucket: list(entry) for bucket in buckets}
        if default:
            info["[default]"] = list(entry)
        return {"bucket_info": info}

    def filesystem(self):
        """A fresh s3fs filesystem on this server (not shared through fsspec's instance cache)."""
        import s3fs

        return s3fs.S3FileSystem(skip_instance_cache=True, **self.storage_options())

    def make_bucket(self, name: str) -> None:
        """Create bucket ``name`` (S3 bucket names have 3 to 63 characters)."""
        self.filesystem().mkdir(name)
