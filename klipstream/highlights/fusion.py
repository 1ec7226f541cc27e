"""Fusion of per-second audio and chat scores: reaction-lag estimation, and one combined score over VOD time.

Everything here works on plain numpy arrays indexed by whole seconds of the VOD, so it is testable without files.
`combine` returns the combined score with its three terms (audio, lag-aligned chat, agreement) so every moment's
contributions add up to its score.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from .params import FusionParams


@dataclass
class LagEstimate:
    seconds: float
    method: str  # "cross-correlation", "default" or "not-applicable"
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
        return LagEstimate(
            p.default_lag_seconds, "default", corr, rng, p.default_lag_seconds, [round(v, 4) for v in curve]
        )
    return LagEstimate(
        float(lo + best), "cross-correlation", corr, rng, p.default_lag_seconds, [round(v, 4) for v in curve]
    )


def align_chat(chat: np.ndarray, lag: float, tolerance: float, n: int, empty: float = 0.0) -> np.ndarray:
    """Chat score moved back to VOD time: aligned[t] = max(chat[t + lag - tol : t + lag + tol]).

    The max over a tolerance window absorbs the moment-to-moment spread of the reaction lag; seconds with no chat
    to align get `empty`."""
    out = np.full(n, float(empty))
    if len(chat) == 0:
        return out
    shift = int(round(lag))
    widened = maximum_filter1d(
        np.asarray(chat, dtype=float), size=2 * int(round(tolerance)) + 1, mode="constant", cval=float(empty)
    )
    src = widened[shift : shift + n]
    out[: len(src)] = src
    return out


@dataclass
class Combined:
    score: np.ndarray
    audio: np.ndarray  # weighted audio term
    chat: np.ndarray  # weighted, lag-aligned chat term
    agreement: np.ndarray  # weighted sqrt(audio*chat) term
    lag: LagEstimate
    fill: np.ndarray  # audio term + chat term without the clip at 0 (-inf where chat gives no candidate)


def combine(
    audio: np.ndarray | None, chat: np.ndarray | None, p: FusionParams, chat_valid: np.ndarray | None = None
) -> Combined:
    """One score per VOD second from the audio score (VOD time) and the chat score (chat time).

    score = w_a*A + w_c*C + w_ag*sqrt(A*C), with C the chat score aligned by the estimated lag (both clipped at 0);
    a missing signal contributes zeros, so chat-only and audio-only VODs use the same code path. `fill` ranks what is
    left when fewer peaks than wanted stand above 0: the same sum without the clip of the chat score, so a chat just
    below its local rate ranks above one far below it; -inf outside `chat_valid` (chat edges and gaps)."""
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
        lag = LagEstimate(
            p.default_lag_seconds, "default", None, (p.lag_min_seconds, p.lag_max_seconds), p.default_lag_seconds
        )
    else:
        lag = LagEstimate(0.0, "not-applicable", None, (p.lag_min_seconds, p.lag_max_seconds), p.default_lag_seconds)
    # the tolerance window lets a chat burst meet its audio event despite per-moment lag spread;
    # with no audio there is nothing to meet, and widening would only blur the chat-only span
    tol = p.lag_tolerance_seconds if have_a else 0.0
    c = align_chat(c_raw, lag.seconds, tol, n) if have_c else np.zeros(n)
    audio_term = p.weight_audio * a
    chat_term = p.weight_chat * c
    agree_term = p.weight_agreement * np.sqrt(a * c)
    fill = audio_term.copy()
    if have_c:
        raw = np.full(n, -np.inf)
        raw[: len(chat)] = smooth(chat, p.smooth_seconds)
        if chat_valid is not None:
            raw[: len(chat_valid)] = np.where(np.asarray(chat_valid, dtype=bool), raw[: len(chat_valid)], -np.inf)
        fill = fill + p.weight_chat * align_chat(raw, lag.seconds, tol, n, empty=-np.inf)
    return Combined(audio_term + chat_term + agree_term, audio_term, chat_term, agree_term, lag, fill)
