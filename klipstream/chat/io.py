"""Streaming writer and reader of the TwitchDownloader-compatible chat JSON (docs/contracts.md).

The file is ordinary JSON, but laid out so it can be streamed: line 1 holds everything up to
`"comments": [`, then exactly one comment object per line, then a closing line. Writing never holds
more than one comment; reading builds only the columns of the frame, never a JSON object tree.
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ijson
import pandas as pd
from orjson import loads as _loads  # parses comment lines several times faster than the stdlib

from ..errors import KlipError
from ..io import atomic_open

log = logging.getLogger(__name__)

FRAME_COLUMNS = ["comment_id", "time", "user", "message", "emotes"]
FILE_VERSION = {"Major": 1, "Minor": 3, "Patch": 0}
EPOCH_ISO = "1970-01-01T00:00:00Z"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_comment(
    comment_id: str,
    offset: float,
    user: str,
    body: str,
    *,
    vod_id: str,
    created_at: str = EPOCH_ISO,
    user_id: str = "",
    login: str | None = None,
    channel_id: str = "",
    fragments: list[dict] | None = None,
    emoticons: list[dict] | None = None,
    badges: list[dict] | None = None,
    color: str | None = None,
    bits: int = 0,
) -> dict[str, Any]:
    """One comment in the contract shape (the subset of TwitchDownloader's `Comment` its renderer reads)."""
    if fragments is None:
        fragments = [{"text": body, "emoticon": None}]
    return {
        "_id": str(comment_id),
        "created_at": created_at,
        "channel_id": str(channel_id),
        "content_type": "video",
        "content_id": str(vod_id),
        "content_offset_seconds": float(offset),
        "commenter": {
            "display_name": user,
            "_id": str(user_id),
            "name": login if login is not None else user.lower(),
            "logo": "",
        },
        "message": {
            "body": body,
            "bits_spent": int(bits),
            "fragments": fragments,
            "user_badges": badges or [],
            "user_color": color,
            "emoticons": emoticons or [],
        },
    }


class ChatWriter:
    """Write a chat JSON atomically, one comment per line, in the order given (callers pass sorted comments).

    Use as a context manager; the file appears at `dst` only if the block succeeds."""

    def __init__(
        self,
        dst: str | os.PathLike,
        *,
        vod_id: str,
        title: str = "",
        streamer: str = "",
        streamer_id: int | str = 0,
        created_at: str | None = None,
        length: float = 0.0,
        start: float = 0.0,
        end: float | None = None,
        view_count: int = 0,
    ):
        self.dst = Path(dst)
        self.count = 0
        self.last_offset = 0.0
        try:
            sid = int(streamer_id or 0)
        except (TypeError, ValueError):
            sid = 0
        length_i = int(round(length or 0))
        self._header = {
            "FileInfo": {"Version": FILE_VERSION, "CreatedAt": now_iso(), "UpdatedAt": now_iso()},
            "streamer": {"name": streamer or "", "id": sid},
            "video": {
                "title": title or "",
                "description": None,
                "id": str(vod_id),
                "created_at": created_at or EPOCH_ISO,
                "start": int(start or 0),
                "end": int(round(end)) if end is not None else length_i,
                "length": length_i,
                "viewCount": int(view_count or 0),
                "game": None,
                "chapters": [],
            },
        }
        self._cm = None
        self._fh = None

    def __enter__(self) -> ChatWriter:
        self._cm = atomic_open(self.dst)
        self._fh = self._cm.__enter__()
        head = json.dumps(self._header, ensure_ascii=False)
        self._fh.write(head[:-1] + ', "comments": [')
        return self

    def write(self, comment: dict[str, Any]) -> None:
        self._fh.write(("\n" if self.count == 0 else ",\n") + json.dumps(comment, ensure_ascii=False))
        self.count += 1
        self.last_offset = comment["content_offset_seconds"]

    def write_raw(self, comment_json: str, offset: float) -> None:
        """Write a comment already serialised as one line of JSON (no newlines inside)."""
        self._fh.write(("\n" if self.count == 0 else ",\n") + comment_json)
        self.count += 1
        self.last_offset = offset

    def write_all(self, comments: Iterable[dict[str, Any]]) -> int:
        for c in comments:
            self.write(c)
        return self.count

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self._fh.write('\n], "embeddedData": null}\n')
        return self._cm.__exit__(exc_type, exc, tb)


def write_chat(dst: str | os.PathLike, comments: Iterable[dict[str, Any]], **meta: Any) -> int:
    """Write `comments` (already sorted by offset) to `dst`; returns how many were written."""
    with ChatWriter(dst, **meta) as w:
        w.write_all(comments)
    return w.count


def _is_gzip(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"\x1f\x8b"
    except OSError as exc:
        raise KlipError(f"cannot read chat file {path}: {exc.strerror or exc}") from exc


def open_text(path: str | os.PathLike):
    """Open a text file, transparently gunzipping `.gz` content (TwitchDownloader can compress its JSON)."""
    path = Path(path)
    if _is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace")
    return open(path, encoding="utf-8-sig", errors="replace")


class _SkipBom:
    """A binary file minus a leading UTF-8 byte-order mark (ijson would stop at it)."""

    def __init__(self, fh):
        self._fh, self._first = fh, True

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        if self._first and data:  # (ijson first calls read(0) to learn the type)
            self._first = False
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:] or self._fh.read(size)
        return data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


def open_binary(path: str | os.PathLike) -> _SkipBom:
    """Open a (possibly gzipped) file for ijson: bytes, decompressed, without a byte-order mark."""
    path = Path(path)
    return _SkipBom(gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb"))


SKIPPED_MEMBERS = {"embeddedData"}  # TwitchDownloader's embedded emote images: large, unused


class NotJson(Exception):
    """The file does not start with a JSON value (e.g. an IRC log starting with `[12:00]`)."""


def json_error_text(exc: Exception) -> str:
    """ijson's message on one line, without its caret picture."""
    return " ".join(str(exc).split("(right here)")[0].split())[:200]


def json_value(first: tuple, events: Iterator[tuple]) -> Any:
    """The JSON value whose first ijson event is `first`, built from `events`."""
    _, event, value = first
    if event not in ("start_map", "start_array"):
        return value
    builder, depth = ijson.ObjectBuilder(), 0
    for _, event, value in itertools.chain([first], events):
        builder.event(event, value)
        depth += (event in ("start_map", "start_array")) - (event in ("end_map", "end_array"))
        if depth == 0:
            return builder.value
    raise ijson.IncompleteJSONError("truncated")


def json_layout(path: Path) -> tuple[str, dict]:
    """Read a JSON chat file only up to its comments: ("document", members before `comments`) for a
    TwitchDownloader / v5 document ("no_comment_list" when `comments` is not an array), ("array", {}) for a
    top-level array, ("lines", {}) for JSON lines. Raises NotJson when the file does not start as JSON."""
    with open_binary(path) as fh:
        events = ijson.parse(fh, use_float=True, multiple_values=True)
        try:
            _, first, _ = next(events)
            if first == "start_array":
                return "array", {}
            if first != "start_map":
                raise NotJson
            members: dict[str, Any] = {}
            for prefix, event, value in events:
                if prefix == "" and event == "end_map":
                    return "lines", {}  # one object without `comments`: JSON lines of chat entries
                if prefix == "" and event == "map_key":
                    if value == "comments":
                        if next(events)[1] != "start_array":
                            return "no_comment_list", members
                        return "document", members
                    member = json_value(next(events), events)
                    if value not in SKIPPED_MEMBERS:
                        members[value] = member
        except (ijson.JSONError, StopIteration) as exc:
            raise NotJson from exc
    raise NotJson


def _emote_names(message: dict) -> str:
    frags = message.get("fragments") or []
    names = [f.get("text", "").strip() for f in frags if isinstance(f, dict) and f.get("emoticon")]
    if not names and message.get("emoticons") and not frags:
        body = message.get("body") or ""
        names = [body[e.get("begin", 0) : e.get("end", 0) + 1].strip() for e in message["emoticons"]]
    return " ".join(n for n in names if n)


def comment_row(c: dict) -> tuple[str, float, str, str, str]:
    """(comment_id, time, user, message, emotes) of one contract/v5 comment."""
    msg = c.get("message") or {}
    user = c.get("commenter") or {}
    return (
        str(c.get("_id", "")),
        float(c.get("content_offset_seconds") or 0.0),
        user.get("display_name") or user.get("name") or "",
        msg.get("body") or "",
        _emote_names(msg),
    )


def iter_comments(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Yield the comments of a chat JSON one at a time.

    Files in our line layout are read line by line; any other chat JSON is streamed with ijson."""
    path = Path(path)
    with open_text(path) as fh:
        first = fh.readline()
        if first.rstrip().endswith('"comments": [') and first.lstrip().startswith("{"):
            for lineno, line in enumerate(fh, start=2):
                line = line.strip()
                if not line or line.startswith("]"):
                    continue
                try:
                    yield _loads(line[:-1] if line.endswith(",") else line)
                except ValueError as exc:
                    raise KlipError(f"corrupt chat file {path} at line {lineno}: {exc}") from exc
            return
    try:
        layout, _ = json_layout(path)
    except NotJson:
        raise KlipError(f"chat file {path} is not valid JSON") from None
    if layout != "document":
        raise KlipError(f"chat file {path} has no 'comments' list (use klipstream.chat.importers.import_chat)")
    with open_binary(path) as fh:
        try:
            yield from ijson.items(fh, "comments.item", use_float=True)
        except ijson.JSONError as exc:
            raise KlipError(f"chat file {path} is not valid JSON: {json_error_text(exc)}") from exc


def read_chat_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The header (FileInfo, streamer, video) of a chat JSON without reading its comments."""
    with open_text(path) as fh:
        first = fh.readline().rstrip()
    if first.endswith('"comments": ['):
        return json.loads(first[: -len(', "comments": [')] + "}")
    try:
        return json_layout(path)[1]
    except NotJson:
        raise KlipError(f"chat file {path} is not valid JSON") from None


def read_chat_frame(path: str | os.PathLike) -> pd.DataFrame:
    """Chat JSON -> DataFrame `comment_id, time, user, message, emotes`, sorted by time (stable)."""
    path = Path(path)
    if not path.is_file():
        raise KlipError(f"chat file not found: {path}")
    cols: list[list] = [[], [], [], [], []]
    appends = [c.append for c in cols]
    for c in iter_comments(path):
        for append, value in zip(appends, comment_row(c)):
            append(value)
    frame = pd.DataFrame(
        {
            "comment_id": pd.Series(cols[0], dtype="str"),
            "time": pd.Series(cols[1], dtype="float64"),
            "user": pd.Series(cols[2], dtype="str"),
            "message": pd.Series(cols[3], dtype="str"),
            "emotes": pd.Series(cols[4], dtype="str"),
        }
    )
    if len(frame) and not frame["time"].is_monotonic_increasing:
        frame = frame.sort_values("time", kind="stable", ignore_index=True)
    return frame
