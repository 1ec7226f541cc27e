"""The chat score: how far above its own local rate the chat reacts, second by second (chat time).

1. Each message gets a weight from what it says (klipstream.highlights.cues): reactions 1, explicit clip cues 3,
   other talk 0.05, non-events (greetings, goodbyes, notifications, giveaways, links, copypasta) 0. In logs with user
   names each chatter counts once per `chat_window`-second slot (their heaviest message), so a few people pasting cannot
   make a burst: this is the distinct-chatter count, weighted by meaning.
2. x(t) = the weights in the `chat_window` s centred on t.
3. The local baseline b(t) is the rolling median of x over `baseline_seconds`, over the seconds when chat is
   alive only (gaps and the silence before the first message are left out, so a chat that starts late is not a
   burst against nothing). burst_z = (x - b) / sqrt(b + 1): a Poisson standard score, so three messages in a
   quiet chat are not a burst and a 50,000-viewer chat is judged on its own scale.
4. Times the command factor 1 - (share of !commands among all messages in the `command_window_seconds` around t):
   a chat busy entering a giveaway is not reacting to the stream.
5. No burst at the edges: within the edge (min(edge_seconds, edge_max_share x span)) after the chat starts or
   resumes after a gap, and before it stops or pauses, burst_z is 0.
6. score = z_clip x tanh(burst_z / z_clip): the burst soft-capped on the audio's scale, monotone.
7. With the learned chat model (ScoreParams.chat_model: esports, opt-in; klipstream.highlights.chat_model), the score
   is instead the model's logit over the reaction features of klipstream.highlights.reactions (what a reaction looks
   like in this chat, learned from the chat itself), less the VOD's median logit, smoothed over
   `model_smooth_seconds`, soft-capped the same way; 0 at the edges and in gaps. burst_z stays the explanation's
   "sigma above its local rate".

Without a per-message table (only the timeline), x counts messages (no content, no chatters).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d

from ..signals.robust import rolling_median_mad
from . import chat_model, reactions
from .cues import kind_weights, message_kinds
from .explain import fold
from .params import ScoreParams
from .reactions import window_sum
from .readers import ChatTable

GAP_MEDIAN_FACTOR = 10.0  # a gap is also at least this many times the chat's median time between messages


def live_segments(times: np.ndarray, n: int, gap_seconds: float) -> list[tuple[int, int]]:
    """[start, end) seconds of each stretch of chat without a gap (see ScoreParams.chat_gap_seconds)."""
    t = np.sort(np.asarray(times, dtype=float))
    t = t[(t >= 0) & (t < n)]
    if len(t) == 0:
        return []
    d = np.diff(t)
    med = float(np.median(d)) if len(d) else 0.0
    gap = max(gap_seconds, GAP_MEDIAN_FACTOR * med)
    cut = np.flatnonzero(d >= gap)
    starts = np.concatenate([[t[0]], t[cut + 1]])
    ends = np.concatenate([t[cut], [t[-1]]])
    return [(int(np.floor(s)), int(np.floor(e)) + 1) for s, e in zip(starts, ends)]


def annotate(chat: ChatTable) -> ChatTable:
    """The same table with each message's `kind` (cues.message_kinds) and folded text `key` (explain.fold), computed
    once for scoring and for every moment's explanation."""
    msgs = chat.messages
    kinds = message_kinds(msgs["message"], msgs["time"].to_numpy(dtype=float))
    return ChatTable(msgs.assign(kind=kinds, key=fold(msgs["message"]).to_numpy()), chat.command_times, chat.all_times)


