"""Import chat logs people already have into the contract chat JSON, detecting the format from content.

Formats: TwitchDownloader JSON (old, without FileInfo, and new; plain or gzipped), Twitch v5 comment
dumps, chat-downloader JSON / JSON lines, TwitchDownloader TXT (`[H:MM:SS] user: message` or
`[YYYY-MM-DD HH:MM:SS UTC] user: message`), `H:MM:SS message` text and IRC logs (`[HH:MM:SS] <user> message`).
Text logs are parsed with vectorised pandas string operations.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import KlipError
from .io import EPOCH_ISO, ChatWriter, make_comment, open_text

log = logging.getLogger(__name__)

SUPPORTED = ("TwitchDownloader JSON (old/new, .json or .json.gz), Twitch v5 comment dump, chat-downloader JSON/JSONL, "
             "TwitchDownloader TXT ('[H:MM:SS] user: message'), 'H:MM:SS message' text, "
             "IRC log ('[HH:MM:SS] <user> message')")

# Text line grammars; the detector picks the one most of the first lines match.
_RE_IRC = r"^\[(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\]\s+<[@+%~&]?(?P<user>[^>\s]+)>\s?(?P<msg>.*)$"
_RE_TDTXT = r"^\[(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2})\]\s+(?P<user>[^\s:]+):\s?(?P<msg>.*)$"
_RE_TDTXT_UTC = (r"^\[(?P<stamp>\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}:\d{2})(?:\s*UTC)?\]\s+"
                 r"(?P<user>[^\s:]+):\s?(?P<msg>.*)$")
_RE_HMS = r"^(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d+)?)\s+(?P<msg>.*)$"
TEXT_FORMATS = {"irc": _RE_IRC, "twitchdownloader_txt": _RE_TDTXT, "twitchdownloader_txt_utc": _RE_TDTXT_UTC,
                "hms_text": _RE_HMS}


def _unknown(path: Path) -> KlipError:
    return KlipError(f"unrecognised chat format in {path}; supported: {SUPPORTED}")


def _read_text(path: Path) -> str:
    if not path.exists():
        raise KlipError(f"chat file not found: {path}")
    if not path.is_file():
        raise KlipError(f"chat path is not a file: {path}")
    try:
        with open_text(path) as fh:
            return fh.read()
    except (OSError, EOFError) as exc:
        raise KlipError(f"cannot read chat file {path}: {exc}") from exc


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
        frags.append({"text": f.get("text") or "",
                      "emoticon": {"emoticon_id": str(emo.get("emoticon_id", ""))} if isinstance(emo, dict) else None})
    emoticons = [{"_id": str(e.get("_id", "")), "begin": int(e.get("begin", 0)), "end": int(e.get("end", 0))}
                 for e in msg.get("emoticons") or [] if isinstance(e, dict)]
    badges = [{"_id": str(b.get("_id", "")), "version": str(b.get("version", ""))}
              for b in msg.get("user_badges") or [] if isinstance(b, dict)]
    name = user.get("display_name") or user.get("name") or ""
    return make_comment(
        c.get("_id", ""), float(c["content_offset_seconds"] or 0), name, body, vod_id=vod_id,
        created_at=c.get("created_at") or EPOCH_ISO, user_id=user.get("_id", ""), login=user.get("name") or name.lower(),
        channel_id=c.get("channel_id", ""), fragments=frags, emoticons=emoticons, badges=badges,
        color=msg.get("user_color"), bits=int(msg.get("bits_spent") or 0))


def _chatdownloader_comment(item: dict, index: int, vod_id: str) -> dict | None:
    if not isinstance(item, dict) or "time_in_seconds" not in item or item.get("message") is None:
        return None
    author = item.get("author") or {}
    body = str(item["message"])
    emote_ids = {e.get("name"): str(e.get("id", "")) for e in item.get("emotes") or [] if isinstance(e, dict)}
    frags = _fragments_from_tokens(body, emote_ids) if emote_ids else None
    stamp = item.get("timestamp")
    created = (datetime.fromtimestamp(stamp / 1e6, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
               if isinstance(stamp, (int, float)) else EPOCH_ISO)
    name = author.get("display_name") or author.get("name") or ""
    badges = [{"_id": str(b.get("name", "")), "version": str(b.get("version", ""))}
              for b in author.get("badges") or [] if isinstance(b, dict)]
    return make_comment(item.get("message_id") or f"{vod_id}-{index}", float(item["time_in_seconds"] or 0), name,
                        body, vod_id=vod_id, created_at=created, user_id=author.get("id", ""),
                        login=author.get("name", name).lower(), fragments=frags, badges=badges,
                        color=author.get("colour"))


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


def _json_import(doc: Any, path: Path, vod_id: str) -> tuple[str, list[dict], dict]:
    meta: dict[str, Any] = {}
    if isinstance(doc, dict) and isinstance(doc.get("comments"), list):
        video = doc.get("video") or {}
        streamer = doc.get("streamer") or {}
        if "FileInfo" in doc:
            fmt = "twitchdownloader_json"
        elif "streamer" in doc:
            fmt = "twitchdownloader_json_old"
        else:
            fmt = "twitch_v5"
        meta = {
            "title": video.get("title") or "",
            "streamer": streamer.get("name") or video.get("user_name") or video.get("user_login") or "",
            "streamer_id": streamer.get("id") or video.get("user_id") or 0,
            "created_at": video.get("created_at") or None,
            "length": _parse_duration(video.get("length") or video.get("duration")
                                      or (video.get("end") if "end" in video else None)),
        }
        items, conv = doc["comments"], lambda c, i: _v5_comment(c, vod_id)
        if items and not any(isinstance(c, dict) and "content_offset_seconds" in c for c in items[:50]):
            raise _unknown(path)
    elif isinstance(doc, list):
        sample = [c for c in doc[:50] if isinstance(c, dict)]
        if any("content_offset_seconds" in c for c in sample):
            fmt, conv = "twitch_v5", lambda c, i: _v5_comment(c, vod_id)
        elif any("time_in_seconds" in c for c in sample):
            fmt, conv = "chat_downloader", lambda c, i: _chatdownloader_comment(c, i, vod_id)
        elif not doc:
            fmt, conv = "empty", None
        else:
            raise _unknown(path)
        items = doc
    else:
        raise _unknown(path)
    comments = [c for c in (conv(item, i) for i, item in enumerate(items)) if c is not None] if conv else []
    dropped = len(items) - len(comments)
    if dropped:
        log.warning("%s: skipped %d entries without a time offset or message", path, dropped)
    return fmt, comments, meta


def _try_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    # JSON lines (chat-downloader's .jsonl output)
    out = []
    for line in text.splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                return None
    return out


# ---------------------------------------------------------------- text formats

def _detect_text(lines: pd.Series) -> str | None:
    sample = lines[lines.str.strip() != ""].head(200)
    if sample.empty:
        return None
    scores = {name: sample.str.match(rx).mean() for name, rx in TEXT_FORMATS.items()}
    best = max(scores, key=lambda k: (scores[k], k != "hms_text"))
    return best if scores[best] >= 0.5 else None


def _text_frame(lines: pd.Series, fmt: str, path: Path, created_at: str | None) -> pd.DataFrame:
    parts = lines.str.extract(TEXT_FORMATS[fmt])
    ok = parts.notna().any(axis=1) & parts["msg"].notna()
    skipped = int((~ok & (lines.str.strip() != "")).sum())
    if skipped:
        log.warning("%s: skipped %d lines that do not match the %s layout", path, skipped, fmt)
    parts = parts[ok]
    lineno = pd.Series(np.flatnonzero(ok.to_numpy()) + 1, index=parts.index)
    if fmt == "twitchdownloader_txt_utc":
        stamps = pd.to_datetime(parts["stamp"].str.replace("T", " ", regex=False), utc=True, errors="coerce")
        origin = pd.Timestamp(created_at) if created_at else stamps.min()
        seconds = (stamps - origin).dt.total_seconds().clip(lower=0)
    else:
        seconds = (parts["h"].astype(float) * 3600 + parts["m"].astype(float) * 60
                   + parts["s"].fillna("0").astype(float))
        if fmt == "irc":
            # Wall-clock stamps: unwrap midnight and count from the first message.
            step = seconds.diff().fillna(0)
            seconds = seconds + (step < -12 * 3600).cumsum() * 86400
            seconds = seconds - seconds.iloc[0] if len(seconds) else seconds
    users = parts["user"] if "user" in parts else pd.Series("", index=parts.index)
    frame = pd.DataFrame({"line": lineno, "time": seconds.astype(float), "user": users.fillna("").astype(str),
                          "message": parts["msg"].astype(str).str.rstrip("\r")})
    return frame.sort_values("time", kind="stable")


# ---------------------------------------------------------------- entry points

def detect_format(src: str | os.PathLike) -> str:
    """Name of the chat format of `src` (raises a one-line KlipError listing the supported ones)."""
    path = Path(src)
    text = _read_text(path)
    return _detect(text, path)


def _detect(text: str, path: Path) -> str:
    stripped = text.lstrip()
    if not stripped:
        return "empty"
    doc = _try_json(stripped) if stripped[0] in "{[" else None
    if doc is not None:
        return _json_import(doc, path, "0")[0]
    fmt = _detect_text(pd.Series(text.splitlines(), dtype="str"))
    if fmt is None:
        if stripped[0] in "{[":
            raise KlipError(f"chat file {path} looks like JSON but does not parse")
        raise _unknown(path)
    return fmt


def import_chat(src: str | os.PathLike, dst_json: str | os.PathLike, vod_id: str, *, title: str = "",
                streamer: str = "", created_at: str | None = None, length: float | None = None) -> dict[str, Any]:
    """Convert the chat log `src` (any supported format) into the contract chat JSON `dst_json` (atomic).

    Keyword metadata fills what the log itself does not say. Returns {"format", "comments"}."""
    path = Path(src)
    vod_id = str(vod_id)
    text = _read_text(path)
    stripped = text.lstrip()
    meta: dict[str, Any] = {}
    doc = _try_json(stripped) if stripped[:1] in ("{", "[") else None
    if not stripped:
        fmt, comments = "empty", []
    elif doc is not None:
        del text, stripped
        fmt, comments, meta = _json_import(doc, path, vod_id)
        del doc
        # Stable sort by offset and drop repeated ids (dumps stitched from overlapping pages repeat them).
        comments.sort(key=lambda c: c["content_offset_seconds"])
        seen: set[str] = set()
        comments = [c for c in comments if not (c["_id"] and (c["_id"] in seen or seen.add(c["_id"])))]
    else:
        lines = pd.Series(text.splitlines(), dtype="str")
        del text
        fmt = _detect_text(lines)
        if fmt is None:
            if stripped[:1] in ("{", "["):
                raise KlipError(f"chat file {path} looks like JSON but does not parse")
            raise _unknown(path)
        frame = _text_frame(lines, fmt, path, created_at)
        base = pd.Timestamp(created_at or EPOCH_ISO)
        stamps = (base + pd.to_timedelta(frame["time"], unit="s")).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        ids = f"{vod_id}-" + frame["line"].astype(str)
        comments = (make_comment(i, t, u, m, vod_id=vod_id, created_at=s)
                    for i, t, u, m, s in zip(ids, frame["time"], frame["user"], frame["message"], stamps))
    end = length if length is not None else meta.get("length") or 0.0
    with ChatWriter(dst_json, vod_id=vod_id, title=title or meta.get("title", ""),
                    streamer=streamer or meta.get("streamer", ""), streamer_id=meta.get("streamer_id", 0),
                    created_at=created_at or meta.get("created_at"), length=end) as w:
        w.write_all(comments)
    if not end and w.count:
        log.info("chat length unknown; last message at %.1f s", w.last_offset)
    log.info("imported %d chat messages from %s (%s) into %s", w.count, path, fmt, dst_json)
    return {"format": fmt, "comments": w.count}
