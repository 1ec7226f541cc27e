"""Integrated analysis: fuse every available signal of a VOD into ranked, self-explaining candidate moments and
write `output/analysis/{vod}_integrated_analysis.json`, validated against its schema (klipstream.highlights.contract)
before it is written (a document that fails is never written).
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np

from .. import __version__
from ..errors import KlipError
from ..io import write_json
from ..provenance import provenance
from .audio import audio_score
from .chat import annotate, chat_score
from .contract import SCHEMA_VERSION, validate
from .explain import dominant, emotion_means, explain, speech_windows, transcript_excerpt, twitch_link, window_evidence
from .fusion import combine
from .moments import pick_moments
from .params import all_param_defaults, split_params
from .readers import read_chat, read_csv_table, read_features, read_speech_sentiment, read_timeline, read_words
from .timeline import timeline_doc

log = logging.getLogger(__name__)


def _r(x, nd=3):
    return float(round(float(x), nd))


class RankLookup:
    """Rank of the per-signal highlight (a chat or audio highlights CSV) overlapping a moment, times moved back by
    `shift`."""

    def __init__(self, path, shift: float):
        df = read_csv_table(path, "highlights table", ["rank", "start_time", "end_time"]) if path else None
        empty = df is None or df.empty
        self.s = np.zeros(0) if empty else df["start_time"].to_numpy(dtype=float) - shift
        self.e = np.zeros(0) if empty else df["end_time"].to_numpy(dtype=float) - shift
        self.rank = np.zeros(0, dtype=int) if empty else df["rank"].to_numpy(dtype=int)
        self.present = path is not None

    def __call__(self, start: float, end: float) -> int | None:
        hit = self.rank[(self.s < end) & (self.e > start)]
        return int(hit.min()) if self.present and len(hit) else None


def integrate(
    vod_id: str,
    out_json,
    *,
    title: str | None = None,
    twitch_url: str | None = None,
    chat_timeline_csv=None,
    chat_sentiment_csv=None,
    chat_highlights_csv=None,
    audio_features_csv=None,
    audio_sentiment_csv=None,
    audio_highlights_csv=None,
    words_csv=None,
    transcript_json=None,
    params: dict | None = None,
) -> dict:
    """Fuse what exists of a VOD's signals into the integrated analysis JSON and return the document. The inputs are
    named by their artifact keys (klipstream.artifacts.INTEGRATION_INPUTS), as the workflow's rule names them."""
    features_csv, speech_sentiment_csv = audio_features_csv, audio_sentiment_csv
    sp, fp = split_params(params)
    timeline = read_timeline(chat_timeline_csv) if chat_timeline_csv else None
    chat = annotate(read_chat(chat_sentiment_csv)) if chat_sentiment_csv else None
    sent = chat.messages if chat is not None else None
    feats = read_features(features_csv) if features_csv else None
    speech = read_speech_sentiment(speech_sentiment_csv) if speech_sentiment_csv else None
    words = read_words(words_csv) if words_csv else None
    if timeline is None and feats is None:
        raise KlipError(f"VOD {vod_id}: nothing to integrate (neither a chat timeline nor audio features)")

    cs = chat_score(timeline, chat, sp) if timeline is not None and len(timeline) else None
    au = audio_score(feats, speech, sp) if feats is not None and len(feats) else None
    comb = combine(
        au["score"].to_numpy() if au is not None else None,
        cs["score"].to_numpy() if cs is not None else None,
        fp,
        chat_valid=cs["valid"].to_numpy() if cs is not None and "valid" in cs else None,
    )
    n = len(comb.score)
    # with audio, the VOD ends where the audio ends (chat may run on for the reaction lag)
    duration = float(len(feats)) if au is not None else float(n)
    lag = comb.lag.seconds
    tol = fp.lag_tolerance_seconds if au is not None else 0.0
    moments = pick_moments(
        comb.score[: int(duration)],
        fp,
        duration=duration,
        extent=comb.audio[: int(duration)],
        fill=comb.fill[: int(duration)],
    )
    speech_frac = np.zeros(n)
    if au is not None:
        tot = au["score"].to_numpy()
        frac = np.divide(au["speech"].to_numpy(), tot, out=np.zeros(len(tot)), where=tot > 0)
        speech_frac[: len(frac)] = frac
    burst = cs["burst_z"].to_numpy() if cs is not None and "burst_z" in cs else None

    named_chat = chat is not None and chat.named
    chat_rank, audio_rank = RankLookup(chat_highlights_csv, lag), RankLookup(audio_highlights_csv, 0.0)
    a_cols = {k: au[k].to_numpy(dtype=float) for k in ("loudness", "flux", "events")} if au is not None else None
    windows = [(m["start"] + lag, m["end"] + lag + fp.lag_tolerance_seconds / 2) for m in moments]
    evidence = window_evidence(sent, windows)
    highlights = []
    for m, (chat_t0, chat_t1), ev in zip(moments, windows, evidence):
        pk = int(m["peak"])
        emo = emotion_means(ev["emotions"] if sent is not None else None, speech_windows(speech, m["start"], m["end"]))
        a_term = float(comb.audio[pk])
        contrib = {
            "audio": _r(a_term * (1 - speech_frac[pk])),
            "speech": _r(a_term * speech_frac[pk]),
            "chat": _r(comb.chat[pk]),
            "agreement": _r(comb.agreement[pk]),
        }
        part = {"audio": contrib["audio"] + contrib["speech"], "chat": contrib["chat"]}
        backed = [k for k in ("audio", "chat") if part[k] > 0 and part[k] >= 0.1 * m["score"]]
        tc = ev["top_messages"]
        if not named_chat:  # a log without user names cannot say how many people sent a line
            tc = [{**x, "users": None} for x in tc]
        n_msgs = (
            ev["messages"]
            if sent is not None
            else (int(timeline["messages"].iloc[int(chat_t0) : int(chat_t1) + 1].sum()) if timeline is not None else 0)
        )
        c0, c1 = int(round(pk + lag - tol)), int(round(pk + lag + tol)) + 1
        bz = _r(np.max(burst[max(0, c0) : c1]), 2) if burst is not None and max(0, c0) < min(c1, len(burst)) else None
        h = {
            "rank": m["rank"],
            "start": _r(m["start"]),
            "end": _r(m["end"]),
            "peak": _r(m["peak"]),
            "duration": _r(m["end"] - m["start"]),
            "score": _r(m["score"]),
            "tier": m["tier"],
            "contributions": contrib,
            "signals": backed,
            "dominant_emotion": dominant(emo),
            "emotions": emo,
            "transcript_excerpt": transcript_excerpt(words, m["start"], m["end"]),
            "chat": {
                "window_start": _r(chat_t0),
                "window_end": _r(chat_t1),
                "messages": n_msgs,
                "unique_chatters": ev["users"] if named_chat else None,
                "burst_z": bz,
                "reactions": ev["reactions"] if sent is not None else None,
                "top_messages": tc,
                "top_emotes": ev["top_emotes"],
            },
            "audio": (
                {
                    "loudness_z": _r(a_cols["loudness"][max(0, pk - 2) : pk + 3].max()),
                    "flux_z": _r(a_cols["flux"][max(0, pk - 2) : pk + 3].max()),
                    "laughter_or_shout": _r(a_cols["events"][int(m["start"]) : int(np.ceil(m["end"]))].max()),
                }
                if au is not None and pk < len(au)
                else None
            ),
            "twitch_link": twitch_link(twitch_url, m["start"]),
            "chat_highlight_rank": chat_rank(m["start"], m["end"]),
            "audio_highlight_rank": audio_rank(m["start"], m["end"]),
        }
        h["explanation"] = explain(h, lag)
        highlights.append(h)

    signals = [
        name
        for name, present in (
            ("audio", au is not None),
            ("speech_sentiment", speech is not None and au is not None),
            ("transcript", words is not None and len(words) > 0),
            ("chat", cs is not None),
            ("chat_sentiment", sent is not None and cs is not None),
        )
        if present
    ]
    raw_msgs = timeline["messages"].to_numpy(dtype=float) if timeline is not None else np.zeros(0)
    doc = {
        "schema_version": SCHEMA_VERSION,
        "vod_id": str(vod_id),
        "title": title or str(vod_id),
        "twitch_url": twitch_url or None,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "generator": {
            "name": "klipstream",
            "version": __version__,
            "provenance": provenance(
                audio=features_csv is not None,
                chat=chat_timeline_csv is not None,
                transcript_json=transcript_json,
                speech_models=speech["model"] if speech is not None and "model" in speech else None,
            ),
        },
        "duration": _r(duration),
        "signals_used": signals,
        "reaction_lag": {k: (_r(v, 4) if isinstance(v, float) else v) for k, v in comb.lag.to_dict().items()},
        "params": {**all_param_defaults(), **{k: v for k, v in (params or {}).items()}},
        "summary": {
            "chat_messages": int(len(sent))
            if sent is not None
            else (int(raw_msgs.sum()) if timeline is not None else 0),
            "chat_unique_chatters": int(sent["user"].nunique()) if named_chat else None,
            "transcript_words": int(len(words)) if words is not None else 0,
            "speech_windows": int(len(speech)) if speech is not None else 0,
            "highlight_count": len(highlights),
            "headline_count": min(int(fp.top_n), len(highlights)),
            "tiers": {t: sum(h["tier"] == t for h in highlights) for t in ("high", "medium", "low")},
        },
        "inputs": {
            k: (str(v) if v else None)
            for k, v in {
                "chat_timeline_csv": chat_timeline_csv,
                "chat_sentiment_csv": chat_sentiment_csv,
                "chat_highlights_csv": chat_highlights_csv,
                "features_csv": features_csv,
                "speech_sentiment_csv": speech_sentiment_csv,
                "audio_highlights_csv": audio_highlights_csv,
                "words_csv": words_csv,
            }.items()
        },
        "highlights": highlights,
        "timeline": timeline_doc(comb, timeline, speech),
    }
    validate(doc, f"integrated analysis of {vod_id}")
    write_json(out_json, doc)
    log.info(
        "integrated %s: signals %s, lag %.0f s (%s), %d candidates (%s) -> %s",
        vod_id,
        ",".join(signals),
        lag,
        comb.lag.method,
        len(highlights),
        doc["summary"]["tiers"],
        out_json,
    )
    return doc
