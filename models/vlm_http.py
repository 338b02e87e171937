"""A vision-language model behind an OpenAI-compatible chat-completions server (vLLM, sglang, ``docray vlm-serve``).

Each :class:`~docray.models.protocols.VlmRequest` becomes one ``POST {url}/v1/chat/completions`` with the image
as a base64 data URL (``image/png`` or ``image/jpeg``, sniffed from the bytes) followed by the prompt text.
Requests run concurrently on a thread pool of ``max_concurrency`` threads sharing one HTTP connection pool of
the same size, and answers come back in request order.

Failures are per request: 429, 408, 500, 502, 503 and 504 answers, refused or dropped connections and timeouts
are retried ``max_retries`` times with exponential backoff and jitter (a ``Retry-After`` header in seconds, or
an HTTP date, replaces the backoff); any other 4xx is not retried.  A request that still fails becomes
``VlmResponse(text="", finish_reason="error", error="HTTP 503: <the server's message>")`` (or the exception),
never an exception out of :meth:`HttpVlm.generate`.

Log-probabilities (``logprobs: true``) are read from ``choices[0].logprobs.content[*].{token, logprob}``.  Servers
do not all promise that the token texts join to the message content (a token that ends inside a UTF-8 character
has no text of its own): when they do not, the tokens are rebuilt from each entry's ``bytes`` where the server
sent them, and otherwise kept as the server sent them (then the join may differ from ``text``).
``docray vlm-serve`` (:mod:`docray.vlm_serve`) always sends tokens that join to the content.
"""

from __future__ import annotations

import codecs
import email.utils
import json
import math
import os
import random
import threading
import time
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import Any, Literal, Sequence

from pydantic import Field

from docray.secrets import CredentialUrl, SecretOptions, redact_url
from docray.config import StrictModel
from docray.models.protocols import TokenLogprob, VlmRequest, VlmResponse
from docray.models.vlm_common import data_url

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class HttpVlmOptions(StrictModel):
    """An OpenAI-compatible chat-completions server (vLLM, sglang, ``docray vlm-serve``) as a VLM engine."""

    kind: Literal["http"] = "http"
    url: CredentialUrl = Field(
        description="server base URL, with or without /v1 (http://127.0.0.1:30000 or .../v1); credentials in it "
        "(https://user:pass@host) are never written to run records"
    )
    model: str | None = Field(None, description="served model name; None: the first id that GET /v1/models lists")
    api_key_env: str | None = Field(
        "DOCRAY_VLM_API_KEY",
        description="environment variable holding the API key (read when the engine is created; sent as a Bearer "
        "token when set and non-empty); None: send no key",
    )
    max_concurrency: int = Field(8, ge=1, description="requests in flight at once (threads and pooled connections)")
    timeout_s: float = Field(300.0, gt=0, description="per-request connect and read timeout in seconds")
    max_retries: int = Field(4, ge=0, description="retries of a request after a retryable failure")
    backoff_s: float = Field(1.0, ge=0, description="first retry's wait; doubled per retry, with jitter")
    backoff_max_s: float = Field(30.0, ge=0, description="longest wait between retries (also caps Retry-After)")
    headers: SecretOptions = Field(
        default_factory=dict, description="extra HTTP headers sent with every request (secret-looking values redacted in records)"
    )


class RequestFailed(Exception):
    """A request that failed for good (not retryable, or out of retries); the message is the response's error."""


# --------------------------------------------------------------------------- pure helpers


def api_base(url: str) -> str:
    """The ``.../v1`` base of a server URL given with or without ``/v1`` (a trailing slash is ignored)."""
    base = url.strip().rstrip("/")
    return base if base.endswith("/v1") else f"{base}/v1"