def weighted_counts(chat: ChatTable, n: int, sp: ScoreParams) -> tuple[np.ndarray, np.ndarray]:
    """Per-second sum of message weights (each named chatter once per chat_window) and each message's kind."""
    msgs = chat.messages
    t = msgs["time"].to_numpy(dtype=float)
    kinds = msgs["kind"].to_numpy() if "kind" in msgs else message_kinds(msgs["message"], t)
    w = kind_weights(
        kinds, sp.chat_weight_reaction, sp.chat_weight_other, sp.chat_weight_clip_cue, sp.chat_weight_non_event
    )
    sec = np.floor(t).astype(np.int64)
    if sp.chat_weight_learned > 0 and len(msgs):
        w = np.where(kinds == "other", np.maximum(w, sp.chat_weight_learned * learned_reaction(msgs, sec, n, sp)), w)
    if chat.named:
        g = pd.DataFrame({"u": msgs["user"].to_numpy(), "b": sec // max(1, int(round(sp.chat_window))), "w": w})
        heaviest = g.groupby(["u", "b"], sort=False)["w"].transform("max").to_numpy()
        w = np.where(~g.duplicated(["u", "b"]).to_numpy(), heaviest, 0.0)
    ok = (sec >= 0) & (sec < n)
    return np.bincount(sec[ok], weights=w[ok], minlength=n)[:n], kinds


def learned_reaction(msgs: pd.DataFrame, sec: np.ndarray, n: int, sp: ScoreParams) -> np.ndarray:
    """Per message, 0-1: how much its most bursty token is this chat's own reaction (reactions.vocab_weights: a
    lift of 2, said twice as often in message-rate bursts as elsewhere, or more, is 1)."""
    m = max(n, int(sec.max()) + 1 if len(sec) else 0)
    per = np.bincount(np.clip(sec, 0, None), minlength=m).astype(float)
    window = max(3, int(round(sp.baseline_seconds)))
    z = reactions.local_z(window_sum(per, sp.chat_window), np.ones(m, dtype=bool), window)
    in_burst = z[np.clip(sec, 0, m - 1)] > reactions.VOCAB_BURST_Z
    lift = reactions.vocab_weights(reactions.fold_runs(msgs["message"]).reset_index(drop=True), in_burst)
    return np.clip(lift - 1.0, 0.0, 1.0)


def chat_score(timeline: pd.DataFrame, chat: ChatTable | None, sp: ScoreParams) -> pd.DataFrame:
    """Per-second chat score in chat time with its parts: weighted (x), baseline, burst_z, command_factor, live (chat
    is alive) and valid (alive and not at an edge: where chat may give a candidate)."""
    n = len(timeline)
    out = pd.DataFrame({"time": np.arange(n, dtype=float)})
    if n == 0:
        out["score"] = []
        return out
    have_msgs = chat is not None and not chat.messages.empty
    if have_msgs:
        per, _ = weighted_counts(chat, n, sp)
        alive = chat.all_times if len(chat.all_times) else chat.messages["time"].to_numpy(dtype=float)
    else:
        per = timeline["messages"].to_numpy(dtype=float)
        alive = np.repeat(np.arange(n, dtype=float), np.clip(per, 0, 1).astype(np.int64))
    x = window_sum(per, sp.chat_window)
    segments = live_segments(alive, n, sp.chat_gap_seconds)
    live = np.zeros(n, dtype=bool)
    for s, e in segments:
        live[s:e] = True
    window = max(3, int(round(sp.baseline_seconds)))
    base, _ = rolling_median_mad(np.where(live, x, np.nan), window, step=max(1, window // 60))
    base = np.nan_to_num(base, nan=0.0)
    z = (x - base) / np.sqrt(np.maximum(base, 0.0) + 1.0)
    factor = np.ones(n)
    if have_msgs and len(chat.command_times):
        cmd = np.bincount(np.clip(np.floor(chat.command_times).astype(np.int64), 0, n - 1), minlength=n)[:n]
        msg = np.bincount(
            np.clip(np.floor(chat.messages["time"].to_numpy(dtype=float)).astype(np.int64), 0, n - 1), minlength=n
        )[:n]
        c, m = window_sum(cmd, sp.command_window_seconds), window_sum(msg, sp.command_window_seconds)
        factor = 1.0 - np.divide(c, c + m, out=np.zeros(n), where=(c + m) > 0)
    z = z * factor
    span = (segments[-1][1] - segments[0][0]) if segments else 0
    edge = int(round(min(sp.edge_seconds, sp.edge_max_share * span)))
    valid = live.copy()
    for s, e in segments:
        valid[s : min(e, s + edge)] = False
        valid[max(s, e - edge) : e] = False
    z[~valid] = 0.0
    out["weighted"], out["baseline"], out["command_factor"] = x, base, factor
    out["live"], out["valid"] = live, valid
    out["burst_z"] = z
    out["score"] = sp.z_clip * np.tanh(z / sp.z_clip)
    model = chat_model.resolve(sp.chat_model)
    if have_msgs and model is not None and live.any():
        out["score"] = model_score(chat, n, live, valid, factor, z, model, sp)
    return out


def model_score(chat: ChatTable, n: int, live, valid, factor, burst_z, model, sp: ScoreParams) -> np.ndarray:
    """The learned chat score (see the module docstring, step 7); may be negative below the VOD's typical level."""
    raw = chat_model.logit(model, reactions.features(chat, n, live, sp, burst_z))
    raw = uniform_filter1d(raw, size=max(1, int(round(sp.model_smooth_seconds))), mode="nearest")
    level = float(np.median(raw[live]))
    s = (raw - level) * factor
    s[~valid] = 0.0
    return sp.z_clip * np.tanh(s / sp.z_clip)
