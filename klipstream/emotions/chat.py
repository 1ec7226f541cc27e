"""Score chat messages -> chat_sentiment.csv (one row per message; contract in docs/contracts.md).

Everything is vectorised over the whole frame: filters by rule, lexicon hit counts (sparse matrix products), VADER
once per distinct text. Per message (formulas and measurements in docs/emotions.md):
  - bot accounts, `!commands`, blank lines and lines that are only a Twitch system notice or bot announcement
    (filters.strip_notices) are neutral: sentiment_score 0, every emotion 0, neutral 1;
  - the rest is read on its text with any leading notice removed. With h lexicon hits (emotes, channel-emote
    suffixes, emoji, slang) and a = h / (h + 1), v = VADER compound (0 for questions unless BLEND.question_vader)
    and m = the trained sentiment model's P(positive) - P(negative) minus its value for an empty text:
      sentiment_score = a * lexicon valence + (1 - a) * (w_v * v + w_m * m)
      emotion         = 1 - (1 - lexicon)(1 - VADER part)(1 - exclamation part)(1 - (1 - a) w_m model P(emotion))
                        VADER part: happiness 0.5 max(w_v v, 0), anger = sadness = 0.25 max(-w_v v, 0);
                        exclamation part (excitement only): min(0.15 * number of "!", 0.45)
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import KlipError
from ..io import write_csv
from . import lexicon as lx
from .chat_model import ChatModels
from .emotes import emote_tokens
from .filters import filter_messages, strip_notices
from .offline import emote_pattern, lexicon_counts, lexicon_scores, vader_compound

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
    "excitement",
    "funny",
    "happiness",
    "anger",
    "sadness",
    "neutral",
]
EMOTION_COLUMNS = list(lx.EMOTIONS) + ["neutral"]


@dataclass(frozen=True)
class Blend:
    """The few numbers of the chat scorer chosen by measurement (bench/chat_blend_tune.py, docs/emotions.md)."""

    vader_weight: float = 0.1  # w_v: VADER's share where the lexicon is silent (0.1: only strong VADER scores count)
    question_vader: bool = False  # read questions with VADER too (they are neutral unless the lexicon says otherwise)
    emotion_floor: float = 0.5  # theta: neutral = clip(1 - max emotion / theta, 0, 1)
    model_weight: float = 0.0  # w_m: the trained text models' share (measured: no gain at any weight)


BLEND = Blend()


def score_chat_frame(
    frame: pd.DataFrame, models: ChatModels | None = None, extra_bots=(), blend: Blend = BLEND
) -> pd.DataFrame:
    """Score a chat frame (`comment_id,time,user,message,emotes`) -> the chat_sentiment columns.

    `models` is only used (and loaded when not given) when `blend.model_weight` > 0."""
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
    scores = text_scores(pd.Series(uniques, dtype=object), blend, models).iloc[codes].reset_index(drop=True)
    e_codes, e_uniques = pd.factorize(emotes)
    pair_codes, pairs = pd.factorize(codes.astype(np.int64) * len(e_uniques) + e_codes)
    first = np.unique(pair_codes, return_index=True)[1]  # one row per distinct (message, fragments) pair
    tokens = emote_tokens(msg.iloc[first], emotes.iloc[first])
    n_emotes = np.bincount(tokens.index.to_numpy(dtype=np.int64), minlength=len(pairs))
    quiet = flt["is_filtered"].to_numpy(dtype=bool) | scores.pop("quiet").to_numpy(dtype=bool)
    out = pd.DataFrame(
        {
            "time": frame["time"].astype(float),
            "comment_id": frame["comment_id"].astype(str),
            "user": frame["user"].fillna("").astype(str),
            "message": msg,
            "emotes": emotes,
            "emote_count": n_emotes[pair_codes],
            "emoji_count": scores.pop("emoji_count").to_numpy(dtype=int),
            "is_filtered": flt["is_filtered"].to_numpy(),
            "filter_reason": flt["filter_reason"].to_numpy(),
            "sentiment_score": np.where(quiet, 0.0, scores["sentiment_score"].to_numpy()),
        }
    )
    for name in EMOTION_COLUMNS:
        out[name] = np.where(quiet, 1.0 if name == "neutral" else 0.0, scores[name].to_numpy())
    return out[COLUMNS]


def text_scores(messages: pd.Series, blend: Blend = BLEND, models: ChatModels | None = None) -> pd.DataFrame:
    """The scores of each message text by the formulas in the module docstring (no filtering by author):
    sentiment_score, the six emotion columns, `quiet` (nothing left once notices are removed) and emoji_count."""
    text = strip_notices(messages)
    counts = lexicon_counts(text)
    lex = lexicon_scores(text, counts)
    h = lex["hits"].to_numpy()
    a = h / (h + 1.0)
    w_v = float(blend.vader_weight)
    v = _vader(text) if w_v else np.zeros(len(text))
    if not blend.question_vader:
        v = np.where(text.str.contains("?", regex=False).to_numpy(), 0.0, v)
    text_part = w_v * v
    model_part = None
    if blend.model_weight > 0:
        model_part = _model_probs(text, counts, models)
        text_part = text_part + blend.model_weight * model_part["sentiment"].to_numpy()
    out = pd.DataFrame(
        {"sentiment_score": np.clip(a * lex["valence"].to_numpy() + (1 - a) * text_part, -1, 1)}, index=messages.index
    )
    extra = {
        "happiness": 0.5 * np.maximum(w_v * v, 0),
        "anger": 0.25 * np.maximum(-w_v * v, 0),
        "sadness": 0.25 * np.maximum(-w_v * v, 0),
        "excitement": np.minimum(0.15 * text.str.count("!").to_numpy(dtype=float), 0.45),
    }
    for name in lx.EMOTIONS:
        keep = (1.0 - lex[name].to_numpy()) * (1.0 - extra.get(name, 0.0))
        if model_part is not None:
            keep = keep * (1.0 - (1 - a) * blend.model_weight * model_part[name].to_numpy())
        out[name] = np.clip(1.0 - keep, 0, 1)
    strongest = out[list(lx.EMOTIONS)].max(axis=1).to_numpy()
    out["neutral"] = np.clip(1.0 - strongest / float(blend.emotion_floor), 0, 1)
    out["quiet"] = (text.str.strip() == "").to_numpy()
    out["emoji_count"] = messages.fillna("").astype(str).str.count(lx.EMOJI_RE).to_numpy(dtype=int)
    return out


def _vader(text: pd.Series) -> np.ndarray:
    """VADER compound of the texts that have a letter (VADER reads words and emoticons), 0 for the rest."""
    out = np.zeros(len(text))
    rows = np.flatnonzero(text.str.contains(r"[A-Za-z]", regex=True).to_numpy())
    if len(rows):
        out[rows] = vader_compound(text.iloc[rows])
    return out


def _model_probs(text: pd.Series, counts: dict, models: ChatModels | None) -> pd.DataFrame:
    """The trained models' probabilities on the text with emotes masked (as in training), sentiment centred so
    that a text the models cannot read scores 0; rows with no word left get zeros."""
    models = models or ChatModels.load()
    has_emote = (np.asarray(counts["emotes"].sum(axis=1)).ravel() + counts["channel_emotes"]) > 0
    masked = text.copy()
    if has_emote.any():
        masked[has_emote] = text[has_emote].str.replace(emote_pattern(), " ", regex=True)
    probs = models.predict(masked)
    probs["sentiment"] -= float(models.predict(pd.Series([""]))["sentiment"].iloc[0])
    words = masked.str.contains(r"\w", regex=True).to_numpy()
    probs.loc[~words, :] = 0.0
    return probs


def score_chat(
    chat_json: str | Path, out_csv: str | Path, models_dir: str | Path | None = None, extra_bots=(), models=None
) -> pd.DataFrame:
    """Read `chat_json` with klipstream.chat.io.read_chat_frame, score every message, write `out_csv` atomically.

    When BLEND.model_weight > 0 the models come from `models_dir` (default: the repo's models/), or from `models`:
    the list of `*.skops` files a Snakemake rule declares as input (their folder is used)."""
    from ..chat.io import read_chat_frame

    t0 = time.monotonic()
    frame = read_chat_frame(chat_json)
    if BLEND.model_weight <= 0:
        log.info(
            "chat emotions: %d messages from %s (lexicon + VADER; the trained models are not used: measured "
            "weight 0, docs/emotions.md)",
            len(frame),
            chat_json,
        )
        out = score_chat_frame(frame, None, extra_bots)
        return _write(out, out_csv, t0)
    if models is not None and models_dir is None:
        files = [Path(models)] if isinstance(models, (str, Path)) else [Path(p) for p in models]
        models_dir = files[0] if files and files[0].is_dir() else (files[0].parent if files else None)
        if models_dir is None:
            raise KlipError(
                "no chat model files given (models/*.skops); rebuild with `python -m klipstream.emotions.train`"
            )
    models = ChatModels.load(models_dir)
    log.info("chat emotions: %d messages from %s (models %s)", len(frame), chat_json, models.source)
    return _write(score_chat_frame(frame, models, extra_bots), out_csv, t0)


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
