"""Integrated analysis: fuse every available signal of a VOD into ranked, self-explaining highlights and
write `output/analysis/{vod}_integrated_analysis.json`, validated against
`schemas/integrated_analysis.schema.json` before it is written (a document that fails is never written).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .errors import KlipError
from .fusion import combine, pick_moments, twitch_link
from .highlights import (
    EMOTIONS,
    _read_csv,
    _slice,
    all_param_defaults,
    audio_score,
    chat_score,
    dominant,
    emotion_means,
    read_chat_sentiment,
    read_features,
    read_speech_sentiment,
    read_timeline,
    read_words,
    speech_windows,
    split_params,
    top_emotes,
    top_messages,
    transcript_excerpt,
)
from .io import write_json
from .provenance import provenance

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1.0.0"
# Package data (schemas/ at the repository root links to it), so an installed package finds it too.
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "integrated_analysis.schema.json"
TIMELINE_MAX_BINS = 1500  # the report's timeline resolution: a 10-hour VOD still fits in a small JSON


@lru_cache(maxsize=1)
def load_schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def validate(doc: dict, what: str = "integrated analysis") -> None:
    """Raise a one-line KlipError naming the first schema violation."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    err = next(iter(sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))), None)
    if err is not None:
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        raise KlipError(f"{what} does not match its schema at {where}: {err.message[:200]}")


def _r(x, nd=3):
    return float(round(float(x), nd))


def _bins(arr: np.ndarray, size: int, how: str) -> list[float]:
    if len(arr) == 0:
        return []
    pad = (-len(arr)) % size
    a = np.concatenate([np.asarray(arr, dtype=float), np.full(pad, np.nan)]).reshape(-1, size)
    out = np.nanmax(a, axis=1) if how == "max" else np.nansum(a, axis=1)
    return [round(float(v), 3) for v in np.nan_to_num(out)]


def _dominant_bins(frame: pd.DataFrame | None, cols: list[str], size: int, nbins: int) -> list[str]:
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


def _cross_ref(path, start: float, end: float, shift: float) -> int | None:
    """Rank of the per-signal highlight overlapping [start, end] (after moving chat times by `shift`)."""
    if path is None:
        return None
    df = _cached_csv(str(path))
    if df.empty:
        return None
    s = df["start_time"].to_numpy(dtype=float) - shift
    e = df["end_time"].to_numpy(dtype=float) - shift
    hit = df.loc[(s < end) & (e > start), "rank"]
    return int(hit.min()) if len(hit) else None


@lru_cache(maxsize=8)
def _cached_csv(path: str) -> pd.DataFrame:
    return _read_csv(path, "highlights table", ["rank", "start_time", "end_time"])


