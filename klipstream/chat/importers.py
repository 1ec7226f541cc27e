"""Import chat logs people already have into the contract chat JSON, detecting the format from content.

Formats: TwitchDownloader JSON (old, without FileInfo, and new; plain or gzipped), Twitch v5 comment
dumps, chat-downloader JSON / JSON lines, TwitchDownloader TXT (`[H:MM:SS] user: message` or
`[YYYY-MM-DD HH:MM:SS UTC] user: message`), `H:MM:SS message` text and IRC logs (`[HH:MM:SS] <user> message`).
JSON is streamed with ijson; text logs are parsed in batches of lines with vectorised pandas string operations;
both are spooled to disk and written sorted by offset, so memory does not grow with the file.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import tempfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ijson
import numpy as np
import orjson
import pandas as pd

from ..errors import KlipError
from .io import EPOCH_ISO, ChatWriter, NotJson, json_error_text, json_layout, make_comment, open_binary, open_text

log = logging.getLogger(__name__)

SUPPORTED = (
    "TwitchDownloader JSON (old/new, .json or .json.gz), Twitch v5 comment dump, chat-downloader JSON/JSONL, "
    "TwitchDownloader TXT ('[H:MM:SS] user: message'), 'H:MM:SS message' text, "
    "IRC log ('[HH:MM:SS] <user> message')"
)

# Text line grammars; the detector picks the one most of the first lines match.
_RE_IRC = r"^\[(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\]\s+<[@+%~&]?(?P<user>[^>\s]+)>\s?(?P<msg>.*)$"
_RE_TDTXT = r"^\[(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2})\]\s+(?P<user>[^\s:]+):\s?(?P<msg>.*)$"
_RE_TDTXT_UTC = (
    r"^\[(?P<stamp>\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}:\d{2})(?:\s*UTC)?\]\s+"
    r"(?P<user>[^\s:]+):\s?(?P<msg>.*)$"
)
_RE_HMS = r"^(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d+)?)\s+(?P<msg>.*)$"
TEXT_FORMATS = {
    "irc": _RE_IRC,
    "twitchdownloader_txt": _RE_TDTXT,
    "twitchdownloader_txt_utc": _RE_TDTXT_UTC,
    "hms_text": _RE_HMS,
}


# Without a known VOD length, messages later than this are dropped at import (the longest Twitch VOD is 48 h).
MAX_CHAT_SECONDS = 48 * 3600.0


def _unknown(path: Path) -> KlipError:
    return KlipError(f"unrecognised chat format in {path}; supported: {SUPPORTED}")


def _check_file(path: Path) -> Path:
    if not path.exists():
        raise KlipError(f"chat file not found: {path}")
    if not path.is_file():
        raise KlipError(f"chat path is not a file: {path}")
    return path


def _parse_duration(value: Any) -> float:
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


# ---------------------------------------------------------------- JSON formats


def _v5_comment(c: dict, vod_id: str) -> dict | None:
    """A TwitchDownloader / v5 comment normalised to the contract shape (extra fields dropped)."""
    if not isinstance(c, dict) or "content_offset_seconds" not in c:
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
        float(c["content_offset_seconds"] or 0),
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


def _chatdownloader_comment(item: dict, index: int, vod_id: str) -> dict | None:
    if not isinstance(item, dict) or "time_in_seconds" not in item or item.get("message") is None:
        return None
    author = item.get("author") or {}
    body = str(item["message"])
    emote_ids = {e.get("name"): str(e.get("id", "")) for e in item.get("emotes") or [] if isinstance(e, dict)}
    frags = _fragments_from_tokens(body, emote_ids) if emote_ids else None
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
        float(item["time_in_seconds"] or 0),
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


def _fragments_from_tokens(body: str, emote_ids: dict[str, str]) -> list[dict]:
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


_dumps = orjson.dumps  # several times faster than json.dumps for the spooled comments
_SAMPLE = 50  # leading entries that decide a JSON file's format
_TEXT_BATCH = 20_000  # lines per vectorised batch: bounds the pandas strings held at once


def _json_entries(path: Path, layout: str) -> Iterator[Any]:
    """The chat entries of a JSON chat file, one at a time (parsed in C by ijson's yajl2 backend)."""
    prefix = {"document": "comments.item", "array": "item", "lines": ""}[layout]
    with open_binary(path) as fh:
        yield from ijson.items(fh, prefix, use_float=True, multiple_values=layout == "lines")


def _json_format(layout: str, members: dict, sample: list, path: Path) -> str:
    dicts = [c for c in sample if isinstance(c, dict)]
    if layout == "document":
        if sample and not any("content_offset_seconds" in c for c in dicts):
            raise _unknown(path)
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
    raise _unknown(path)


def _json_meta(members: dict) -> dict[str, Any]:
    video = members.get("video") if isinstance(members.get("video"), dict) else {}
    streamer = members.get("streamer") if isinstance(members.get("streamer"), dict) else {}
    return {
        "title": video.get("title") or "",
        "streamer": streamer.get("name") or video.get("user_name") or video.get("user_login") or "",
        "streamer_id": streamer.get("id") or video.get("user_id") or 0,
        "created_at": video.get("created_at") or None,
        "length": _parse_duration(
            video.get("length") or video.get("duration") or (video.get("end") if "end" in video else None)
        ),
    }


def _open_json(path: Path) -> tuple[str, dict, Iterator[Any]] | None:
    """(format, metadata, entries) of a JSON chat file, or None when it is not JSON."""
    try:
        layout, members = json_layout(path)
    except NotJson:
        return None
    if layout == "no_comment_list":
        raise _unknown(path)
    if layout == "lines" and _head_is_text(path):  # e.g. `{user} said hi` lines
        return None
    entries = _json_entries(path, layout)
    sample: list = []
    try:
        sample.extend(itertools.islice(entries, _SAMPLE))
    except ijson.JSONError as exc:
        if _head_is_text(path):  # a text log that starts like JSON: `[0:00:05] user: hi`
            return None
        raise KlipError(f"chat file {path} looks like JSON but does not parse: {json_error_text(exc)}") from exc
    fmt = _json_format(layout, members, sample, path)
    return fmt, _json_meta(members), itertools.chain(sample, entries)


def _head(path: Path, lines: int = 200) -> list[str]:
    with open_text(path) as fh:
        return [line.rstrip("\n") for line in itertools.islice(fh, lines)]


def _head_is_text(path: Path) -> bool:
    return _detect_text(pd.Series(_head(path), dtype="str")) is not None


class _Spool:
    """Converted comments on disk in arrival order, then written sorted by offset without repeated ids.

    Memory holds 24 bytes per comment (offset, file position, a 64-bit hash of the id), so a 10-hour chat
    imports without ever being one parsed document."""

    def __init__(self):
        self._fh = tempfile.TemporaryFile()
        self._offsets, self._positions, self._id_hashes = array("d"), array("q"), array("q")

    def add(self, comment: dict) -> None:
        self._positions.append(self._fh.tell())
        self._fh.write(_dumps(comment) + b"\n")
        self._offsets.append(comment["content_offset_seconds"])
        cid = comment["_id"]
        self._id_hashes.append(_id_hash(cid) if cid else 0)  # 0: no id, never a duplicate

    def __len__(self) -> int:
        return len(self._positions)

    def write_to(self, writer: ChatWriter, last_second: float = MAX_CHAT_SECONDS) -> int:
        """Write the comments whose offset lies in [0, last_second]; returns how many fell outside."""
        offsets = np.frombuffer(self._offsets, dtype=np.float64) if len(self) else np.zeros(0)
        inside = np.isfinite(offsets) & (offsets >= 0) & (offsets <= last_second)
        in_order = bool(np.all(np.diff(offsets) >= 0))
        order = np.arange(len(self)) if in_order else np.argsort(offsets, kind="stable")
        # Dumps stitched from overlapping pages repeat ids: keep each id's first comment in offset order.
        hashes = (np.frombuffer(self._id_hashes, dtype=np.int64) if len(self) else np.zeros(0, np.int64))[order]
        keep = hashes == 0
        keep[np.unique(hashes, return_index=True)[1]] = True
        keep &= inside[order]
        self._fh.seek(0)
        for i in order[keep]:
            if not in_order:
                self._fh.seek(self._positions[i])
            elif self._fh.tell() != self._positions[i]:  # a dropped duplicate in between
                self._fh.seek(self._positions[i])
            writer.write_raw(self._fh.readline().decode().rstrip("\n"), float(offsets[i]))
        self._fh.close()
        return int((~inside).sum())


def _id_hash(comment_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(comment_id.encode(), digest_size=8).digest(), "little", signed=True) or 1


def _spool_json(entries: Iterator[Any], fmt: str, path: Path, vod_id: str) -> _Spool:
    spool, dropped = _Spool(), 0
    try:
        for index, item in enumerate(entries):
            comment = (
                _chatdownloader_comment(item, index, vod_id) if fmt == "chat_downloader" else _v5_comment(item, vod_id)
            )
            if comment is None:
                dropped += 1
            else:
                spool.add(comment)
    except ijson.JSONError as exc:
        raise KlipError(
            f"chat file {path} is not valid JSON after {len(spool)} comments: {json_error_text(exc)}"
        ) from exc
    if dropped:
        log.warning("%s: skipped %d entries without a time offset or message", path, dropped)
    return spool


# ---------------------------------------------------------------- text formats


def _detect_text(lines: pd.Series) -> str | None:
    sample = lines[lines.str.strip() != ""].head(200)
    if sample.empty:
        return None
    scores = {name: sample.str.match(rx).mean() for name, rx in TEXT_FORMATS.items()}
    best = max(scores, key=lambda k: (scores[k], k != "hms_text"))
    return best if scores[best] >= 0.5 else None


@dataclass
class _TextClock:
    """What a text log's time base carries from one batch of lines to the next."""

    origin: Any = None  # IRC: the first message's unwrapped seconds; UTC stamps: the timestamp of second 0
    last: float | None = None  # IRC: the previous line's wall-clock seconds
    days: int = 0  # IRC: midnights passed


def _text_frame(
    lines: pd.Series, fmt: str, created_at: str | None, first_line: int, clock: _TextClock
) -> tuple[pd.DataFrame, int]:
    """One batch of a text log -> (frame `line, time, user, message`, lines skipped); vectorised."""
    parts = lines.str.extract(TEXT_FORMATS[fmt])
    ok = parts.notna().any(axis=1) & parts["msg"].notna()
    skipped = int((~ok & (lines.str.strip() != "")).sum())
    parts = parts[ok]
    lineno = pd.Series(np.flatnonzero(ok.to_numpy()) + 1 + first_line, index=parts.index)
    if fmt == "twitchdownloader_txt_utc":
        seconds = (_utc_stamps(parts["stamp"]) - clock.origin).dt.total_seconds().clip(lower=0)
    else:
        seconds = parts["h"].astype(float) * 3600 + parts["m"].astype(float) * 60 + parts["s"].fillna("0").astype(float)
        if fmt == "irc" and len(seconds):
            # Wall-clock stamps: unwrap midnight and count from the first message.
            step = seconds.diff()
            step.iloc[0] = seconds.iloc[0] - clock.last if clock.last is not None else 0.0
            days = (step < -12 * 3600).cumsum() + clock.days
            unwrapped = seconds + days * 86400
            if clock.origin is None:
                clock.origin = float(unwrapped.iloc[0])
            clock.last, clock.days = float(seconds.iloc[-1]), int(days.iloc[-1])
            seconds = unwrapped - clock.origin
    users = parts["user"] if "user" in parts else pd.Series("", index=parts.index)
    frame = pd.DataFrame(
        {
            "line": lineno,
            "time": seconds.astype(float),
            "user": users.fillna("").astype(str),
            "message": parts["msg"].astype(str).str.rstrip("\r"),
        }
    )
    return frame, skipped


def _text_format(path: Path) -> str:
    """The layout of a text log from its first lines ("empty" for a blank file); one-line error otherwise."""
    head = _head(path)
    if not any(line.strip() for line in head):
        with open_text(path) as fh:
            if not any(line.strip() for line in fh):
                return "empty"
    fmt = _detect_text(pd.Series(head, dtype="str"))
    if fmt is None:
        raise _not_text("\n".join(head), path)
    return fmt


def _utc_stamps(stamps: pd.Series) -> pd.Series:
    """`2021-07-15 02:00:00` / `2021-07-15T02:00:00` texts -> UTC timestamps (NaT when unreadable)."""
    return pd.to_datetime(stamps.str.replace("T", " ", regex=False), utc=True, errors="coerce")


def _earliest_stamp(path: Path) -> pd.Timestamp:
    earliest = None
    with open_text(path) as fh:
        while batch := [line.rstrip("\n") for line in itertools.islice(fh, _TEXT_BATCH)]:
            stamps = pd.Series(batch, dtype="str").str.extract(TEXT_FORMATS["twitchdownloader_txt_utc"])["stamp"]
            low = _utc_stamps(stamps.dropna()).min()
            earliest = low if earliest is None or (pd.notna(low) and low < earliest) else earliest
    return earliest


def _spool_text(path: Path, fmt: str, vod_id: str, created_at: str | None) -> _Spool:
    """Parse a text log in batches of `_TEXT_BATCH` lines (vectorised per batch) into a spool."""
    spool, clock, skipped, first_line = _Spool(), _TextClock(), 0, 0
    base = pd.Timestamp(created_at or EPOCH_ISO)
    if fmt == "twitchdownloader_txt_utc":  # times count from the VOD's start, else from the earliest stamp
        clock.origin = pd.Timestamp(created_at) if created_at else _earliest_stamp(path)
    with open_text(path) as fh:
        while batch := [line.rstrip("\n") for line in itertools.islice(fh, _TEXT_BATCH)]:
            frame, bad = _text_frame(pd.Series(batch, dtype="str"), fmt, created_at, first_line, clock)
            skipped, first_line = skipped + bad, first_line + len(batch)
            stamps = (base + pd.to_timedelta(frame["time"], unit="s")).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            ids = f"{vod_id}-" + frame["line"].astype(str)
            for cid, t, user, message, stamp in zip(ids, frame["time"], frame["user"], frame["message"], stamps):
                spool.add(make_comment(cid, t, user, message, vod_id=vod_id, created_at=stamp))
    if skipped:
        log.warning("%s: skipped %d lines that do not match the %s layout", path, skipped, fmt)
    return spool


# ---------------------------------------------------------------- entry points


def detect_format(src: str | os.PathLike) -> str:
    """Name of the chat format of `src` (raises a one-line KlipError listing the supported ones)."""
    path = _check_file(Path(src))
    opened = _open_json(path)
    return opened[0] if opened is not None else _text_format(path)


def _not_text(text: str, path: Path) -> KlipError:
    if text.lstrip()[:1] in ("{", "["):
        return KlipError(f"chat file {path} looks like JSON but does not parse")
    return _unknown(path)


def import_chat(
    src: str | os.PathLike,
    dst_json: str | os.PathLike,
    vod_id: str,
    *,
    title: str = "",
    streamer: str = "",
    created_at: str | None = None,
    length: float | None = None,
) -> dict[str, Any]:
    """Convert the chat log `src` (any supported format) into the contract chat JSON `dst_json` (atomic).

    Keyword metadata fills what the log itself does not say. Returns {"format", "comments"}."""
    path = _check_file(Path(src))
    vod_id = str(vod_id)
    meta: dict[str, Any] = {}
    opened = _open_json(path)
    if opened is not None:
        fmt, meta, entries = opened
        spool = _spool_json(entries, fmt, path, vod_id)
    else:
        fmt = _text_format(path)
        spool = _spool_text(path, fmt, vod_id, created_at) if fmt != "empty" else _Spool()
    end = length if length is not None else meta.get("length") or 0.0
    # A message outside the VOD is a broken line (a unit mix-up, a corrupt stamp), not a reason to lose the VOD.
    last_second = float(end) + 1.0 if end and end > 0 else MAX_CHAT_SECONDS
    with ChatWriter(
        dst_json,
        vod_id=vod_id,
        title=title or meta.get("title", ""),
        streamer=streamer or meta.get("streamer", ""),
        streamer_id=meta.get("streamer_id", 0),
        created_at=created_at or meta.get("created_at"),
        length=end,
    ) as w:
        dropped = spool.write_to(w, last_second)
    if dropped:
        log.warning(
            "%s: dropped %d chat message(s) outside [0, %.0f s] (%s)",
            path,
            dropped,
            last_second,
            "the VOD's length" if end else f"no length given: at most {MAX_CHAT_SECONDS / 3600:.0f} h",
        )
    if not end and w.count:
        log.info("chat length unknown; last message at %.1f s", w.last_offset)
    log.info("imported %d chat messages from %s (%s) into %s", w.count, path, fmt, dst_json)
    return {"format": fmt, "comments": w.count, "dropped_out_of_range": dropped}
