"""Where a person would cut: a clip's start and end moved to the nearest sentence end or pause of the transcript's
words table, within `clips.snap_seconds`, never inside a word.

Between two words there is a gap (possibly 0 s long). A gap after a word ending a sentence (. ! ? … 。！？) is a
`sentence` boundary, a gap of at least PAUSE_SECONDS a `pause`, any other gap a `word` boundary. A start is cut
LEAD_SECONDS before the next word (never before the previous word's end), an end TAIL_SECONDS after the last word
(never past the next word's start). Among the boundaries within reach, the cheapest wins: the distance moved plus
a penalty of 0 s for a sentence, PENALTY_PAUSE for a pause, PENALTY_WORD for a plain gap between words. A point in
silence with no word within reach stays; a point inside a word with no boundary within reach (a word longer than
the reach) moves to that word's edge."""

from __future__ import annotations

import numpy as np
import pandas as pd

PAUSE_SECONDS = 0.3
LEAD_SECONDS = 0.15
TAIL_SECONDS = 0.3
PENALTY_PAUSE = 0.75
PENALTY_WORD = 2.0
MIN_CLIP_SECONDS = 1.0
SENTENCE_END = (".", "!", "?", "…", "。", "！", "？")
PENALTY = {"sentence": 0.0, "pause": PENALTY_PAUSE, "word": PENALTY_WORD}


def boundaries(words: pd.DataFrame) -> pd.DataFrame:
    """One row per gap between words (and before the first, after the last): `after` (end of the word before,
    -inf before the first), `before` (start of the word after, +inf after the last), `kind`."""
    if words.empty:
        return pd.DataFrame({"after": [-np.inf], "before": [np.inf], "kind": ["sentence"]})
    s = words["start"].to_numpy(float)
    e = np.maximum(words["end"].to_numpy(float), s)
    ends = np.maximum.accumulate(e)  # overlapping words: a gap starts after every word before it has ended
    after = np.concatenate([[-np.inf], ends])
    before = np.concatenate([s, [np.inf]])
    text = words["text"].astype(str).str.rstrip("\"'”’)]")
    sentence = np.concatenate([[True], text.str.endswith(SENTENCE_END).to_numpy(bool)])
    sentence[-1] = True  # after the last word
    gap = before - after
    kind = np.where(sentence, "sentence", np.where(gap >= PAUSE_SECONDS, "pause", "word"))
    keep = before >= after  # a word starting before the previous ones ended leaves no gap
    return pd.DataFrame({"after": after[keep], "before": before[keep], "kind": kind[keep]})


def inside_word(t: float, words: pd.DataFrame, tol: float = 1e-6) -> bool:
    """Whether time `t` falls strictly inside a word."""
    s, e = words["start"].to_numpy(float), words["end"].to_numpy(float)
    return bool(np.any((s + tol < t) & (t < e - tol)))


def off_word(t: float, words: pd.DataFrame, side: str) -> tuple[float, str]:
    """`t`, or the start (side "start") / end ("end") of the word `t` falls inside."""
    s, e = words["start"].to_numpy(float), words["end"].to_numpy(float)
    hit = np.flatnonzero((s + 1e-6 < t) & (t < e - 1e-6))
    if not len(hit):
        return t, "kept"
    return (float(s[hit].min()), "word_edge") if side == "start" else (float(e[hit].max()), "word_edge")


def _cut_points(b: pd.DataFrame, side: str) -> np.ndarray:
    after, before = b["after"].to_numpy(float), b["before"].to_numpy(float)
    if side == "start":
        return np.where(np.isfinite(before), np.maximum(after, before - LEAD_SECONDS), after)
    return np.where(np.isfinite(after), np.minimum(before, after + TAIL_SECONDS), before)


def snap_point(t: float, b: pd.DataFrame, words: pd.DataFrame, side: str, reach: float) -> tuple[float, str]:
    """(new time, boundary kind) for a clip `side` (start or end) at `t`; kind 'none' when it stays."""
    points = _cut_points(b, side)
    ok = np.isfinite(points) & (np.abs(points - t) <= reach)
    if ok.any():
        cost = np.abs(points - t) + b["kind"].map(PENALTY).to_numpy(float)
        i = int(np.flatnonzero(ok)[np.argmin(cost[ok])])
        return float(points[i]), str(b["kind"].iat[i])
    if inside_word(t, words):  # no gap within reach: the edge of the word itself
        s, e = words["start"].to_numpy(float), words["end"].to_numpy(float)
        i = int(np.flatnonzero((s < t) & (t < e))[0])
        return (float(s[i]) if side == "start" else float(e[i])), "word_edge"
    return float(t), "none"


def snap_span(
    start: float, end: float, words: pd.DataFrame | None, reach: float, duration: float | None = None
) -> dict:
    """{start, end, start_kind, end_kind} of a clip moved to the nearest boundaries (within `reach` seconds)."""
    if words is None or reach <= 0:
        return {"start": start, "end": end, "start_kind": "off", "end_kind": "off"}
    near = words[(words["end"] >= start - reach - 30) & (words["start"] <= end + reach + 30)]
    b = boundaries(near.reset_index(drop=True))
    new_start, start_kind = snap_point(start, b, near, "start", reach)
    new_end, end_kind = snap_point(end, b, near, "end", reach)
    new_start = max(0.0, new_start)
    if duration:
        new_end = min(new_end, float(duration))
    if new_end - new_start < min(MIN_CLIP_SECONDS, end - start):  # snapping must not swallow the clip
        # keep the span, but never inside a word: out to the edges of the words it would cut
        (s0, k0), (e0, k1) = off_word(start, near, "start"), off_word(end, near, "end")
        return {
            "start": max(0.0, s0),
            "end": min(e0, float(duration)) if duration else e0,
            "start_kind": k0,
            "end_kind": k1,
        }
    return {"start": new_start, "end": new_end, "start_kind": start_kind, "end_kind": end_kind}