def integrate(vod_id: str, out_json, *, title: str | None = None, twitch_url: str | None = None,
              chat_timeline_csv=None, chat_sentiment_csv=None, chat_highlights_csv=None,
              features_csv=None, speech_sentiment_csv=None, audio_highlights_csv=None, words_csv=None,
              params: dict | None = None, **aliases) -> dict:
    """Fuse what exists of a VOD's signals into the integrated analysis JSON and return the document.

    Also accepts the workflow's input names (`audio_features_csv`, `audio_sentiment_csv`) as aliases."""
    features_csv = features_csv or aliases.pop("audio_features_csv", None)
    speech_sentiment_csv = speech_sentiment_csv or aliases.pop("audio_sentiment_csv", None)
    if aliases:
        raise KlipError(f"integrate {vod_id}: unexpected input(s) {', '.join(sorted(aliases))}")
    _cached_csv.cache_clear()
    sp, fp = split_params(params)
    timeline = read_timeline(chat_timeline_csv) if chat_timeline_csv else None
    sent = read_chat_sentiment(chat_sentiment_csv) if chat_sentiment_csv else None
    feats = read_features(features_csv) if features_csv else None
    speech = read_speech_sentiment(speech_sentiment_csv) if speech_sentiment_csv else None
    words = read_words(words_csv) if words_csv else None
    if timeline is None and feats is None:
        raise KlipError(f"VOD {vod_id}: nothing to integrate (neither a chat timeline nor audio features)")

    cs = chat_score(timeline, sent, sp) if timeline is not None and len(timeline) else None
    au = audio_score(feats, speech, sp) if feats is not None and len(feats) else None
    comb = combine(au["score"].to_numpy() if au is not None else None,
                   cs["score"].to_numpy() if cs is not None else None, fp)
    n = len(comb.score)
    # with audio, the VOD ends where the audio ends (chat may run on for the reaction lag)
    duration = float(len(feats)) if au is not None else float(n)
    lag = comb.lag.seconds
    moments = pick_moments(comb.score[: int(duration)], fp, duration=duration, extent=comb.audio[: int(duration)])
    speech_frac = np.zeros(n)
    if au is not None:
        tot = au["score"].to_numpy()
        frac = np.divide(au["speech"].to_numpy(), tot, out=np.zeros(len(tot)), where=tot > 0)
        speech_frac[: len(frac)] = frac

    named_chat = sent is not None and sent["user"].replace("", np.nan).nunique() > 1
    highlights = []
    for m in moments:
        pk = int(m["peak"])
        chat_t0, chat_t1 = m["start"] + lag, m["end"] + lag + fp.lag_tolerance_seconds / 2
        msgs = _slice(sent, "time", chat_t0, chat_t1) if sent is not None else None
        sw = speech_windows(speech, m["start"], m["end"])
        emo = emotion_means(msgs, sw)
        a_term = float(comb.audio[pk])
        contrib = {"audio": _r(a_term * (1 - speech_frac[pk])), "speech": _r(a_term * speech_frac[pk]),
                   "chat": _r(comb.chat[pk]), "agreement": _r(comb.agreement[pk])}
        backed = [k for k in ("audio", "chat") if contrib[k] + (contrib["speech"] if k == "audio" else 0) >= 0.1 * m["score"]]
        tc = top_messages(msgs) if msgs is not None else []
        if not named_chat:  # a log without user names cannot say how many people sent a line
            tc = [{**x, "users": None} for x in tc]
        te = top_emotes(msgs) if msgs is not None else []
        n_msgs = int(len(msgs)) if msgs is not None else (
            int(timeline["messages"].iloc[int(chat_t0):int(chat_t1) + 1].sum()) if timeline is not None else 0)
        n_users = int(msgs["user"].nunique()) if msgs is not None and named_chat else None
        excerpt = transcript_excerpt(words, m["start"], m["end"])
        h = {
            "rank": m["rank"], "start": _r(m["start"]), "end": _r(m["end"]), "peak": _r(m["peak"]),
            "duration": _r(m["end"] - m["start"]), "score": _r(m["score"]), "contributions": contrib,
            "signals": backed, "dominant_emotion": dominant(emo), "emotions": emo,
            "transcript_excerpt": excerpt,
            "chat": {"window_start": _r(chat_t0), "window_end": _r(chat_t1), "messages": n_msgs,
                     "unique_chatters": n_users, "top_messages": tc, "top_emotes": te},
            "audio": ({"loudness_z": _r(au["loudness"].iloc[max(0, pk - 2): pk + 3].max()),
                       "flux_z": _r(au["flux"].iloc[max(0, pk - 2): pk + 3].max()),
                       "laughter_or_shout": _r(au["events"].iloc[int(m["start"]): int(np.ceil(m["end"]))].max())}
                      if au is not None and pk < len(au) else None),
            "twitch_link": twitch_link(twitch_url, m["start"]),
            "chat_highlight_rank": _cross_ref(chat_highlights_csv, m["start"], m["end"], lag),
            "audio_highlight_rank": _cross_ref(audio_highlights_csv, m["start"], m["end"], 0.0),
        }
        h["explanation"] = explain(h, lag)
        highlights.append(h)

    signals = []
    if au is not None:
        signals.append("audio")
    if speech is not None and au is not None:
        signals.append("speech_sentiment")
    if words is not None and len(words):  # a video without audio has an empty transcript: not a signal
        signals.append("transcript")
    if cs is not None:
        signals.append("chat")
    if sent is not None and cs is not None:
        signals.append("chat_sentiment")

    size = max(1, int(np.ceil(n / TIMELINE_MAX_BINS)))
    nbins = int(np.ceil(n / size)) if n else 0
    raw_msgs = timeline["messages"].to_numpy(dtype=float) if timeline is not None else np.zeros(0)
    emo_cols = [f"{e}_mean" for e in EMOTIONS]
    tl_doc = {
        "bin_seconds": size, "start": 0.0,
        "combined": _bins(comb.score, size, "max"),
        "audio": _bins(comb.audio, size, "max"),
        "chat": _bins(comb.chat, size, "max"),
        "chat_messages": _bins(raw_msgs, size, "sum"),
        "chat_emotion": _dominant_bins(timeline, emo_cols, size, nbins) if timeline is not None else [],
        "speech_emotion": _speech_bins(speech, size, nbins),
    }
    doc = {
        "schema_version": SCHEMA_VERSION,
        "vod_id": str(vod_id), "title": title or str(vod_id), "twitch_url": twitch_url or None,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "generator": {"name": "klipstream", "version": __version__, "provenance": provenance(
            audio=features_csv is not None, chat=chat_timeline_csv is not None, words_csv=words_csv,
            speech_sentiment_csv=speech_sentiment_csv)},
        "duration": _r(duration), "signals_used": signals,
        "reaction_lag": {k: (_r(v, 4) if isinstance(v, float) else v) for k, v in comb.lag.to_dict().items()},
        "params": {**all_param_defaults(), **{k: v for k, v in (params or {}).items()}},
        "summary": {
            "chat_messages": int(len(sent)) if sent is not None else (int(raw_msgs.sum()) if timeline is not None else 0),
            "chat_unique_chatters": int(sent["user"].nunique()) if named_chat else None,
            "transcript_words": int(len(words)) if words is not None else 0,
            "speech_windows": int(len(speech)) if speech is not None else 0,
            "highlight_count": len(highlights),
        },
        "inputs": {k: (str(v) if v else None) for k, v in {
            "chat_timeline_csv": chat_timeline_csv, "chat_sentiment_csv": chat_sentiment_csv,
            "chat_highlights_csv": chat_highlights_csv, "features_csv": features_csv,
            "speech_sentiment_csv": speech_sentiment_csv, "audio_highlights_csv": audio_highlights_csv,
            "words_csv": words_csv}.items()},
        "highlights": highlights,
        "timeline": tl_doc,
    }
    validate(doc, f"integrated analysis of {vod_id}")
    write_json(out_json, doc)
    log.info("integrated %s: signals %s, lag %.0f s (%s), %d highlights -> %s", vod_id, ",".join(signals),
             lag, comb.lag.method, len(highlights), out_json)
    return doc


