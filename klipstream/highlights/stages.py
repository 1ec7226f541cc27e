"""The per-signal highlight stages: chat moments (chat time) and audio moments (VOD time), each a ranked
candidate table. `klipstream.highlights.integrate` fuses the signals themselves; these tables are for people and
for cross-reference (`chat_highlight_rank`, `audio_highlight_rank` in the integrated JSON)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..io import write_csv
from .audio import audio_score
from .chat import annotate, chat_score
from .explain import dominant, emotion_means, speech_windows, transcript_excerpt, window_evidence
from .fusion import smooth
from .moments import pick_moments
from .params import split_params
from .readers import read_chat, read_features, read_speech_sentiment, read_timeline, read_words

log = logging.getLogger(__name__)

CHAT_COLUMNS = [
    "rank",
    "start_time",
    "end_time",
    "peak_time",
    "score",
    "messages",
    "unique_chatters",
    "dominant_emotion",
    "top_emotes",
    "top_messages",
]
AUDIO_COLUMNS = [
    "rank",
    "start_time",
    "end_time",
    "peak_time",
    "score",
    "loudness_z",
    "flux_z",
    "excitement",
    "dominant_emotion",
    "transcript_excerpt",
]


def chat_highlights(chat_timeline_csv, chat_sentiment_csv, out_csv, **params) -> pd.DataFrame:
    """Chat moments (times are when the chat reacted; integration moves them back by the reaction lag)."""
    sp, fp = split_params(params)
    timeline = read_timeline(chat_timeline_csv)
    chat = annotate(read_chat(chat_sentiment_csv)) if chat_sentiment_csv else None
    sent = chat.messages if chat is not None else None
    cs = chat_score(timeline, chat, sp)
    sc = smooth(cs["score"].to_numpy(), fp.smooth_seconds)
    fill = np.where(cs["valid"].to_numpy(), sc, -np.inf) if "valid" in cs else None
    moments = pick_moments(np.clip(sc, 0, None), fp, duration=len(cs), fill=fill)
    evidence = window_evidence(sent, [(m["start"], m["end"]) for m in moments], k=5)
    rows = []
    for m, ev in zip(moments, evidence):
        rows.append(
            {
                "rank": m["rank"],
                "start_time": m["start"],
                "end_time": m["end"],
                "peak_time": m["peak"],
                "score": round(m["score"], 4),
                "messages": ev["messages"]
                if sent is not None
                else int(timeline["messages"].iloc[int(m["start"]) : int(m["end"])].sum()),
                "unique_chatters": ev["users"] if sent is not None else 0,
                "dominant_emotion": dominant(emotion_means(ev["emotions"])),
                "top_emotes": " ".join(f"{e['emote']}:{e['count']}" for e in ev["top_emotes"]),
                "top_messages": " | ".join(f"{x['message']} (x{x['count']})" for x in ev["top_messages"][:3]),
            }
        )
    out = pd.DataFrame(rows, columns=CHAT_COLUMNS)
    write_csv(out_csv, out)
    log.info("chat highlights: %d moments from %d s of chat -> %s", len(out), len(cs), out_csv)
    return out


def audio_highlights(features_csv, speech_sentiment_csv, words_csv, out_csv, **params) -> pd.DataFrame:
    """Audio moments from loudness/flux/pitch/laughter, boosted by speech emotion; with transcript excerpts."""
    sp, fp = split_params(params)
    feats = read_features(features_csv)
    speech = read_speech_sentiment(speech_sentiment_csv) if speech_sentiment_csv else None
    words = read_words(words_csv) if words_csv else None
    a = audio_score(feats, speech, sp)
    moments = pick_moments(smooth(a["score"].to_numpy(), fp.smooth_seconds), fp, duration=len(a))
    rows = []
    for m in moments:
        sl = slice(int(m["start"]), int(np.ceil(m["end"])))
        emo = emotion_means(speech=speech_windows(speech, m["start"], m["end"]))
        rows.append(
            {
                "rank": m["rank"],
                "start_time": m["start"],
                "end_time": m["end"],
                "peak_time": m["peak"],
                "score": round(m["score"], 4),
                "loudness_z": round(float(a["loudness"].iloc[sl].max()), 3),
                "flux_z": round(float(a["flux"].iloc[sl].max()), 3),
                "excitement": round(float(emo.get("excitement", 0.0)), 4),
                "dominant_emotion": dominant(emo),
                "transcript_excerpt": transcript_excerpt(words, m["start"], m["end"]),
            }
        )
    out = pd.DataFrame(rows, columns=AUDIO_COLUMNS)
    write_csv(out_csv, out)
    log.info("audio highlights: %d moments from %d s of audio -> %s", len(out), len(a), out_csv)
    return out
