"""The downsampled timeline of the integrated analysis (what the report draws): at most TIMELINE_MAX_BINS bins."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .explain import EMOTIONS

TIMELINE_MAX_BINS = 1500  # the report's timeline resolution: a 10-hour VOD still fits in a small JSON


def bin_values(arr: np.ndarray, size: int, how: str) -> list[float]:
    """Max ("max") or sum (anything else) of `arr` over consecutive bins of `size` seconds, rounded."""
    if len(arr) == 0:
        return []
    pad = (-len(arr)) % size
    a = np.concatenate([np.asarray(arr, dtype=float), np.full(pad, np.nan)]).reshape(-1, size)
    out = np.nanmax(a, axis=1) if how == "max" else np.nansum(a, axis=1)
    return [round(float(v), 3) for v in np.nan_to_num(out)]


def dominant_bins(frame: pd.DataFrame | None, cols: list[str], size: int, nbins: int) -> list[str]:
    """Dominant emotion per timeline bin ('' when no emotion reaches 0.1)."""
    if frame is None or frame.empty or not all(c in frame for c in cols):
        return [""] * nbins
    vals = frame[cols].to_numpy(dtype=float)
    pad = nbins * size - len(vals)
    if pad > 0:
        vals = np.vstack([vals, np.zeros((pad, len(cols)))])
    vals = np.nan_to_num(vals[: nbins * size]).reshape(nbins, size, len(cols)).mean(axis=1)
    names = np.array([c.replace("_mean", "") for c in cols], dtype=object)
    best = vals.argmax(axis=1)
    return np.where(vals.max(axis=1) >= 0.1, names[best], "").tolist()


def speech_bins(speech: pd.DataFrame | None, size: int, nbins: int) -> list[str]:
    """Dominant speech emotion of the window nearest each bin centre ('' outside windows or below 0.1)."""
    if speech is None or speech.empty or not all(e in speech for e in EMOTIONS) or nbins == 0:
        return [""] * nbins
    centres = (np.arange(nbins) + 0.5) * size
    st, en = speech["start_time"].to_numpy(dtype=float), speech["end_time"].to_numpy(dtype=float)
    # the window whose centre is nearest each bin centre (windows overlap; nearest is the most local)
    mid = (st + en) / 2
    order = np.argsort(mid)
    pos = np.clip(np.searchsorted(mid[order], centres), 1, len(mid) - 1) if len(mid) > 1 else np.zeros(nbins, int)
    if len(mid) > 1:
        left, right = order[pos - 1], order[pos]
        pick = np.where(np.abs(mid[left] - centres) <= np.abs(mid[right] - centres), left, right)
    else:
        pick = np.zeros(nbins, int)
    vals = speech[list(EMOTIONS)].to_numpy(dtype=float)[pick]
    inside = (st[pick] <= centres) & (en[pick] >= centres)
    names = np.array(EMOTIONS, dtype=object)
    return np.where(
        inside & (np.nan_to_num(vals).max(axis=1) >= 0.1), names[np.nan_to_num(vals).argmax(axis=1)], ""
    ).tolist()


def timeline_doc(combined, timeline: pd.DataFrame | None, speech: pd.DataFrame | None) -> dict:
    """The `timeline` object of the integrated analysis from the fusion result and the chat timeline."""
    n = len(combined.score)
    size = max(1, int(np.ceil(n / TIMELINE_MAX_BINS)))
    nbins = int(np.ceil(n / size)) if n else 0
    raw_msgs = timeline["messages"].to_numpy(dtype=float) if timeline is not None else np.zeros(0)
    emo_cols = [f"{e}_mean" for e in EMOTIONS]
    return {
        "bin_seconds": size,
        "start": 0.0,
        "combined": bin_values(combined.score, size, "max"),
        "audio": bin_values(combined.audio, size, "max"),
        "chat": bin_values(combined.chat, size, "max"),
        "chat_messages": bin_values(raw_msgs, size, "sum"),
        "chat_emotion": dominant_bins(timeline, emo_cols, size, nbins) if timeline is not None else [],
        "speech_emotion": speech_bins(speech, size, nbins),
    }