def _speech_bins(speech: pd.DataFrame | None, size: int, nbins: int) -> list[str]:
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
    return np.where(inside & (np.nan_to_num(vals).max(axis=1) >= 0.1), names[np.nan_to_num(vals).argmax(axis=1)], "").tolist()


def explain(h: dict, lag: float) -> str:
    """One sentence saying why this moment ranks where it does, from its own numbers."""
    parts = []
    a = h.get("audio") or {}
    if "audio" in h["signals"]:
        bits = []
        if a.get("loudness_z", 0) >= 1:
            bits.append(f"loudness {a['loudness_z']:.1f} sigma above baseline")
        if a.get("laughter_or_shout", 0) > 0:
            bits.append("laughter/shouting")
        if h["contributions"]["speech"] > 0.05:
            bits.append("emotional speech")
        parts.append("audio spike" + (f" ({', '.join(bits)})" if bits else ""))
    c = h["chat"]
    if "chat" in h["signals"]:
        who = f" from {c['unique_chatters']} chatters" if c.get("unique_chatters") is not None else ""
        emo = f", top emote {c['top_emotes'][0]['emote']}" if c["top_emotes"] else ""
        parts.append(f"chat burst of {c['messages']} messages{who} about {lag:.0f} s later{emo}")
    if not parts:
        parts.append("weak signals only")
    both = " - backed by both audio and chat" if len(h["signals"]) == 2 else ""
    emo = h["dominant_emotion"]
    return f"{'; '.join(parts)}{both}; mood: {emo}."
