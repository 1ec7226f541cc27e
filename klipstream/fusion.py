"""Fusion of per-second audio and chat scores: reaction-lag estimation, one combined score over time,
peak picking, moments with pre/post-roll and length limits, merging and ranking.

Everything here works on plain numpy arrays indexed by whole seconds of the VOD, so it is testable
without files. `klipstream.highlights` turns the CSVs into those arrays; `klipstream.integrate` writes JSON.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import find_peaks

log = logging.getLogger(__name__)


@dataclass
class FusionParams:
    """Every knob of the fusion, with its default. Config `fusion.*` keys map 1:1 onto these names."""

    lag_min_seconds: float = 0.0            # s, smallest plausible chat reaction lag
    lag_max_seconds: float = 30.0           # s, largest plausible chat reaction lag
    default_lag_seconds: float = 8.0        # s, used when the cross-correlation is weak or a signal is missing
    lag_min_corr: float = 0.2       # correlation below which the estimate is rejected (default used)
    lag_tolerance_seconds: float = 8.0      # s, chat may react this much earlier/later than the estimated lag
    smooth_seconds: float = 3.0     # s, moving-average width applied to each signal before fusion
    weight_audio: float = 1.0       # weight of the audio score
    weight_chat: float = 1.0        # weight of the (lag-aligned) chat score
    weight_agreement: float = 1.0   # weight of sqrt(audio*chat): rewards moments backed by both
    threshold_z: float = 2.0        # a peak must reach this combined score (z-like units)
    min_prominence: float = 0.5     # and stand out this much from its surroundings
    min_gap_seconds: float = 20.0           # s, peaks closer than this: only the higher one is kept
    extent_ratio: float = 0.5       # a moment spans where the score stays >= ratio * peak score
    extent_min_share: float = 0.25  # span taken from the audio term when it carries this share of the peak
    pre_roll_seconds: float = 5.0           # s added before the span
    post_roll_seconds: float = 5.0          # s added after the span
    min_length_seconds: float = 10.0        # s, shortest moment
    max_length_seconds: float = 60.0        # s, longest moment (trimmed around the peak)
    merge_gap_seconds: float = 10.0 # s, peaks whose spans (before rolls) are closer than this are merged
    merge_min_ratio: float = 0.5    # ... when the weaker peak reaches this share of the stronger; else it is dropped
    top_n: int = 10                 # how many ranked moments to keep

    @classmethod
    def from_dict(cls, params: dict | None) -> "FusionParams":
        """Build from a config mapping; unknown keys are an error naming the key (typos must not pass silently)."""
        from .errors import KlipError

        params = dict(params or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise KlipError(f"unknown fusion/highlight parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        return cls(**params)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LagEstimate:
    seconds: float
    method: str                  # "cross-correlation", "default" or "not-applicable"
    correlation: float | None
    search_range: tuple[float, float]
    default: float
    curve: list[float] = field(default_factory=list)  # correlation per lag from lag_min_seconds, 1 s apart

    def to_dict(self) -> dict:
        d = asdict(self)
        d["search_range"] = list(self.search_range)
        return d


def smooth(x: np.ndarray, seconds: float) -> np.ndarray:
    """Centered moving average over `seconds` samples (1 sample per second)."""
    width = int(round(seconds))
    if width <= 1 or len(x) == 0:
        return np.asarray(x, dtype=float)
    return uniform_filter1d(np.asarray(x, dtype=float), size=width, mode="nearest")


def estimate_lag(audio: np.ndarray, chat: np.ndarray, p: FusionParams) -> LagEstimate:
    """Chat reaction lag by cross-correlating audio excitement with chat activity.

    For each whole-second lag L in [lag_min_seconds, lag_max_seconds], the Pearson correlation of audio[t] with
    chat[t + L] is computed over the overlap; the best lag wins when its correlation reaches
    lag_min_corr, otherwise the documented default is used (weak or absent coupling)."""
    rng = (float(p.lag_min_seconds), float(p.lag_max_seconds))
    n = min(len(audio), len(chat))
    lo, hi = int(np.ceil(p.lag_min_seconds)), int(np.floor(p.lag_max_seconds))
    if n < 3 * max(hi, 1) or hi < lo:
        return LagEstimate(p.default_lag_seconds, "default", None, rng, p.default_lag_seconds)
    a = np.asarray(audio[:n], dtype=float)
    c = np.asarray(chat[:n], dtype=float)
    curve = []
    for lag in range(lo, hi + 1):  # ~31 lags, each a vectorised correlation over the whole VOD
        x, y = a[: n - lag], c[lag:]
        xs, ys = x.std(), y.std()
        curve.append(float(((x - x.mean()) * (y - y.mean())).mean() / (xs * ys)) if xs > 0 and ys > 0 else 0.0)
    curve_arr = np.asarray(curve)
    best = int(np.argmax(curve_arr))
    corr = float(curve_arr[best])
    if corr < p.lag_min_corr:
        return LagEstimate(p.default_lag_seconds, "default", corr, rng, p.default_lag_seconds, [round(v, 4) for v in curve])
    return LagEstimate(float(lo + best), "cross-correlation", corr, rng, p.default_lag_seconds, [round(v, 4) for v in curve])


def align_chat(chat: np.ndarray, lag: float, tolerance: float, n: int) -> np.ndarray:
    """Chat score moved back to VOD time: aligned[t] = max(chat[t + lag - tol : t + lag + tol]).

    The max over a tolerance window absorbs the moment-to-moment spread of the reaction lag."""
    out = np.zeros(n)
    if len(chat) == 0:
        return out
    shift = int(round(lag))
    widened = maximum_filter1d(np.asarray(chat, dtype=float), size=2 * int(round(tolerance)) + 1, mode="constant", cval=0.0)
    src = widened[shift: shift + n]
    out[: len(src)] = src
    return out


@dataclass
class Combined:
    score: np.ndarray
    audio: np.ndarray        # weighted audio term
    chat: np.ndarray         # weighted, lag-aligned chat term
    agreement: np.ndarray    # weighted sqrt(audio*chat) term
    lag: LagEstimate


def combine(audio: np.ndarray | None, chat: np.ndarray | None, p: FusionParams) -> Combined:
    """One score per VOD second from the audio score (VOD time) and the chat score (chat time).

    score = w_a*A + w_c*C + w_ag*sqrt(A*C), with C the chat score aligned by the estimated lag;
    a missing signal contributes zeros, so chat-only and audio-only VODs use the same code path."""
    have_a = audio is not None and len(audio) > 0
    have_c = chat is not None and len(chat) > 0
    n = max(len(audio) if have_a else 0, len(chat) if have_c else 0)
    a = np.zeros(n)
    if have_a:
        a[: len(audio)] = np.clip(smooth(audio, p.smooth_seconds), 0, None)
    c_raw = np.zeros(n)
    if have_c:
        c_raw[: len(chat)] = np.clip(smooth(chat, p.smooth_seconds), 0, None)
    if have_a and have_c:
        lag = estimate_lag(a, c_raw, p)
    elif have_c:
        lag = LagEstimate(p.default_lag_seconds, "default", None, (p.lag_min_seconds, p.lag_max_seconds), p.default_lag_seconds)
    else:
        lag = LagEstimate(0.0, "not-applicable", None, (p.lag_min_seconds, p.lag_max_seconds), p.default_lag_seconds)
    # the tolerance window lets a chat burst meet its audio event despite per-moment lag spread;
    # with no audio there is nothing to meet, and widening would only blur the chat-only span
    tol = p.lag_tolerance_seconds if have_a else 0.0
    c = align_chat(c_raw, lag.seconds, tol, n) if have_c else np.zeros(n)
    audio_term = p.weight_audio * a
    chat_term = p.weight_chat * c
    agree_term = p.weight_agreement * np.sqrt(a * c)
    return Combined(audio_term + chat_term + agree_term, audio_term, chat_term, agree_term, lag)


def pick_moments(score: np.ndarray, p: FusionParams, duration: float | None = None,
                 extent: np.ndarray | None = None) -> list[dict]:
    """Peaks of `score` turned into ranked moments {rank, start, end, peak, score}.

    A moment spans the contiguous stretch around its peak where the score stays at or above
    extent_ratio*peak, widened by pre_roll_seconds/post_roll_seconds, clamped to [min_length_seconds, max_length_seconds] and to the VOD;
    moments whose spans (before the rolls) are within merge_gap_seconds are merged when the weaker peak reaches
    merge_min_ratio of the stronger (the stronger peak is kept), else the weaker is dropped.
    `extent` (optional, e.g. the audio term) sets the span instead of `score` wherever it carries at least
    extent_min_share of the peak score: audio is precise in time, lag-aligned chat is smeared by the lag spread."""
    score = np.asarray(score, dtype=float)
    n = len(score)
    if n == 0:
        return []
    duration = float(n if duration is None else duration)
    padded = np.concatenate([[-np.inf], score, [-np.inf]])  # lets a peak sit on the first or last second
    idx, _ = find_peaks(padded, height=p.threshold_z, prominence=p.min_prominence, distance=max(1, int(round(p.min_gap_seconds))))
    idx = idx - 1
    if len(idx) == 0:
        return []
    # strongest first, bounded: a 10-hour VOD yields a few hundred candidate peaks at most
    idx = idx[np.argsort(-score[idx], kind="stable")][: max(p.top_n * 3, p.top_n)]
    reach = int(np.ceil(p.max_length_seconds))
    moments = []
    for pk in idx:  # loop over peaks (tens), each step vectorised over a bounded window
        sig = score
        if extent is not None and extent[pk] >= p.extent_min_share * score[pk] and extent[pk] > 0:
            sig = extent
        thr = p.extent_ratio * sig[pk]
        lo_w = max(0, pk - reach)
        left = np.flatnonzero(sig[lo_w:pk] < thr)
        s = lo_w + (left[-1] + 1 if len(left) else 0)
        right = np.flatnonzero(sig[pk + 1: pk + 1 + reach] < thr)
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
                cores[-1] = {"core_start": prev["core_start"], "core_end": max(prev["core_end"], m["core_end"]),
                             "peak": keep["peak"], "score": keep["score"]}
            else:  # a minor bump next to a strong moment is part of its context, not a moment of its own
                cores[-1] = keep
        else:
            cores.append(m)
    merged = [_fit_length({"start": c["core_start"] - p.pre_roll_seconds, "end": c["core_end"] + p.post_roll_seconds,
                           "peak": c["peak"], "score": c["score"]}, p, duration) for c in cores]
    merged.sort(key=lambda m: (-m["score"], m["peak"]))
    merged = merged[: p.top_n]
    for rank, m in enumerate(merged, 1):
        m["rank"] = rank
        m["start"], m["end"] = round(m["start"], 3), round(m["end"], 3)
    return merged


def _fit_length(m: dict, p: FusionParams, duration: float) -> dict:
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


def twitch_timestamp(seconds: float) -> str:
    """1h2m3s form used by Twitch's `?t=` parameter."""
    s = max(0, int(seconds))
    return f"{s // 3600}h{(s % 3600) // 60}m{s % 60}s"


def twitch_link(twitch_url: str | None, seconds: float) -> str | None:
    """https://www.twitch.tv/videos/ID?t=1h2m3s when `twitch_url` names a Twitch VOD, else None."""
    import re

    if not twitch_url:
        return None
    m = re.search(r"twitch\.tv/(?:[^/]+/)?(?:videos?|v)/(\d+)", str(twitch_url))
    if not m:
        return None
    return f"https://www.twitch.tv/videos/{m.group(1)}?t={twitch_timestamp(seconds)}"
