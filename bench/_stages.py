"""Run the analysis stages of one VOD for the benchmarks, using the package's stage functions.

Where a stage function has not landed yet (engineers work in parallel), a documented stand-in built
from the same package pieces is used and named in the log, so the benchmark always runs."""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path

import pandas as pd

log = logging.getLogger("bench")


def _find(candidates: list[tuple[str, str]]):
    for mod, name in candidates:
        try:
            return getattr(importlib.import_module(mod), name)
        except (ImportError, AttributeError):
            continue
    return None


def chat_sentiment_stage():
    return _find(
        [
            ("klipstream.emotions", "score_chat"),
            ("klipstream.emotions.chat", "score_chat"),
            ("klipstream.emotions", "chat_sentiment"),
            ("klipstream.emotions.chat", "chat_sentiment"),
            ("klipstream.emotions.chat_sentiment", "score_chat_sentiment"),
            ("klipstream.emotions", "score_chat_sentiment"),
        ]
    )


def speech_sentiment_stage():
    return _find(
        [
            ("klipstream.emotions", "score_speech"),
            ("klipstream.emotions.speech", "score_speech"),
            ("klipstream.emotions", "speech_sentiment"),
            ("klipstream.emotions", "score_speech_sentiment"),
            ("klipstream.emotions.speech", "score_speech_sentiment"),
        ]
    )


def fallback_chat_sentiment(chat_json, out_csv) -> None:
    """Stand-in for the emotions stage: the package's filter + offline lexicon scorer (no VADER, for speed)."""
    from klipstream.chat.io import read_chat_frame
    from klipstream.emotions.filters import filter_messages
    from klipstream.emotions.offline import score_texts
    from klipstream.io import write_csv

    f = read_chat_frame(chat_json)
    flt = filter_messages(f)
    sc = score_texts(f["message"], use_vader=False)
    em = f["emotes"].fillna("").astype(str)
    out = pd.DataFrame(
        {
            "time": f["time"],
            "comment_id": f["comment_id"],
            "user": f["user"],
            "message": f["message"],
            "emotes": em,
            "emote_count": em.str.split().str.len().fillna(0).astype(int),
            "emoji_count": 0,
            "is_filtered": flt["is_filtered"],
            "filter_reason": flt["filter_reason"],
            **{c: sc[c] for c in sc},
        }
    )
    write_csv(out_csv, out)


def run_chat(chat_json, work: Path, vod: str, timings: dict, duration=None) -> dict:
    from klipstream.signals.chat_timeline import build_chat_timeline

    sent = work / f"{vod}_chat_sentiment.csv"
    tl = work / f"{vod}_chat_timeline.csv"
    t0 = time.perf_counter()
    stage = chat_sentiment_stage()
    used = "emotions stage"
    try:
        if stage is None:
            raise ImportError("not landed")
        stage(chat_json, sent)
    except (ImportError, TypeError) as exc:
        used = "stand-in"
        log.info("chat sentiment: emotions stage unusable here (%s), using the filter+lexicon stand-in", exc)
        fallback_chat_sentiment(chat_json, sent)
    timings["chat_sentiment_impl"] = used
    timings["chat_sentiment"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_chat_timeline(sent, tl, duration=duration)
    timings["chat_timeline"] = time.perf_counter() - t0
    return {"chat_sentiment_csv": str(sent), "chat_timeline_csv": str(tl)}


def run_audio(wav, work: Path, vod: str, timings: dict, words_csv=None) -> dict:
    from klipstream.signals.audio_features import compute_audio_features

    feats = work / f"{vod}_features.csv"
    t0 = time.perf_counter()
    compute_audio_features(wav, feats, words_csv=words_csv)
    timings["audio_features"] = time.perf_counter() - t0
    return {"audio_features_csv": str(feats)}
