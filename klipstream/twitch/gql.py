"""Twitch's GQL API (https://gql.twitch.tv/gql unless redirected): one client with timeouts and bounded retries,
and the VOD metadata query.

Failures are sorted by what a retry can do: 429, 5xx, timeouts and dropped connections are retried with backoff;
a host that cannot be resolved or reached, 401/403 and integrity refusals fail at once with one typed error."""

from __future__ import annotations

import errno
import json
import logging
import socket
import time
from typing import Any

import httpx
import orjson

from ..retry import backoff_delay
from .endpoints import GQL_URL
from .errors import LOCAL_HINT, TwitchError, TwitchRefused, TwitchUnreachable, VodNotFound

log = logging.getLogger(__name__)

# The public client id TwitchDownloader, chat-downloader and twitch-dl use since Twitch began refusing the web
# client's id ("failed integrity check") for comment requests in May 2023.
CLIENT_ID = "kd1unb4b3q4t58fwlpcbzcbnm76a8fp"
CLI_HINT = (
    "install TwitchDownloaderCLI into bin/ (or on PATH) and set chat.backend: twitchdownloader, "
    "or import a chat log you already have"
)

_loads = orjson.loads  # parses pages about 2x faster than the stdlib


def unreachable(host: str, exc: BaseException) -> TwitchUnreachable:
    """The one-line error for a Twitch host we cannot connect to, saying why in words."""
    cause: BaseException | None = exc
    why = f"{type(exc).__name__}: {exc}"
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            why = "name resolution failed"
            break
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            why = "connection refused"
            break
        if getattr(cause, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            why = "no route to host"
            break
        cause = cause.__cause__ or cause.__context__
    return TwitchUnreachable(f"cannot reach Twitch ({host}): {why}; {LOCAL_HINT}")


class GqlClient:
    """POSTs GQL operations; retries 429/5xx/timeouts (exponential backoff with jitter), fails fast otherwise."""

    def __init__(
        self,
        gql_url: str = GQL_URL,
        client_id: str = CLIENT_ID,
        *,
        timeout: float = 30.0,
        max_retries: int = 6,
        backoff: float = 1.0,
        backoff_max: float = 30.0,
        workers: int = 8,
        oauth_token: str | None = None,
    ):
        headers = {"Client-ID": client_id, "Content-Type": "text/plain;charset=UTF-8"}
        if oauth_token:
            headers["Authorization"] = f"OAuth {oauth_token}"
        self.url = gql_url
        self.host = httpx.URL(gql_url).host or gql_url
        httpx_log = logging.getLogger("httpx")
        if httpx_log.level == logging.NOTSET:  # one INFO line per page would drown our progress lines
            httpx_log.setLevel(logging.WARNING)
        self.max_retries, self.backoff, self.backoff_max = max_retries, backoff, backoff_max
        self.http = httpx.Client(
            headers=headers, timeout=timeout, limits=httpx.Limits(max_connections=max(1, workers) + 2)
        )
        self.requests = 0

    def __enter__(self) -> GqlClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def post(self, payload: Any, what: str) -> Any:
        """The decoded JSON answer to `payload`; raises a TwitchError subclass naming `what` otherwise."""
        body = json.dumps(payload, separators=(",", ":"))
        last, retry_after = "", None  # why the previous attempt failed, and the server's Retry-After if it sent one
        for attempt in range(self.max_retries + 1):
            if attempt:
                log.warning("%s: %s, retrying (%d/%d)", what, last, attempt, self.max_retries)
                time.sleep(backoff_delay(attempt - 1, self.backoff, self.backoff_max, retry_after))
                retry_after = None
            self.requests += 1
            try:
                resp = self.http.post(self.url, content=body)
            except httpx.ConnectError as exc:
                raise unreachable(self.host, exc) from exc
            except httpx.TransportError as exc:  # timeouts, a dropped connection: worth another try
                last = f"{type(exc).__name__}: {exc}"
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                last, retry_after = f"HTTP {resp.status_code}", resp.headers.get("Retry-After")
                continue
            if resp.status_code != 200:
                raise TwitchRefused(f"Twitch ({self.host}) refused {what}: HTTP {resp.status_code}")
            try:
                data = _loads(resp.content)
            except ValueError as exc:
                raise TwitchError(f"Twitch ({self.host}) sent invalid JSON for {what}") from exc
            raise_for_errors(data, what)
            return data
        raise TwitchError(f"Twitch ({self.host}) failed {what} after {self.max_retries + 1} attempts: {last}")


def raise_for_errors(data: Any, what: str) -> None:
    """Turn GQL `errors` into typed exceptions (an error beside usable `data` is left to the caller)."""
    for item in data if isinstance(data, list) else [data]:
        for err in (item or {}).get("errors") or []:
            msg = str(err.get("message", err)) if isinstance(err, dict) else str(err)
            low = msg.lower()
            if "integrity" in low or "unauthorized" in low or "client id" in low or "forbidden" in low:
                raise TwitchRefused(f"Twitch refused {what}: {msg}")
            if "persistedquerynotfound" in low.replace(" ", ""):
                raise TwitchRefused(
                    f"Twitch no longer knows the query used for {what} (PersistedQueryNotFound); {CLI_HINT}"
                )
            if not (item or {}).get("data"):
                raise TwitchError(f"Twitch GQL error for {what}: {msg}")


def fetch_video_info(client: GqlClient, vod_id: str) -> dict[str, Any]:
    """Title, streamer, created_at and length of a VOD (TwitchDownloader's GetVideoInfo query)."""
    query = (
        f'query{{video(id:"{vod_id}"){{title,createdAt,lengthSeconds,viewCount,description,'
        "owner{id,login,displayName},game{id,displayName}}}"
    )
    data = client.post({"query": query, "variables": {}}, f"the info request for VOD {vod_id}")
    video = ((data or {}).get("data") or {}).get("video")
    if not video:
        raise VodNotFound(f"Twitch VOD {vod_id} not found (deleted, expired, private or a wrong id)")
    owner = video.get("owner") or {}
    return {
        "title": video.get("title") or "",
        "streamer": owner.get("displayName") or owner.get("login") or "",
        "streamer_login": owner.get("login") or "",
        "streamer_id": owner.get("id") or 0,
        "created_at": video.get("createdAt"),
        "duration": float(video.get("lengthSeconds") or 0),
        "view_count": int(video.get("viewCount") or 0),
    }
