"""What the service checks before FastAPI sees a request: the bearer token, then the body's size.

A pure ASGI middleware, so both checks happen before a byte of the body is read: a client without the token
gets 401 whatever it sends, and a body over the limit gets 413 whether it announces its length or streams it
chunked. Everything under /api/ needs the token when the server has one; /health, /docs and /openapi.json
stay open (they say nothing about jobs). Error bodies are one line and never repeat what the client sent."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 16 * 1024  # a request is a URL or an id: 16 KiB is generous
PROTECTED_PREFIX = "/api/"


class TooLarge(Exception):
    pass


def bearer_ok(headers: list[tuple[bytes, bytes]], token: str) -> bool:
    """True when the request carries `Authorization: Bearer <token>` (constant-time comparison)."""
    value = next((v for k, v in headers if k.lower() == b"authorization"), b"")
    scheme, _, given = value.partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), token.encode())


async def send_error(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    head = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    head += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: 401 without the token (under /api/), 413 for a body over `max_body` bytes."""

    def __init__(self, app, *, token: str | None = None, max_body: int = MAX_BODY_BYTES):
        self.app, self.token, self.max_body = app, token, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = scope.get("headers") or []
        preflight = scope["method"] == "OPTIONS"  # CORS preflights carry no credentials
        if (
            self.token
            and scope["path"].startswith(PROTECTED_PREFIX)
            and not preflight
            and not bearer_ok(headers, self.token)
        ):
            return await send_error(send, 401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
        length = next((v for k, v in headers if k.lower() == b"content-length"), None)
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return await send_error(send, 400, "invalid Content-Length header")
            if declared > self.max_body:
                return await send_error(send, 413, f"request body over {self.max_body} bytes")
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") and length is None:
            return await self.app(scope, receive, send)
        try:  # read (at most max_body bytes of) the body here, then hand it to the app in one piece
            body = await self._read(receive)
        except TooLarge:
            return await send_error(send, 413, f"request body over {self.max_body} bytes")
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # http.disconnect once the client goes away

        return await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)
