"""Synthetic VODs with planted moments at known times, for the highlight quality and performance benchmarks.

A VOD is a 16 kHz mono WAV plus a TwitchDownloader-compatible chat JSON plus `truth.json`:
- background: speech-like audio (harmonic voice with a drifting pitch, syllable envelope and pauses) and
  ordinary chatter (Poisson arrivals at a slowly varying rate, heavy-tailed user activity);
- planted moments: loud, high-pitched, laughing audio; chat reacts after a per-moment lag drawn from
  `lag_range` (each message a further gamma-distributed delay) with many distinct chatters and emotes;
- distractors: spam bursts (2-4 users pasting one line, plus a !command flood) with no audio event,
  and loud noise bursts with no chat reaction.
Audio is written in 60 s blocks, so a 4-hour VOD costs the memory of one block.
"""

from __future__ import annotations

import logging
import os
import wave
import zlib
from pathlib import Path

import numpy as np

from klipstream.chat.io import make_comment, write_chat
from klipstream.io import atomic_path, write_json

log = logging.getLogger(__name__)

SR = 16_000
BACKGROUND_LINES = [
    "what game is this",
    "hi chat",
    "lol",
    "gg",
    "nice",
    "where are you from",
    "how long is stream today",
    "that was close",
    "good morning",
    "is this ranked",
    "first time here",
    "love the stream",
    "what rank is he",
    "bro",
    "true",
    "ok",
    "hmm",
    "same",
    "wait what",
    "chat is slow today",
    "any plans after this",
    "lets go",
]
EMOTES = ["KEKW", "LUL", "OMEGALUL", "PogChamp", "Kappa", "monkaS", "Pog", "LULW"]
REACTION_LINES = [
    "KEKW",
    "LUL LUL LUL",
    "OMEGALUL",
    "NO WAY",
    "CLIP IT",
    "PogChamp",
    "HAHAHA",
    "Pog",
    "LMAO",
    "KEKW KEKW",
    "what just happened",
    "LULW",
    "monkaS",
    "insane",
]
SPAM_LINES = [
    "FOLLOW MY CHANNEL FOR FREE SUBS twitch.tv/notascam",
    "buy cheap viewers at viewbot dot com",
    "COPY PASTE THIS IF YOU LOVE THE STREAM",
]
COMMANDS = ["!drops", "!discord", "!uptime", "!giveaway", "!sens"]


