"""Twitch VOD ids: parse a URL or bare id, validate it, and build links to a moment in the VOD."""

from __future__ import annotations

import math
import re
from urllib.parse import parse_qs, urlsplit

from ..errors import KlipError

_ID = re.compile(r"v?(\d{1,12})")
_HOSTS = {"twitch.tv", "www.twitch.tv", "m.twitch.tv", "go.twitch.tv", "player.twitch.tv"}


def parse_vod_id(value: str | int) -> str:
    """The numeric VOD id of `value`: a bare id (`123`, `v123`) or a Twitch VOD URL
    (`https://www.twitch.tv/videos/123?t=1h2m3s`, `twitch.tv/user/v/123`, `player.twitch.tv/?video=v123`)."""
    text = str(value).strip()
    m = _ID.fullmatch(text)
    if m:
        return _check(m.group(1), text)
    url = text if "://" in text else "https://" + text
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme in ("http", "https") and host in _HOSTS:
        if host == "player.twitch.tv":
            vid = parse_qs(parts.query).get("video", [""])[0]
            m = _ID.fullmatch(vid)
            if m:
                return _check(m.group(1), text)
        m = re.fullmatch(r"/(?:videos|[^/]+/v(?:ideo)?)/(\d+)/?", parts.path)
        if m:
            return _check(m.group(1), text)
        m = re.fullmatch(r"/[^/]+/schedule", parts.path)
        if m and parse_qs(parts.query).get("vodID"):
            return _check(parse_qs(parts.query)["vodID"][0], text)
    raise KlipError(f"not a Twitch VOD URL or id: {text!r} (expected https://www.twitch.tv/videos/ID or a numeric id)")


def _check(vod_id: str, original: str) -> str:
    """The id without leading zeros; at most 12 digits, whether it came bare or in a URL (the id is a file name)."""
    if not (vod_id.isdecimal() and len(vod_id) <= 32 and is_vod_id(str(int(vod_id)))):
        raise KlipError(f"not a valid Twitch VOD id: {original!r}")
    return str(int(vod_id))


def is_vod_id(value: str) -> bool:
    """True if `value` is a bare numeric VOD id (the form used in file names and Snakemake wildcards)."""
    return bool(re.fullmatch(r"[1-9]\d{0,11}", str(value)))


def format_offset(seconds: float) -> str:
    """Twitch's `t` parameter for an offset: 3723.9 -> '1h2m3s' (floored to whole seconds)."""
    total = max(0, int(math.floor(seconds)))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return (f"{h}h" if h else "") + (f"{m}m" if h or m else "") + f"{s}s"


def vod_url(vod_id: str | int, seconds: float | None = None) -> str:
    """`https://www.twitch.tv/videos/ID`, with `?t=1h2m3s` when `seconds` is given."""
    base = f"https://www.twitch.tv/videos/{parse_vod_id(vod_id)}"
    return base if seconds is None else f"{base}?t={format_offset(seconds)}"