def chat_payload(request: VlmRequest, model: str) -> dict[str, Any]:
    """The chat-completions JSON body for one request: optional system message, then the image and the prompt."""
    messages: list[dict[str, Any]] = []
    if request.system is not None:
        messages.append({"role": "system", "content": request.system})
    content = [
        {"type": "image_url", "image_url": {"url": data_url(request.image)}},
        {"type": "text", "text": request.prompt},
    ]
    messages.append({"role": "user", "content": content})
    payload: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
    }
    if request.stop:
        payload["stop"] = list(request.stop)
    if request.logprobs:
        payload["logprobs"] = True
    if request.repetition_penalty != 1.0:  # a vLLM / sglang extension field; plain OpenAI servers do not know it
        payload["repetition_penalty"] = request.repetition_penalty
    if not request.skip_special_tokens:  # vLLM / sglang / docray vlm-serve extension (MinerU2.5's layout tokens)
        payload["skip_special_tokens"] = False
    if request.json_schema is not None:
        payload["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "fields", "schema": request.json_schema, "strict": True},
        }
    return payload


def logprob_tokens(entries: Sequence[dict[str, Any]], content: str) -> tuple[TokenLogprob, ...]:
    """Tokens from ``logprobs.content`` entries; rebuilt from their ``bytes`` when the texts do not join to
    ``content`` but the bytes do (a token ending inside a UTF-8 character then gets ``""``), else as given."""
    tokens = tuple(TokenLogprob(str(e.get("token") or ""), _logprob(e.get("logprob"))) for e in entries)
    if "".join(t.token for t in tokens) == content or not all(isinstance(e.get("bytes"), list) for e in entries):
        return tokens
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    texts = [decoder.decode(bytes(e["bytes"])) for e in entries]
    if texts:
        texts[-1] += decoder.decode(b"", final=True)
    if "".join(texts) != content:
        return tokens
    return tuple(TokenLogprob(text, t.logprob) for text, t in zip(texts, tokens))


