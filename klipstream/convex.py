"""Minimal Convex HTTP API client: `POST {CONVEX_URL}/api/mutation` with `{"path", "args", "format": "json"}`.

Convex answers `{"status": "success", "value": ...}` or `{"status": "error", "errorMessage": ...}` (HTTP 200,
or 560 when the function threw). Network errors, 429 and 5xx are retried a bounded number of times with
exponential backoff and jitter and short timeouts; a function error is not retried (it would fail again).
After repeated failures a small circuit breaker makes further calls fail fast for a while, so an outage
costs a pipeline seconds, not minutes. Every message that leaves this module is passed through `redact()`."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx

from . import config as _config
from .retry import backoff_delay
from .settings import Settings, get_settings, redact

# this module's settings defaults: the config schema's `convex` section, where they are written once
_CONVEX = _config.default("convex")

log = logging.getLogger(__name__)

UDF_FAILED = 560  # Convex's status code for "the function itself raised"


class ConvexError(Exception):
    """A Convex call failed (after retries); `retryable` says whether it was an outage or a refusal."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(redact(" ".join(str(message).split())))
        self.retryable = retryable


class ConvexClient:
    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        auth_scheme: str = _CONVEX["auth_scheme"],
        timeout_s: float = _CONVEX["timeout"],
        attempts: int = _CONVEX["attempts"],
        backoff_s: float = _CONVEX["backoff_s"],
        max_backoff_s: float = 4.0,
        breaker_after: int = 2,
        breaker_seconds: float = 30.0,
        status_function: str = _CONVEX["status_function"],
        urls_function: str = _CONVEX["urls_function"],
    ):
        self.url = url.rstrip("/")
        self._key = api_key
        self.auth_scheme = self._scheme(auth_scheme, api_key)
        self.timeout_s = float(timeout_s)
        self.attempts = max(1, int(attempts))
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.breaker_after = breaker_after
        self.breaker_seconds = breaker_seconds
        self.status_function = status_function
        self.urls_function = urls_function
        self._failures = 0
        self._open_until = 0.0
        self._lock = threading.Lock()
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 3.0)), follow_redirects=False
        )

    def __repr__(self) -> str:
        return f"ConvexClient(url={redact(self.url)!r}, auth={self.auth_scheme}, key={'***' if self._key else None})"

    @staticmethod
    def _scheme(scheme: str, key: str | None) -> str:
        scheme = (scheme or "auto").lower()
        if not key or scheme == "none":
            return "none"
        if scheme == "auto":
            # Deploy keys (`prod:name|secret`) are admin keys: `Convex <key>`; anything else is a user token.
            return "convex" if "|" in key else "bearer"
        if scheme not in ("convex", "bearer"):
            raise ValueError(f"convex.auth_scheme must be auto, convex, bearer or none, not {scheme!r}")
        return scheme

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.auth_scheme == "convex":
            headers["Authorization"] = f"Convex {self._key}"
        elif self.auth_scheme == "bearer":
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def close(self) -> None:
        self._http.close()

    # -- calls -----------------------------------------------------------------------------------------
    def mutation(self, path: str, args: dict[str, Any]) -> Any:
        """Run mutation `path` with `args`; return its value or raise ConvexError (one line, redacted)."""
        with self._lock:
            if time.monotonic() < self._open_until:
                raise ConvexError(f"{path}: skipped, Convex unreachable in the last {self.breaker_seconds:.0f} s")
        try:
            value = self._call("mutation", path, args)
        except ConvexError as exc:
            if exc.retryable:
                with self._lock:
                    self._failures += 1
                    if self._failures >= self.breaker_after:
                        self._open_until = time.monotonic() + self.breaker_seconds
            raise
        with self._lock:
            self._failures = 0
        return value

    def _call(self, kind: str, path: str, args: dict[str, Any]) -> Any:
        body = {"path": path, "args": args, "format": "json"}
        last = "no attempt"
        for attempt in range(1, self.attempts + 1):
            try:
                resp = self._http.post(f"{self.url}/api/{kind}", json=body, headers=self._headers())
            except httpx.HTTPError as exc:  # connect/read timeouts, refused connections, protocol errors
                last = f"{type(exc).__name__}"
                if str(exc):
                    last += f": {exc}"
            else:
                code = resp.status_code
                payload = None
                try:
                    payload = resp.json()
                except ValueError:
                    pass
                if isinstance(payload, dict) and payload.get("status") == "success":
                    return payload.get("value")
                if isinstance(payload, dict) and payload.get("status") == "error" and code in (200, UDF_FAILED):
                    raise ConvexError(f"{path} failed: {payload.get('errorMessage', 'unknown error')}", retryable=False)
                if code == 429 or code >= 500:
                    last = f"HTTP {code}"
                else:  # 4xx: bad key, unknown function, invalid args - retrying cannot help
                    detail = (
                        payload.get("errorMessage") or payload.get("message")
                        if isinstance(payload, dict)
                        else resp.text[:200]
                    )
                    raise ConvexError(f"{path} refused: HTTP {code} {detail or ''}".strip(), retryable=False)
            if attempt < self.attempts:
                delay = backoff_delay(attempt - 1, self.backoff_s, self.max_backoff_s)
                log.warning(
                    "convex %s %s: %s; retry %d/%d in %.1f s",
                    kind,
                    path,
                    redact(last),
                    attempt,
                    self.attempts - 1,
                    delay,
                )
                time.sleep(delay)
        raise ConvexError(f"{path} failed after {self.attempts} attempts: {last}")

    # -- the two functions the frontend uses ---------------------------------------------------------------
    def update_status(self, vod: str, status: str) -> Any:
        return self.mutation(self.status_function, {"twitchId": str(vod), "status": status})

    def update_urls(self, vod: str, urls: dict[str, str]) -> Any:
        return self.mutation(self.urls_function, {"twitchId": str(vod), "urls": dict(urls)})


_clients: dict[tuple, ConvexClient] = {}
_clients_lock = threading.Lock()


def client_from_settings(settings: Settings | None = None) -> ConvexClient | None:
    """The process-wide client for these settings (so its circuit breaker spans calls), or None without CONVEX_URL."""
    settings = settings or get_settings()
    if not settings.convex_url:
        return None
    key = (
        settings.convex_url,
        settings.convex_api_key,
        settings.convex_auth_scheme,
        settings.convex_timeout_s,
        settings.convex_attempts,
        settings.convex_backoff_s,
        settings.convex_status_function,
        settings.convex_urls_function,
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = ConvexClient(
                settings.convex_url,
                settings.convex_api_key,
                auth_scheme=settings.convex_auth_scheme,
                timeout_s=settings.convex_timeout_s,
                attempts=settings.convex_attempts,
                backoff_s=settings.convex_backoff_s,
                status_function=settings.convex_status_function,
                urls_function=settings.convex_urls_function,
            )
            _clients[key] = client
    return client
