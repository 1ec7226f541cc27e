"""Local videos: probe a file, import it as H.264/AAC mp4 with its metadata (`output/raw/{vod}_metadata.json`).
Twitch downloads live in klipstream.twitch.video and finish through `import_local_video` when they need converting.
Every output appears atomically.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .errors import KlipError
from .io import atomic_path, write_json
from .media import ffmpeg_exe, run_ffmpeg
from .twitch.ids import vod_url

log = logging.getLogger(__name__)


def _stream_listing(path: str | os.PathLike) -> str:
    """What `ffmpeg -i` says about a file's container and streams (one process per probe)."""
    return subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, text=True
    ).stderr


def _codecs(text: str, path: str | os.PathLike) -> dict[str, Any]:
    if "Invalid data found" in text or "Stream #" not in text:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        raise KlipError(f"not a readable video file: {path} ({lines[-1].strip() if lines else 'no streams'})")
    video = re.search(r"Stream #\S+.*?: Video: (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})", text)
    audio = re.search(r"Stream #\S+.*?: Audio: (\w+)", text)
    return {
        "video": video.group(1) if video else None,
        "audio": audio.group(1) if audio else None,
        "height": int(video.group(3)) if video else None,
    }


def _duration(text: str) -> float:
    m = re.search(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)", text)
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else 0.0


def probe_codecs(path: str | os.PathLike) -> dict[str, Any]:
    """{'video': codec or None, 'audio': codec or None, 'height': int or None} from ffmpeg's stream listing."""
    return _codecs(_stream_listing(path), path)


def probe(path: str | os.PathLike) -> dict[str, Any]:
    """probe_codecs' answer plus the container's `duration` in seconds (0.0 when ffmpeg does not say): one probe."""
    listing = _stream_listing(path)
    return {**_codecs(listing, path), "duration": _duration(listing)}


def probe_duration(path: str | os.PathLike) -> float:
    """Container duration in seconds (0.0 when ffmpeg does not say)."""
    return _duration(_stream_listing(path))


def import_local_video(
    src: str | os.PathLike,
    dst_mp4: str | os.PathLike,
    metadata_json: str | os.PathLike | None = None,
    *,
    vod_id: str | None = None,
    title: str = "",
    streamer: str = "",
    created_at: str | None = None,
) -> dict[str, str]:
    """Make `dst_mp4` from a local video: copy an H.264/AAC .mp4, remux other containers holding
    H.264/AAC, transcode anything else (libx264 + AAC). With `metadata_json`, also write the VOD
    metadata (duration probed from the result). Returns {'mode': copy|remux|transcode}."""
    src, dst = Path(src), Path(dst_mp4)
    if not src.is_file():
        raise KlipError(f"video file not found: {src}")
    codecs = probe_codecs(src)
    if not codecs["video"]:
        raise KlipError(f"no video stream in {src}")
    ok_video = codecs["video"] == "h264"
    ok_audio = codecs["audio"] in ("aac", None)
    if ok_video and ok_audio and src.suffix.lower() in (".mp4", ".m4v"):
        mode = "copy"
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
    else:
        mode = "remux" if ok_video and ok_audio else "transcode"
        codec_args = (
            ["-c", "copy"]
            if mode == "remux"
            else [
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "23",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-b:a",
                "160k",
            ]
        )
        log.info("%s %s -> %s", "remuxing" if mode == "remux" else "transcoding", src, dst)
        with atomic_path(dst) as tmp:
            run_ffmpeg(
                [
                    "-i",
                    str(src),
                    "-map",
                    "0:v:0",
                    "-map",
                    "0:a:0?",
                    *codec_args,
                    "-movflags",
                    "+faststart",
                    "-f",
                    "mp4",
                    str(tmp),
                ],
                what=str(src),
            )
    log.info("video %s ready from %s (%s)", dst, src, mode)
    if metadata_json:
        listing = _stream_listing(dst)  # one probe for both duration and height
        write_local_metadata(
            vod_id or dst.stem.removeprefix("video_"),
            metadata_json,
            title=title or src.stem,
            streamer=streamer,
            duration=_duration(listing),
            created_at=created_at,
            source=str(src),
            height=_codecs(listing, dst)["height"],
        )
    return {"mode": mode}


def write_local_metadata(
    vod_id: str,
    metadata_json: str | os.PathLike,
    *,
    title: str = "",
    streamer: str = "",
    duration: float = 0.0,
    created_at: str | None = None,
    source: str = "",
    height: int | None = None,
) -> dict[str, Any]:
    """Metadata JSON for a VOD made from local files (same keys as a download)."""
    meta = {
        "vod_id": str(vod_id),
        "url": vod_url(vod_id) if re.fullmatch(r"[1-9]\d*", str(vod_id)) else None,
        "title": title,
        "streamer": streamer,
        "streamer_login": streamer.lower(),
        "duration": float(duration),
        "created_at": created_at,
        "view_count": None,
        "backend": "local",
        "format": None,
        "height": height,
        "source": source,
    }
    write_json(metadata_json, meta)
    return meta