TABLE_SIZE = 4096
# one period of a harmonic voice (4 harmonics, 1/h amplitudes) and a 4 Hz syllable envelope, as lookup tables
VOICE_TABLE = sum(np.sin(h * 2 * np.pi * np.arange(TABLE_SIZE) / TABLE_SIZE) / h for h in range(1, 5)).astype(
    np.float32
)
SYLLABLE = ((0.5 * (1 + np.sin(2 * np.pi * 4 * np.arange(SR // 4) / SR))) ** 2).astype(np.float32)


def _comment(i: int, t: float, user: str, body: str, vod_id: str) -> dict:
    """Comment with emote fragments for the known emote tokens (so emote names survive the round trip)."""
    toks = body.split(" ")
    frags, emos, pos = [], [], 0
    for k, tok in enumerate(toks):
        text = tok + (" " if k < len(toks) - 1 else "")
        if tok in EMOTES:
            frags.append({"text": tok, "emoticon": {"emoticon_id": f"e{EMOTES.index(tok)}"}})
            emos.append({"_id": f"e{EMOTES.index(tok)}", "begin": pos, "end": pos + len(tok) - 1})
            if k < len(toks) - 1:
                frags.append({"text": " ", "emoticon": None})
        else:
            frags.append({"text": text, "emoticon": None})
        pos += len(text)
    return make_comment(
        f"c{i}",
        round(float(t), 3),
        user,
        body,
        vod_id=vod_id,
        user_id=str(zlib.crc32(user.encode())),
        fragments=frags,
        emoticons=emos,
    )


def plan(
    seed: int,
    duration: float,
    n_moments: int = 5,
    n_spam: int = 2,
    n_loud: int = 2,
    lag_range: tuple[float, float] = (5.0, 15.0),
) -> dict:
    """Place planted moments and distractors at random, non-overlapping times (at least 90 s apart)."""
    rng = np.random.default_rng(seed)
    kinds = ["planted"] * n_moments + ["spam"] * n_spam + ["loud_audio"] * n_loud
    slots = np.arange(60.0, duration - 90.0, 90.0)
    if len(slots) < len(kinds):
        raise ValueError(f"duration {duration} s is too short for {len(kinds)} events")
    starts = np.sort(rng.choice(slots, size=len(kinds), replace=False)) + rng.uniform(0, 30, len(kinds))
    order = rng.permutation(len(kinds))
    events = []
    for k, s in zip(np.array(kinds)[order], starts):
        length = float(rng.uniform(6, 12)) if k != "spam" else float(rng.uniform(20, 40))
        ev = {"kind": str(k), "start": round(float(s), 2), "end": round(float(s) + length, 2)}
        if k == "planted":
            ev["lag"] = round(float(rng.uniform(*lag_range)), 2)
            ev["reactions"] = int(rng.integers(40, 120))
        events.append(ev)
    return {"seed": seed, "duration": duration, "events": events}


def write_audio(path: str | os.PathLike, truth: dict, block_seconds: float = 60.0) -> None:
    """Stream the WAV block by block; each block's randomness comes from (seed, block index), so it is reproducible."""
    seed, duration = truth["seed"], truth["duration"]
    events = [e for e in truth["events"] if e["kind"] in ("planted", "loud_audio")]
    total = int(duration * SR)
    block = int(block_seconds * SR)
    phase = 0.0
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(SR)
        for b, s0 in enumerate(range(0, total, block)):
            rng = np.random.default_rng([seed, b])
            n = min(block, total - s0)
            t = (s0 + np.arange(n)) / SR
            # pitch contour evaluated at 100 Hz and held: smooth enough, 160x cheaper than per sample
            tc = (s0 + np.arange(0, n, 160)) / SR
            f0 = np.repeat(130 + 25 * np.sin(2 * np.pi * 0.3 * tc) + 10 * np.sin(2 * np.pi * 1.1 * tc), 160)[:n]
            ph = phase + np.cumsum(f0) / SR  # in cycles
            phase = float(ph[-1] % 1.0)
            voice = VOICE_TABLE[((ph % 1.0) * TABLE_SIZE).astype(np.int64) % TABLE_SIZE]
            seg = (t * 2).astype(np.int64)  # half-second speech/pause segments
            talk = rng.random(seg[-1] - seg[0] + 1) < 0.75
            env = SYLLABLE[(s0 + np.arange(n)) % len(SYLLABLE)] * talk[seg - seg[0]]
            level = 10 ** ((-26 + 3 * np.sin(2 * np.pi * (s0 / SR) / 900)) / 20)
            x = level * env * (0.7 * voice + 0.3 * rng.standard_normal(n, dtype=np.float32))
            for e in events:
                m = (t >= e["start"]) & (t < e["end"])
                if not m.any():
                    continue
                tt = t[m]
                ramp = np.clip(np.minimum(tt - e["start"], e["end"] - tt) / 0.2, 0, 1)
                loud = 10 ** (-10 / 20)
                if e["kind"] == "planted":  # excited shouting and laughing: high, moving pitch, 5 Hz "ha-ha"
                    fe = 280 + 60 * np.sin(2 * np.pi * 3 * tt)
                    pe = 2 * np.pi * np.cumsum(fe) / SR
                    ha = (0.5 * (1 + np.sin(2 * np.pi * 5 * tt))) ** 2
                    ev = ha * sum(np.sin(h * pe) / h for h in range(1, 6)) + 0.15 * rng.standard_normal(m.sum())
                else:  # a crash / music sting: loud broadband noise, nothing said
                    ev = rng.standard_normal(m.sum()) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * tt))
                x[m] = 0.3 * x[m] + loud * ramp * ev
            w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def chat_frame(truth: dict, base_rate: float = 0.8, n_users: int = 400):
    """All comments as columns (time, user, body), vectorised per event type, sorted by time."""
    rng = np.random.default_rng([truth["seed"], 10**6])
    duration = truth["duration"]
    users = np.array([f"viewer{k:04d}" for k in range(n_users)])
    weights = 1.0 / np.arange(1, n_users + 1) ** 0.8  # a few regulars talk a lot
    weights /= weights.sum()
    # background: inhomogeneous Poisson by thinning
    peak_rate = base_rate * 1.5
    n = rng.poisson(peak_rate * duration)
    tb = np.sort(rng.uniform(0, duration, n))
    keep = rng.random(n) < (1 + 0.5 * np.sin(2 * np.pi * tb / 1800)) / 1.5
    tb = tb[keep]
    ub = rng.choice(users, size=len(tb), p=weights)
    body = np.array(BACKGROUND_LINES, dtype=object)[rng.integers(0, len(BACKGROUND_LINES), len(tb))]
    with_emote = rng.random(len(tb)) < 0.15
    body[with_emote] = (
        body[with_emote] + " " + np.array(EMOTES, dtype=object)[rng.integers(0, len(EMOTES), with_emote.sum())]
    )
    parts = [(tb, ub, body)]
    for e in truth["events"]:
        if e["kind"] == "planted":
            k = e["reactions"]
            t = e["start"] + e["lag"] + rng.gamma(2.0, 3.0, k)
            u = rng.choice(users, size=k, replace=k > n_users)
            b = np.array(REACTION_LINES, dtype=object)[rng.integers(0, len(REACTION_LINES), k)]
            parts.append((t, u, b))
        elif e["kind"] == "spam":
            spammers = rng.choice(users, size=int(rng.integers(2, 5)), replace=False)
            line = SPAM_LINES[int(rng.integers(0, len(SPAM_LINES)))]
            k = int((e["end"] - e["start"]) * rng.uniform(1.5, 3.0))
            parts.append(
                (rng.uniform(e["start"], e["end"], k), rng.choice(spammers, size=k), np.full(k, line, dtype=object))
            )
            kc = int(rng.integers(20, 50))  # a !command flood: filtered upstream, must not count
            parts.append(
                (
                    rng.uniform(e["start"], e["end"], kc),
                    rng.choice(users, size=kc),
                    np.array(COMMANDS, dtype=object)[rng.integers(0, len(COMMANDS), kc)],
                )
            )
    t = np.concatenate([p[0] for p in parts])
    u = np.concatenate([p[1] for p in parts])
    b = np.concatenate([p[2] for p in parts])
    ok = (t >= 0) & (t < duration)
    order = np.argsort(t[ok], kind="stable")
    return t[ok][order], u[ok][order], b[ok][order]


def write_chat_json(path: str | os.PathLike, truth: dict, vod_id: str, **kw) -> int:
    t, u, b = chat_frame(truth, **kw)
    comments = (
        _comment(i, ti, ui, bi, vod_id) for i, (ti, ui, bi) in enumerate(zip(t.tolist(), u.tolist(), b.tolist()))
    )
    return write_chat(path, comments, vod_id=vod_id, title=f"synthetic {vod_id}", length=truth["duration"])


def generate(
    out_dir: str | os.PathLike,
    seed: int,
    *,
    duration: float = 1200.0,
    n_moments: int = 5,
    n_spam: int = 2,
    n_loud: int = 2,
    audio: bool = True,
    chat: bool = True,
    base_rate: float = 0.8,
) -> dict:
    """Write `synth_{seed}.wav`, `synth_{seed}_chat.json` and `synth_{seed}_truth.json` into out_dir; return paths +
    truth."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vod = f"synth_{seed}"
    truth = plan(seed, duration, n_moments, n_spam, n_loud)
    truth["vod_id"] = vod
    paths = {"truth_json": out / f"{vod}_truth.json"}
    if audio:
        paths["wav"] = out / f"{vod}.wav"
        write_audio(paths["wav"], truth)
    if chat:
        paths["chat"] = out / f"{vod}_chat.json"
        truth["chat_messages"] = write_chat_json(paths["chat"], truth, vod, base_rate=base_rate)
    write_json(paths["truth_json"], truth)
    log.info("synthetic VOD %s: %.0f s, %d events -> %s", vod, duration, len(truth["events"]), out)
    return {"vod_id": vod, "truth": truth, **{k: str(v) for k, v in paths.items()}}
