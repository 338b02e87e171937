"""``docray vlm-serve``: an OpenAI-compatible chat-completions server over any docray VLM engine (stdlib HTTP).

    docray vlm-serve --engine transformers --model models-dir:MinerU2.5 [--host 127.0.0.1] [--port 8000]
                     [--served-model-name NAME] [--batch-size N] [--device cpu|cuda|auto] [--max-batch N]

Endpoints: ``GET /v1/models``, ``GET /health`` and ``POST /v1/chat/completions``.  A chat request carries exactly
one image, as a base64 data URL (``data:image/png;base64,...``; PNG or JPEG) in an ``image_url`` content part;
remote image URLs are refused (nothing downloads).  ``system`` and ``user`` messages are read (their text parts
joined by newlines, in order); ``max_tokens`` / ``max_completion_tokens``, ``temperature``, ``top_p``, ``stop``,
``logprobs``, ``repetition_penalty`` and a ``json_schema`` (or ``json_object``) ``response_format`` become the
:class:`~docray.models.protocols.VlmRequest`; omitted sampling fields take docray's defaults (greedy, 1024 tokens).
Answers have OpenAI's shape; with ``logprobs`` the tokens (``bytes`` = their UTF-8) join exactly to the content.

Requests that arrive within ``batch_wait_ms`` of each other go to the engine in ONE ``generate`` call (up to
``max_batch``): one worker thread owns the engine, each HTTP handler thread waits for its own answer.  Bad
requests get 400 with an OpenAI-style error JSON; an engine error (``VlmResponse.error``) gets 500.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import itertools
import json
import math
import queue
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Sequence

from docray.models.protocols import VlmEngine, VlmRequest, VlmResponse
from docray.models.vlm_common import image_mime

DEFAULTS = VlmRequest(image=b"", prompt="")
POLL_S = 0.05  # how often the accept loop checks for stop()


class ApiError(Exception):
    """A request the server answers with an OpenAI-style error: ``status`` and ``{"error": {"message", "type"}}``."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": None, "code": None}}


# --------------------------------------------------------------------------- requests


def decode_data_url(url: str) -> bytes:
    """The image bytes of a ``data:image/...;base64,...`` URL; ``ApiError`` (400) for anything else."""
    if not isinstance(url, str) or not url:
        raise ApiError(400, "image_url.url must be a non-empty string")
    if not url.startswith("data:"):
        raise ApiError(400, "remote image URLs are refused (nothing downloads here): send the image as a base64 "
                            "data URL (data:image/png;base64,...)")  # fmt: skip
    header, sep, payload = url.partition(",")
    if not sep or not header.endswith(";base64"):
        raise ApiError(400, "the image data URL must be base64-encoded (data:image/png;base64,...)")
    try:
        image = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "the image data URL is not valid base64") from None
    if image_mime(image) is None:
        raise ApiError(400, "the image is not a PNG or JPEG")
    return image


def _parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if content is None:
        return []
    if not isinstance(content, list) or not all(isinstance(part, dict) for part in content):
        raise ApiError(400, "message content must be a string or a list of content parts")
    return content


def _image_url(part: dict[str, Any]) -> str:
    value = part.get("image_url")
    return value.get("url") if isinstance(value, dict) else value


def _number(body: dict[str, Any], name: str, default: float) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError(400, f"{name} must be a number")
    return float(value)


def _max_tokens(body: dict[str, Any]) -> int:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    if value is None:
        return DEFAULTS.max_tokens
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ApiError(400, "max_tokens must be a positive integer")
    return value


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return tuple(s for s in value if s)
    raise ApiError(400, "stop must be a string or a list of strings")