def _logprob(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return -9999.0
    return number if math.isfinite(number) else -9999.0


def parse_completion(body: dict[str, Any]) -> VlmResponse:
    """A :class:`VlmResponse` from a chat-completions JSON answer (``finish_reason`` is ``length`` or ``stop``)."""
    choices = body.get("choices") or []
    if not choices:
        raise RequestFailed(f"the server's answer has no choices: {json.dumps(body)[:300]}")
    choice = choices[0]
    text = (choice.get("message") or {}).get("content") or ""
    entries = (choice.get("logprobs") or {}).get("content") or []
    finish = "length" if choice.get("finish_reason") == "length" else "stop"
    return VlmResponse(text=text, tokens=logprob_tokens(entries, text), finish_reason=finish)


def error_response(message: str) -> VlmResponse:
    """The response of a request that failed."""
    return VlmResponse(text="", finish_reason="error", error=message)


def error_text(status: int, body: bytes) -> str:
    """``HTTP <status>: <message>`` from an error answer: OpenAI's ``error.message`` when present, else the body."""
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        message = error.get("message") if isinstance(error, dict) else error if isinstance(error, str) else None
        text = str(message or parsed.get("message") or parsed.get("detail") or text)
    return f"HTTP {status}: {text[:1000]}"


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_delay(attempt: int, backoff_s: float, backoff_max_s: float, retry_after: float | None,
                rng: random.Random) -> float:  # fmt: skip
    """The wait before retry ``attempt`` (0-based): the server's ``Retry-After`` when given, else
    ``backoff_s * 2**attempt`` with jitter (50-100%); never more than ``backoff_max_s``."""
    if retry_after is not None:
        return min(retry_after, backoff_max_s)
    return min(backoff_max_s, backoff_s * 2.0**attempt) * (0.5 + 0.5 * rng.random())


# --------------------------------------------------------------------------- the engine


def _result(future: Future) -> VlmResponse:
    try:
        return future.result()
    except CancelledError:  # the engine was closed while the request waited for a thread
        return error_response("the http VLM engine was closed before the request was sent")


class HttpVlm:
    """A :class:`~docray.models.protocols.VlmEngine` over an OpenAI-compatible chat-completions server."""

    def __init__(self, options: HttpVlmOptions):
        try:
            import requests
            from requests.adapters import HTTPAdapter
        except ImportError as exc:  # a core dependency; only a broken install lacks it
            raise ImportError(f"the http VLM engine needs requests: pip install requests ({exc})") from exc
        self.options = options
        self.base = api_base(options.url)
        self._requests = requests
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=options.max_concurrency, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update(options.headers)
        api_key = os.environ.get(options.api_key_env, "") if options.api_key_env else ""
        if api_key:
            self._session.headers["Authorization"] = f"Bearer {api_key}"
        self._executor = ThreadPoolExecutor(options.max_concurrency, thread_name_prefix="docray-vlm-http")
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._rng = random.Random()
        self._model = options.model

    @classmethod
    def from_options(cls, options: HttpVlmOptions, threads: int = 1) -> HttpVlm:
        return cls(options)

    @property
    def model_name(self) -> str:
        """The served model name: the options' ``model``, else the first id of ``GET /v1/models`` (asked once)."""
        with self._lock:
            if self._model is None:
                listed = self._call("GET", "/models").get("data") or []
                ids = [m.get("id") for m in listed if isinstance(m, dict) and m.get("id")]
                if not ids:
                    raise RequestFailed(f"{redact_url(self.base)}/models lists no model")
                self._model = str(ids[0])
            return self._model

    def generate(self, requests: Sequence[VlmRequest]) -> list[VlmResponse]:
        """Answers to ``requests`` in order, ``max_concurrency`` in flight at once; failures are error responses."""
        if not requests:
            return []
        if self._closed.is_set():
            return [error_response("the http VLM engine is closed")] * len(requests)
        try:
            model = self.model_name
        except Exception as exc:  # noqa: BLE001 - the engine never raises for failed requests
            return [error_response(f"model discovery failed: {exc}")] * len(requests)
        try:
            futures = [self._executor.submit(self._answer, request, model) for request in requests]
        except RuntimeError as exc:  # closed while submitting
            return [error_response(f"the http VLM engine is closed ({exc})")] * len(requests)
        return [_result(future) for future in futures]

    def _answer(self, request: VlmRequest, model: str) -> VlmResponse:
        try:
            return parse_completion(self._call("POST", "/chat/completions", chat_payload(request, model)))
        except Exception as exc:  # noqa: BLE001 - one failed request becomes its error response
            return error_response(str(exc) if isinstance(exc, RequestFailed) else f"{type(exc).__name__}: {exc}")

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON answer of one API call, retried as the options say; ``RequestFailed`` when it fails for good."""
        errors = self._requests.exceptions
        retryable = (errors.ConnectionError, errors.Timeout, errors.ChunkedEncodingError)
        attempts = self.options.max_retries + 1
        for attempt in range(attempts):
            if self._closed.is_set():
                raise RequestFailed("the http VLM engine is closed")
            wait = None
            try:
                answer = self._session.request(method, self.base + path, json=payload, timeout=self.options.timeout_s)
            except retryable as exc:
                failure = redact_url(f"{type(exc).__name__}: {exc}")  # error rows must not carry URL credentials
            else:
                if answer.status_code < 400:
                    try:
                        return answer.json()
                    except ValueError:
                        raise RequestFailed(f"HTTP {answer.status_code}: not JSON: {answer.text[:300]!r}") from None
                failure = error_text(answer.status_code, answer.content)
                if answer.status_code not in RETRY_STATUSES:
                    raise RequestFailed(failure)
                wait = retry_after_s(answer.headers.get("Retry-After"))
            if attempt + 1 < attempts:
                self._closed.wait(retry_delay(attempt, self.options.backoff_s, self.options.backoff_max_s, wait,
                                              self._rng))  # fmt: skip
        raise RequestFailed(f"{failure} (after {attempts} attempts)")

    def close(self) -> None:
        """Stop retrying, wait for requests in flight, close the connection pool (idempotent)."""
        self._closed.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._session.close()
