"""A real Ray head node on loopback for tests: ``ray start --head --block`` in its own session.

    with RayHead(num_cpus=2) as head:
        client = JobSubmissionClient(head.dashboard_url)
        ...
    # every process of that head is gone here (head.stop() returns any it could not end)

Every port is a free one and the temp dir is private, so other Ray instances on the machine (embedded
``ray.init()`` in other tests) neither see this head nor get touched by its shutdown: it never runs the
global ``ray stop``. The head runs in a new session (``setsid``); Ray's processes, workers included, stay in
it, so stopping signals exactly the processes whose session id is the head's (plus, to be safe, any whose
command line names the private temp dir). ``python`` on the head's PATH is this interpreter, as a cluster
image's ``python`` has Ray and docray's dependencies. Needs ``ray[default]`` and psutil.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docray.testing.servers import LoopbackServer, free_port, wait_for_http

PORT_OPTIONS = ("port", "dashboard-port", "ray-client-server-port", "dashboard-agent-listen-port",
                "dashboard-agent-grpc-port", "runtime-env-agent-port", "metrics-export-port",
                "node-manager-port", "object-manager-port")  # fmt: skip


class RayHead(LoopbackServer):
    """``ray start --head`` on ``host`` with ``num_cpus`` CPUs, free ports and a private temp dir."""

    def __init__(self, *, num_cpus: int = 2, host: str = "127.0.0.1", start_timeout: float = 120.0, attempts: int = 2):
        self.num_cpus = num_cpus
        self.host = host
        self.start_timeout = start_timeout
        self.attempts = attempts
        self.temp_dir: Path | None = None
        self.ports: dict[str, int] = {}
        self.start_seconds: float | None = None
        self._process: subprocess.Popen | None = None
        self._log_path: Path | None = None

    @property
    def dashboard_url(self) -> str:
        return f"http://{self.host}:{self.ports['dashboard-port']}"

    @property
    def gcs_address(self) -> str:
        return f"{self.host}:{self.ports['port']}"

    def start(self) -> None:
        """Start the head and wait until its job API answers; ``RuntimeError`` with the log when it cannot."""
        failures = []
        t0 = time.monotonic()
        for _ in range(self.attempts):  # another process may take a free port before Ray binds it
            # short and private: Ray's unix sockets live under it (path length limit ~107 characters)
            self.temp_dir = Path(tempfile.mkdtemp(prefix="drh-", dir="/tmp"))
            self.ports = {name: free_port(self.host) for name in PORT_OPTIONS}
            bin_dir = str(Path(sys.executable).parent)
            env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")}
            env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
            env.setdefault("RAY_AUTH_MODE", "disabled")
            command = [
                str(Path(bin_dir) / "ray"), "start", "--head", "--block", f"--node-ip-address={self.host}",
                f"--dashboard-host={self.host}", "--include-dashboard=true", f"--num-cpus={self.num_cpus}",
                f"--temp-dir={self.temp_dir}", "--disable-usage-stats",
                *(f"--{name}={port}" for name, port in self.ports.items()),
            ]  # fmt: skip
            self._log_path = self.temp_dir / "ray-start.log"
            with open(self._log_path, "wb") as log:
                self._process = subprocess.Popen(
                    command, cwd=self.temp_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )  # fmt: skip
            if self._wait_until_answering():
                self.start_seconds = time.monotonic() - t0
                return
            failures.append(self._log_tail())
            self.stop()
        raise RuntimeError("ray start --head failed:\n" + "\n---\n".join(failures))

    def _wait_until_answering(self) -> bool:
        return wait_for_http(
            self._process, f"{self.dashboard_url}/api/jobs/", timeout_s=self.start_timeout, poll_s=0.5,
            request_timeout_s=5, ok_status=200,
        )  # fmt: skip

    def _log_tail(self, chars: int = 3000) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-chars:] if self._log_path else ""
        except OSError:
            return ""

    def processes(self) -> list:
        """This head's live processes (psutil.Process): its session, or naming its temp dir."""
        import psutil

        if self._process is None:
            return []
        leader, found = self._process.pid, []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            try:
                mine = os.getsid(proc.pid) == leader or any(
                    str(self.temp_dir) in part for part in proc.info["cmdline"] or []
                )
                if mine and proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
            except (ProcessLookupError, PermissionError, psutil.Error):
                continue
        return found

    def stop(self, grace: float = 3.0) -> list[str]:
        """SIGTERM every process of this head, SIGKILL what is left after ``grace`` s (some of Ray's never end on
        SIGTERM once the GCS is gone), remove the temp dir.

        Returns descriptions of processes still alive afterwards (empty when everything ended)."""
        import psutil

        left: list[str] = []
        if self._process is not None:
            for sig, wait_s in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
                procs = self.processes()
                for proc in procs:
                    try:
                        proc.send_signal(sig)
                    except psutil.Error:
                        pass
                psutil.wait_procs(procs, timeout=wait_s)
                if self._process.poll() is None:
                    try:
                        self._process.wait(timeout=1)
                    except subprocess.TimeoutExpired:
                        pass
            left = [f"{p.pid} {' '.join(p.info['cmdline'] or [])[:120]}" for p in self.processes()]
            self._process = None
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
        return left
