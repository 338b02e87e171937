"""ASGI middleware that answers 401 / 429 / 413 before a request's body is read (uploads can be large)."""

from __future__ import annotations

import json
from typing import Any

from docray.serve.limits import ANONYMOUS, ApiKeys, RateLimiter, Refusal

PUBLIC_PATHS = ("/", "/health", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc")
PUBLIC_PREFIXES = ("/docs/assets/",)  # Swagger UI's and Redoc's scripts and styles (docray.serve.docs)


class _TooLarge(Exception):
    pass


class Gate:
    """Checks the API key (all routes but the public ones), spends the rate allowance of submissions
    (``POST`` to ``submit_paths``) and caps the body at ``max_bytes`` (Content-Length, then the bytes read)."""

    def __init__(self, app: Any, *, keys: ApiKeys, rate: RateLimiter, max_bytes: int, submit_paths: tuple[str, ...]):
        self.app, self.keys, self.rate, self.max_bytes, self.submit_paths = app, keys, rate, max_bytes, submit_paths

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            if not is_public(scope["path"]):
                who = self.keys.client_of(headers.get("authorization"))
                if scope["method"] == "POST" and scope["path"] in self.submit_paths:
                    address = (scope.get("client") or ("unknown",))[0]
                    self.rate.take(who if who != ANONYMOUS else f"address:{address}")  # no keys: per client address
            length = headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > self.max_bytes:
                raise Refusal(413, f"the request has {int(length)} bytes, over this server's limit of {self.max_bytes}")
        except Refusal as exc:
            await _answer(send, exc)
            return
        seen = 0
        started = False

        async def counted_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        async def watched_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except _TooLarge:
            if not started:
                await _answer(send, Refusal(413, f"the request is over this server's limit of {self.max_bytes} bytes"))


def is_public(path: str) -> bool:
    """Paths answered without an API key: the web page, /health, the API docs and their assets."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


async def _answer(send: Any, refusal: Refusal) -> None:
    body = json.dumps({"detail": refusal.detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in refusal.headers.items()]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
