"""Candidate moments from a per-second score: peaks, spans, merging, ranking and tiers.

There is no absolute threshold: the scores are already relative to each VOD's own local baseline, so every
local maximum above that baseline (score > 0) is a candidate, peaks closer than `min_gap_seconds` are one
reaction (the higher is kept), and the best `FusionParams.candidate_count(duration)` are returned, ranked by
score, each with a tier from the documented cut-offs.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

from .params import FusionParams


def pick_moments(
    score: np.ndarray,
    p: FusionParams,
    duration: float | None = None,
    extent: np.ndarray | None = None,
    limit: int | None = None,
    fill: np.ndarray | None = None,
) -> list[dict]:
    """Peaks of `score` turned into ranked moments {rank, start, end, peak, score, tier}.

    `limit` (default: p.candidate_count(duration)) bounds the list. When fewer peaks stand above 0, the list is
    filled up from the peaks of `fill` (if given; -inf = never) at least min_gap_seconds from every chosen peak,
    ranked below them by `fill`: they keep their (zero) score and tier low, so the list is never starved and never
    pretends. A moment spans the contiguous stretch around its
    peak where the score stays at or above extent_ratio x peak, widened by pre_roll_seconds/post_roll_seconds, clamped
    to [min_length_seconds, max_length_seconds] and to the VOD; moments whose spans (before the rolls) are within
    merge_gap_seconds are merged when the weaker peak reaches merge_min_ratio of the stronger (the stronger peak is
    kept), else the weaker is dropped. `extent` (optional, e.g. the audio term) sets the span instead of `score`
    wherever it carries at least extent_min_share of the peak score: audio is precise in time, lag-aligned chat is
    smeared by the lag spread."""
    score = np.nan_to_num(np.asarray(score, dtype=float))
    n = len(score)
    if n == 0:
        return []
    duration = float(n if duration is None else duration)
    limit = p.candidate_count(duration) if limit is None else int(limit)
    padded = np.concatenate([[-np.inf], score, [-np.inf]])  # lets a peak sit on the first or last second
    idx, _ = find_peaks(padded, height=1e-9, distance=max(1, int(round(p.min_gap_seconds))))
    idx = idx - 1
    if limit <= 0:
        return []
    # strongest first; a few spare peaks make up for merges (bounded: a few hundred at most)
    idx = idx[np.argsort(-score[idx], kind="stable")][: limit + max(10, limit // 5)]
    reach = int(np.ceil(p.max_length_seconds))
    moments = []
    for pk in idx:  # loop over peaks (at most a few hundred), each step vectorised over a bounded window
        sig = score
        if extent is not None and extent[pk] >= p.extent_min_share * score[pk] and extent[pk] > 0:
            sig = extent
        thr = p.extent_ratio * sig[pk]
        lo_w = max(0, pk - reach)
        left = np.flatnonzero(sig[lo_w:pk] < thr)
        s = lo_w + (left[-1] + 1 if len(left) else 0)
        right = np.flatnonzero(sig[pk + 1 : pk + 1 + reach] < thr)
        e = pk + 1 + (right[0] if len(right) else min(reach, n - pk - 1))
        moments.append({"core_start": float(s), "core_end": float(e), "peak": float(pk), "score": float(score[pk])})
    # merging looks at the cores (the spans without the rolls): rolls add context, they do not make
    # two separate events one
    moments.sort(key=lambda m: m["core_start"])
    cores: list[dict] = []
    for m in moments:
        prev = cores[-1] if cores else None
        if prev is not None and m["core_start"] - prev["core_end"] <= p.merge_gap_seconds:
            keep, weak = (prev, m) if prev["score"] >= m["score"] else (m, prev)
            if weak["score"] >= p.merge_min_ratio * keep["score"]:  # two comparable peaks: one longer moment
                cores[-1] = {
                    "core_start": prev["core_start"],
                    "core_end": max(prev["core_end"], m["core_end"]),
                    "peak": keep["peak"],
                    "score": keep["score"],
                }
            else:  # a minor bump next to a strong moment is part of its context, not a moment of its own
                cores[-1] = keep
        else:
            cores.append(m)
    merged = [
        fit_length(
            {
                "start": c["core_start"] - p.pre_roll_seconds,
                "end": c["core_end"] + p.post_roll_seconds,
                "peak": c["peak"],
                "score": c["score"],
            },
            p,
            duration,
        )
        for c in cores
    ]
    merged.sort(key=lambda m: (-m["score"], m["peak"]))
    merged = merged[:limit]
    if fill is not None and len(merged) < limit:
        merged += fill_up(
            score, np.asarray(fill, dtype=float)[:n], [m["peak"] for m in merged], limit - len(merged), p, duration
        )
    for rank, m in enumerate(merged, 1):
        m["rank"] = rank
        m["start"], m["end"] = round(m["start"], 3), round(m["end"], 3)
        m["tier"] = p.tier(m["score"])
    return merged


def fill_up(
    score: np.ndarray, fill: np.ndarray, taken: list[float], want: int, p: FusionParams, duration: float
) -> list[dict]:
    """Up to `want` more moments at the peaks of `fill`, each at least min_gap_seconds from `taken` and each other."""
    gap = max(1, int(round(p.min_gap_seconds)))
    padded = np.concatenate([[-np.inf], np.where(np.isfinite(fill), fill, -1e300), [-np.inf]])
    idx, _ = find_peaks(padded, distance=gap)
    idx = idx - 1
    idx = idx[np.isfinite(fill[idx])]
    if len(taken):
        near = np.abs(idx[:, None] - np.asarray(taken)[None, :]).min(axis=1) < gap
        idx = idx[~near]
    idx = idx[np.argsort(-fill[idx], kind="stable")][:want]
    return [
        fit_length(
            {
                "start": pk - p.pre_roll_seconds,
                "end": pk + 1 + p.post_roll_seconds,
                "peak": float(pk),
                "score": float(score[pk]),
            },
            p,
            duration,
        )
        for pk in idx
    ]


def fit_length(m: dict, p: FusionParams, duration: float) -> dict:
    """Clamp a moment to the VOD and to [min_length_seconds, max_length_seconds], keeping its peak inside."""
    start, end, peak = max(0.0, m["start"]), min(duration, m["end"]), m["peak"]
    if end - start > p.max_length_seconds:
        # keep the peak with 40 % of the allowed length before it: reactions follow the event
        start = max(start, peak - 0.4 * p.max_length_seconds)
        end = min(end, start + p.max_length_seconds)
        start = max(0.0, min(start, end - p.max_length_seconds))
    if end - start < p.min_length_seconds:
        grow = p.min_length_seconds - (end - start)
        start = max(0.0, start - grow / 2)
        end = min(duration, start + p.min_length_seconds)
        start = max(0.0, end - p.min_length_seconds)
    return {**m, "start": float(start), "end": float(end)}
