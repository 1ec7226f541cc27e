"""Vertical 9:16 copies of the clips (Shorts, TikTok, Reels), optionally with the clip's captions burned in.

`crop` fills the frame with the centre of the picture; `blur` shows the whole picture, centred, over a blurred
and zoomed copy of itself. Captions are burned with ffmpeg's `subtitles` filter (libass); an ffmpeg without it
makes the clips without captions and says so in one line. The audio is copied from the clip untouched. The folder
is built beside the target and renamed into place, with `vertical.json` listing the clips."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..config import section
from ..errors import KlipError
from ..io import atomic_dir, temp_prefix, write_json
from ..media import ffmpeg_exe, run_ffmpeg
from .captions import Cue, write_cues
from .clips import media_duration, read_listing

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def subtitles_missing(ffmpeg: str) -> str | None:
    """None when `ffmpeg` can burn subtitles, else what is missing (one line)."""
    proc = subprocess.run([ffmpeg, "-hide_banner", "-filters"], capture_output=True, text=True)
    if not re.search(r"^\s*\S+\s+subtitles\s", proc.stdout, re.M):
        return f"ffmpeg {ffmpeg} has no `subtitles` filter (it was built without libass)"
    return None


def frame_size(height: int) -> tuple[int, int]:
    """(width, height) of a 9:16 frame `height` tall, both even (x264 with yuv420p needs even sizes)."""
    height = int(height) // 2 * 2
    return int(round(height * 9 / 16 / 2)) * 2, height


def filter_graph(mode: str, width: int, height: int, subtitles: str | None = None) -> str:
    """The -filter_complex from input 0's video to [v]; `subtitles` is a file name relative to ffmpeg's cwd."""
    fill = f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},setsar=1"
    if mode == "crop":
        graph = f"[0:v]{fill}[base]"
    elif mode == "blur":
        small_w, small_h = max(2, width // 8 // 2 * 2), max(2, height // 8 // 2 * 2)
        graph = (
            f"[0:v]split[a][b];"
            f"[a]scale={small_w}:{small_h}:force_original_aspect_ratio=increase,crop={small_w}:{small_h},"
            f"gblur=sigma=6,scale={width}:{height},eq=brightness=-0.12,setsar=1[bg];"
            f"[b]scale={width}:{height}:force_original_aspect_ratio=decrease,setsar=1[fg];"
            f"[bg][fg]overlay=(W-w)/2:(H-h)/2[base]"
        )
    else:
        raise KlipError(f"vertical.mode must be crop or blur, not {mode!r}")
    tail = f"[base]subtitles=f={subtitles}[v]" if subtitles else "[base]null[v]"
    return f"{graph};{tail}"


def _cues(srt: Path) -> list[Cue]:
    """The cues of a clip's SRT; none for an empty file (a clip without recognised speech: silence, no audio
    track), which pysubs2 cannot load (it finds no format in it)."""
    import pysubs2

    if not srt.read_text(encoding="utf-8").strip():
        return []
    subs = pysubs2.load(str(srt), encoding="utf-8")
    return [Cue(e.start / 1000, e.end / 1000, tuple(e.plaintext.split("\n"))) for e in subs]


def render_vertical(
    clips_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    captions_dir: str | os.PathLike | None = None,
    settings: Mapping[str, Any] | None = None,
    vod: str = "",
) -> dict[str, Any]:
    """Render `{clip}_vertical.mp4` for every clip of clips.json into `out_dir`, plus `vertical.json`."""
    opts = section("vertical", settings)
    clips_dir, out_dir = Path(clips_dir), Path(out_dir)
    listing = read_listing(clips_dir)
    vod = vod or listing.get("vod_id", "")
    width, height = frame_size(opts["height"])
    burn, reason = bool(opts["burn_captions"]), None
    if burn and captions_dir is None:
        burn, reason = False, "no captions for this VOD (exports.captions is off or the VOD has no transcript)"
    if burn:
        reason = subtitles_missing(ffmpeg_exe())
        if reason:
            burn = False
            log.warning(
                "vertical clips of %s: captions not burned in: %s; the clips are made without them", vod, reason
            )
    style = {"width": width, "height": height, "font_size": round(height * 0.034), "margin_bottom": round(height * 0.2)}
    with (
        atomic_dir(out_dir) as tmp,
        tempfile.TemporaryDirectory(prefix=temp_prefix(out_dir) + "work.", dir=out_dir.parent) as work_name,
    ):
        work = Path(work_name)
        made = []
        for i, clip in enumerate(listing["clips"], 1):
            src = (clips_dir / clip["file"]).resolve()
            stem = Path(clip["file"]).stem
            srt = Path(captions_dir) / f"{stem}.srt" if captions_dir is not None else None
            subtitles = None
            if burn and srt is not None and srt.is_file():
                cues = _cues(srt)
                if cues:
                    subtitles = f"c{i}.ass"
                    write_cues(cues, ass=work / subtitles, style=style)
            name = f"{stem}_vertical.mp4"
            log.info(
                "vertical %d/%d of %s: %s -> %s (%s, %dx%d, captions %s)",
                i,
                len(listing["clips"]),
                vod,
                clip["file"],
                name,
                opts["mode"],
                width,
                height,
                "burned" if subtitles else "none",
            )
            run_ffmpeg(
                [
                    "-i",
                    str(src),
                    "-filter_complex",
                    filter_graph(opts["mode"], width, height, subtitles),
                    "-map",
                    "[v]",
                    "-map",
                    "0:a:0?",
                    "-c:v",
                    "libx264",
                    "-preset",
                    str(opts["preset"]),
                    "-crf",
                    str(opts["crf"]),
                    "-pix_fmt",
                    "yuv420p",
                    "-c:a",
                    "copy",
                    "-movflags",
                    "+faststart",
                    str((tmp / name).resolve()),
                ],
                what=f"vertical clip #{clip['rank']} of {vod}",
                cwd=work,
            )
            made.append(
                {
                    "rank": clip["rank"],
                    "file": name,
                    "clip": clip["file"],
                    "start": clip["start"],
                    "end": clip["end"],
                    "duration": clip["duration"],
                    "measured_duration": media_duration(tmp / name),
                    "captions_burned": bool(subtitles),
                }
            )
        result = {
            "vod_id": vod,
            "mode": opts["mode"],
            "width": width,
            "height": height,
            "captions": "burned" if burn else "none",
            "captions_missing": reason,
            "count": len(made),
            "clips": made,
        }
        write_json(tmp / "vertical.json", result)
    log.info("vertical clips of %s: %d -> %s", vod, len(made), out_dir)
    return result
