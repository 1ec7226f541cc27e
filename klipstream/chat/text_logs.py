"""Text chat logs: TwitchDownloader TXT (`[H:MM:SS] user: message`, `[YYYY-MM-DD HH:MM:SS UTC] user: message`),
`H:MM:SS message` text and IRC logs (`[HH:MM:SS] <user> message`), detected from their first lines and parsed in
batches of lines with vectorised pandas string operations."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import KlipError
from .io import EPOCH_ISO, make_comment, open_text
from .spool import Spool

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


TEXT_BATCH = 20_000  # lines per vectorised batch: bounds the pandas strings held at once


def unknown_format(path: Path) -> KlipError:
    return KlipError(f"unrecognised chat format in {path}; supported: {SUPPORTED}")


def not_a_chat_log(text: str, path: Path) -> KlipError:
    if text.lstrip()[:1] in ("{", "["):
        return KlipError(f"chat file {path} looks like JSON but does not parse")
    return unknown_format(path)


def head(path: Path, lines: int = 200) -> list[str]:
    with open_text(path) as fh:
        return [line.rstrip("\n") for line in itertools.islice(fh, lines)]


def head_format(path: Path) -> str | None:
    """The text layout most of the first lines match, or None."""
    return detect_text(pd.Series(head(path), dtype="str"))


def detect_text(lines: pd.Series) -> str | None:
    sample = lines[lines.str.strip() != ""].head(200)
    if sample.empty:
        return None
    scores = {name: sample.str.match(rx).mean() for name, rx in TEXT_FORMATS.items()}
    best = max(scores, key=lambda k: (scores[k], k != "hms_text"))
    return best if scores[best] >= 0.5 else None


@dataclass
class TextClock:
    """What a text log's time base carries from one batch of lines to the next."""

    origin: Any = None  # IRC: the first message's unwrapped seconds; UTC stamps: the timestamp of second 0
    last: float | None = None  # IRC: the previous line's wall-clock seconds
    days: int = 0  # IRC: midnights passed


def text_frame(lines: pd.Series, fmt: str, first_line: int, clock: TextClock) -> tuple[pd.DataFrame, int]:
    """One batch of a text log -> (frame `line, time, user, message`, lines skipped); vectorised."""
    parts = lines.str.extract(TEXT_FORMATS[fmt])
    ok = parts.notna().any(axis=1) & parts["msg"].notna()
    skipped = int((~ok & (lines.str.strip() != "")).sum())
    parts = parts[ok]
    lineno = pd.Series(np.flatnonzero(ok.to_numpy()) + 1 + first_line, index=parts.index)
    if fmt == "twitchdownloader_txt_utc":
        seconds = (utc_stamps(parts["stamp"]) - clock.origin).dt.total_seconds().clip(lower=0)
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


def text_format(path: Path) -> str:
    """The layout of a text log from its first lines ("empty" for a blank file); one-line error otherwise."""
    first_lines = head(path)
    if not any(line.strip() for line in first_lines):
        with open_text(path) as fh:
            if not any(line.strip() for line in fh):
                return "empty"
    fmt = detect_text(pd.Series(first_lines, dtype="str"))
    if fmt is None:
        raise not_a_chat_log("\n".join(first_lines), path)
    return fmt


def utc_stamps(stamps: pd.Series) -> pd.Series:
    """`2021-07-15 02:00:00` / `2021-07-15T02:00:00` texts -> UTC timestamps (NaT when unreadable)."""
    return pd.to_datetime(stamps.str.replace("T", " ", regex=False), utc=True, errors="coerce")


def earliest_stamp(path: Path) -> pd.Timestamp:
    earliest = None
    with open_text(path) as fh:
        while batch := [line.rstrip("\n") for line in itertools.islice(fh, TEXT_BATCH)]:
            stamps = pd.Series(batch, dtype="str").str.extract(TEXT_FORMATS["twitchdownloader_txt_utc"])["stamp"]
            low = utc_stamps(stamps.dropna()).min()
            earliest = low if earliest is None or (pd.notna(low) and low < earliest) else earliest
    return earliest


def spool_text(path: Path, fmt: str, vod_id: str, created_at: str | None) -> Spool:
    """Parse a text log in batches of `TEXT_BATCH` lines (vectorised per batch) into a spool."""
    spool, clock, skipped, first_line = Spool(), TextClock(), 0, 0
    base = pd.Timestamp(created_at or EPOCH_ISO)
    if fmt == "twitchdownloader_txt_utc":  # times count from the VOD's start, else from the earliest stamp
        clock.origin = pd.Timestamp(created_at) if created_at else earliest_stamp(path)
    with open_text(path) as fh:
        while batch := [line.rstrip("\n") for line in itertools.islice(fh, TEXT_BATCH)]:
            frame, bad = text_frame(pd.Series(batch, dtype="str"), fmt, first_line, clock)
            skipped, first_line = skipped + bad, first_line + len(batch)
            stamps = (base + pd.to_timedelta(frame["time"], unit="s")).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            ids = f"{vod_id}-" + frame["line"].astype(str)
            for cid, t, user, message, stamp in zip(ids, frame["time"], frame["user"], frame["message"], stamps):
                spool.add(make_comment(cid, t, user, message, vod_id=vod_id, created_at=stamp))
    if skipped:
        log.warning("%s: skipped %d lines that do not match the %s layout", path, skipped, fmt)
    return spool
