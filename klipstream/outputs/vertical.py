"""Vertical 9:16 copies of the clips (Shorts, TikTok, Reels), optionally with the clip's captions burned in.

Layouts: `stack` puts the streamer's facecam on top and the gameplay below, each cropped to fill its part; `crop`
fills the frame with the centre of the picture (with a talking head, centred on the face, held still); `blur`
shows the whole picture, centred, over a blurred and zoomed copy of itself. `vertical.mode: auto` looks for the
facecam in each clip (facecam.py: a face that stays in one region, found by OpenCV's packaged Haar cascade) and
picks `stack` when there is one, `crop` on the face for a talking-head stream, `blur` otherwise; `stack` asked
for where no facecam is found makes `blur`. The layout, the reason and the regions are recorded per clip.

Captions are burned with ffmpeg's `subtitles` filter (libass); an ffmpeg without it makes the clips without
captions and says so in one line. The audio is copied from the clip untouched. The folder
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


MODES = ("auto", "stack", "blur", "crop")
TOP_MIN, TOP_MAX = 0.3, 0.4  # the facecam's share of a stacked frame's height (the gameplay keeps the rest)


def _even(v: float) -> int:
    return max(2, int(round(v / 2)) * 2)


def stack_regions(region, src: tuple[int, int], width: int, height: int) -> dict:
    """Where the stack layout takes its parts from, in source pixels [x, y, w, h]: `top` the facecam region,
    `bottom` the gameplay (full height, as wide as the bottom part's shape allows, beside the facecam when it fits);
    `top_height` of the output, from the facecam's shape, between TOP_MIN and TOP_MAX of the frame."""
    sw, sh = src
    rx, ry, rw, rh = region[0] * sw, region[1] * sh, region[2] * sw, region[3] * sh
    top_h = _even(min(TOP_MAX * height, max(TOP_MIN * height, width * rh / max(rw, 1))))
    bottom_h = height - top_h
    gw = min(sw, sh * width / bottom_h)
    gx = (sw - gw) / 2
    if rx + rw / 2 < sw / 2 and rx + rw + gw <= sw:  # facecam on the left: gameplay from its right edge on
        gx = max(gx, min(rx + rw + 0.01 * sw, sw - gw))  # (and its border)
    elif rx + rw / 2 >= sw / 2 and rx - gw >= 0:
        gx = min(gx, max(rx - gw - 0.01 * sw, 0))
    inset_x, inset_y = 0.03 * rw, 0.03 * rh  # inside the overlay's border
    rx, ry, rw, rh = rx + inset_x, ry + inset_y, rw - 2 * inset_x, rh - 2 * inset_y
    top = [_even(rx) if rx >= 1 else 0, _even(ry) if ry >= 1 else 0, _even(rw), _even(rh)]
    top[2], top[3] = min(top[2], sw - top[0]) // 2 * 2, min(top[3], sh - top[1]) // 2 * 2
    bottom = [int(gx) // 2 * 2, 0, _even(gw) if _even(gw) <= sw else sw // 2 * 2, sh // 2 * 2]
    return {"top": top, "bottom": bottom, "top_height": top_h}


def face_crop(face, src: tuple[int, int]) -> list[int]:
    """A 9:16 window of the full height centred on the face (clamped to the frame), [x, y, w, h] source pixels."""
    sw, sh = src
    cw = min(sw, _even(sh * 9 / 16))
    cx = (face[0] + face[2] / 2) * sw
    x = int(min(max(cx - cw / 2, 0), sw - cw)) // 2 * 2
    return [x, 0, cw, sh // 2 * 2]


def filter_graph(mode: str, width: int, height: int, subtitles: str | None = None, regions: dict | None = None) -> str:
    """The -filter_complex from input 0's video to [v]; `subtitles` is a file name relative to ffmpeg's cwd;
    `regions` (stack_regions, or {"crop": [x, y, w, h]}) where the parts are taken from."""
    fill = f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},setsar=1"
    if mode == "crop":
        window = (regions or {}).get("crop")
        pre = "crop={2}:{3}:{0}:{1},".format(*window) if window else ""
        graph = f"[0:v]{pre}{fill}[base]"
    elif mode == "stack":
        top, bottom, top_h = regions["top"], regions["bottom"], regions["top_height"]
        bottom_h = height - top_h
        graph = (
            f"[0:v]split[a][b];"
            f"[a]crop={top[2]}:{top[3]}:{top[0]}:{top[1]},"
            f"scale={width}:{top_h}:force_original_aspect_ratio=increase,crop={width}:{top_h},setsar=1[top];"
            f"[b]crop={bottom[2]}:{bottom[3]}:{bottom[0]}:{bottom[1]},"
            f"scale={width}:{bottom_h}:force_original_aspect_ratio=increase,crop={width}:{bottom_h},setsar=1[bot];"
            f"[top][bot]vstack[base]"
        )
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
        raise KlipError(f"vertical layout must be stack, crop or blur, not {mode!r}")
    tail = f"[base]subtitles=f={subtitles}[v]" if subtitles else "[base]null[v]"
    return f"{graph};{tail}"


def choose_layout(src: Path, opts: Mapping[str, Any]) -> dict[str, Any]:
    """{layout, reason, regions, facecam} for one clip under `vertical.mode`."""
    mode = opts["mode"]
    if mode not in MODES:
        raise KlipError(f"vertical.mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode in ("blur", "crop"):
        return {"layout": mode, "reason": "vertical.mode", "regions": None, "facecam": None}
    from .facecam import find_facecam

    cam = find_facecam(src, int(opts["sample_frames"]), float(opts["min_face_share"]))
    found = cam.as_json()
    if cam.kind == "facecam":
        regions = stack_regions(cam.region, cam.size, *frame_size(opts["height"]))
        return {"layout": "stack", "reason": "facecam found", "regions": regions, "facecam": found}
    if cam.kind == "talking_head" and mode == "auto":
        return {
            "layout": "crop",
            "reason": "talking head: crop centred on the face",
            "regions": {"crop": face_crop(cam.face, cam.size)},
            "facecam": found,
        }
    why = "a face fills the picture (no facecam overlay)" if cam.kind == "talking_head" else "no stable face"
    return {"layout": "blur", "reason": why, "regions": None, "facecam": found}


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
            chosen = choose_layout(src, opts)
            log.info(
                "vertical %d/%d of %s: %s -> %s (%s: %s, %dx%d, captions %s)",
                i,
                len(listing["clips"]),
                vod,
                clip["file"],
                name,
                chosen["layout"],
                chosen["reason"],
                width,
                height,
                "burned" if subtitles else "none",
            )
            run_ffmpeg(
                [
                    "-i",
                    str(src),
                    "-filter_complex",
                    filter_graph(chosen["layout"], width, height, subtitles, chosen["regions"]),
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
                    **chosen,
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
