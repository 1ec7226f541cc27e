"""Per-second (or per-bin) chat activity from the per-message sentiment table, with robust z-scores.

Input: `chat/{vod}_chat_sentiment.csv` (klipstream.emotions); rows with `is_filtered` true (bots, commands) are ignored.
Output: `chat/{vod}_chat_timeline.csv`, one row per bin, `time` = bin start in seconds:

- `messages`, `unique_chatters` (distinct `user` in the bin),
- `emote_density` = emotes per message (sum of `emote_count` / messages),
- `copypasta_share` = share of the bin's messages whose normalised text (lower case, letters/digits only, single
  spaces) repeats a message sent in the previous `copypasta_window` seconds (the first occurrence is not a repeat),
- `caps_share` = share of messages that are mostly upper case (>= 3 letters, >= 70 % of letters upper case) or
contain '!'
  (emote codes such as KEKW count as text),
- `mean_length` (characters), `sentiment_mean`, `excitement_mean`, `funny_mean`, `happiness_mean`, `anger_mean`,
  `sadness_mean`, `neutral_mean`;
- then `<name>_z` for each of these: robust z-score against a centred rolling baseline of `baseline_seconds`
  (klipstream.signals.robust). Counts use every bin; per-message means and shares use only bins with messages (their
  value
  is 0 and their z is 0 in bins without messages), so a quiet stream is not judged against its empty seconds.

Everything is vectorised (bincount over bin indices, one sort for the copypasta test): 200,000 messages take well
under a second.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .. import config as _config
from ..chat.spool import MAX_CHAT_SECONDS
from ..errors import KlipError
from ..io import read_table, write_csv
from .robust import rolling_robust_z

# this module's settings defaults: the config schema's `chat_timeline` section, where they are written once
_TIMELINE = _config.default("chat_timeline")

log = logging.getLogger(__name__)

EMOTIONS = ["excitement", "funny", "happiness", "anger", "sadness", "neutral"]
COUNT_COLUMNS = ["messages", "unique_chatters"]
MEAN_COLUMNS = ["emote_density", "copypasta_share", "caps_share", "mean_length", "sentiment_mean"] + [
    f"{e}_mean" for e in EMOTIONS
]
BASE_COLUMNS = COUNT_COLUMNS + MEAN_COLUMNS
COLUMNS = ["time"] + BASE_COLUMNS + [f"{c}_z" for c in BASE_COLUMNS]
REQUIRED = ["time", "user", "message", "emote_count", "is_filtered", "sentiment_score"] + EMOTIONS

# Smallest baseline spread per column (unit of the column): one message / chatter, 0.25 emotes per message,
# 5 % of messages, 5 characters, 0.05 on the [0, 1] / [-1, 1] scores.
MIN_SCALE = {
    "messages": 1.0,
    "unique_chatters": 1.0,
    "emote_density": 0.25,
    "copypasta_share": 0.05,
    "caps_share": 0.05,
    "mean_length": 5.0,
}
DEFAULT_MIN_SCALE = 0.05

_TRUE = {"true", "1", "yes", "t", "y"}


def _as_bool(col: pd.Series) -> np.ndarray:
    if col.dtype == bool:
        return col.to_numpy()
    return col.astype("string").str.strip().str.lower().isin(_TRUE).to_numpy(dtype=bool, na_value=False)


def read_sentiment_table(path: str | os.PathLike) -> pd.DataFrame:
    return read_table(
        path,
        "chat sentiment table",
        REQUIRED,
        usecols=lambda c: c in REQUIRED,
        dtype={"user": "string", "message": "string"},
        keep_default_na=False,
        na_values={"sentiment_score": [""], **{e: [""] for e in EMOTIONS}},
    )


def normalise_text(messages: pd.Series) -> pd.Series:
    """Lower case, letters/digits only, single spaces: 'KEKW  KEKW!!' and 'kekw kekw' are the same message."""
    return (
        messages.fillna("")
        .str.lower()
        .str.replace(r"[^\w\s]|_", " ", regex=True)
        .str.replace(r"\s+", " ", regex=True)
        .str.strip()
    )


def copypasta_flags(times: np.ndarray, normalised: pd.Series, window: float) -> np.ndarray:
    """True for a message whose normalised text was sent (by anyone) in the `window` seconds before it."""
    n = len(times)
    if n == 0:
        return np.zeros(0, dtype=bool)
    codes, _ = pd.factorize(normalised)
    order = np.lexsort((np.arange(n), times, codes))  # by text, then time (stable for equal times)
    c, t = codes[order], times[order]
    same_prev = np.zeros(n, dtype=bool)
    same_prev[1:] = c[1:] == c[:-1]
    gap = np.full(n, np.inf)
    gap[1:] = t[1:] - t[:-1]
    rep = same_prev & (gap <= window)
    flags = np.zeros(n, dtype=bool)
    flags[order] = rep
    return flags & (normalised.to_numpy(dtype=object) != "")


def caps_flags(messages: pd.Series) -> np.ndarray:
    text = messages.fillna("")
    upper = text.str.count(r"[A-Z]").to_numpy()
    letters = upper + text.str.count(r"[a-z]").to_numpy()
    shouty = (upper >= 3) & (upper >= 0.7 * np.maximum(letters, 1))
    return shouty | text.str.contains("!", regex=False).to_numpy(dtype=bool)


def timeline_frame(
    chat: pd.DataFrame,
    duration: float | None = None,
    bin_seconds: float = _TIMELINE["bin_seconds"],
    baseline_seconds: float = _TIMELINE["baseline_seconds"],
    copypasta_window: float = _TIMELINE["copypasta_window"],
) -> pd.DataFrame:
    """The timeline of an already-read sentiment frame (see the module doc for columns)."""
    if bin_seconds <= 0:
        raise KlipError(f"chat timeline bin_seconds must be > 0, got {bin_seconds}")
    chat = chat.loc[~_as_bool(chat["is_filtered"])] if len(chat) else chat
    times = pd.to_numeric(chat["time"], errors="coerce").to_numpy(float) if len(chat) else np.zeros(0)
    keep = np.isfinite(times)
    chat, times = chat.loc[keep], np.maximum(times[keep], 0.0)
    # Chat import owns the range rule (it knows the VOD's length; without one it stops at MAX_CHAT_SECONDS).
    # This only guards tables made by hand, with import's limit: mostly late is a unit mistake, a few are dropped.
    late = times > MAX_CHAT_SECONDS
    if late.any():
        limit = f"{MAX_CHAT_SECONDS / 3600:.0f} h"
        if late.mean() > 0.5:
            raise KlipError(
                f"chat message at {times.max():.0f} s is beyond {limit}: is `time` in seconds from the VOD start?"
            )
        log.warning("dropped %d chat message(s) beyond %s", int(late.sum()), limit)
        chat, times = chat.loc[~late], times[~late]
    bins = np.floor(times / bin_seconds).astype(np.int64)
    n_bins = int(math.ceil(duration / bin_seconds)) if duration else 0
    if len(bins):
        n_bins = max(n_bins, int(bins.max()) + 1)

    def per_bin_sum(values) -> np.ndarray:
        return np.bincount(bins, weights=np.asarray(values, dtype=np.float64), minlength=n_bins)[:n_bins]

    messages = np.bincount(bins, minlength=n_bins)[:n_bins].astype(np.float64)
    user_codes, _ = pd.factorize(chat["user"].fillna(""))
    pairs = np.unique(np.stack([bins, user_codes.astype(np.int64)]), axis=1)
    unique = np.bincount(pairs[0], minlength=n_bins)[:n_bins].astype(np.float64)
    # Text tests run once per distinct message (chat repeats itself a lot), then map back by code.
    text_codes, distinct = pd.factorize(chat["message"].fillna("").astype(str))
    distinct = pd.Series(np.asarray(distinct, dtype=object), dtype="string")
    norm = normalise_text(distinct).to_numpy(dtype=object)[text_codes] if len(distinct) else np.zeros(0, dtype=object)
    caps = caps_flags(distinct)[text_codes] if len(distinct) else np.zeros(0, dtype=bool)
    length = distinct.str.len().to_numpy(dtype=np.float64)[text_codes] if len(distinct) else np.zeros(0)
    has = messages > 0
    denom = np.maximum(messages, 1.0)

    def mean_of(values) -> np.ndarray:
        return np.where(has, per_bin_sum(np.nan_to_num(np.asarray(values, dtype=np.float64))) / denom, 0.0)

    base = {
        "messages": messages,
        "unique_chatters": unique,
        "emote_density": mean_of(pd.to_numeric(chat["emote_count"], errors="coerce")),
        "copypasta_share": mean_of(copypasta_flags(times, pd.Series(norm, dtype=object), copypasta_window)),
        "caps_share": mean_of(caps),
        "mean_length": mean_of(length),
        "sentiment_mean": mean_of(pd.to_numeric(chat["sentiment_score"], errors="coerce")),
    }
    for emo in EMOTIONS:
        base[f"{emo}_mean"] = mean_of(pd.to_numeric(chat[emo], errors="coerce"))
    window = max(1, int(round(baseline_seconds / bin_seconds)))
    step = max(1, window // 60)
    out = {"time": np.arange(n_bins, dtype=np.float64) * bin_seconds, **base}
    for name in BASE_COLUMNS:
        valid = None if name in COUNT_COLUMNS else has
        out[f"{name}_z"] = rolling_robust_z(
            base[name], window, MIN_SCALE.get(name, DEFAULT_MIN_SCALE), valid=valid, step=step
        )
    frame = pd.DataFrame(out, columns=COLUMNS)
    frame[COUNT_COLUMNS] = frame[COUNT_COLUMNS].astype(np.int64)
    return frame


def build_chat_timeline(
    chat_sentiment_csv: str | os.PathLike,
    timeline_csv: str | os.PathLike,
    duration: float | None = None,
    bin_seconds: float = _TIMELINE["bin_seconds"],
    baseline_seconds: float = _TIMELINE["baseline_seconds"],
    copypasta_window: float = _TIMELINE["copypasta_window"],
) -> pd.DataFrame:
    """Read the per-message sentiment CSV and write the chat timeline CSV (atomically); returns the frame.

    `duration` (seconds, e.g. the video's) extends the table with empty tail bins; without it the table ends at the
    last message. An empty chat gives zeros for the duration (or a header-only table without one)."""
    chat = read_sentiment_table(chat_sentiment_csv)
    frame = timeline_frame(chat, duration, bin_seconds, baseline_seconds, copypasta_window)
    # Rounded values written with the default float repr: much faster than a per-value float_format.
    write_csv(timeline_csv, frame.round(6), float_format=None)
    log.info(
        "chat timeline %s: %d messages in %d bins of %g s -> %s",
        Path(chat_sentiment_csv).name,
        int(frame["messages"].sum()),
        len(frame),
        bin_seconds,
        timeline_csv,
    )
    return frame
