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
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .io import atomic_open, write_json
from .settings import redact as _redact_text

log = logging.getLogger(__name__)
MAX_CONVEX_ERRORS = 50  # keep the status file small even through a long outage
TERMINAL = ("Completed", "Failed")
FRESH_AFTER_FAILED = ("Queued", "Failed")  # what may replace Failed: a new run, or a later failure of the same run
DOWN_FILE = ".convex_down"  # epoch until which Convex counts as unreachable for this status folder

STATUSES = (
    "Queued",
    "Downloading",
    "Fetching chat",
    "Transcribing",
    "Analyzing",
    "Finding highlights",
    "Completed",
    "Failed",
)
DEFAULT_DIR = "output/status"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


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
        if doc.get("status") == "Failed" and changes.get("status") not in (None, *FRESH_AFTER_FAILED):
            # A failed job's siblings go on (keep-going) and publishing may still end the run: their steps go
            # into the history, but the VOD stays Failed with its cause until a new run queues it again.
            changes = {k: v for k, v in changes.items() if k not in ("status", "step", "reason", "stage")}
        for key, value in changes.items():
            if key == "urls":
                doc["urls"].update(value)
            elif key == "event":
                doc["history"].append(value)
            elif key == "convex_error":
                errors = doc.setdefault("convex_errors", [])
                errors.append(value)
                del errors[:-MAX_CONVEX_ERRORS]
            else:
                doc[key] = value
        doc["updated_at"] = _now()
        write_json(status_dir / f"{vod}.json", doc)
    return doc


