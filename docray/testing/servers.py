"""What the loopback test servers (:class:`~docray.testing.s3.S3Server`, :class:`~docray.testing.ray_head.RayHead`)
share: free ports, waiting for a started process to answer HTTP, and the context-manager protocol."""

from __future__ import annotations

import socket
import subprocess
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
