"""The ranked moments as editor timelines, built with OpenTimelineIO and written through its adapters.

Two timelines, each as `.otio` (OpenTimelineIO JSON), `.edl` (CMX 3600) and `.xml` (Final Cut Pro 7 XML, which
Premiere, Resolve and Kdenlive import):
- `{vod}_moments.*`: the whole VOD as one clip on V1/A1, every ranked moment a marker on it (its in/out, rank, mood,
  score; the explanation as the marker comment), so the sequence time is the VOD time;
- `{vod}_selects.*`: the clips (the top K moments, with the clips' exact in/out) back to back, a marker at each peak.

Times are whole frames at the source video's frame rate (in = round(start x fps), out = round(end x fps)), so an
editor lands on the frame the clip starts on. Timecode needs an SMPTE rate: a source at another rate (say 5 or 15
fps) is written (all three files) at the lowest SMPTE rate that is a whole multiple of it, which keeps every in/out
on a source frame. Newer OpenTimelineIO releases ship the EDL and FCP XML adapters as
the separate packages otio-cmx3600-adapter and otio-fcp-adapter; a missing one is named in a one-line error."""

from __future__ import annotations

import copy
import functools
import logging
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import section
from ..errors import KlipError
from ..highlights.contract import validate
from ..io import atomic_open, atomic_path, read_json
from ..media import ffmpeg_exe
from .clips import read_listing

log = logging.getLogger(__name__)

ADAPTERS = {"edl": ("cmx_3600", "otio-cmx3600-adapter"), "xml": ("fcp_xml", "otio-fcp-adapter")}
NTSC = {23.976: 24000 / 1001, 23.98: 24000 / 1001, 29.97: 30000 / 1001, 59.94: 60000 / 1001, 47.95: 48000 / 1001}
# Rates SMPTE timecode (and so EDLs and the NLEs' sequence settings) knows.
SMPTE_RATES = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 48.0, 50.0, 60000 / 1001, 60.0)


def probe_video(path: str | os.PathLike) -> dict[str, float | None]:
    """{'fps': frames per second, 'duration': seconds} of a video from ffmpeg's stream listing (None when unsaid)."""
    text = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, text=True
    ).stderr
    stream = re.search(r"Stream #\S+.*?: Video: [^\n]*", text)
    fps = None
    if stream:
        m = re.search(r"(\d+(?:\.\d+)?) fps", stream.group(0)) or re.search(r"(\d+(?:\.\d+)?) tbr", stream.group(0))
        if m:
            value = float(m.group(1))
            fps = NTSC.get(round(value, 3), NTSC.get(round(value, 2), value))
    d = re.search(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)", text)
    duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3)) if d else None
    return {"fps": fps, "duration": duration}


@functools.lru_cache(maxsize=1)
def otio_module():
    """opentimelineio, checked (once) for the adapters this module writes through."""
    try:
        import opentimelineio as otio
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise KlipError("timelines need OpenTimelineIO: pip install opentimelineio") from exc
    have = set(otio.adapters.available_adapter_names())
    for adapter, package in ADAPTERS.values():
        if adapter not in have:
            raise KlipError(f"OpenTimelineIO {otio.__version__} has no {adapter} adapter: pip install {package}")
    return otio


def frames(seconds: float, fps: float) -> int:
    return int(round(float(seconds) * fps))


