"""How speech was delivered: per-second arousal from the audio features, the strongest moment ("event") of each
speech window, the words spoken around it, and the emotion that delivery plus words express.

Per second t (features.csv, from klipstream.signals.audio_features):
  arousal(t) = clip(max((loudness_z - 2) / 2, shout, laughter), 0, 1)
  (a second 2 robust SDs above the stream's loudness baseline starts to count, 4 SDs or a shout/laughter flag is
  full arousal; shout = loud with raised pitch, laughter = the "ha-ha" level rhythm.)
Each second belongs to the speech window whose centre is nearest (windows overlap by half, so every second has one
owner); a window's event is its most aroused owned second (`event_time`, `event_arousal` A), and its event words are
the transcript words starting within [event - EVENT_BEFORE, event + EVENT_AFTER] (words.csv; the window text when
there is no words table).

Event emotion: the high-arousal reading of the event words' offline scores L (valence s) - joy said loudly is
excitement, sorrow said loudly is anger (frustration, rage), fear words already count as excitement (tension, as in
the chat guideline), laughter is funny:
  excitement = 1 - (1 - L_excitement)(1 - L_happiness)
  anger      = 1 - (1 - L_anger)(1 - L_sadness)
  funny      = max(L_funny, laughter flag within +-2 s of the event); laughing is the delivery, so the other two
               are scaled by (1 - funny) (the joy in "ha ha" words is the laugh itself)
  when all three are below FLAT (words without feeling), the valence decides: excitement = 1 - neg, anger = neg,
  neg = clip(-s / 0.3, 0, 1);
  then all three are divided by the largest (the event expresses its dominant reading at full strength; the
  window mixes it in by the event's arousal A); happiness = sadness = 0.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import read_table

log = logging.getLogger(__name__)

EVENT_BEFORE = 4.0  # seconds of words before an event's peak second
EVENT_AFTER = 5.0  # and after it (reactions follow the moment)
LAUGH_SPAN = 2.0  # laughter flags counted within this many seconds of the event
NEG_SCALE = 0.3  # valence at which words count as fully negative
FLAT = 0.2  # below this the event words carry no feeling of their own


FEATURE_COLUMNS = ("time", "rms_db", "loudness_z", "shout", "laughter")  # what speech scoring uses of features.csv


def read_features(features_csv: str | Path | None) -> pd.DataFrame | None:
    """The columns of features.csv that speech scoring uses, read once (None when the features are unknown)."""
    if features_csv is None or not Path(features_csv).is_file():
        if features_csv is not None:
            log.warning("audio features %s not found; windows scored without loudness", features_csv)
        return None
    return read_table(features_csv, "audio features", ["time", "rms_db"], usecols=lambda c: c in FEATURE_COLUMNS)


def per_second(feat: pd.DataFrame | None) -> pd.DataFrame:
    """`time, arousal, laughter, loudness_z` per second from `read_features` (empty when the features are unknown)."""
    if feat is None:
        return pd.DataFrame({"time": [], "arousal": [], "laughter": [], "loudness_z": []})
    feat = feat.sort_values("time", kind="stable").reset_index(drop=True)
    zero = pd.Series(0.0, index=feat.index)
    z = feat.get("loudness_z", zero).fillna(0.0).to_numpy(dtype=float)
    loud = np.clip((z - 2.0) / 2.0, 0, 1)
    shout = feat.get("shout", zero).fillna(0.0).to_numpy(dtype=float)
    laughter = feat.get("laughter", zero).fillna(0.0).to_numpy(dtype=float)
    arousal = np.clip(np.maximum.reduce([loud, shout, laughter]), 0, 1)
    return pd.DataFrame(
        {"time": feat["time"].to_numpy(dtype=float), "arousal": arousal, "laughter": laughter, "loudness_z": z}
    )


def window_events(starts: np.ndarray, ends: np.ndarray, sec: pd.DataFrame) -> pd.DataFrame:
    """Per window: `event_time` (NaN without features), `event_arousal`, `event_laughter` (vectorised)."""
    n = len(starts)
    out = pd.DataFrame({"event_time": np.full(n, np.nan), "event_arousal": np.zeros(n), "event_laughter": np.zeros(n)})
    if n == 0 or sec.empty:
        return out
    centres = (np.asarray(starts, dtype=float) + np.asarray(ends, dtype=float)) / 2
    order = np.argsort(centres, kind="stable")
    c = centres[order]
    t = sec["time"].to_numpy(dtype=float) + 0.5  # the middle of each second
    j = np.clip(np.searchsorted(c, t), 1, max(len(c) - 1, 1)) if len(c) > 1 else np.zeros(len(t), dtype=int)
    if len(c) > 1:
        j = np.where(np.abs(t - c[j - 1]) <= np.abs(t - c[j]), j - 1, j)
    owner = order[j]
    inside = (t >= np.asarray(starts)[owner]) & (t <= np.asarray(ends)[owner])
    frame = pd.DataFrame(
        {
            "owner": owner[inside],
            "time": sec["time"].to_numpy()[inside],
            "arousal": sec["arousal"].to_numpy()[inside],
            "rank": sec["arousal"].to_numpy()[inside] + 1e-3 * sec["loudness_z"].to_numpy()[inside],
        }
    )
    if frame.empty:
        return out
    best = frame.loc[frame.groupby("owner")["rank"].idxmax()]  # the most aroused second, the loudest of ties
    out.loc[best["owner"].to_numpy(), "event_time"] = best["time"].to_numpy()
    out.loc[best["owner"].to_numpy(), "event_arousal"] = best["arousal"].to_numpy()
    # laughter near the event: max over [event - LAUGH_SPAN, event + LAUGH_SPAN] via a rolling max on the seconds
    lt = sec["laughter"].to_numpy(dtype=float)
    k = int(LAUGH_SPAN)
    padded = np.pad(lt, k)
    near = np.max(np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1), axis=1)
    pos = np.searchsorted(sec["time"].to_numpy(dtype=float), best["time"].to_numpy())
    out.loc[best["owner"].to_numpy(), "event_laughter"] = near[pos]
    return out


def event_words(words_csv: str | Path | None, events: pd.Series, fallback: pd.Series) -> pd.Series:
    """The words spoken around each window's event (the window text when there is no event or no words table)."""
    out = fallback.astype(str).copy()
    if words_csv is None or not Path(words_csv).is_file():
        if words_csv is not None:
            log.warning("words table %s not found; event words are the whole window's text", words_csv)
        return out
    words = pd.read_csv(
        words_csv, usecols=lambda c: c in ("start_time", "word", "punctuated_word"), keep_default_na=False
    )
    if words.empty:
        return out
    words = words.sort_values("start_time", kind="stable")
    t = words["start_time"].to_numpy(dtype=float)
    col = "punctuated_word" if "punctuated_word" in words else "word"
    w = words[col].astype(str).to_numpy()
    has = events.notna().to_numpy()
    lo = np.searchsorted(t, events.to_numpy(dtype=float) - EVENT_BEFORE, side="left")
    hi = np.searchsorted(t, events.to_numpy(dtype=float) + EVENT_AFTER + 1.0, side="left")
    for i in np.flatnonzero(has):  # one slice per speech window (hundreds per VOD), not per word
        out.iat[i] = " ".join(w[lo[i] : hi[i]])
    return out


def event_emotions(scores: pd.DataFrame, laughter: np.ndarray) -> pd.DataFrame:
    """The emotion the event expresses (module docstring) from the offline scores of its words."""
    exc = 1 - (1 - scores["excitement"].to_numpy()) * (1 - scores["happiness"].to_numpy())
    ang = 1 - (1 - scores["anger"].to_numpy()) * (1 - scores["sadness"].to_numpy())
    fun = np.clip(np.maximum(np.nan_to_num(np.asarray(laughter, dtype=float)), scores["funny"].to_numpy()), 0, 1)
    exc, ang = exc * (1 - fun), ang * (1 - fun)
    flat = np.maximum.reduce([exc, ang, fun]) < FLAT
    neg = np.clip(-scores["sentiment_score"].to_numpy() / NEG_SCALE, 0, 1)
    exc, ang = np.where(flat, 1 - neg, exc), np.where(flat, neg, ang)
    top = np.maximum(np.maximum.reduce([exc, ang, fun]), 1e-9)
    zero = np.zeros(len(scores))
    return pd.DataFrame(
        {"excitement": exc / top, "funny": fun / top, "happiness": zero, "anger": ang / top, "sadness": zero},
        index=scores.index,
    )
