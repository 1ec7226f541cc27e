"""What a reaction looks like in this chat, learned from the chat itself, as per-second evidence for the chat model.

Nothing here depends on one language: every series is a count of messages of some shape (all, short, echoed by
others, questions, shouting, each reaction kind of the cue table, weighted by the VOD's own burst vocabulary), and
every feature is that count relative to the VOD's own local level (a Poisson standard score over the rolling
median) or the share of messages of that shape above its local share, seen at several offsets after the second
being scored (chat reacts after the event).

- **echo**: a message whose folded text (lower case, runs of one character cut to two: `77777` -> `77`,
  `哈哈哈哈` -> `哈哈`, `LOOOOL` -> `lool`) was sent by someone else in the previous `ECHO_SECONDS`: a crowd saying
  the same short thing, unlike one chatter's spam (a chatter echoing themself does not count).
- **vocab**: each message weighted by the burst lift of its most bursty token in this VOD: how much more often the
  token is said while the message rate is above its local level than at other times (shrunk towards 1 for rare
  tokens). `7777`, `笑死`, `ㅋㅋ`, `KEKW` or a channel emote earn their weight from the chat they are in.
- **kinds** (the cue table, klipstream.highlights.cues): evidence added beside the learned series, never a gate.

In logs with user names each chatter counts once per `chat_window` slot in every series (the distinct-chatter
count). Everything is vectorised over messages and seconds; a 4-hour, 200,000-message chat takes about a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.ndimage import uniform_filter1d

from ..signals.robust import rolling_median_mad
from .cues import REACTIONS
from .params import ScoreParams
from .readers import ChatTable

ECHO_SECONDS = 10.0
WINDOW_SECONDS = 10  # the count window of every series
# Chat-time windows around the scored second t (chat time = VOD time + chat_model.MODEL_LAG): before the reaction,
# the reaction, after it; [start, end) s relative to t. Means over windows, not single offsets, keep the model's
# weights few and of one sign per window (single offsets are so correlated that their weights alternate).
WINDOWS = {"before": (-25, -10), "react": (-10, 10), "after": (10, 35)}
Z_RANGE = (-4.0, 8.0)  # standard scores are clipped: a light chat's bursts reach z 20+, beyond what any model saw
VOCAB_BURST_Z = 2.0  # a message is "in a burst" when the message rate there is this far above its local level
VOCAB_PRIOR = 20.0  # pseudo-messages that pull a rare token's lift towards 1
VOCAB_CAP = 4.0
VOCAB_TOKENS = 12  # tokens per message looked at
SHORT_TOKENS = 2
KIND_SERIES = (*REACTIONS, "clip_cue")
_RUNS = r"(.)\1{2,}"


def fold_runs(text: pd.Series) -> pd.Series:
    """Lower case, runs of three or more of one character cut to two."""
    return text.astype(str).str.lower().str.replace(_RUNS, r"\1\1", regex=True).str.strip()


def window_sum(per_second: np.ndarray, window: float) -> np.ndarray:
    """Sum over the centred `window` seconds around each second."""
    w = max(1, int(round(window)))
    x = np.asarray(per_second, dtype=float)
    return uniform_filter1d(x, size=w, mode="constant") * w if len(x) else x


def first_in_slot(users: np.ndarray, sec: np.ndarray, slot: float) -> np.ndarray:
    """True for each chatter's first message of every `slot`-second slot: the distinct-chatter count."""
    g = pd.DataFrame({"u": users, "b": sec // max(1, int(round(slot)))})
    return ~g.duplicated(["u", "b"]).to_numpy()


def echo_flags(keys: np.ndarray, users: np.ndarray, t: np.ndarray, named: bool) -> np.ndarray:
    """True where the same folded text was sent within the previous ECHO_SECONDS (by another chatter when named)."""
    codes, _ = pd.factorize(keys)
    order = np.lexsort((t, codes))
    c, ts = codes[order], t[order]
    same = np.r_[False, (c[1:] == c[:-1]) & (ts[1:] - ts[:-1] <= ECHO_SECONDS)]
    if named:
        u = users[order]
        same &= np.r_[False, u[1:] != u[:-1]]
    out = np.zeros(len(keys), dtype=bool)
    out[order] = same
    return out


def local_z(x: np.ndarray, live: np.ndarray, window: int) -> np.ndarray:
    """(x - rolling median) / sqrt(rolling median + 1) over the seconds when chat is alive (a Poisson score)."""
    base, _ = rolling_median_mad(np.where(live, x, np.nan), window, step=max(1, window // 60))
    base = np.nan_to_num(base)
    return (x - base) / np.sqrt(np.maximum(base, 0.0) + 1.0)


def local_share(part: np.ndarray, total: np.ndarray, live: np.ndarray, window: int) -> np.ndarray:
    share = np.divide(part, total, out=np.zeros(len(total)), where=total > 0)
    base, _ = rolling_median_mad(np.where(live, share, np.nan), window, step=max(1, window // 60))
    return share - np.nan_to_num(base)


def vocab_weights(folded: pd.Series, in_burst: np.ndarray) -> np.ndarray:
    """Per message, the burst lift of its most bursty token in this chat (1 = says nothing about bursts)."""
    toks = folded.str.split().str[:VOCAB_TOKENS].explode().dropna()
    if toks.empty:
        return np.ones(len(folded))
    pos = toks.index.to_numpy()
    codes, uniq = pd.factorize(toks.to_numpy())
    a = np.bincount(codes, weights=in_burst[pos], minlength=len(uniq))
    total = np.bincount(codes, minlength=len(uniq))
    p0 = float(in_burst.mean()) if len(in_burst) else 0.0
    if p0 <= 0.0:
        return np.ones(len(folded))
    lift = (a + VOCAB_PRIOR * p0) / (total + VOCAB_PRIOR) / p0
    best = pd.Series(lift[codes]).groupby(pos).max()
    w = np.ones(len(folded))
    w[best.index.to_numpy()] = best.to_numpy()
    return np.clip(w, 0.0, VOCAB_CAP)


def series(chat: ChatTable, n: int, live: np.ndarray, sp: ScoreParams) -> dict[str, np.ndarray]:
    """Per-second counts of each message shape (see the module docstring), chat time, length n."""
    msgs = chat.messages
    t = msgs["time"].to_numpy(dtype=float)
    sec = np.floor(t).astype(np.int64)
    ok = (sec >= 0) & (sec < n)
    msgs, t, sec = msgs.loc[ok].reset_index(drop=True), t[ok], sec[ok]
    text = msgs["message"].astype(str)
    users = msgs["user"].astype(str).to_numpy()
    named = chat.named
    count = first_in_slot(users, sec, sp.chat_window) if named else np.ones(len(msgs), dtype=bool)
    folded = fold_runs(text)
    kinds = msgs["kind"].to_numpy() if "kind" in msgs else np.full(len(msgs), "other")
    letters = text.str.count(r"[A-Za-z]").to_numpy()
    upper = text.str.count(r"[A-Z]").to_numpy()
    shapes = {
        "all": np.ones(len(msgs), dtype=bool),
        "short": text.str.split().str.len().fillna(0).to_numpy() <= SHORT_TOKENS,
        "echo": echo_flags(folded.to_numpy(), users, t, named),
        "question": text.str.contains("?", regex=False).to_numpy(),
        "caps": (letters >= 3) & (upper >= 0.7 * np.maximum(letters, 1)),
        "non_event": kinds == "non_event",
        **{f"kind_{k}": kinds == k for k in KIND_SERIES},
    }
    out = {k: np.bincount(sec[v & count], minlength=n)[:n].astype(float) for k, v in shapes.items()}
    window = max(3, int(round(sp.baseline_seconds)))
    z_all = local_z(window_sum(out["all"], 15), live, window)
    in_burst = z_all[sec] > VOCAB_BURST_Z
    out["vocab"] = np.bincount(sec, weights=vocab_weights(folded, in_burst) * count, minlength=n)[:n]
    return out


def window_mean(v: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """out[t] = mean of v[t + lo : t + hi] (zeros outside the chat)."""
    n = len(v)
    c = np.r_[0.0, np.cumsum(v)]
    a = np.clip(np.arange(n) + lo, 0, n)
    b = np.clip(np.arange(n) + hi, 0, n)
    return (c[b] - c[a]) / max(1, hi - lo)


def features(
    chat: ChatTable, n: int, live: np.ndarray, sp: ScoreParams, burst_z: np.ndarray | None = None
) -> pd.DataFrame:
    """The chat model's inputs per second of chat time: for every series its local z (clipped to Z_RANGE) and (but
    `all`) its local share, plus the 30 s z of all messages, the rise over the previous 10 s and the burst score of
    the cue-weighted count (`burst_z`, highlights.chat), each averaged over every window of WINDOWS."""
    window = max(3, int(round(sp.baseline_seconds)))
    s = series(chat, n, live, sp)
    x_all = window_sum(s["all"], WINDOW_SECONDS)
    cols: dict[str, np.ndarray] = {}
    for name, v in s.items():
        x = window_sum(v, WINDOW_SECONDS)
        cols[f"z_{name}"] = local_z(x, live, window)
        if name != "all":
            cols[f"share_{name}"] = local_share(x, x_all, live, window)
    cols["z_all30"] = local_z(window_sum(s["all"], 30), live, window)
    base, _ = rolling_median_mad(np.where(live, x_all, np.nan), window, step=max(1, window // 60))
    past = np.r_[np.zeros(WINDOW_SECONDS), x_all[:-WINDOW_SECONDS]] if n > WINDOW_SECONDS else np.zeros(n)
    cols["z_rise"] = (x_all - past) / np.sqrt(np.maximum(np.nan_to_num(base), 0.0) + 1.0)
    cols["z_burst"] = np.zeros(n) if burst_z is None else np.asarray(burst_z, dtype=float)[:n]
    out = {}
    for name, v in cols.items():
        v = np.clip(v, *Z_RANGE) if name.startswith("z_") else v
        for w, (lo, hi) in WINDOWS.items():
            out[f"{name}@{w}"] = window_mean(v, lo, hi)
    return pd.DataFrame(out)
