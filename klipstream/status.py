"""Per-VOD status store: `output/status/{vod}.json`, updated from inside the jobs (so it works on any executor).

Several jobs of one VOD run at once, so every update takes an exclusive lock on a side file and
rewrites the JSON atomically. The document holds the current status and the whole history."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
from pathlib import Path
from typing import Any

from .io import write_json

log = logging.getLogger(__name__)

STATUSES = ("Queued", "Downloading", "Fetching chat", "Transcribing", "Analyzing",
            "Finding highlights", "Completed", "Failed")
DEFAULT_DIR = "output/status"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


@contextlib.contextmanager
def _locked(status_dir: Path, vod: str):
    status_dir.mkdir(parents=True, exist_ok=True)
    with open(status_dir / f".{vod}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read(vod: str, status_dir: str | os.PathLike = DEFAULT_DIR) -> dict[str, Any] | None:
    path = Path(status_dir) / f"{vod}.json"
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def update(vod: str, status_dir: str | os.PathLike = DEFAULT_DIR, **changes: Any) -> dict[str, Any]:
    """Apply `changes` to the VOD's status document under the lock and return the new document."""
    status_dir = Path(status_dir)
    with _locked(status_dir, vod):
        doc = read(vod, status_dir) or {"vod_id": vod, "status": None, "history": [], "urls": {}}
        for key, value in changes.items():
            if key == "urls":
                doc["urls"].update(value)
            elif key == "event":
                doc["history"].append(value)
            else:
                doc[key] = value
        doc["updated_at"] = _now()
        write_json(status_dir / f"{vod}.json", doc)
    return doc


def report(vod: str, status: str, step: str | None = None, reason: str | None = None,
           status_dir: str | os.PathLike = DEFAULT_DIR) -> dict[str, Any]:
    """Record that `vod` entered `status` (during `step`); Failed carries a one-line `reason`."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    event = {"status": status, "step": step, "at": _now()}
    if reason:
        event["reason"] = reason
    log.info("status %s: %s%s", vod, status, f" ({step})" if step else "")
    return update(vod, status_dir, status=status, step=step, reason=reason, event=event)
