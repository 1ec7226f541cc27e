"""YouTube chapter lines and a CSV of the ranked moments, both from the integrated analysis.

YouTube shows chapters when the description lists at least three timestamps in ascending order, the first at
0:00, each chapter at least 10 s long, and a description holds at most 5,000 characters. Only the headline moments
(the report's cards: the first `summary.headline_count`, i.e. fusion.top_n) that scored above 0 get a chapter,
best rank first; one starting within `min_seconds` of a chapter already taken (or of the VOD's end) is left out; a
moment within `min_seconds` of the start becomes the 0:00 chapter, otherwise the 0:00 chapter is `first_title`.
While the lines run over 5,000 characters the lowest-ranked chapter is dropped; fewer than three chapters make an
empty file (YouTube would show none). A chapter is `#rank title` with the moment's title (titles.py); titles
drop `<` and `>`, which YouTube refuses."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..config import section
from ..highlights.contract import validate
from ..io import atomic_open, read_json, write_csv
from .timeline import hms
from .titles import extractive, shorten, titles_for

log = logging.getLogger(__name__)

MIN_CHAPTERS = 3  # YouTube shows chapters from three timestamps on
DESCRIPTION_CHARS = 5000  # longest YouTube video description
CSV_COLUMNS = [
    "rank",
    "start",
    "end",
    "duration",
    "peak",
    "start_hms",
    "end_hms",
    "score",
    "dominant_emotion",
    "signals",
    "chat_messages",
    "explanation",
    "transcript_excerpt",
    "twitch_link",
]


def chapter_title(h: Mapping[str, Any], max_chars: int = 60, title: str | None = None) -> str:
    """The moment's title (`title`, else its extractive title: titles.py) without < and >, at most `max_chars`."""
    text = title if title is not None else extractive(h)["title"]
    return shorten(re.sub(r"[<>]", "", text), max_chars)


def youtube_chapters(
    doc: Mapping[str, Any], settings: Mapping[str, Any] | None = None, titles: Mapping[int, Mapping] | None = None
) -> list[tuple[int, str]]:
    """[(second, title)] in time order, the first at 0; [] when fewer than MIN_CHAPTERS fit YouTube's rules.
    `titles`: rank -> title row (titles.titles_for; by default the extractive titles)."""
    opts = section("chapters", settings)
    titles = titles if titles is not None else titles_for(doc)
    gap, max_chars = float(opts["min_seconds"]), int(opts["max_title_chars"])
    duration = float(doc["duration"])
    first = re.sub(r"[<>]", "", str(opts["first_title"]))[:max_chars]
    headline = doc["highlights"][: int(doc["summary"]["headline_count"])]
    taken: dict[int, tuple[int, str]] = {}  # second -> (rank, title)
    for h in headline:  # best first
        t = int(h["start"]) if h["start"] >= gap else 0
        if h["score"] <= 0 or duration - t < gap or any(abs(t - other) < gap for other in taken):
            continue  # a score-0 filler candidate is no moment; a chapter must last `gap`
        named = titles.get(int(h["rank"]), {}).get("title")
        taken[t] = (int(h["rank"]), f"#{h['rank']} {chapter_title(h, max_chars - 4, named)}")

    def lines() -> list[tuple[int, str]]:
        return sorted({0: first, **{t: title for t, (_, title) in taken.items()}}.items())

    while taken and len(chapter_text(lines())) > DESCRIPTION_CHARS:
        del taken[max(taken, key=lambda t: taken[t][0])]  # the lowest-ranked goes first
    chapters = lines()
    return chapters if len(chapters) >= MIN_CHAPTERS else []


def chapter_text(chapters: list[tuple[int, str]]) -> str:
    return "".join(f"{hms(t)} {title}\n" for t, title in chapters)


def write_chapters(
    integrated_json: str | os.PathLike,
    out_txt: str | os.PathLike,
    settings: Mapping[str, Any] | None = None,
    titles_json: str | os.PathLike | None = None,
) -> list[tuple[int, str]]:
    doc = read_json(integrated_json)
    validate(doc, f"integrated analysis {integrated_json}")
    chapters = youtube_chapters(doc, settings, titles_for(doc, titles_json))
    with atomic_open(out_txt) as fh:
        fh.write(chapter_text(chapters))
    if not chapters:
        log.warning(
            "chapters of %s: fewer than %d chapters (headline moments scoring above 0, %g s apart): %s is empty",
            doc["vod_id"],
            MIN_CHAPTERS,
            section("chapters", settings)["min_seconds"],
            out_txt,
        )
    log.info("chapters of %s: %d -> %s", doc["vod_id"], len(chapters), out_txt)
    return chapters


def moments_frame(doc: Mapping[str, Any]) -> pd.DataFrame:
    h = pd.json_normalize(doc["highlights"]) if doc["highlights"] else pd.DataFrame()
    if h.empty:
        return pd.DataFrame(columns=CSV_COLUMNS)
    h["start_hms"], h["end_hms"] = h["start"].map(hms), h["end"].map(hms)
    h["signals"] = h["signals"].map("+".join)
    h["chat_messages"] = h["chat.messages"]
    return h[CSV_COLUMNS]


def write_moments_csv(integrated_json: str | os.PathLike, out_csv: str | os.PathLike) -> int:
    doc = read_json(integrated_json)
    validate(doc, f"integrated analysis {integrated_json}")
    frame = moments_frame(doc)
    write_csv(out_csv, frame, float_format="%.3f")
    log.info("moments of %s: %d -> %s", doc["vod_id"], len(frame), out_csv)
    return len(frame)
