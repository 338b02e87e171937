"""Test doubles for the VLM path that still run for real: a scripted engine and a flaky HTTP front.

:class:`ScriptedVlm` is a :class:`~docray.models.protocols.VlmEngine` whose answers come from ordered
``(prompt_substring, answer)`` rules (a large VLM cannot run in tests), with deterministic per-token
log-probabilities and a log of every ``generate`` call::

    engine = ScriptedVlm([("Layout Detection", "<|box_start|>..."), ("Text Recognition", lambda r: "hello")])
    with VlmServer(engine) as server: ...             # docray.vlm_serve, on loopback
    engine.batch_sizes                                # [3, 1, ...]: requests per generate call

:class:`FlakyUpstream` is a real loopback HTTP server that answers the chat-completions requests it receives
with scripted failures (429 with ``Retry-After``, 503, a slow answer, a dropped connection) and then forwards
the following ones to a real server, recording every attempt (method, path, headers, time).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Sequence, Union

from docray.models.protocols import TokenLogprob, VlmRequest, VlmResponse
from docray.models.vlm_common import cut_at_stop
from docray.testing.servers import LoopbackServer

Answer = Union[str, Callable[[VlmRequest], str]]


def chunk_text(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of ``size`` characters (the last may be shorter); they join to ``text``."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def scripted_logprob(chunk: str) -> float:
    """A deterministic log-probability in (-1, 0] for a scripted token."""
    return -(zlib.crc32(chunk.encode("utf-8")) % 997) / 1000.0


class ScriptedVlm:
    """A VLM engine that answers from rules: the first ``(prompt_substring, answer)`` whose substring is in the
    request's prompt wins; ``answer`` is a string or a callable ``(VlmRequest) -> str`` (one that raises gives an
    error response).  No match: ``default`` when given, else an error response.

    A "token" is ``chunk_chars`` characters: ``max_tokens`` cuts the answer (``finish_reason="length"``), ``stop``
    strings cut it where they first occur, and ``logprobs`` requests get the chunks with
    :func:`scripted_logprob` values.  ``delay_s`` is slept per ``generate`` call (a model's latency).
    ``calls`` holds each call's requests, in order.
    """

    def __init__(self, rules: Sequence[tuple[str, Answer]], *, default: Answer | None = None,
                 model_name: str = "scripted-vlm", chunk_chars: int = 3, delay_s: float = 0.0):  # fmt: skip
        if chunk_chars < 1:
            raise ValueError("chunk_chars must be >= 1")
        self.rules = list(rules)
        self.default = default
        self.model_name = model_name
        self.chunk_chars = chunk_chars
        self.delay_s = delay_s
        self.calls: list[tuple[VlmRequest, ...]] = []
        self.closed = False
        self._lock = threading.Lock()

    @property
    def batch_sizes(self) -> list[int]:
        """Requests per ``generate`` call, in call order."""
        with self._lock:
            return [len(call) for call in self.calls]

    @property
    def requests(self) -> list[VlmRequest]:
        """Every request seen, in order."""
        with self._lock:
            return [request for call in self.calls for request in call]

    def generate(self, requests: Sequence[VlmRequest]) -> list[VlmResponse]:
        with self._lock:
            self.calls.append(tuple(requests))
        if self.delay_s:
            time.sleep(self.delay_s)
        return [self.answer(request) for request in requests]

    def _rule(self, request: VlmRequest) -> Answer | None:
        return next((answer for key, answer in self.rules if key in request.prompt), self.default)

    def answer(self, request: VlmRequest) -> VlmResponse:
        """The scripted response to one request."""
        rule = self._rule(request)
        if rule is None:
            return VlmResponse(text="", finish_reason="error", error=f"no scripted rule matches {request.prompt!r}")
        try:
            text = rule(request) if callable(rule) else rule
        except Exception as exc:  # noqa: BLE001 - an engine returns failures, it does not raise them
            return VlmResponse(text="", finish_reason="error", error=f"{type(exc).__name__}: {exc}")
        text, _, _ = cut_at_stop(text, [], request.stop)
        chunks = chunk_text(text, self.chunk_chars)
        finish = "stop"
        if len(chunks) > request.max_tokens:
            chunks, finish = chunks[: request.max_tokens], "length"
        tokens = tuple(TokenLogprob(c, scripted_logprob(c)) for c in chunks) if request.logprobs else ()
        return VlmResponse(text="".join(chunks), tokens=tokens, finish_reason=finish)

    def close(self) -> None:
        self.closed = True


# --------------------------------------------------------------------------- a flaky front for retry tests


@dataclass(frozen=True)
class Fault:
    """One scripted failure: answer ``status`` (with ``headers``) after ``delay_s``; ``drop`` closes the
    connection without answering instead.  A ``delay_s`` longer than a client's timeout is a timeout."""

    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "scripted failure"
    delay_s: float = 0.0
    drop: bool = False


@dataclass(frozen=True)
class Attempt:
    """One request the flaky server received."""

    method: str
    path: str
    headers: dict[str, str]
    time: float  # time.monotonic() on arrival
    fault: Fault | None  # the failure it got; None: forwarded


class _FlakyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answers go out in two writes: without it a keep-alive client waits ~40 ms
    server: _FlakyHttp

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        flaky = self.server.flaky
        fault = flaky.record(self.command, self.path, dict(self.headers.items()))
        if fault is not None:
            if fault.delay_s:
                time.sleep(fault.delay_s)
            if fault.drop:
                self.close_connection = True
                return
            error = {"error": {"message": fault.message, "type": "server_error"}}
            self._answer(fault.status, json.dumps(error).encode(), {"Content-Type": "application/json",
                                                                    **fault.headers})  # fmt: skip
            return
        status, answer, content_type = flaky.forward(self.command, self.path, body, self.headers)
        self._answer(status, answer, {"Content-Type": content_type})

    do_GET = _handle
    do_POST = _handle


class _FlakyHttp(ThreadingHTTPServer):
    request_queue_size = 128  # http.server's 5 makes clients that connect together retry their SYN a second later
    daemon_threads = True
    flaky: FlakyUpstream

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that timed out close their end while a delayed answer is being written


class FlakyUpstream(LoopbackServer):
    """A loopback server answering requests to ``paths`` with ``faults`` in order, then forwarding to ``upstream``
    (other paths are always forwarded; no ``upstream``: 502).  ``attempts`` records every request."""

    def __init__(self, upstream: str | None = None, faults: Sequence[Fault] = (), *,
                 paths: Sequence[str] = ("/v1/chat/completions",), host: str = "127.0.0.1"):  # fmt: skip
        base = upstream.rstrip("/") if upstream else None
        self.upstream = base[: -len("/v1")] if base and base.endswith("/v1") else base  # paths carry /v1
        self.faults = list(faults)
        self.paths = tuple(paths)
        self.host = host
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()
        self._http: _FlakyHttp | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("the flaky server is not running")
        return f"http://{self.host}:{self._http.server_address[1]}"

    def start(self) -> None:
        if self._http is not None:
            return
        self._http = _FlakyHttp((self.host, 0), _FlakyHandler)
        self._http.flaky = self
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), name="docray-flaky-upstream",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            http.shutdown()
            http.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def attempts_at(self, path: str) -> list[Attempt]:
        """The attempts at one path, in arrival order."""
        with self._lock:
            return [a for a in self.attempts if a.path == path]

    def record(self, method: str, path: str, headers: dict[str, str]) -> Fault | None:
        """Log a request; the fault it gets (None: forward it)."""
        with self._lock:
            fault = self.faults.pop(0) if path.split("?", 1)[0] in self.paths and self.faults else None
            self.attempts.append(Attempt(method, path, headers, time.monotonic(), fault))
            return fault

    def forward(self, method: str, path: str, body: bytes, headers: Any) -> tuple[int, bytes, str]:
        """Status, body and content type of the upstream's answer to the same request."""
        if self.upstream is None:
            return 502, json.dumps({"error": {"message": "no upstream", "type": "server_error"}}).encode(), \
                "application/json"  # fmt: skip
        sent = {k: headers[k] for k in ("Content-Type", "Authorization") if headers.get(k)}
        request = urllib.request.Request(self.upstream + path, data=body if method == "POST" else None,
                                         headers=sent, method=method)  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=600) as answer:
                return answer.status, answer.read(), answer.headers.get("Content-Type", "application/json")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers.get("Content-Type", "application/json")
