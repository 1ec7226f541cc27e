"""Import chat logs people already have into the contract chat JSON, detecting the format from content.

Formats: TwitchDownloader JSON (old, without FileInfo, and new; plain or gzipped), Twitch v5 comment
dumps, chat-downloader JSON / JSON lines, TwitchDownloader TXT (`[H:MM:SS] user: message` or
`[YYYY-MM-DD HH:MM:SS UTC] user: message`), `H:MM:SS message` text and IRC logs (`[HH:MM:SS] <user> message`).
JSON is streamed with ijson; text logs are parsed in batches of lines with vectorised pandas string operations;
both are spooled to disk and written sorted by offset, so memory does not grow with the file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import KlipError
from .io import ChatWriter
from .json_logs import open_json, spool_json
from .spool import MAX_CHAT_SECONDS, Spool
from .text_logs import SUPPORTED, spool_text, text_format

log = logging.getLogger(__name__)

__all__ = ["SUPPORTED", "detect_format", "import_chat"]


def check_file(path: Path) -> Path:
    if not path.exists():
        raise KlipError(f"chat file not found: {path}")
    if not path.is_file():
        raise KlipError(f"chat path is not a file: {path}")
    return path


def sniff(path: Path) -> tuple[str, dict, Iterator[Any] | None]:
    """(format, metadata, JSON entries or None for a text log): the content is looked at once."""
    opened = open_json(path)
    return opened if opened is not None else (text_format(path), {}, None)


def detect_format(src: str | os.PathLike) -> str:
    """Name of the chat format of `src` (raises a one-line KlipError listing the supported ones)."""
    return sniff(check_file(Path(src)))[0]


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

    Keyword metadata fills what the log itself does not say. Returns {"format", "comments", "dropped_out_of_range"}."""
    path = check_file(Path(src))
    vod_id = str(vod_id)
    fmt, meta, entries = sniff(path)
    if entries is not None:
        spool = spool_json(entries, fmt, path, vod_id)
    else:
        spool = spool_text(path, fmt, vod_id, created_at) if fmt != "empty" else Spool()
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
    if not w.count:  # not an error: a VOD with a video still has its audio side; a chat-only one gets no moments
        log.warning("chat log %s (%s) has no chat messages: %s gets no chat signal", path, fmt, vod_id)
    elif not end:
        log.info("chat length unknown; last message at %.1f s", w.last_offset)
    log.info("imported %d chat messages from %s (%s) into %s", w.count, path, fmt, dst_json)
    return {"format": fmt, "comments": w.count, "dropped_out_of_range": dropped}
