"""JSON chat logs: TwitchDownloader JSON (old, without FileInfo, and new; plain or gzipped), Twitch v5 comment dumps,
chat-downloader JSON / JSON lines, streamed with ijson and converted comment by comment into the spool."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ijson

from ..errors import KlipError
from .io import EPOCH_ISO, NotJson, json_error_text, json_layout, make_comment, open_binary
from .spool import Spool
from .text_logs import head_format, unknown_format

log = logging.getLogger(__name__)

SAMPLE = 50  # leading entries that decide a JSON file's format


def parse_duration(value: Any) -> float:
    """Seconds from a number or a Helix duration such as '1h2m3s'."""
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", str(value).strip())
    if not m or not any(m.groups()):
        try:
            return float(value)
        except ValueError:
            return 0.0
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


class BadOffset(ValueError):
    """A comment's time offset that is there but is not a number (the file is not what its format says)."""

    def __init__(self, field: str, value: Any):
        super().__init__(f"{field} is not a number of seconds: {value!r}")


def offset_seconds(value: Any, field: str) -> float | None:
    """A comment's offset in seconds; None when it is null (no place on the timeline: the comment is dropped and
    counted, not put at 0:00 where it would make a burst); a value that is not a number raises BadOffset."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadOffset(field, value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BadOffset(field, value) from None


def v5_comment(c: dict, vod_id: str) -> dict | None:
    """A TwitchDownloader / v5 comment normalised to the contract shape (extra fields dropped)."""
    if not isinstance(c, dict) or "content_offset_seconds" not in c:
        return None
    offset = offset_seconds(c["content_offset_seconds"], "content_offset_seconds")
    if offset is None:
        return None
    msg = c.get("message") or {}
    user = c.get("commenter") or {}
    body = msg.get("body")
    frags_in = msg.get("fragments")
    if body is None:
        body = "".join(f.get("text") or "" for f in frags_in or [])
    frags = []
    for f in frags_in or [{"text": body, "emoticon": None}]:
        emo = f.get("emoticon")
        frags.append(
            {
                "text": f.get("text") or "",
                "emoticon": {"emoticon_id": str(emo.get("emoticon_id", ""))} if isinstance(emo, dict) else None,
            }
        )
    emoticons = [
        {"_id": str(e.get("_id", "")), "begin": int(e.get("begin", 0)), "end": int(e.get("end", 0))}
        for e in msg.get("emoticons") or []
        if isinstance(e, dict)
    ]
    badges = [
        {"_id": str(b.get("_id", "")), "version": str(b.get("version", ""))}
        for b in msg.get("user_badges") or []
        if isinstance(b, dict)
    ]
    name = user.get("display_name") or user.get("name") or ""
    return make_comment(
        c.get("_id", ""),
        offset,
        name,
        body,
        vod_id=vod_id,
        created_at=c.get("created_at") or EPOCH_ISO,
        user_id=user.get("_id", ""),
        login=user.get("name") or name.lower(),
        channel_id=c.get("channel_id", ""),
        fragments=frags,
        emoticons=emoticons,
        badges=badges,
        color=msg.get("user_color"),
        bits=int(msg.get("bits_spent") or 0),
    )


def chatdownloader_comment(item: dict, index: int, vod_id: str) -> dict | None:
    if not isinstance(item, dict) or "time_in_seconds" not in item or item.get("message") is None:
        return None
    offset = offset_seconds(item["time_in_seconds"], "time_in_seconds")
    if offset is None:
        return None
    author = item.get("author") or {}
    body = str(item["message"])
    emote_ids = {e.get("name"): str(e.get("id", "")) for e in item.get("emotes") or [] if isinstance(e, dict)}
    frags = fragments_from_tokens(body, emote_ids) if emote_ids else None
    stamp = item.get("timestamp")
    created = (
        datetime.fromtimestamp(stamp / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if isinstance(stamp, (int, float))
        else EPOCH_ISO
    )
    name = author.get("display_name") or author.get("name") or ""
    badges = [
        {"_id": str(b.get("name", "")), "version": str(b.get("version", ""))}
        for b in author.get("badges") or []
        if isinstance(b, dict)
    ]
    return make_comment(
        item.get("message_id") or f"{vod_id}-{index}",
        offset,
        name,
        body,
        vod_id=vod_id,
        created_at=created,
        user_id=author.get("id", ""),
        login=author.get("name", name).lower(),
        fragments=frags,
        badges=badges,
        color=author.get("colour"),
    )


def fragments_from_tokens(body: str, emote_ids: dict[str, str]) -> list[dict]:
    """Split a message into text / emote fragments the way Twitch does (emotes are whole words)."""
    frags: list[dict] = []
    text = []
    for token in re.split(r"( )", body):
        if token in emote_ids:
            if text:
                frags.append({"text": "".join(text), "emoticon": None})
                text = []
            frags.append({"text": token, "emoticon": {"emoticon_id": emote_ids[token]}})
        else:
            text.append(token)
    if text and "".join(text):
        frags.append({"text": "".join(text), "emoticon": None})
    return frags or [{"text": body, "emoticon": None}]


def json_entries(path: Path, layout: str) -> Iterator[Any]:
    """The chat entries of a JSON chat file, one at a time (parsed in C by ijson's yajl2 backend)."""
    prefix = {"document": "comments.item", "array": "item", "lines": ""}[layout]
    with open_binary(path) as fh:
        yield from ijson.items(fh, prefix, use_float=True, multiple_values=layout == "lines")


def json_format(layout: str, members: dict, sample: list, path: Path) -> str:
    dicts = [c for c in sample if isinstance(c, dict)]
    if layout == "document":
        if sample and not any("content_offset_seconds" in c for c in dicts):
            raise unknown_format(path)
        return (
            "twitchdownloader_json"
            if "FileInfo" in members
            else "twitchdownloader_json_old"
            if "streamer" in members
            else "twitch_v5"
        )
    if any("content_offset_seconds" in c for c in dicts):
        return "twitch_v5"
    if any("time_in_seconds" in c for c in dicts):
        return "chat_downloader"
    if not sample:
        return "empty"
    raise unknown_format(path)


def json_meta(members: dict) -> dict[str, Any]:
    video = members.get("video") if isinstance(members.get("video"), dict) else {}
    streamer = members.get("streamer") if isinstance(members.get("streamer"), dict) else {}
    return {
        "title": video.get("title") or "",
        "streamer": streamer.get("name") or video.get("user_name") or video.get("user_login") or "",
        "streamer_id": streamer.get("id") or video.get("user_id") or 0,
        "created_at": video.get("created_at") or None,
        "length": parse_duration(
            video.get("length") or video.get("duration") or (video.get("end") if "end" in video else None)
        ),
    }


def open_json(path: Path) -> tuple[str, dict, Iterator[Any] | None] | None:
    """(format, metadata, entries) of a JSON chat file; (text format, {}, None) for a text log that starts like
    JSON (sniffed here, so not again); None when it is not JSON."""
    try:
        layout, members = json_layout(path)
    except NotJson:
        return None
    if layout == "no_comment_list":
        raise unknown_format(path)
    if layout == "lines" and (text := head_format(path)):  # e.g. `{user} said hi` lines
        return text, {}, None
    entries = json_entries(path, layout)
    sample: list = []
    try:
        sample.extend(itertools.islice(entries, SAMPLE))
    except ijson.JSONError as exc:
        if text := head_format(path):  # a text log that starts like JSON: `[0:00:05] user: hi`
            return text, {}, None
        raise KlipError(f"chat file {path} looks like JSON but does not parse: {json_error_text(exc)}") from exc
    fmt = json_format(layout, members, sample, path)
    return fmt, json_meta(members), itertools.chain(sample, entries)


def spool_json(entries: Iterator[Any], fmt: str, path: Path, vod_id: str) -> Spool:
    spool, dropped = Spool(), 0
    try:
        for index, item in enumerate(entries):
            comment = (
                chatdownloader_comment(item, index, vod_id) if fmt == "chat_downloader" else v5_comment(item, vod_id)
            )
            if comment is None:
                dropped += 1
            else:
                spool.add(comment)
    except ijson.JSONError as exc:
        raise KlipError(
            f"chat file {path} is not valid JSON after {len(spool)} comments: {json_error_text(exc)}"
        ) from exc
    except BadOffset as exc:
        raise KlipError(f"chat file {path}, comment {index + 1}: {exc}") from None
    if dropped:
        log.warning("%s: skipped %d entries without a time offset (or null) or message", path, dropped)
    return spool
