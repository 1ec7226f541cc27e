"""What a moment's evidence says, for people: top messages and emotes, what kinds of reaction the chat shows,
mean emotions, the transcript excerpt, the one-sentence explanation and the Twitch link."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..emotions.emotes import emote_tokens, top_emote_counts
from .cues import KINDS, message_kinds

EMOTIONS = ("excitement", "funny", "happiness", "anger", "sadness")
KIND_NAMES = {
    "laughter": "laughter",
    "hype": "hype",
    "shock": "shock",
    "sadness": "sadness/fail",
    "love": "love",
    "clip_cue": "clip requests",
}


def slice_rows(df: pd.DataFrame | None, col: str, t0: float, t1: float) -> pd.DataFrame:
    """Rows of a frame sorted by `col` with t0 <= col <= t1 (an empty frame for None)."""
    if df is None or df.empty:
        return df.iloc[0:0] if df is not None else pd.DataFrame()
    times = df[col].to_numpy(dtype=float)
    i0, i1 = np.searchsorted(times, t0, "left"), np.searchsorted(times, t1, "right")
    return df.iloc[i0:i1]


def fold(messages: pd.Series) -> pd.Series:
    """Case- and space-folded text: the key under which repeated messages are counted (computed once per distinct
    text)."""
    codes, distinct = pd.factorize(messages.fillna("").astype(str))
    folded = pd.Series(np.asarray(distinct, dtype=object)).str.lower().str.split().str.join(" ").to_numpy(dtype=object)
    return pd.Series(folded[codes] if len(codes) else np.zeros(0, dtype=object), index=messages.index)


def window_pairs(times: np.ndarray, windows) -> tuple[np.ndarray, np.ndarray]:
    """(window index, row index) of every row whose time lies in each [t0, t1] window (rows sorted by time)."""
    t0 = np.searchsorted(times, [w[0] for w in windows], "left")
    t1 = np.searchsorted(times, [w[1] for w in windows], "right")
    lens = np.maximum(t1 - t0, 0)
    win = np.repeat(np.arange(len(windows)), lens)
    rows = np.repeat(t0, lens) + (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens))
    return win, rows


def window_evidence(msgs: pd.DataFrame | None, windows, k: int = 5) -> list[dict]:
    """For each (t0, t1) chat window: `messages`, `users` (distinct senders), `top_messages` (most repeated, folded
    text; by distinct senders then count), `top_emotes` (every emote klipstream.emotions.emotes knows), `reactions`
    ({kind: messages}) and `emotions` (mean of each emotion column, {} without them), all windows in one pass.
    `msgs` is sorted by time; its optional `key` (see fold) and `kind` (cues.message_kinds) columns are reused."""
    out = [
        {
            "messages": 0,
            "users": 0,
            "top_messages": [],
            "top_emotes": [],
            "reactions": {kd: 0 for kd in KINDS},
            "emotions": {},
        }
        for _ in windows
    ]
    if msgs is None or msgs.empty or not len(windows):
        return out
    win, rows = window_pairs(msgs["time"].to_numpy(dtype=float), windows)
    if not len(rows):
        return out
    sub = msgs.iloc[rows]
    key = sub["key"] if "key" in sub else fold(sub["message"])
    kind = sub["kind"] if "kind" in sub else pd.Series(message_kinds(sub["message"]), index=sub.index)
    f = pd.DataFrame(
        {
            "w": win,
            "key": key.to_numpy(),
            "message": sub["message"].to_numpy(),
            "user": sub["user"].to_numpy(),
            "kind": kind.to_numpy(),
        }
    )
    g = f.loc[f["key"] != ""].groupby(["w", "key"], sort=False)
    agg = g.agg(message=("message", "first"), count=("message", "size"), users=("user", "nunique")).reset_index()
    agg = agg.sort_values(["w", "users", "count"], ascending=[True, False, False], kind="stable")
    agg = agg.groupby("w", sort=False).head(k)
    for w, m, c, u in zip(agg["w"], agg["message"], agg["count"], agg["users"]):
        out[w]["top_messages"].append({"message": m, "count": int(c), "users": int(u)})
    for (w, kd), c in f.groupby(["w", "kind"], sort=False).size().items():
        out[w]["reactions"][kd] = int(c)
    per = f.groupby("w", sort=False).agg(n=("key", "size"), users=("user", "nunique"))
    for w, n, u in zip(per.index, per["n"], per["users"]):
        out[w]["messages"], out[w]["users"] = int(n), int(u)
    if all(e in sub for e in EMOTIONS):
        em = pd.DataFrame(sub[list(EMOTIONS)].apply(pd.to_numeric, errors="coerce").to_numpy(), columns=list(EMOTIONS))
        means = em.assign(w=win).groupby("w", sort=False).mean().fillna(0.0)
        for w, row in zip(means.index, means.to_dict("records")):
            out[w]["emotions"] = row
    if "message" in sub:  # Twitch fragments, lexicon and channel-shaped emotes (klipstream.emotions.emotes)
        tokens = emote_tokens(sub["message"], sub["emotes"] if "emotes" in sub else None)
        em = pd.DataFrame({"w": np.asarray(win)[tokens.index.to_numpy(dtype=int)], "e": tokens.to_numpy()})
        vc = em.groupby(["w", "e"], sort=False).size().reset_index(name="n")
        vc = vc.sort_values(["w", "n"], ascending=[True, False], kind="stable").groupby("w", sort=False).head(k)
        for w, e, c in zip(vc["w"], vc["e"], vc["n"]):
            out[w]["top_emotes"].append({"emote": str(e), "count": int(c)})
    return out


def top_messages(msgs: pd.DataFrame, k: int = 5) -> list[dict]:
    """Most repeated messages (case/space-folded), each with its count and number of distinct senders."""
    if msgs.empty:
        return []
    return window_evidence(msgs.assign(time=0.0), [(0.0, 0.0)], k)[0]["top_messages"]


def top_emotes(msgs: pd.DataFrame, k: int = 5) -> list[dict]:
    """The k most used emotes of the messages: Twitch fragments, lexicon and channel-shaped emotes in the text
    (klipstream.emotions.emotes; third-party emotes such as KEKW are plain text in chat logs)."""
    if msgs.empty or "message" not in msgs:
        return []
    return [{"emote": e, "count": c} for e, c in top_emote_counts(msgs["message"], msgs.get("emotes"), k)]


def emotion_means(chat_means: dict | None = None, speech: pd.DataFrame | None = None) -> dict:
    """Mean of each emotion over a moment's chat and speech (the two sources averaged). `chat_means` is the chat
    window's mean emotions (window_evidence's `emotions`); `speech` the moment's speech windows (speech_windows),
    weighted by the seconds of the moment each owns (their `weight` column; equally when they own none)."""
    parts = [np.array([chat_means[e] for e in EMOTIONS], dtype=float)] if chat_means else []
    if speech is not None and not speech.empty and all(e in speech.columns for e in EMOTIONS):
        vals = speech[list(EMOTIONS)].to_numpy(dtype=float)
        weights = speech["weight"].to_numpy(dtype=float)
        ok = np.isfinite(vals)
        w = ok * (weights if np.sum(weights) > 0 else np.ones(len(vals)))[:, None]
        parts.append(
            np.divide(
                (np.where(ok, vals, 0.0) * w).sum(axis=0),
                w.sum(axis=0),
                out=np.zeros(len(EMOTIONS)),
                where=w.sum(axis=0) > 0,
            )
        )
    if not parts:
        return {}
    mean = np.mean(parts, axis=0)
    return {e: round(float(v), 4) for e, v in zip(EMOTIONS, mean)}


def dominant(emotions: dict, floor: float = 0.1) -> str:
    if not emotions:
        return "unknown"
    name = max(emotions, key=emotions.get)
    return name if emotions[name] >= floor else "neutral"


def transcript_excerpt(words: pd.DataFrame | None, t0: float, t1: float, max_words: int = 60) -> str:
    w = slice_rows(words, "start_time", t0, t1)
    if w is None or w.empty:
        return ""
    text = " ".join(w["punctuated_word"].head(max_words).tolist())
    return text + (" ..." if len(w) > max_words else "")


def owned_seconds(starts: np.ndarray, ends: np.ndarray, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """(mask of the windows overlapping [t0, t1], seconds of [t0, t1] each of them owns). Every second belongs to the
    window whose centre is nearest: windows overlap by half, so the one a moment sits in the middle of speaks for it,
    not its neighbours that only graze it."""
    mask = (starts < t1) & (ends > t0)
    if not mask.any():
        return mask, np.zeros(0)
    secs = np.arange(np.floor(t0), max(np.ceil(t1), np.floor(t0) + 1)) + 0.5
    owner = np.abs(secs[:, None] - ((starts + ends) / 2)[None, :]).argmin(axis=1)
    return mask, np.bincount(owner, minlength=len(starts))[np.flatnonzero(mask)].astype(float)


def speech_windows(speech: pd.DataFrame | None, t0: float, t1: float) -> pd.DataFrame | None:
    """The speech windows overlapping [t0, t1], with `weight` = the seconds of [t0, t1] each owns (owned_seconds)."""
    if speech is None or speech.empty:
        return None
    mask, weights = owned_seconds(
        speech["start_time"].to_numpy(dtype=float), speech["end_time"].to_numpy(dtype=float), t0, t1
    )
    return speech.loc[mask].assign(weight=weights)


def reaction_phrase(counts: dict) -> str:
    """'mostly laughter (31 of 48)' when one reaction kind is at least half the messages, 'laughter the top reaction
    (73 of 201)' when it only leads the others, '' when there is no reaction."""
    total = sum(counts.values())
    named = {k: v for k, v in counts.items() if k in KIND_NAMES and v > 0}
    if not total or not named:
        return ""
    kind = max(named, key=named.get)
    share = f"({named[kind]} of {total})"
    return (
        f"mostly {KIND_NAMES[kind]} {share}"
        if named[kind] * 2 >= total
        else f"{KIND_NAMES[kind]} the top reaction {share}"
    )


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
    who = f" from {c['unique_chatters']} chatters" if c.get("unique_chatters") is not None else ""
    z = c.get("burst_z")
    rel = "" if z is None else f", {abs(z):.1f} sigma {'above' if z >= 0 else 'below'} its local rate"
    if "chat" in h["signals"]:
        what = reaction_phrase(c.get("reactions") or {})
        emo = f", top emote {c['top_emotes'][0]['emote']}" if c["top_emotes"] else ""
        parts.append(
            f"chat burst of {c['messages']} messages{who}{rel} about {lag:.0f} s later"
            f"{', ' + what if what else ''}{emo}"
        )
    if not parts:
        chat = f" (chat: {c['messages']} messages{who}{rel})" if c["messages"] else ""
        parts.append(f"nothing stands above this VOD's local baseline here - a filler candidate{chat}")
    both = " - backed by both audio and chat" if len(h["signals"]) == 2 else ""
    return f"{'; '.join(parts)}{both}; mood: {h['dominant_emotion']}; {h['tier']} tier."


def twitch_timestamp(seconds: float) -> str:
    """1h2m3s form used by Twitch's `?t=` parameter."""
    s = max(0, int(seconds))
    return f"{s // 3600}h{(s % 3600) // 60}m{s % 60}s"


def twitch_link(twitch_url: str | None, seconds: float) -> str | None:
    """https://www.twitch.tv/videos/ID?t=1h2m3s when `twitch_url` names a Twitch VOD, else None."""
    if not twitch_url:
        return None
    m = re.search(r"twitch\.tv/(?:[^/]+/)?(?:videos?|v)/(\d+)", str(twitch_url))
    if not m:
        return None
    return f"https://www.twitch.tv/videos/{m.group(1)}?t={twitch_timestamp(seconds)}"
