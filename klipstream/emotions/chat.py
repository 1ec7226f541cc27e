"""Score chat messages -> chat_sentiment.csv (one row per message; contract in docs/contracts.md).

Everything is vectorised over the whole frame: filters by rule, lexicon hit counts (sparse matrix products), VADER
once per distinct text. Per message (formulas and measurements in docs/emotions.md):
  - bot accounts, `!commands`, blank lines and lines that are only a Twitch system notice or bot announcement
    (filters.strip_notices) are neutral: sentiment_score 0, every emotion 0, neutral 1;
  - the rest is read on its text with any leading notice removed, by offline.score_texts with BLEND (formulas
    there and in docs/emotions.md): h lexicon hits (emotes, channel-emote suffixes, emoji, slang), a = h / (h + 1),
    v = VADER compound (0 for questions unless BLEND.question_vader, and for texts without a letter),
      sentiment_score = a * lexicon valence + (1 - a) * (w_v * v + w_m * model)
      neutral         = clip(1 - max emotion / theta, 0, 1)   (an emotion beats neutral once it exceeds theta / (1 +
      theta))
    with w_v, w_m, theta and question_vader in BLEND, chosen on the labelled chat dev set by bench/chat_blend_tune.py.
    Measured there: the trained models add nothing at any weight, so w_m = 0 and they are not loaded.
`emote_count` counts every emote token: the message's Twitch emote fragments, lexicon emotes (Pog, KEKW, OMEGALUL...)
and channel-emote-shaped tokens (emotes.py) - third-party emotes are plain text in chat logs.
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
from .emotes import emote_tokens
from .filters import filter_messages, strip_notices
from .offline import Blend, score_texts

log = logging.getLogger(__name__)

COLUMNS = [
    "time",
    "comment_id",
    "user",
    "message",
    "emotes",
    "emote_count",
    "emoji_count",
    "is_filtered",
    "filter_reason",
    "sentiment_score",
    *lx.EMOTIONS,
    "neutral",
]
EMOTION_COLUMNS = list(lx.EMOTIONS) + ["neutral"]


BLEND = Blend()  # the chat scorer's measured blend (offline.Blend's defaults)


def score_chat_frame(
    frame: pd.DataFrame, models: ChatModels | None = None, extra_bots=(), blend: Blend | None = None
) -> pd.DataFrame:
    """Score a chat frame (`comment_id,time,user,message,emotes`) -> the chat_sentiment columns, with `blend`
    (default BLEND). `models` is only used (and loaded when not given) when the blend's model_weight > 0."""
    blend = BLEND if blend is None else blend
    missing = {"comment_id", "time", "user", "message"} - set(frame.columns)
    if missing:
        raise KlipError(f"chat frame lacks columns {', '.join(sorted(missing))}")
    if frame.empty:  # a VOD without chat messages still gets its (empty) table
        return pd.DataFrame(
            {
                c: pd.Series(
                    dtype=object if c in ("comment_id", "user", "message", "emotes", "filter_reason") else float
                )
                for c in COLUMNS
            }
        )
    frame = frame.reset_index(drop=True)
    msg = frame["message"].fillna("").astype(str)
    emotes = frame["emotes"].fillna("").astype(str) if "emotes" in frame else pd.Series("", index=frame.index)
    flt = filter_messages(frame, extra_bots)
    # chat repeats itself (emote spam, copypasta): score each distinct text once
    codes, uniques = pd.factorize(msg)
    distinct = pd.Series(uniques, dtype=object)
    text = strip_notices(distinct)
    scores = score_texts(text, blend=blend, models=models).iloc[codes].reset_index(drop=True)
    emoji = distinct.str.count(lx.EMOJI_RE).to_numpy(dtype=int)[codes]
    e_codes, e_uniques = pd.factorize(emotes)
    pair_codes, pairs = pd.factorize(codes.astype(np.int64) * len(e_uniques) + e_codes)
    first = np.unique(pair_codes, return_index=True)[1]  # one row per distinct (message, fragments) pair
    tokens = emote_tokens(msg.iloc[first], emotes.iloc[first])
    n_emotes = np.bincount(tokens.index.to_numpy(dtype=np.int64), minlength=len(pairs))
    # nothing left once notices are removed: as neutral as a filtered line
    quiet = flt["is_filtered"].to_numpy(dtype=bool) | (text.str.strip() == "").to_numpy()[codes]
    out = pd.DataFrame(
        {
            "time": frame["time"].astype(float),
            "comment_id": frame["comment_id"].astype(str),
            "user": frame["user"].fillna("").astype(str),
            "message": msg,
            "emotes": emotes,
            "emote_count": n_emotes[pair_codes],
            "emoji_count": emoji,
            "is_filtered": flt["is_filtered"].to_numpy(),
            "filter_reason": flt["filter_reason"].to_numpy(),
            "sentiment_score": np.where(quiet, 0.0, scores["sentiment_score"].to_numpy()),
        }
    )
    for name in EMOTION_COLUMNS:
        out[name] = np.where(quiet, 1.0 if name == "neutral" else 0.0, scores[name].to_numpy())
    return out[COLUMNS]


def score_chat(
    chat_json: str | Path, out_csv: str | Path, models_dir: str | Path | None = None, extra_bots=(), models=None
) -> pd.DataFrame:
    """Read `chat_json` with klipstream.chat.io.read_chat_frame, score every message with BLEND, write `out_csv`
    atomically. The trained models are loaded only when BLEND.model_weight > 0 (shipped: 0, so `models_dir` and
    `models` are then unused): from `models_dir` (default: the repo's models/), or from the folder of `models`, the
    list of `*.skops` files a Snakemake rule would declare as input."""
    from ..chat.io import read_chat_frame

    t0 = time.monotonic()
    frame = read_chat_frame(chat_json)
    loaded = _load_models(models_dir, models) if BLEND.model_weight > 0 else None
    if loaded is None:
        log.info(
            "chat emotions: %d messages from %s (lexicon + VADER; the trained models are not used: measured "
            "weight 0, docs/emotions.md)",
            len(frame),
            chat_json,
        )
    else:
        log.info("chat emotions: %d messages from %s (models %s)", len(frame), chat_json, loaded.source)
    return _write(score_chat_frame(frame, loaded, extra_bots, BLEND), out_csv, t0)


def _load_models(models_dir, files) -> ChatModels:
    """The trained models from `models_dir`, else from the folder of `files` (a folder or `*.skops` paths), else
    from the repo's models/."""
    if files is not None and models_dir is None:
        files = [Path(files)] if isinstance(files, (str, Path)) else [Path(p) for p in files]
        if not files:
            raise KlipError(
                "no chat model files given (models/*.skops); rebuild with `python -m klipstream.emotions.train`"
            )
        models_dir = files[0] if files[0].is_dir() else files[0].parent
    return ChatModels.load(models_dir)


def _write(out: pd.DataFrame, out_csv, t0: float) -> pd.DataFrame:
    write_csv(out_csv, out.round(6), float_format=None)  # rounded: repr is faster than %g and as short
    log.info(
        "chat emotions: wrote %s (%d messages, %d filtered) in %.1f s",
        out_csv,
        len(out),
        int(out["is_filtered"].sum()),
        time.monotonic() - t0,
    )
    return out