def hms(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def moment_label(h: Mapping[str, Any], title: str | None = None) -> str:
    """`#3 Chat erupts at 12:34 (laughter)` with the moment's title, else `#3 funny 4.2` (mood and score)."""
    return f"#{h['rank']} {title}" if title else f"#{h['rank']} {h['dominant_emotion']} {h['score']:.1f}"


def media_name(doc: Mapping[str, Any], video: str | os.PathLike | None = None) -> str:
    """What the timelines call the VOD's video (EDL events are named after it, to relink by name): the file; for a
    Twitch VOD whose video was not fetched, the `video_{vod}.mp4` the workflow would fetch; a VOD with no video at
    all (only a chat) says so, rather than name a file that will never exist."""
    if video:
        return Path(video).name
    return f"video_{doc['vod_id']}.mp4" if doc.get("twitch_url") else f"{doc['vod_id']} (no video)"


def _media(otio, video: str | os.PathLike | None, name: str, fps: float, total: int, twitch_url: str | None):
    available = otio.opentime.TimeRange(otio.opentime.RationalTime(0, fps), otio.opentime.RationalTime(total, fps))
    if video:
        return otio.schema.ExternalReference(target_url=Path(video).resolve().as_uri(), available_range=available)
    return otio.schema.MissingReference(name=name, available_range=available, metadata={"twitch_url": twitch_url})


def _clip(otio, name: str, media, first: int, count: int, fps: float, reel: str):
    rt = otio.opentime.RationalTime
    return otio.schema.Clip(
        name=name,
        media_reference=copy.deepcopy(media),
        source_range=otio.opentime.TimeRange(rt(first, fps), rt(count, fps)),
        metadata={"cmx_3600": {"reel": reel}},
    )


def _marker(otio, h: Mapping[str, Any], first: int, count: int, fps: float, color: str, named: Mapping | None):
    rt = otio.opentime.RationalTime
    named = named or {}
    return otio.schema.Marker(
        name=moment_label(h, named.get("title")),
        color=color,
        comment=named.get("description") or h.get("explanation", ""),
        marked_range=otio.opentime.TimeRange(rt(first, fps), rt(count, fps)),
        metadata={
            "klipstream": {
                **{k: h.get(k) for k in ("rank", "start", "end", "peak", "score", "dominant_emotion", "twitch_link")},
                "title": named.get("title"),
                "description": named.get("description"),
                "explanation": h.get("explanation", ""),
            }
        },
    )


def _timeline(otio, name: str, fps: float, clips: list) -> Any:
    timeline = otio.schema.Timeline(name=name, global_start_time=otio.opentime.RationalTime(0, fps))
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    for clip in clips:
        video.append(clip)
        sound = copy.deepcopy(clip)
        sound.markers.clear()
        audio.append(sound)
    timeline.tracks.extend([video, audio])
    return timeline


def build_timelines(
    doc: Mapping[str, Any],
    fps: float,
    *,
    duration: float | None = None,
    video: str | os.PathLike | None = None,
    selects: list[Mapping[str, Any]] | None = None,
    top_k: int = 5,
    titles: Mapping[int, Mapping] | None = None,
) -> tuple[Any, Any]:
    """(moments timeline, selects timeline) of one integrated analysis at `fps`.

    `selects` are the clips (rank, start, end) from clips.json; without them the top `top_k` highlights.
    `titles` (rank -> title row, titles.titles_for) name the markers; by default the extractive titles."""
    from .titles import titles_for  # titles.py reads hms from here

    otio = otio_module()
    titles = titles if titles is not None else titles_for(doc)
    vod, highlights = doc["vod_id"], doc["highlights"]
    length = float(duration if duration else doc["duration"])
    total = max(1, frames(length, fps))
    reel = (re.sub(r"[^A-Z0-9]", "", vod.upper()) or "AX")[-8:]
    file_name = media_name(doc, video)
    media = _media(otio, video, file_name, fps, total, doc.get("twitch_url"))
    selected = selects if selects is not None else highlights[: max(0, int(top_k))]
    chosen = {int(s["rank"]) for s in selected}
    whole = _clip(otio, file_name, media, 0, total, fps, reel)
    for h in highlights:
        first = min(frames(h["start"], fps), total - 1)
        count = max(1, min(frames(h["end"], fps), total) - first)
        color = otio.schema.MarkerColor.RED if h["rank"] in chosen else otio.schema.MarkerColor.YELLOW
        whole.markers.append(_marker(otio, h, first, count, fps, color, titles.get(int(h["rank"]))))
    moments = _timeline(otio, f"{doc['title']} - moments", fps, [whole])
    by_rank = {h["rank"]: h for h in highlights}
    cuts = []
    for s in selected:
        first = min(frames(s["start"], fps), total - 1)
        count = max(1, min(frames(s["end"], fps), total) - first)
        h = by_rank.get(int(s["rank"]), s)
        clip = _clip(otio, f"#{s['rank']} {hms(s['start'])}", media, first, count, fps, reel)
        peak = min(max(frames(h.get("peak", s["start"]), fps), first), first + count - 1)
        clip.markers.append(_marker(otio, h, peak, 0, fps, otio.schema.MarkerColor.RED, titles.get(int(s["rank"]))))
        cuts.append(clip)
    return moments, _timeline(otio, f"{doc['title']} - selects", fps, cuts)


def editor_rate(fps: float) -> float:
    """The rate the EDL and FCP XML are written at: the source's when timecode knows it, else the lowest SMPTE
    rate that is a whole multiple of it (5 fps -> 25: every source frame still lands on a frame), else the nearest."""
    for rate in SMPTE_RATES:
        if abs(rate - fps) < 1e-6:
            return rate
    for rate in SMPTE_RATES:
        if abs(rate / fps - round(rate / fps)) < 1e-9:
            return rate
    return min(SMPTE_RATES, key=lambda rate: abs(rate - fps))


def rescaled(timeline, rate: float):
    """A copy of `timeline` with every time at `rate` (exact when `rate` is a whole multiple of the old rate)."""
    otio = otio_module()
    out = copy.deepcopy(timeline)

    def at(time_range):
        start = time_range.start_time.rescaled_to(rate)
        duration = time_range.duration.rescaled_to(rate)
        return otio.opentime.TimeRange(
            otio.opentime.RationalTime(round(start.value, 6), rate),
            otio.opentime.RationalTime(round(duration.value, 6), rate),
        )

    out.global_start_time = otio.opentime.RationalTime(0, rate)
    for clip in out.find_clips():
        clip.source_range = at(clip.source_range)
        if clip.media_reference.available_range is not None:
            clip.media_reference.available_range = at(clip.media_reference.available_range)
        for marker in clip.markers:
            marker.marked_range = at(marker.marked_range)
    return out


def _edl_ready(timeline, file_name: str):
    """A copy for the EDL: events named after the media file, so an editor relinks them by clip name."""
    edl = copy.deepcopy(timeline)
    for clip in edl.find_clips():
        clip.name = file_name
    return edl


def write_timeline(timeline, base: str | os.PathLike, file_name: str, fps: float) -> list[Path]:
    """`base`.otio, .edl and .xml at `editor_rate(fps)` (each file atomically): the .otio too, since OpenTimelineIO's
    own timecode (`to_timecode`) refuses a rate SMPTE does not know, such as the demo's 5 fps."""
    otio = otio_module()
    paths = []
    rate = editor_rate(fps)
    for_editors = timeline if rate == fps else rescaled(timeline, rate)
    with atomic_path(f"{base}.otio") as tmp:
        otio.adapters.write_to_file(for_editors, str(tmp), adapter_name="otio_json")
    paths.append(Path(f"{base}.otio"))
    for suffix, (adapter, _) in ADAPTERS.items():
        source = _edl_ready(for_editors, file_name) if suffix == "edl" else for_editors
        try:
            if suffix == "edl" and not any(len(track) for track in source.video_tracks()):
                # No events (a VOD without moments): the adapter fails on an empty track; an EDL of only its
                # title is what it writes when a track has no clip events, and reads back as an empty timeline.
                text = f"TITLE: {source.name}\n\n"
            else:
                text = otio.adapters.write_to_string(source, adapter_name=adapter)
        except Exception as exc:  # noqa: BLE001 - an adapter's refusal becomes one line naming the file
            # some adapter errors have no message (an IndexError): the type at least says what went wrong
            reason = f"{type(exc).__name__}: {exc}" if str(exc).strip() else type(exc).__name__
            raise KlipError(f"cannot write {base}.{suffix} with OpenTimelineIO's {adapter}: {reason}") from exc
        with atomic_open(f"{base}.{suffix}") as fh:
            fh.write(text)
        paths.append(Path(f"{base}.{suffix}"))
    return paths


def export_timelines(
    integrated_json: str | os.PathLike,
    moments_base: str | os.PathLike,
    selects_base: str | os.PathLike,
    *,
    video: str | os.PathLike | None = None,
    clips_dir: str | os.PathLike | None = None,
    top_k: int = 5,
    settings: Mapping[str, Any] | None = None,
    titles_json: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Write both timelines of a VOD; `video` gives the frame rate and length, `clips_dir` the selects."""
    opts = section("timeline", settings)
    doc = read_json(integrated_json)
    validate(doc, f"integrated analysis {integrated_json}")
    probe = probe_video(video) if video else {"fps": None, "duration": None}
    fps = float(probe["fps"] or opts["fallback_fps"])
    selects = None
    if clips_dir is not None:
        selects = read_listing(clips_dir)["clips"]
    from .titles import titles_for

    moments, cut = build_timelines(
        doc,
        fps,
        duration=probe["duration"],
        video=video,
        selects=selects,
        top_k=top_k,
        titles=titles_for(doc, titles_json),
    )
    file_name = media_name(doc, video)
    write_timeline(moments, moments_base, file_name, fps)
    write_timeline(cut, selects_base, file_name, fps)
    log.info(
        "timelines of %s at %.3f fps (%s; EDL and XML at %.3f): %d markers, %d selects -> %s.*, %s.*",
        doc["vod_id"],
        fps,
        "from the video" if probe["fps"] else "timeline.fallback_fps",
        editor_rate(fps),
        len(doc["highlights"]),
        len(cut.tracks[0]),
        moments_base,
        selects_base,
    )
    return {
        "fps": fps,
        "editor_fps": editor_rate(fps),
        "markers": len(doc["highlights"]),
        "selects": len(cut.tracks[0]),
    }
