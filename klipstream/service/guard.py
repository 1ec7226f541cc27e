"""What the service checks before FastAPI sees a request: the bearer token (or, without one, Host and Origin),
then the body's size and how long it takes to arrive.

A pure ASGI middleware, so these checks happen before a byte of the body is read: a client without the token
gets 401 whatever it sends, and a body over the limit gets 413 whether it announces its length or streams it
chunked; a body that has not arrived within `body_timeout` seconds gets 408. Everything under /api/ needs the
token when the server has one; /health, /docs and /openapi.json stay open (they say nothing about jobs).

Without a token, a browser is what could reach the API for someone else: a page on any site can POST to it (a
CORS "simple" request is sent without asking), and a DNS-rebinding page reaches it under its own host name. So
then /api/ answers only a request whose Host is a loopback name or one of `allowed_hosts` (403 otherwise), and
whose Origin, when it has one, is the server's own or one of `allowed_origins` (403 otherwise). Error bodies are
one line and never repeat what the client sent."""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 16 * 1024  # a request is a URL or an id: 16 KiB is generous
BODY_TIMEOUT_SECONDS = 10.0  # for those 16 KiB
PROTECTED_PREFIX = "/api/"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_DEFAULT_PORTS = {"http": 80, "https": 443}


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


def _host_port(netloc: str, scheme: str) -> tuple[str, int | None] | None:
    """(lower-case host name without brackets, port or the scheme's default) of `netloc`; None if malformed."""
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    return parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    value = next((v for k, v in headers if k.lower() == name), None)
    return None if value is None else value.decode("latin-1").strip()


class Guard:
    """ASGI middleware: 401 without the token (under /api/), or without a token on the server 403 for a foreign
    Host or Origin; 413 for a body over `max_body` bytes, 408 for one not received within `body_timeout` s."""

    def __init__(
        self,
        app,
        *,
        token: str | None = None,
        max_body: int = MAX_BODY_BYTES,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
        allowed_hosts: list[str] | tuple[str, ...] = LOOPBACK_HOSTS,
        allowed_origins: list[str] | tuple[str, ...] = (),
    ):
        self.app, self.token, self.max_body, self.body_timeout = app, token, max_body, body_timeout
        bracketed = (
            f"[{h}]" if h.count(":") > 1 and not h.startswith("[") else h for h in map(str.strip, allowed_hosts)
        )
        named = (_host_port(h, "http") for h in bracketed)  # an IPv6 address as given to --host, bare
        self.allowed_hosts = {n[0] for n in named if n is not None}  # names: a port given with one is not kept
        self.allowed_origins = {o.rstrip("/").lower() for o in allowed_origins}

    def foreign(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> str | None:
        """Without a token: why a request may not have come from this machine's user (None when it may)."""
        scheme = scope.get("scheme", "http")
        host_header = _header(headers, b"host") or ""
        host = _host_port(host_header, scheme)
        if host is None or host[0] not in self.allowed_hosts:
            return (
                "Host not allowed: without KLIPSTREAM_API_TOKEN the API answers only localhost and the "
                "--host/--allowed-host names"
            )
        origin = _header(headers, b"origin")
        if origin is None or origin.rstrip("/").lower() in self.allowed_origins:
            return None
        parts = urlsplit(origin)
        if parts.scheme not in _DEFAULT_PORTS or _host_port(parts.netloc, parts.scheme) != host:
            return (
                "Origin not allowed: without KLIPSTREAM_API_TOKEN the API answers only its own pages and the "
                "--cors-origin origins"
            )
        return None

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
        if not self.token and scope["path"].startswith(PROTECTED_PREFIX) and not preflight:
            if refused := self.foreign(scope, headers):
                return await send_error(send, 403, refused)
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
            body = await asyncio.wait_for(self._read(receive), self.body_timeout)
        except TooLarge:
            return await send_error(send, 413, f"request body over {self.max_body} bytes")
        except TimeoutError:
            return await send_error(send, 408, f"request body not received within {self.body_timeout:g} s")
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
