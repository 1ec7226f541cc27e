"""TwitchDownloaderCLI (https://github.com/lay295/TwitchDownloader), used when present in the workflow's bin/ or on
PATH. It talks to Twitch's own hosts and has no option to change them, so it is never used while the Twitch
endpoints are redirected (a stand-in, a proxy): `auto` skips it and asking for it explicitly is an error."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import KlipError

log = logging.getLogger(__name__)

NAMES = ("TwitchDownloaderCLI", "TwitchDownloaderCLI.exe")


def find(bin_dir: str | os.PathLike | None = "bin") -> str | None:
    """Path of TwitchDownloaderCLI in `bin_dir` or on PATH, else None."""
    for name in NAMES:
        if bin_dir:
            candidate = Path(bin_dir) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        found = shutil.which(name)
        if found:
            return found
    return None


def require(bin_dir: str | os.PathLike | None, setting: str, allowed: bool = True) -> str:
    """The CLI for a `setting` (e.g. chat.backend) that asks for it by name, or a one-line error saying why not."""
    if not allowed:
        raise KlipError(
            f"{setting} is twitchdownloader, but TwitchDownloaderCLI cannot be pointed at the Twitch "
            "endpoints set in twitch.* / KLIPSTREAM_TWITCH_*; use the default backend with them"
        )
    exe = find(bin_dir)
    if not exe:
        raise KlipError(f"{setting} is twitchdownloader but TwitchDownloaderCLI is not in {bin_dir}/ or on PATH")
    return exe


def quality(value: str) -> str:
    """Our quality names -> the CLI's (`Source`, `Audio`, or e.g. `720p60` as given)."""
    q = str(value).strip().lower()
    if q in ("source", "best", "chunked"):
        return "Source"
    if q in ("audio", "audio_only", "audio-only"):
        return "Audio"
    return q


def download_chat(exe: str, vod_id: str, dst_json: Path, workers: int, meta: dict) -> dict[str, Any]:
    """The CLI's chat JSON, imported into the contract chat JSON `dst_json`."""
    from ..chat.importers import import_chat

    with tempfile.TemporaryDirectory(dir=dst_json.parent, prefix=f".chat_{vod_id}_") as tmp:
        raw = Path(tmp) / f"{vod_id}.json"
        # a fresh folder, so the CLI never stops at its "file exists, overwrite?" prompt
        cmd = [exe, "chatdownload", "--id", vod_id, "-o", str(raw), "--chat-connections", str(max(1, workers))]
        log.info("Fetching chat for VOD %s with %s", vod_id, exe)
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 or not raw.is_file():
            lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
            raise KlipError(f"TwitchDownloaderCLI failed for VOD {vod_id}: {lines[-1] if lines else proc.returncode}")
        res = import_chat(
            raw,
            dst_json,
            vod_id,
            title=meta.get("title", ""),
            streamer=meta.get("streamer", ""),
            created_at=meta.get("created_at"),
            length=meta.get("duration"),
        )
    return {"comments": res["comments"], "backend": "twitchdownloader"}


def download_video(exe: str, vod_id: str, work: Path, video_quality: str, fragments: int) -> Path:
    """Download the VOD with the CLI into `work/download.mp4`, logging its progress every 10 s."""
    out = work / "download.mp4"
    out.unlink(missing_ok=True)  # the CLI would otherwise wait at its "file exists, overwrite?" prompt
    cmd = [exe, "videodownload", "--id", vod_id, "-o", str(out), "-q", quality(video_quality)]
    if fragments > 1:  # otherwise keep the CLI's own default (10 threads)
        cmd += ["--threads", str(fragments)]
    log.info("Downloading VOD %s at %s with %s", vod_id, video_quality, exe)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    tail: list[str] = []
    last = 0.0
    for line in proc.stdout:
        line = line.strip()
        if line:
            tail = (tail + [line])[-5:]
            if time.monotonic() - last > 10:
                last = time.monotonic()
                log.info("Downloading VOD %s: %s", vod_id, line)
    if proc.wait() != 0 or not out.is_file():
        raise KlipError(f"TwitchDownloaderCLI failed for Twitch VOD {vod_id}: {tail[-1] if tail else proc.returncode}")
    return out
