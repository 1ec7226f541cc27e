"""The HTTP/1.1 protocol `klipstream serve` runs: uvicorn's h11 protocol with a header timeout and a connection cap.

uvicorn closes a connection that stays idle after a response (keep-alive timeout), but it waits forever for a
request that never arrives or whose headers never end, and it accepts every connection. Here a connection gets
`header_timeout` seconds from its opening (or from its last response) until a request's headers are complete: then
it is closed, after a 408 when part of a request came. A connection past `max_connections` open ones is answered
503 and closed. The body's own timeout is the Guard middleware's (guard.py), which reads the body."""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus

from uvicorn.protocols.http.h11_impl import H11Protocol

from . import HEADER_TIMEOUT_SECONDS, MAX_CONNECTIONS


class LimitedH11Protocol(H11Protocol):
    header_timeout: float = HEADER_TIMEOUT_SECONDS
    max_connections: int = MAX_CONNECTIONS

    _timer: asyncio.TimerHandle | None = None
    _partial = False  # bytes of a request whose headers are not complete yet
    _refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self._refused = True
            self.logger.warning("connection refused: %d are open already (--max-connections)", self.max_connections)
            # answered once its request starts (so the client reads the answer), closed soon in any case
            self._arm(min(self.header_timeout, 2.0))
            return
        self._arm(self.header_timeout)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return self._answer(503, "too many connections; try again later")
        self._partial = True
        super().data_received(data)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request's headers are complete: the app (and Guard) take it from here
            self._partial = False
            self._disarm()

    def on_response_complete(self) -> None:
        self._partial = False
        self._arm(self.header_timeout)  # the next request's headers (a pipelined one disarms it again)
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._refused:
            self.transport.close()
        elif self._partial:
            self._answer(408, f"request headers not received within {self.header_timeout:g} s")
        else:  # nothing sent at all, or nothing after the last response
            self.transport.close()

    def _answer(self, status: int, detail: str) -> None:
        """A one-line JSON error written straight to the socket (no request was parsed to answer), then close."""
        body = json.dumps({"detail": detail}).encode()
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self._disarm()
        self.transport.write(head.encode() + body)
        self.transport.close()


def limited_protocol(header_timeout: float, max_connections: int) -> type[LimitedH11Protocol]:
    """The protocol class for uvicorn's `http` setting, with these limits."""
    return type(
        "LimitedH11Protocol",
        (LimitedH11Protocol,),
        {"header_timeout": header_timeout, "max_connections": max_connections},
    )
