"""Score chat messages -> chat_sentiment.csv (one row per message; contract in docs/contracts.md).

Everything is vectorised over the whole frame: filters by rule, lexicon hit counts (sparse matrix products),
the trained text models (hashing features + linear models). The models see the text with lexicon emotes
masked, as in training. Per message, with h lexicon hits (emotes, emoji, slang) and a = h / (h + 1), or a = 1
when no word is left once emotes are masked (the models have nothing to read; with h = 0 too the message is neutral):
  emotion         = a * lexicon emotion + (1 - a) * model probability
  neutral         = a * (1 - max lexicon emotion) + (1 - a) * model P(neutral)
  sentiment_score = a * lexicon valence + (1 - a) * (P(positive) - P(negative))
`emote_count` = max(Twitch emote fragments in `emotes`, lexicon emote tokens in the text) - third-party
(BTTV/FFZ/7TV) emotes are plain text in chat logs, so the lexicon is what finds them.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import KlipError
from ..io import write_csv
from . import lexicon as lx
from .chat_model import ChatModels
from .filters import filter_messages
from .offline import emote_pattern, lexicon_counts, lexicon_scores

log = logging.getLogger(__name__)

COLUMNS = ["time", "comment_id", "user", "message", "emotes", "emote_count", "emoji_count", "is_filtered",
           "filter_reason", "sentiment_score", "excitement", "funny", "happiness", "anger", "sadness", "neutral"]


def score_chat_frame(frame: pd.DataFrame, models: ChatModels | None = None, extra_bots=()) -> pd.DataFrame:
    """Score a chat frame (`comment_id,time,user,message,emotes`) -> the chat_sentiment columns."""
    missing = {"comment_id", "time", "user", "message"} - set(frame.columns)
    if missing:
        raise KlipError(f"chat frame lacks columns {', '.join(sorted(missing))}")
    if frame.empty:  # a VOD without chat messages still gets its (empty) table
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("comment_id", "user", "message", "emotes",
                                                                 "filter_reason") else float) for c in COLUMNS})
    models = models or ChatModels.load()
    frame = frame.reset_index(drop=True)
    msg = frame["message"].fillna("").astype(str)
    emotes = frame["emotes"].fillna("").astype(str) if "emotes" in frame else pd.Series("", index=frame.index)
    flt = filter_messages(frame, extra_bots)
    counts = lexicon_counts(msg)
    lex = lexicon_scores(msg, counts)
    emote_hits = np.asarray(counts["emotes"].sum(axis=1)).ravel().astype(int)
    model_text = msg.copy()
    has_emote = emote_hits > 0  # mask only where there is something to mask (the regex is the costly part)
    if has_emote.any():
        model_text[has_emote] = msg[has_emote].str.replace(emote_pattern(), " ", regex=True)
    n_fragments = emotes.str.count(r"\S+").to_numpy(dtype=int)
    words_left = np.maximum(model_text.str.count(r"\w+").to_numpy(dtype=int) - np.maximum(n_fragments - emote_hits, 0), 0)
    probs = models.predict(model_text)
    h = lex["hits"].to_numpy()
    a = np.where(words_left > 0, h / (h + 1.0), 1.0)
    out = pd.DataFrame({
        "time": frame["time"].astype(float),
        "comment_id": frame["comment_id"].astype(str),
        "user": frame["user"].fillna("").astype(str),
        "message": msg,
        "emotes": emotes,
        "emote_count": np.maximum(n_fragments, emote_hits),
        "emoji_count": msg.str.count(lx.EMOJI_RE).to_numpy(dtype=int),
        "is_filtered": flt["is_filtered"].to_numpy(),
        "filter_reason": flt["filter_reason"].to_numpy(),
        "sentiment_score": np.clip(a * lex["valence"].to_numpy() + (1 - a) * probs["sentiment"].to_numpy(), -1, 1),
    })
    for name in lx.EMOTIONS:
        out[name] = np.clip(a * lex[name].to_numpy() + (1 - a) * probs[name].to_numpy(), 0, 1)
    lex_max = lex[list(lx.EMOTIONS)].max(axis=1).to_numpy()
    out["neutral"] = np.clip(a * (1 - lex_max) + (1 - a) * probs["neutral"].to_numpy(), 0, 1)
    return out[COLUMNS]


def score_chat(chat_json: str | Path, out_csv: str | Path, models_dir: str | Path | None = None,
               extra_bots=(), models=None) -> pd.DataFrame:
    """Read `chat_json` with klipstream.chat.io.read_chat_frame, score every message, write `out_csv` atomically.

    The models come from `models_dir` (default: the repo's models/), or from `models`: the list of `*.skops`
    files a Snakemake rule declares as input (their folder is used)."""
    from ..chat.io import read_chat_frame

    t0 = time.monotonic()
    if models is not None and models_dir is None:
        files = [Path(models)] if isinstance(models, (str, Path)) else [Path(p) for p in models]
        models_dir = files[0] if files and files[0].is_dir() else (files[0].parent if files else None)
        if models_dir is None:
            raise KlipError("no chat model files given (models/*.skops); rebuild with `python -m klipstream.emotions.train`")
    models = ChatModels.load(models_dir)
    frame = read_chat_frame(chat_json)
    log.info("chat emotions: %d messages from %s (models %s)", len(frame), chat_json, models.source)
    out = score_chat_frame(frame, models, extra_bots)
    write_csv(out_csv, out.round(6), float_format=None)  # rounded: repr is faster than %g and as short
    log.info("chat emotions: wrote %s (%d messages, %d filtered) in %.1f s", out_csv, len(out),
             int(out["is_filtered"].sum()), time.monotonic() - t0)
    return out
