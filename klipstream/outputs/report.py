"""Self-contained HTML report `output/report/{vod}.html`: one file with inline CSS, JS and data; the
timeline (waveform, scores, chat activity, chat and speech emotions, highlight spans) is drawn as SVG in
the browser, so nothing is fetched at view time."""

from __future__ import annotations

import html
import json
import logging
import os
import re
from pathlib import Path
from urllib.parse import quote

import numpy as np

from ..errors import KlipError
from ..highlights.contract import validate
from ..io import atomic_open, read_json
from .clips import read_listing
from .titles import titles_for

log = logging.getLogger(__name__)

TEMPLATE = Path(__file__).resolve().parent / "templates" / "report.html"
WAVE_MAX_POINTS = 2000  # min/max columns drawn: enough for a wide screen, small for a 10-hour VOD


def reduce_waveform(peaks: dict, max_points: int = WAVE_MAX_POINTS) -> dict | None:
    """Peaks JSON (audiowaveform v2, min/max pairs) reduced to at most `max_points` min/max pairs, 8-bit scale."""
    data = np.asarray(peaks.get("data") or [], dtype=float)
    if len(data) < 2 or int(peaks.get("channels", 1)) != 1:
        return None
    pairs = data[: len(data) // 2 * 2].reshape(-1, 2)
    if int(peaks.get("bits", 8)) == 16:
        pairs = pairs / 256.0
    group = max(1, int(np.ceil(len(pairs) / max_points)))
    pad = (-len(pairs)) % group
    if pad:
        pairs = np.vstack([pairs, np.repeat(pairs[-1:], pad, axis=0)])
    g = pairs.reshape(-1, group, 2)
    out = np.stack([g[:, :, 0].min(axis=1), g[:, :, 1].max(axis=1)], axis=1).round().astype(int)
    spp = float(peaks.get("samples_per_pixel", 1)) / float(peaks.get("sample_rate", 1)) * group
    return {"seconds_per_point": spp, "data": out.ravel().tolist()}


def media_links(out_html, clips_dir=None, video=None) -> dict:
    """What the cards play, as URLs relative to the report (so the output folder can be zipped and shared):
    {'clips': {rank: {'src', 'start', 'end'}}, 'video': full video or None}."""
    base = Path(out_html).resolve().parent

    def rel(path) -> str:
        return quote(Path(os.path.relpath(Path(path).resolve(), base)).as_posix())

    clips = {}
    if clips_dir:
        for clip in read_listing(clips_dir).get("clips", []):
            clips[str(clip["rank"])] = {
                "src": rel(Path(clips_dir) / clip["file"]),
                "start": clip["start"],
                "end": clip["end"],
            }
    return {"clips": clips, "video": rel(video) if video else None}


def render_report(
    integrated_json, out_html, *, waveform_json=None, clips_dir=None, video=None, titles_json=None
) -> Path:
    """Write the report for one VOD from its integrated analysis (and the waveform peaks when there is audio).

    The integrated JSON already carries the downsampled chat/audio/emotion timeline, so the report stays one
    small file; with `clips_dir` (clips.json) and `video`, each card plays its clip inline, or the full video from
    the moment's start, through relative links. Each card shows the moment's title and description (titles.py:
    from `titles_json`, else the extractive ones)."""
    doc = read_json(integrated_json)
    validate(doc, f"integrated analysis {integrated_json}")
    wave = None
    if waveform_json:
        try:
            wave = reduce_waveform(read_json(waveform_json))
        except (OSError, ValueError) as exc:
            raise KlipError(f"cannot read waveform peaks {waveform_json}: {exc}") from exc
    media = media_links(out_html, clips_dir, video)
    named = {
        str(rank): {"title": t["title"], "description": t["description"], "source": t["source"]}
        for rank, t in titles_for(doc, titles_json).items()
    }
    data = json.dumps(
        {"analysis": doc, "waveform": wave, "media": media, "titles": named}, ensure_ascii=False, separators=(",", ":")
    )
    # inside <script>, only "</" can end the element early; "<\/" is the same string to JSON.parse
    data = data.replace("</", "<\\/").replace("<!--", "<\\u0021--")
    fills = {"TITLE": html.escape(doc["title"]), "DATA": data}
    page = re.sub(r"__(TITLE|DATA)__", lambda m: fills[m.group(1)], TEMPLATE.read_text(encoding="utf-8"))
    with atomic_open(out_html) as fh:
        fh.write(page)
    log.info(
        "report for %s: %d highlights, %d with a clip%s -> %s",
        doc["vod_id"],
        len(doc["highlights"]),
        len(media["clips"]),
        ", the others play the full video" if video else "",
        out_html,
    )
    return Path(out_html)
