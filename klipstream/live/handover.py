"""The hand-over: a finished live stream becomes a row of the VOD table, and its live moments are kept beside the
offline ones.

`add_vod_row` puts the stream's chat JSON into the VOD table (klipstream.vods.add_row) under the id
`live-{channel}-{stream}`, so `klipstream run` or any Snakemake target builds its analysis like any other VOD's.
`cross_reference` then reads the integrated analysis and the live announcements and writes
`{stream}_handover.json` beside them: every offline highlight with `found_live` (and the live moment's id), every
live moment (its last revision) with the offline rank it matches, if any. Live peaks are chat time; the offline
highlights are VOD time, so a live peak is moved back by the analysis' own reaction lag before matching: it matches
the highlight whose span holds it (MATCH_SLACK seconds of slack on each side)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .. import vods
from ..errors import KlipError
from ..io import read_json, write_json

MATCH_SLACK = 5.0
VODS_SCHEMA = Path(__file__).resolve().parents[2] / "config" / "vods.schema.yaml"


def vod_id_for(channel: str, stream: str) -> str:
    return f"live-{channel}-{stream}"


def add_vod_row(table: str | os.PathLike, channel: str, stream: str, chat_json: str | os.PathLike) -> str:
    """Add the stream's chat as a VOD table row; returns its vod_id (an identical row already there is fine)."""
    vod = vod_id_for(channel, stream)
    row = {"vod_id": vod, "chat": str(Path(chat_json).resolve()), "title": f"{channel} live {stream}"}
    vods.add_row(table, row, VODS_SCHEMA if VODS_SCHEMA.is_file() else None)
    return vod


def final_revisions(moments_jsonl: str | os.PathLike) -> list[dict]:
    """The last revision of each live moment, by id."""
    last: dict[int, dict] = {}
    with open(moments_jsonl, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                m = json.loads(line)
                last[m["id"]] = m
    return sorted(last.values(), key=lambda m: m["peak"])


def match(live: list[dict], highlights: list[dict], lag: float) -> dict[int, int]:
    """live moment id -> rank of the offline highlight whose span holds its peak moved back by `lag`."""
    out = {}
    for m in live:
        t = m["peak"] - lag
        hits = [h for h in highlights if h["start"] - MATCH_SLACK <= t <= h["end"] + MATCH_SLACK]
        if hits:
            out[m["id"]] = min(hits, key=lambda h: abs(h["peak"] - t))["rank"]
    return out


def cross_reference(
    integrated_json: str | os.PathLike, moments_jsonl: str | os.PathLike, dst: str | os.PathLike
) -> dict:
    """Write `dst`: the offline highlights marked found_live, and the live moments with their offline rank."""
    if not Path(integrated_json).is_file():
        raise KlipError(f"live hand-over: no integrated analysis at {integrated_json} (has the workflow run?)")
    doc = read_json(integrated_json)
    lag = float((doc.get("reaction_lag") or {}).get("seconds") or 0.0)
    highlights = doc.get("highlights") or []
    live = final_revisions(moments_jsonl) if Path(moments_jsonl).is_file() else []
    matched = match(live, highlights, lag)
    by_rank = {}
    for mid, rank in matched.items():
        by_rank.setdefault(rank, mid)
    out = {
        "vod_id": doc.get("vod_id"),
        "integrated_analysis": str(integrated_json),
        "live_moments_file": str(moments_jsonl),
        "reaction_lag": lag,
        "highlights": [
            {
                "rank": h["rank"],
                "start": h["start"],
                "end": h["end"],
                "peak": h["peak"],
                "score": h["score"],
                "tier": h["tier"],
                "found_live": h["rank"] in by_rank,
                "live_id": by_rank.get(h["rank"]),
            }
            for h in highlights
        ],
        "live": [{**m, "offline_rank": matched.get(m["id"])} for m in live],
    }
    top = [h for h in out["highlights"] if h["rank"] <= int((doc.get("summary") or {}).get("headline_count") or 10)]
    out["top_found_live"] = sum(h["found_live"] for h in top)
    out["top_n"] = len(top)
    write_json(dst, out)
    return out