def report(
    vod: str,
    status: str,
    step: str | None = None,
    reason: str | None = None,
    status_dir: str | os.PathLike = DEFAULT_DIR,
    *,
    convex: Any = "auto",
    stage: str | None = None,
) -> dict[str, Any]:
    """Record that `vod` entered `status` (during `step`); Failed carries a one-line `reason`. `stage` says how far
    a Completed run went (raw, analysis; a published VOD is Completed by publishing, without a stage). Once the VOD
    is Failed, only Queued (a new run) or another Failed replaces that; other statuses go into the history only.

    With CONVEX_URL set (or a client passed as `convex`), the status is then pushed to Convex. That push
    never raises: after its bounded retries the error is logged and kept in the document's `convex_errors`."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    event = {"status": status, "step": step, "at": _now()}
    if stage:
        event["stage"] = stage
    if reason:
        reason = _redact(" ".join(str(reason).split()))
        event["reason"] = reason
    log.info("status %s: %s%s", vod, status, f" ({step})" if step else "")
    # The local file is a record, not the pipeline: if it cannot be written the push to Convex still happens.
    doc = _safe_update(vod, status_dir, status=status, step=step, reason=reason, stage=stage, event=event)
    # A step after a failure stays in the history only: Convex must not show it over the Failed either.
    client = _client(convex) if doc.get("status") == status else None
    if client is not None:
        down = _down_until(status_dir)
        if status not in TERMINAL and time.time() < down:
            # Another job of this workflow just found Convex unreachable: do not make every job wait out
            # the same timeouts. Completed/Failed are always tried: they are what the frontend must show.
            error, outage = f"skipped: Convex unreachable until {_iso(down)} (seen by another job)", False
        else:
            error, outage = _push(client, "update_status", vod, status)
        if error:
            if outage:
                _mark_down(status_dir, getattr(client, "breaker_seconds", 30.0))
            doc = (
                _safe_update(
                    vod,
                    status_dir,
                    convex_error={"at": _now(), "function": client.status_function, "status": status, "error": error},
                )
                or doc
            )
    return doc


def _safe_update(vod: str, status_dir: str | os.PathLike, **changes: Any) -> dict[str, Any]:
    """update(), but a status folder that cannot be written is logged (one line) instead of raised; the
    document is then only what this call knows."""
    try:
        return update(vod, status_dir, **changes)
    except OSError as exc:
        log.warning(
            "cannot write the status of %s in %s (%s); the status is not recorded locally",
            vod,
            status_dir,
            exc.strerror or type(exc).__name__,
        )
        doc = {"vod_id": vod, "history": [], "urls": {}, "updated_at": _now(), "unrecorded": True}
        doc.update({k: v for k, v in changes.items() if k not in ("event", "convex_error", "urls")})
        return doc


def finish_run(stages: dict[str, str], status_dir: str | os.PathLike = DEFAULT_DIR, convex: Any = "auto") -> None:
    """At the end of a successful Snakemake run (its onsuccess hook): each VOD the run worked on and left in a
    running status (it stopped before publishing, e.g. at the integrated analysis) becomes Completed, with
    `stage` naming how far it went. A VOD that publishing completed, or that failed, keeps its status."""
    for vod, stage in sorted(stages.items()):
        try:
            current = (read(vod, status_dir) or {}).get("status")
        except (OSError, ValueError):
            current = None
        if current not in TERMINAL:
            report(vod, "Completed", step="workflow", status_dir=status_dir, stage=stage, convex=convex)


def record_urls(
    vod: str,
    urls: dict[str, str],
    status_dir: str | os.PathLike = DEFAULT_DIR,
    *,
    convex: Any = "auto",
    push: bool = True,
) -> dict[str, Any]:
    """Store file URLs in the status document (`urls`) and push them to Convex (`video:updateUrls`); never raises
    for Convex trouble (recorded in `convex_errors`)."""
    doc = _safe_update(vod, status_dir, urls=dict(urls))
    client = _client(convex) if push else None
    if client is not None and urls:
        error, _ = _push(client, "update_urls", vod, dict(urls))
        if error:
            doc = _safe_update(
                vod,
                status_dir,
                convex_error={"at": _now(), "function": client.urls_function, "urls": sorted(urls), "error": error},
            )
    return doc


def _redact(text: str) -> str:
    return _redact_text(text)


def _client(convex: Any):
    """`convex`: a client, None (no pushes), "auto" (the environment's CONVEX_URL and defaults) or the workflow
    config (whose `convex.*` keys are used too)."""
    if convex == "auto" or isinstance(convex, Mapping):
        try:
            from .convex import client_from_settings
            from .settings import get_settings

            return client_from_settings(get_settings(convex if isinstance(convex, Mapping) else None))
        except Exception as exc:  # noqa: BLE001 - bad Convex settings must not stop the pipeline either
            log.warning("convex disabled: %s", _redact(f"{type(exc).__name__}: {exc}"))
            return None
    return convex or None


def _push(client, method: str, vod: str, payload: Any) -> tuple[str | None, bool]:
    """Call `client.<method>(vod, payload)`; return (one-line redacted error or None, was it an outage)."""
    try:
        getattr(client, method)(vod, payload)
        return None, False
    except Exception as exc:  # noqa: BLE001 - status reporting never fails the pipeline
        error = _redact(" ".join(f"{type(exc).__name__}: {exc}".split()))
        log.warning("convex %s for %s failed (recorded in the status file): %s", method, vod, error)
        return error, bool(getattr(exc, "retryable", True))


def _down_until(status_dir: str | os.PathLike) -> float:
    try:
        return float((Path(status_dir) / DOWN_FILE).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0.0


def _mark_down(status_dir: str | os.PathLike, seconds: float) -> None:
    """Tell the other jobs (other processes, any executor sharing the folder) that Convex is unreachable."""
    try:
        Path(status_dir).mkdir(parents=True, exist_ok=True)
        with atomic_open(Path(status_dir) / DOWN_FILE) as fh:
            fh.write(f"{time.time() + seconds:.3f}\n")
    except OSError as exc:
        log.debug("could not write %s: %s", DOWN_FILE, exc)


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def format_status(status_dir: str | os.PathLike = DEFAULT_DIR, vod: str | None = None) -> str:
    """Human-readable status for `klipstream status [VOD]`: one VOD's history, or a table of all VODs."""
    status_dir = Path(status_dir)
    if vod is not None:
        doc = read(vod, status_dir)
        if doc is None:
            return f"no status recorded for VOD {vod} in {status_dir}"
        lines = [
            f"VOD {vod}: {doc.get('status') or '-'}"
            + (f" ({doc['step']})" if doc.get("step") else "")
            + (f" up to {doc['stage']}" if doc.get("stage") else "")
            + (f" - {doc['reason']}" if doc.get("reason") else "")
            + f"   updated {doc.get('updated_at', '-')}",
            "history:",
        ]
        for ev in doc.get("history", []):
            lines.append(
                f"  {ev.get('at', '-'):<29}  {ev.get('status', '-'):<18}  {ev.get('step') or '':<22}"
                f"  {ev.get('reason') or ''}".rstrip()
            )
        if doc.get("urls"):
            lines.append("urls:")
            lines.extend(f"  {name}: {url}" for name, url in sorted(doc["urls"].items()))
        errors = doc.get("convex_errors") or []
        if errors:
            lines.append(
                f"convex errors: {len(errors)} (last: {errors[-1].get('at', '-')} {errors[-1].get('error', '')})"
            )
        return "\n".join(lines)
    docs = []
    if status_dir.is_dir():
        for path in sorted(status_dir.glob("*.json")):
            try:
                with open(path, encoding="utf-8") as fh:
                    docs.append(json.load(fh))
            except (OSError, ValueError) as exc:
                docs.append({"vod_id": path.stem, "status": f"unreadable ({type(exc).__name__})"})
    if not docs:
        return f"no VOD status recorded in {status_dir}"
    rows = [("VOD", "STATUS", "STEP", "UPDATED", "REASON")]
    for doc in docs:
        shown = str(doc.get("status") or "-") + (f" up to {doc['stage']}" if doc.get("stage") else "")
        rows.append(
            (
                str(doc.get("vod_id", "-")),
                shown,
                str(doc.get("step") or ""),
                str(doc.get("updated_at", "")),
                str(doc.get("reason") or ""),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4]).rstrip() for r in rows)
