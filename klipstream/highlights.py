"""Per-signal highlight analysis: chat moments from the chat timeline + per-message chat sentiment,
audio moments from the per-second audio features + speech-emotion windows + words.

Scores are built from robust z-scores so a quiet stream and a 50,000-viewer stream are judged on their
own scale. Chat spam (a few users pasting one line) is discounted by the share of distinct chatters
among the messages of a sliding window. Peak picking and moment shaping live in `klipstream.fusion`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd
from scipy.ndimage import minimum_filter1d

from .errors import KlipError
from .fusion import FusionParams, pick_moments, smooth
from .io import read_table, write_csv

log = logging.getLogger(__name__)

EMOTIONS = ("excitement", "funny", "happiness", "anger", "sadness")
CHAT_COLUMNS = ["rank", "start_time", "end_time", "peak_time", "score", "messages", "unique_chatters",
                "dominant_emotion", "top_emotes", "top_messages"]
AUDIO_COLUMNS = ["rank", "start_time", "end_time", "peak_time", "score", "loudness_z", "flux_z", "excitement",
                 "dominant_emotion", "transcript_excerpt"]


@dataclass
class ScoreParams:
    """How per-second signals become one chat score and one audio score (config keys of the same names)."""

    z_clip: float = 8.0                 # z-scores are clipped to [0, z_clip]: one absurd second cannot dominate
    baseline_seconds: float = 600.0     # rolling window of the robust baselines computed here
    chat_window: float = 10.0           # s, window for distinct-chatter counts and the spam test
    chat_weight_chatters: float = 0.5   # distinct chatters in the window (robust z): the main chat signal
    chat_weight_messages: float = 0.2   # messages per second (timeline messages_z)
    chat_weight_emotes: float = 0.15    # emote density (timeline emote_density_z)
    chat_weight_emotion: float = 0.15   # mean of excitement/funny/caps z-scores
    spam_min_messages: int = 6          # below this many messages in the window the spam test is not applied
    spam_diversity_low: float = 0.15    # distinct chatters / messages at or below this: treated as pure spam (x0)
    spam_diversity_high: float = 0.5    # at or above this: no discount (x1); linear in between
    audio_weight_loudness: float = 0.5  # loudness_z
    audio_weight_flux: float = 0.3      # flux_z
    audio_weight_pitch: float = 0.2     # pitch variability (robust z)
    audio_weight_speech_rate: float = 0.1   # speech rate (robust z)
    audio_weight_events: float = 1.0    # laughter + shout indicators (each in [0, 1])
    speech_boost: float = 0.5           # audio score x (1 + speech_boost * speech highlight_score)


def split_params(params: dict | None) -> tuple[ScoreParams, FusionParams]:
    """Split one flat config mapping into score and fusion parameters; unknown keys raise a KlipError."""
    params = dict(params or {})
    s_names = {f.name for f in fields(ScoreParams)}
    f_names = {f.name for f in fields(FusionParams)}
    unknown = sorted(set(params) - s_names - f_names)
    if unknown:
        raise KlipError(f"unknown highlight parameter(s): {', '.join(unknown)}; "
                        f"known: {', '.join(sorted(s_names | f_names))}")
    return (ScoreParams(**{k: v for k, v in params.items() if k in s_names}),
            FusionParams(**{k: v for k, v in params.items() if k in f_names}))


def all_param_defaults() -> dict:
    return {**asdict(ScoreParams()), **asdict(FusionParams())}


# ----------------------------------------------------------------------------------------------- loading

def _read_csv(path, what: str, required: list[str]) -> pd.DataFrame:
    return read_table(path, what, required, keep_default_na=False, na_values=[""], low_memory=False)


def per_second(df: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
    """Re-index a per-second table on 0..n-1 (missing seconds become 0) so arrays line up by index."""
    if df.empty:
        return df.iloc[0:0]
    sec = np.floor(df["time"].to_numpy(dtype=float)).astype(np.int64)
    n = int(sec.max()) + 1 if n is None else n
    keep = (sec >= 0) & (sec < n)
    out = df.loc[keep].copy()
    out["time"] = sec[keep]
    out = out.groupby("time").mean(numeric_only=True)
    return out.reindex(np.arange(n), fill_value=0.0).fillna(0.0).reset_index(names="time")


def read_timeline(path) -> pd.DataFrame:
    """The chat timeline on whole seconds; bins wider than 1 s (chat_timeline.bin_seconds) are held over their seconds."""
    df = _read_csv(path, "chat timeline", ["time", "messages"])
    t = df["time"].to_numpy(dtype=float)
    step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    out = per_second(df)
    if step > 1.0 and len(out):
        filled = out.drop(columns="time").astype(float)
        filled.loc[~np.isin(out["time"], np.floor(t).astype(np.int64))] = np.nan
        out = pd.concat([out[["time"]], filled.ffill(limit=int(np.ceil(step)) - 1).fillna(0.0)], axis=1)
    return out


def read_chat_sentiment(path) -> pd.DataFrame:
    """Unfiltered messages only (bots and !commands are kept in the CSV for transparency but ignored here)."""
    df = _read_csv(path, "chat sentiment", ["time", "user", "message"])
    if "is_filtered" in df.columns:
        flt = df["is_filtered"].astype(str).str.lower().isin(["true", "1", "1.0", "yes"])
        df = df.loc[~flt]
    for col in ("emotes", "message", "user"):
        if col in df.columns:
            df[col] = df[col].astype("string").fillna("").astype(str)
        else:
            df[col] = ""
    df = df.sort_values("time", kind="stable").reset_index(drop=True)
    return df


def read_features(path) -> pd.DataFrame:
    return per_second(_read_csv(path, "audio features", ["time"]))


def read_speech_sentiment(path) -> pd.DataFrame:
    return _read_csv(path, "speech sentiment", ["start_time", "end_time"])


def read_words(path) -> pd.DataFrame:
    df = _read_csv(path, "words table", ["start_time", "end_time", "word"])
    if "punctuated_word" not in df.columns:
        df["punctuated_word"] = df["word"]
    df["punctuated_word"] = df["punctuated_word"].fillna(df["word"]).fillna("").astype(str)
    return df.sort_values("start_time", kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- scoring

def robust_z(x: np.ndarray, window: float, floor: float = 1e-6) -> np.ndarray:
    """(x - rolling median) / (1.4826 * rolling MAD), centred window, scale floored at `floor`."""
    x = np.asarray(x, dtype=float)
    if len(x) == 0:
        return x
    w = int(max(3, min(len(x), round(window))))
    s = pd.Series(x)
    med = s.rolling(w, center=True, min_periods=1).median()
    mad = (s - med).abs().rolling(w, center=True, min_periods=1).median()
    scale = np.maximum(1.4826 * mad.to_numpy(), floor)
    return (x - med.to_numpy()) / scale


def _z(df: pd.DataFrame, name: str, sp: ScoreParams, floor: float = 1e-6) -> np.ndarray:
    """The `<name>_z` column when the timeline has it, else a robust z computed here; clipped to [0, z_clip]."""
    if f"{name}_z" in df.columns:
        z = df[f"{name}_z"].to_numpy(dtype=float)
    elif name in df.columns:
        z = robust_z(df[name].to_numpy(dtype=float), sp.baseline_seconds, floor)
    else:
        return np.zeros(len(df))
    return np.clip(np.nan_to_num(z), 0.0, sp.z_clip)


def window_chatters(sent: pd.DataFrame, n: int, window: float) -> tuple[np.ndarray, np.ndarray]:
    """Messages and distinct chatters in the centred `window` seconds around each second (vectorised).

    Each user's per-second presences are turned into disjoint coverage intervals [s, min(s+W, next s)),
    so a difference array counts every user once per window however much they post."""
    w = max(1, int(round(window)))
    if sent.empty or n == 0:
        return np.zeros(n), np.zeros(n)
    sec = np.floor(sent["time"].to_numpy(dtype=float)).astype(np.int64)
    ok = (sec >= 0) & (sec < n)
    sec = sec[ok]
    per_sec = np.bincount(sec, minlength=n).astype(float)
    msgs = np.convolve(per_sec, np.ones(w), mode="full")[:n]  # trailing sum over [t-w+1, t]
    pres = pd.DataFrame({"u": pd.factorize(sent["user"].to_numpy()[ok])[0], "s": sec}).drop_duplicates()
    pres = pres.sort_values(["u", "s"], kind="stable")
    nxt = pres.groupby("u")["s"].shift(-1).to_numpy(dtype=float)
    start = pres["s"].to_numpy()
    end = np.minimum(start + w, np.where(np.isnan(nxt), np.inf, nxt)).astype(np.int64)
    diff = np.zeros(n + 1)
    np.add.at(diff, start, 1.0)
    np.add.at(diff, np.minimum(end, n), -1.0)
    users = np.cumsum(diff)[:n]
    shift = w // 2  # trailing -> centred
    msgs = np.concatenate([msgs[shift:], np.repeat(msgs[-1:], shift)]) if shift else msgs
    users = np.concatenate([users[shift:], np.repeat(users[-1:], shift)]) if shift else users
    return msgs, users


def chat_score(timeline: pd.DataFrame, sent: pd.DataFrame | None, sp: ScoreParams) -> pd.DataFrame:
    """Per-second chat score in chat time with its parts: chatters, messages, emotes, emotion, spam_factor."""
    n = len(timeline)
    out = pd.DataFrame({"time": np.arange(n, dtype=float)})
    if n == 0:
        out["score"] = []
        return out
    win = sp.chat_window
    # logs without user names (e.g. `H:MM:SS message` text logs) cannot tell chatters apart
    named = sent is not None and not sent.empty and sent["user"].replace("", np.nan).nunique() > 1
    if named:
        msgs_w, users_w = window_chatters(sent, n, win)
        chatters = np.clip(robust_z(users_w, sp.baseline_seconds, floor=1.0), 0, sp.z_clip)
        diversity = users_w / np.maximum(msgs_w, 1.0)
        spam = np.clip((diversity - sp.spam_diversity_low) / max(sp.spam_diversity_high - sp.spam_diversity_low, 1e-9), 0, 1)
        spam = np.where(msgs_w < sp.spam_min_messages, 1.0, spam)
        # a burst's edges see only part of it; take the worst evidence within one window either side
        spam = minimum_filter1d(spam, size=2 * int(round(win)) + 1, mode="nearest")
    elif sent is not None and not sent.empty:
        # messages without user names: every message counts as its own chatter, no diversity-based spam test
        msgs_w, _ = window_chatters(sent.assign(user=np.arange(len(sent)).astype(str)), n, win)
        users_w = msgs_w
        chatters = np.clip(robust_z(msgs_w, sp.baseline_seconds, floor=1.0), 0, sp.z_clip)
        spam = np.ones(n)
    else:
        # no per-message table: fall back to the timeline's per-second distinct chatters and copypasta share
        chatters = smooth(_z(timeline, "unique_chatters", sp), win)
        msgs_w, users_w = (smooth(timeline[c].to_numpy(dtype=float), win) * win
                           if c in timeline else np.zeros(n) for c in ("messages", "unique_chatters"))
        spam = np.ones(n)
    if "copypasta_share" in timeline.columns:
        # copies are normal in hype (many people, one emote); copies from few people are spam
        cp = smooth(timeline["copypasta_share"].to_numpy(dtype=float), win)
        div = np.clip(users_w / np.maximum(msgs_w, 1.0), 0, 1)
        spam = spam * (1.0 - np.clip(cp, 0, 1) * (1.0 - div))
    messages = smooth(_z(timeline, "messages", sp, floor=1.0), 5)
    emotes = smooth(_z(timeline, "emote_density", sp, floor=0.1), 5)
    emo_parts = [_z(timeline, c, sp, floor=0.05) for c in ("excitement_mean", "funny_mean", "caps_share")]
    emotion = smooth(np.mean(emo_parts, axis=0), 5)
    raw = (sp.chat_weight_chatters * chatters + sp.chat_weight_messages * messages
           + sp.chat_weight_emotes * emotes + sp.chat_weight_emotion * emotion)
    out["chatters"], out["messages"], out["emotes"], out["emotion"] = chatters, messages, emotes, emotion
    out["spam_factor"] = spam
    out["window_messages"], out["window_chatters"] = msgs_w, users_w
    out["score"] = raw * spam
    return out


def speech_per_second(speech: pd.DataFrame | None, n: int, column: str = "highlight_score") -> np.ndarray:
    """Max of a speech-window column over the windows covering each second (windows overlap by design)."""
    out = np.zeros(n)
    if speech is None or speech.empty or column not in speech.columns or n == 0:
        return out
    s = np.clip(np.floor(speech["start_time"].to_numpy(dtype=float)).astype(np.int64), 0, n)
    e = np.clip(np.ceil(speech["end_time"].to_numpy(dtype=float)).astype(np.int64), 0, n)
    v = np.nan_to_num(speech[column].to_numpy(dtype=float))
    lens = np.maximum(e - s, 0)
    idx = np.repeat(s, lens) + (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens))
    np.maximum.at(out, idx, np.repeat(v, lens))
    return out


def audio_score(features: pd.DataFrame, speech: pd.DataFrame | None, sp: ScoreParams) -> pd.DataFrame:
    """Per-second audio score in VOD time with its parts: loudness, flux, pitch, speech_rate, events, speech."""
    n = len(features)
    out = pd.DataFrame({"time": np.arange(n, dtype=float)})
    if n == 0:
        out["score"] = []
        return out
    loud = _z(features, "loudness", sp) if "loudness_z" in features else _z(features, "rms_db", sp, 0.5)
    flux = _z(features, "flux", sp) if "flux_z" in features else _z(features, "spectral_flux", sp)
    pitch = _z(features, "pitch_variability", sp, 1e-3)
    rate = _z(features, "speech_rate", sp, 0.25)
    events = sum(np.clip(features[c].to_numpy(dtype=float), 0, 1) for c in ("laughter", "shout") if c in features)
    events = np.zeros(n) + events
    base = (sp.audio_weight_loudness * loud + sp.audio_weight_flux * flux + sp.audio_weight_pitch * pitch
            + sp.audio_weight_speech_rate * rate + sp.audio_weight_events * events)
    h = speech_per_second(speech, n)
    speech_part = base * sp.speech_boost * h
    out["loudness"], out["flux"], out["pitch"], out["speech_rate"], out["events"] = loud, flux, pitch, rate, events
    out["speech_highlight"] = h
    out["speech"] = speech_part
    out["score"] = base + speech_part
    return out


# ----------------------------------------------------------------------------------------------- explanations

def _slice(df: pd.DataFrame | None, col: str, t0: float, t1: float) -> pd.DataFrame:
    if df is None or df.empty:
        return df.iloc[0:0] if df is not None else pd.DataFrame()
    times = df[col].to_numpy(dtype=float)
    i0, i1 = np.searchsorted(times, t0, "left"), np.searchsorted(times, t1, "right")
    return df.iloc[i0:i1]


def top_messages(msgs: pd.DataFrame, k: int = 5) -> list[dict]:
    """Most repeated messages (case/space-folded), each with its count and number of distinct senders."""
    if msgs.empty:
        return []
    key = msgs["message"].str.lower().str.split().str.join(" ")
    g = pd.DataFrame({"key": key, "message": msgs["message"], "user": msgs["user"]}).groupby("key", sort=False)
    agg = g.agg(message=("message", "first"), count=("message", "size"), users=("user", "nunique"))
    agg = agg[agg.index != ""].sort_values(["users", "count"], ascending=False, kind="stable").head(k)
    return [{"message": m, "count": int(c), "users": int(u)} for m, c, u in zip(agg["message"], agg["count"], agg["users"])]


def top_emotes(msgs: pd.DataFrame, k: int = 5) -> list[dict]:
    """The k most used emotes of the messages: Twitch fragments, lexicon and channel-shaped emotes in the text
    (klipstream.emotions.emotes; third-party emotes such as KEKW are plain text in chat logs)."""
    from .emotions.emotes import top_emote_counts

    if msgs.empty or "message" not in msgs:
        return []
    return [{"emote": e, "count": c} for e, c in top_emote_counts(msgs["message"], msgs.get("emotes"), k)]


def emotion_means(msgs: pd.DataFrame | None, speech: pd.DataFrame | None) -> dict:
    """Mean of each emotion over the chat messages and the speech windows of a moment (sources averaged; speech
    windows weighted by their `weight` column when speech_windows gives one)."""
    parts = []
    for df in (msgs, speech):
        if df is not None and not df.empty and all(e in df.columns for e in EMOTIONS):
            w = df["weight"].to_numpy(dtype=float) if "weight" in df.columns else np.ones(len(df))
            vals = df[list(EMOTIONS)].astype(float).fillna(0.0)
            parts.append(pd.Series(np.average(vals.to_numpy(), axis=0, weights=w) if w.sum() > 0 else vals.mean(),
                                   index=list(EMOTIONS)))
    if not parts:
        return {}
    mean = sum(parts) / len(parts)
    return {e: round(float(mean[e]), 4) for e in EMOTIONS}


def dominant(emotions: dict, floor: float = 0.1) -> str:
    if not emotions:
        return "unknown"
    name = max(emotions, key=emotions.get)
    return name if emotions[name] >= floor else "neutral"


def transcript_excerpt(words: pd.DataFrame | None, t0: float, t1: float, max_words: int = 60) -> str:
    w = _slice(words, "start_time", t0, t1)
    if w is None or w.empty:
        return ""
    text = " ".join(w["punctuated_word"].head(max_words).tolist())
    return text + (" ..." if len(w) > max_words else "")


def speech_windows(speech: pd.DataFrame | None, t0: float, t1: float) -> pd.DataFrame | None:
    """The speech windows overlapping [t0, t1], with `weight` = seconds of [t0, t1] that each window owns: every
    second belongs to the window whose centre is nearest (windows overlap by half, so the one a moment sits in the
    middle of speaks for it, not its neighbours that only graze it)."""
    if speech is None or speech.empty:
        return None
    st, en = speech["start_time"].to_numpy(dtype=float), speech["end_time"].to_numpy(dtype=float)
    sel = speech.loc[(st < t1) & (en > t0)].copy()
    if sel.empty:
        return sel
    centres = (st + en) / 2
    secs = np.arange(np.floor(t0), max(np.ceil(t1), np.floor(t0) + 1)) + 0.5
    owner = np.abs(secs[:, None] - centres[None, :]).argmin(axis=1)
    counts = np.bincount(owner, minlength=len(speech))
    sel["weight"] = counts[np.flatnonzero((st < t1) & (en > t0))].astype(float)
    return sel


# ----------------------------------------------------------------------------------------------- stages

def chat_highlights(chat_timeline_csv, chat_sentiment_csv, out_csv, **params) -> pd.DataFrame:
    """Chat moments (times are when the chat reacted; integration moves them back by the reaction lag)."""
    sp, fp = split_params(params)
    timeline = read_timeline(chat_timeline_csv)
    sent = read_chat_sentiment(chat_sentiment_csv) if chat_sentiment_csv else None
    cs = chat_score(timeline, sent, sp)
    moments = pick_moments(smooth(cs["score"].to_numpy(), fp.smooth_seconds), fp, duration=len(cs))
    rows = []
    for m in moments:
        msgs = _slice(sent, "time", m["start"], m["end"]) if sent is not None else None
        emo = emotion_means(msgs, None)
        rows.append({
            "rank": m["rank"], "start_time": m["start"], "end_time": m["end"], "peak_time": m["peak"],
            "score": round(m["score"], 4),
            "messages": int(len(msgs)) if msgs is not None else int(timeline["messages"].iloc[int(m["start"]):int(m["end"])].sum()),
            "unique_chatters": int(msgs["user"].nunique()) if msgs is not None else 0,
            "dominant_emotion": dominant(emo),
            "top_emotes": " ".join(f"{e['emote']}:{e['count']}" for e in top_emotes(msgs)) if msgs is not None else "",
            "top_messages": " | ".join(f"{x['message']} (x{x['count']})" for x in top_messages(msgs, 3)) if msgs is not None else "",
        })
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
        sw = speech_windows(speech, m["start"], m["end"])
        emo = emotion_means(None, sw)
        rows.append({
            "rank": m["rank"], "start_time": m["start"], "end_time": m["end"], "peak_time": m["peak"],
            "score": round(m["score"], 4),
            "loudness_z": round(float(a["loudness"].iloc[sl].max()), 3),
            "flux_z": round(float(a["flux"].iloc[sl].max()), 3),
            "excitement": round(float(emo.get("excitement", 0.0)), 4),
            "dominant_emotion": dominant(emo),
            "transcript_excerpt": transcript_excerpt(words, m["start"], m["end"]),
        })
    out = pd.DataFrame(rows, columns=AUDIO_COLUMNS)
    write_csv(out_csv, out)
    log.info("audio highlights: %d moments from %d s of audio -> %s", len(out), len(a), out_csv)
    return out
