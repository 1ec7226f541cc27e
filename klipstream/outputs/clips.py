"""Cut the top K highlights of the integrated analysis out of the video with ffmpeg, plus `clips.json`.

Each clip is re-encoded (H.264/AAC) with `-ss` before `-i`: ffmpeg seeks to the keyframe before the start and
decodes up to the exact frame (accurate seek is ffmpeg's default when transcoding), so the clip starts on
the requested frame rather than on the previous keyframe as a stream copy would. The folder is built beside
the target and renamed into place, so a failed job never leaves a half-filled clips folder.

With the transcript's words table, each clip's start and end move to the nearest sentence end or pause within
`clips.snap_seconds` and never fall inside a word (cuts.py); clips.json keeps the moment's own span as `span`.
Each clip carries its moment's title and description (titles.py) in its file name (a slug), its MP4 metadata
(title, comment) and clips.json.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .. import config as _config
from ..errors import KlipError
from ..highlights.contract import validate
from ..highlights.explain import twitch_timestamp
from ..io import atomic_dir, read_json, write_json
from ..media import run_ffmpeg
from ..video import probe_duration
from .cuts import snap_span

# this module's settings defaults: the config schema's `clips` section, where they are written once
_CLIPS = _config.default("clips")

log = logging.getLogger(__name__)


def media_duration(path: str | os.PathLike) -> float | None:
    """Container duration in seconds as ffmpeg reports it (None when it reports none)."""
    return probe_duration(path) or None


def read_listing(clips_dir: str | os.PathLike) -> dict:
    """The `clips.json` that cut_clips wrote in `clips_dir`; a missing or unreadable one is one line naming it."""
    index = Path(clips_dir) / "clips.json"
    try:
        return read_json(index)
    except (OSError, ValueError) as exc:
        raise KlipError(f"cannot read the clips listing {index}: {type(exc).__name__}: {exc}") from None


def cut_clips(
    video,
    integrated_json,
    out_dir,
    top_k: int = _CLIPS["top_k"],
    *,
    crf: int = _CLIPS["crf"],
    preset: str = _CLIPS["preset"],
    audio_bitrate: str = _CLIPS["audio_bitrate"],
    snap_seconds: float = _CLIPS["snap_seconds"],
    min_score: float | None = None,
    words_csv: str | os.PathLike | None = None,
    titles_json: str | os.PathLike | None = None,
) -> dict:
    """Cut the `top_k` best highlights (optionally only those scoring >= min_score) into `out_dir`.

    Writes `{vod}_{rank:02d}_{start as 0h1m2s}_{title slug}.mp4` per highlight and `clips.json` listing them;
    returns that listing. `words_csv` (the transcript's words) moves the cuts to sentence ends and pauses;
    `titles_json` gives the titles (default: the extractive ones)."""
    from .titles import slug, titles_for  # titles.py -> timeline.py -> this module

    video = Path(video)
    if not video.is_file():
        raise KlipError(f"video for clips not found: {video}")
    doc = read_json(integrated_json)
    validate(doc, f"integrated analysis {integrated_json}")
    if int(top_k) < 0:
        raise KlipError(f"clips.top_k must be >= 0, got {top_k}")
    vod = doc["vod_id"]
    chosen = [h for h in doc["highlights"] if min_score is None or h["score"] >= min_score][: int(top_k)]
    source_len = media_duration(video)
    titles = titles_for(doc, titles_json)
    words = None
    if words_csv is not None and float(snap_seconds) > 0:
        from .captions import load_words

        words = load_words(words_csv)
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        clips = []
        for i, h in enumerate(chosen, 1):
            span_start = float(h["start"])
            span_end = min(float(h["end"]), source_len) if source_len else float(h["end"])
            if span_end - span_start <= 0.05:
                log.warning("clip #%d of %s starts after the video ends (%.1f s), skipped", h["rank"], vod, span_start)
                continue
            cut = snap_span(span_start, span_end, words, float(snap_seconds), source_len)
            start, end = cut["start"], cut["end"]
            named = titles[int(h["rank"])]
            tail = slug(named["title"])
            name = f"{vod}_{h['rank']:02d}_{twitch_timestamp(start)}{'_' + tail if tail else ''}.mp4"
            log.info(
                "clip %d/%d of %s: #%d %.2f-%.2f s (moment %.2f-%.2f, cut at %s/%s) -> %s",
                i,
                len(chosen),
                vod,
                h["rank"],
                start,
                end,
                span_start,
                span_end,
                cut["start_kind"],
                cut["end_kind"],
                name,
            )
            run_ffmpeg(
                [
                    "-ss",
                    f"{start:.3f}",
                    "-i",
                    str(video),
                    "-t",
                    f"{end - start:.3f}",
                    "-map",
                    "0:v:0?",
                    "-map",
                    "0:a:0?",
                    "-c:v",
                    "libx264",
                    "-preset",
                    preset,
                    "-crf",
                    str(crf),
                    "-pix_fmt",
                    "yuv420p",
                    "-c:a",
                    "aac",
                    "-b:a",
                    audio_bitrate,
                    "-metadata",
                    f"title={named['title']}",
                    "-metadata",
                    f"comment={named['description']}",
                    "-movflags",
                    "+faststart",
                    "-avoid_negative_ts",
                    "make_zero",
                    str(tmp / name),
                ],
                what=f"clip #{h['rank']} of {video}",
            )
            clips.append(
                {
                    "rank": h["rank"],
                    "file": name,
                    "start": round(start, 3),
                    "end": round(end, 3),
                    "duration": round(end - start, 3),
                    "measured_duration": media_duration(tmp / name),
                    "title": named["title"],
                    "description": named["description"],
                    "title_source": named["source"],
                    "span": {"start": round(span_start, 3), "end": round(span_end, 3)},
                    "cut": {"start": cut["start_kind"], "end": cut["end_kind"]},
                    "peak": h["peak"],
                    "score": h["score"],
                    "dominant_emotion": h["dominant_emotion"],
                    "explanation": h["explanation"],
                    "twitch_link": h["twitch_link"],
                }
            )
        listing = {
            "vod_id": vod,
            "source_video": str(video),
            "top_k": int(top_k),
            "count": len(clips),
            "encoding": {
                "video": "libx264",
                "crf": crf,
                "preset": preset,
                "audio": "aac",
                "audio_bitrate": audio_bitrate,
                "seek": "input -ss with re-encode (frame-accurate start)",
            },
            "snap_seconds": float(snap_seconds) if words is not None else 0.0,
            "clips": clips,
        }
        write_json(tmp / "clips.json", listing)
    log.info("clips of %s: %d -> %s", vod, len(clips), out_dir)
    return listing