def _json_schema(value: Any) -> dict | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "object"}
    if kind == "json_schema":
        schema = (value.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise ApiError(400, "response_format.json_schema.schema must be a JSON object")
        return schema
    raise ApiError(400, "response_format.type must be text, json_object or json_schema")


def parse_chat_request(body: Any) -> VlmRequest:
    """The :class:`VlmRequest` a chat-completions body asks for; ``ApiError`` (400) when docray cannot serve it."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    if body.get("stream"):
        raise ApiError(400, "stream is not supported")
    if body.get("n", 1) != 1:
        raise ApiError(400, "only n=1 is supported")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise ApiError(400, "messages must be a non-empty list of message objects")
    system: list[str] = []
    prompt: list[str] = []
    images: list[bytes] = []
    for message in messages:
        role = message.get("role")
        if role not in ("system", "developer", "user"):
            raise ApiError(400, f"unsupported message role {role!r}: one turn of system and user messages only")
        for part in _parts(message):
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("text"), str):
                (prompt if role == "user" else system).append(part["text"])
            elif kind == "image_url" and role == "user":
                images.append(decode_data_url(_image_url(part)))
            else:
                raise ApiError(400, f"unsupported content part {kind!r} in a {role} message")
    if len(images) != 1:
        raise ApiError(400, f"exactly one image per request is required, got {len(images)}")
    return VlmRequest(
        image=images[0],
        prompt="\n".join(prompt),
        system="\n".join(system) if system else None,
        max_tokens=_max_tokens(body),
        temperature=_number(body, "temperature", DEFAULTS.temperature),
        top_p=_number(body, "top_p", DEFAULTS.top_p),
        repetition_penalty=_number(body, "repetition_penalty", DEFAULTS.repetition_penalty),
        logprobs=bool(body.get("logprobs")),
        skip_special_tokens=body.get("skip_special_tokens", True) is not False,
        json_schema=_json_schema(body.get("response_format")),
        stop=_stop(body.get("stop")),
    )


# --------------------------------------------------------------------------- answers


def _finite(logprob: float) -> float:
    return logprob if math.isfinite(logprob) else -9999.0  # JSON has no -inf; vLLM's convention


def completion_body(response: VlmResponse, request: VlmRequest, model: str, created: int | None = None,
                    completion_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The OpenAI ``chat.completion`` JSON of an engine's answer (logprobs only when asked and available)."""
    logprobs = None
    if request.logprobs and (response.tokens or not response.text):
        logprobs = {
            "content": [
                {"token": t.token, "logprob": _finite(t.logprob), "bytes": list(t.token.encode("utf-8")),
                 "top_logprobs": []}  # fmt: skip
                for t in response.tokens
            ]
        }
    usage = None
    if response.tokens:
        usage = {"completion_tokens": len(response.tokens)}
    return {
        "id": completion_id or f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": response.text},
                "finish_reason": response.finish_reason if response.finish_reason in ("stop", "length") else "stop",
                "logprobs": logprobs,
            }
        ],
        "usage": usage,
    }


# --------------------------------------------------------------------------- micro-batching


@dataclass
class _Job:
    request: VlmRequest
    done: threading.Event = field(default_factory=threading.Event)
    response: VlmResponse | None = None


class MicroBatcher:
    """One worker thread that owns ``engine``: requests arriving within ``batch_wait_ms`` of the first one
    waiting (up to ``max_batch``) go to the engine in one ``generate`` call."""

    def __init__(self, engine: VlmEngine, max_batch: int = 8, batch_wait_ms: float = 10.0):
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self.engine = engine
        self.max_batch = max_batch
        self.batch_wait_s = max(0.0, batch_wait_ms) / 1000.0
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._work, name="docray-vlm-batcher", daemon=True)
        self._thread.start()

    def submit(self, request: VlmRequest) -> VlmResponse:
        """The engine's answer to ``request`` (blocks until its batch is done)."""
        if self._stopped.is_set():
            return VlmResponse(text="", finish_reason="error", error="the server is stopping")
        job = _Job(request)
        self._queue.put(job)
        job.done.wait()
        return job.response

    def _collect(self) -> list[_Job] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.max_batch:
            try:
                job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is None:
                self._queue.put(None)  # stop after this batch
                break
            batch.append(job)
        return batch

    def _work(self) -> None:
        while (batch := self._collect()) is not None:
            try:
                responses = list(self.engine.generate([job.request for job in batch]))
                if len(responses) != len(batch):
                    raise RuntimeError(f"the engine answered {len(responses)} of {len(batch)} requests")
            except Exception as exc:  # noqa: BLE001 - engines should not raise; if one does, its batch fails
                responses = [VlmResponse(text="", finish_reason="error", error=f"{type(exc).__name__}: {exc}")] * len(
                    batch
                )
            for job, response in zip(batch, responses):
                job.response = response
                job.done.set()
        self._fail_waiting()

    def _fail_waiting(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                job.response = VlmResponse(text="", finish_reason="error", error="the server is stopping")
                job.done.set()

    def stop(self) -> None:
        """Finish the batch in progress, fail requests still queued, stop the worker (idempotent)."""
        if not self._stopped.is_set():
            self._stopped.set()
            self._queue.put(None)
        self._thread.join()


# --------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answers go out in two writes: without it a keep-alive client waits ~40 ms
    timeout = 300  # an idle keep-alive connection is closed after this many seconds
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.app.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        key = self.server.app.api_key
        if key and self.headers.get("Authorization", "") != f"Bearer {key}":
            self._send(401, ApiError(401, "invalid or missing API key", "authentication_error").body())
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/health":
            self._send(200, {"status": "ok"})
        elif path == "/v1/models":
            if self._authorised():
                self._send(200, self.server.app.models_body())
        else:
            self._send(404, ApiError(404, f"no route GET {self.path}", "not_found_error").body())

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send(400, ApiError(400, "bad Content-Length").body())
            return
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0].rstrip("/")
        if path != "/v1/chat/completions":
            self._send(404, ApiError(404, f"no route POST {self.path}", "not_found_error").body())
            return
        if not self._authorised():
            return
        status, body = self.server.app.chat(raw)
        self._send(status, body)


class _HttpServer(ThreadingHTTPServer):
    request_queue_size = 128  # http.server's 5 makes clients that connect together retry their SYN a second later
    daemon_threads = True
    app: VlmServer


class VlmServer:
    """An OpenAI-compatible server over ``engine`` on ``host:port`` (0: a free port), run in a background thread.

        with VlmServer(engine, served_name="my-vlm") as server:
            HttpVlm(HttpVlmOptions(url=server.url))...

    The engine stays the caller's (``stop`` does not close it).  ``max_in_flight`` is the most chat requests
    the server has held at once; ``served`` counts answered chat requests.
    """

    def __init__(self, engine: VlmEngine, host: str = "127.0.0.1", port: int = 0, served_name: str | None = None,
                 *, max_batch: int = 8, batch_wait_ms: float = 10.0, api_key: str | None = None,
                 verbose: bool = False):  # fmt: skip
        self.engine = engine
        self.host = host
        self.port = port
        self.served_name = served_name or engine.model_name
        self.max_batch = max_batch
        self.batch_wait_ms = batch_wait_ms
        self.api_key = api_key
        self.verbose = verbose
        self.created = int(time.time())
        self.max_in_flight = 0
        self.served = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._http: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._batcher: MicroBatcher | None = None
        self._looping = False  # serve() runs the accept loop in its caller's thread

    def __enter__(self) -> VlmServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server (clients add ``/v1``)."""
        if self._http is None:
            raise RuntimeError("the VLM server is not running")
        return f"http://{self.host}:{self.port}"

    def bind(self) -> None:
        """Bind the socket and start the batcher (``port`` 0 becomes the port the OS chose)."""
        if self._http is not None:
            return
        self._batcher = MicroBatcher(self.engine, self.max_batch, self.batch_wait_ms)
        self._http = _HttpServer((self.host, self.port), _Handler)
        self._http.app = self
        self.port = self._http.server_address[1]

    def start(self) -> None:
        """Serve in a background thread."""
        if self._thread is not None:
            return
        self.bind()
        self._thread = threading.Thread(target=self._http.serve_forever, args=(POLL_S,), name="docray-vlm-serve",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def serve(self) -> None:
        """Serve in this thread until :meth:`stop` is called from another one (or KeyboardInterrupt)."""
        self.bind()
        self._looping = True
        try:
            self._http.serve_forever(POLL_S)
        finally:
            self._looping = False
            self.stop()

    def stop(self) -> None:
        """Stop accepting requests, fail the queued ones, stop the batcher (idempotent)."""
        http, self._http = self._http, None
        if http is not None:
            if self._thread is not None or self._looping:
                http.shutdown()
            http.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._batcher is not None:
            self._batcher.stop()
            self._batcher = None

    def models_body(self) -> dict[str, Any]:
        """``GET /v1/models``: the one served model."""
        return {"object": "list", "data": [{"id": self.served_name, "object": "model", "created": self.created,
                                            "owned_by": "docray"}]}  # fmt: skip

    def chat(self, raw: bytes) -> tuple[int, dict[str, Any]]:
        """Status and JSON body for one ``POST /v1/chat/completions`` body."""
        try:
            try:
                body = json.loads(raw)
            except ValueError as exc:
                raise ApiError(400, f"the request body is not valid JSON: {exc}") from None
            request = parse_chat_request(body)
        except ApiError as exc:
            return exc.status, exc.body()
        batcher = self._batcher
        if batcher is None:
            return 503, ApiError(503, "the server is stopping", "server_error").body()
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            response = batcher.submit(request)
        finally:
            with self._lock:
                self._in_flight -= 1
                self.served += 1
        if response.error is not None:
            return 500, ApiError(500, response.error, "server_error").body()
        return 200, completion_body(response, request, self.served_name, completion_id=self._completion_id())

    def _completion_id(self) -> str:
        return f"chatcmpl-{uuid.uuid4().hex[:16]}{next(self._ids)}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``vlm-serve`` subcommand's arguments (``parser`` is its subparser); sets ``func`` to :func:`run`."""
    parser.add_argument("--engine", choices=("transformers",), default="transformers", help="VLM engine to serve")
    parser.add_argument("--model", required=True, help="weight spec of the model folder (models-dir:NAME or a path)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0: any free port)")
    parser.add_argument("--served-model-name", default=None, help="model id clients name (default: the engine's)")
    parser.add_argument("--batch-size", type=int, default=None, help="engine batch size (default: the engine's)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None, help="device (default: auto)")
    parser.add_argument("--dtype", choices=("auto", "float32", "float16", "bfloat16"), default=None,
                        help="weights and activations dtype (default: auto)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: the engine's)")
    parser.add_argument("--max-batch", type=int, default=None,
                        help="requests per engine call (default: --batch-size, else 8)")  # fmt: skip
    parser.add_argument("--batch-wait-ms", type=float, default=10.0,
                        help="how long the first waiting request waits for others to join its batch (default 10)")
    parser.add_argument("--api-key-env", default=None, metavar="NAME",
                        help="require 'Authorization: Bearer <key>' with the key read from this environment variable")
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request")
    parser.set_defaults(func=run)


def engine_options(args: argparse.Namespace) -> Any:
    """The engine's options from the command line (only the flags given; the options class fills the rest)."""
    from docray.models.vlm_transformers import TransformersVlmOptions

    given = {"model": args.model, "device": args.device, "dtype": args.dtype, "batch_size": args.batch_size,
             "threads": args.threads}  # fmt: skip
    return TransformersVlmOptions(kind=args.engine, **{k: v for k, v in given.items() if v is not None})


def run(args: argparse.Namespace) -> int:
    """Build the engine the arguments name and serve it until interrupted; 0, or 2 when it cannot start."""
    import os
    import signal

    from docray.models import registry

    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            print(f"error: the environment variable {args.api_key_env} holds no API key", file=sys.stderr)
            return 2
    try:
        engine = registry.create("vlm", engine_options(args), threads=args.threads or 1)
    except (ImportError, OSError, ValueError, KeyError) as exc:
        print(f"error: cannot load the {args.engine} VLM engine: {exc}", file=sys.stderr)
        return 2
    try:
        server = VlmServer(engine, args.host, args.port, args.served_model_name,
                           max_batch=args.max_batch or args.batch_size or 8, batch_wait_ms=args.batch_wait_ms,
                           api_key=api_key, verbose=args.verbose)  # fmt: skip
        server.bind()
    except OSError as exc:
        engine.close()
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    if threading.current_thread() is threading.main_thread():  # SIGTERM stops the server as Ctrl-C does
        signal.signal(signal.SIGTERM, lambda signum, frame: _interrupt())
    print(f"docray vlm-serve: {server.served_name} on {server.url}/v1", file=sys.stderr, flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        engine.close()
    return 0


def _interrupt() -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m docray.vlm_serve``: the same arguments as ``docray vlm-serve``."""
    parser = argparse.ArgumentParser(prog="docray vlm-serve", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
