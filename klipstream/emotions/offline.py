"""Deterministic offline scorer: VADER plus our Twitch lexicon (emotes, emoji, slang), optionally the trained chat
models; one function (score_texts) for speech windows and chat messages, which differ only in their Blend.

Lexicon matching is vectorised (sparse token counts times a weight matrix), so it scores chat at scale;
VADER (a Python loop inside vaderSentiment) runs once per distinct text.

For a text with lexicon hit counts c_t and weights w_t, VADER compound v and the Blend's w_v, w_m, theta:
  lexicon emotion e      = 1 - exp(-sum_t c_t * w_t[e])        (saturates: one KEKW -> 0.63, two -> 0.86)
  lexicon valence        = sum_t c_t * w_t[valence] / h,  h = sum_t c_t (number of hits)
  a (lexicon weight)     = h / (h + 1)
  m                      = the trained sentiment model's P(positive) - P(negative) minus its value for an empty text
  sentiment_score        = a * lexicon valence + (1 - a) * (w_v * v + w_m * m)
  VADER emotions         = happiness 0.5*max(w_v v, 0); anger, sadness 0.25*max(-w_v v, 0) each
  exclamation excitement = min(0.15 * number of '!', 0.45)
  emotion                = 1 - (1 - lexicon)(1 - VADER part)(1 - exclamation part)(1 - (1 - a) w_m model P(emotion))
  neutral                = (1 - max emotion) * (1 - |sentiment_score|); with theta clip(1 - max emotion / theta, 0, 1)
PLAIN (speech, and the `offline` scorer of the chat dev set) is w_v = 1 on every text, w_m = 0, no theta; the chat
scorer's blend (klipstream.emotions.chat.BLEND) is the Blend defaults, chosen on the chat dev set.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import sparse

from . import lexicon as lx
from .emotes import CHANNEL_EMOTE_RE

MODEL_NAME = f"offline-lexicon-{lx.LEXICON_VERSION}"
SCORE_COLUMNS = ("sentiment_score",) + lx.EMOTIONS + ("neutral",)

_SQUEEZE = re.compile(r"(\w)\1{2,}")
_CHANNEL_TOKEN = r"(?<!\S)" + CHANNEL_EMOTE_RE + r"(?!\S)"
_CHANNEL_SUFFIX = re.compile(r"^[a-z][a-z0-9]*([A-Z][A-Za-z0-9]*)")


@dataclass(frozen=True)
class Blend:
    """How score_texts mixes lexicon, VADER and the trained models. The defaults are the chat scorer's, chosen by
    measurement on the labelled chat dev set (bench/chat_blend_tune.py, docs/emotions.md)."""

    vader_weight: float = 0.1  # w_v: VADER's share where the lexicon is silent (0.1: only strong VADER scores count)
    question_vader: bool = False  # read questions with VADER too (they are neutral unless the lexicon says otherwise)
    emotion_floor: float | None = 0.5  # theta: neutral = clip(1 - max emotion / theta, 0, 1); None: see the docstring
    model_weight: float = 0.0  # w_m: the trained text models' share (measured: no gain at any weight)
    vader_symbols: bool = False  # read texts without a letter with VADER too (<3, :), emoji); else they get v = 0


PLAIN = Blend(vader_weight=1.0, question_vader=True, emotion_floor=None, vader_symbols=True)


def squeeze(word: str) -> str:
    """Lower-case, runs of 3+ equal letters to two ("LOOOOL" -> "lool", "noooo" -> "noo", "no" stays "no");
    applied to slang keys and texts alike."""
    return _SQUEEZE.sub(r"\1\1", word.lower())


@functools.lru_cache(maxsize=1)
def _matchers():
    from sklearn.feature_extraction.text import CountVectorizer

    emote_vocab = sorted(lx.EMOTES)
    emote_vec = CountVectorizer(vocabulary=emote_vocab, lowercase=False, token_pattern=r"\S+")
    slang: dict[str, tuple[float, ...]] = {}
    for key, weights in lx.SLANG.items():
        slang.setdefault(squeeze(key), weights)
    slang_vocab = sorted(slang)
    slang_vec = CountVectorizer(vocabulary=slang_vocab, lowercase=False, token_pattern=r"(?u)\b\w+\b")
    emoji_vocab = sorted(lx.EMOJI)
    emoji_vec = CountVectorizer(vocabulary=emoji_vocab, lowercase=False, token_pattern=lx.EMOJI_RE)
    w_emote = np.array([lx.EMOTES[k] for k in emote_vocab], dtype=np.float64)
    w_slang = np.array([slang[k] for k in slang_vocab], dtype=np.float64)
    w_emoji = np.array([lx.EMOJI[k] for k in emoji_vocab], dtype=np.float64)
    # An emote token such as "LUL" is also seen by the slang matcher as "lul": map emote columns to the slang
    # column they would double-count, so those counts can be subtracted.
    slang_index = {k: i for i, k in enumerate(slang_vocab)}
    rows, cols = [], []
    for i, name in enumerate(emote_vocab):
        key = squeeze(name)
        if re.fullmatch(r"\w+", name) and key in slang_index:
            rows.append(i)
            cols.append(slang_index[key])
    overlap = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(emote_vocab), len(slang_vocab)))
    return emote_vec, slang_vec, emoji_vec, w_emote, w_slang, w_emoji, overlap


@functools.lru_cache(maxsize=1)
def _suffix_table():
    vocab = sorted(lx.CHANNEL_SUFFIXES)
    return {k: i for i, k in enumerate(vocab)}, np.array([lx.CHANNEL_SUFFIXES[k] for k in vocab], dtype=np.float64)


@functools.lru_cache(maxsize=1)
def emote_pattern() -> re.Pattern:
    """Whole-token match of any lexicon emote (longest first) or channel-emote-shaped token, to mask emotes before
    the trained models read a text. Training masked channel emotes with 2-character prefixes too
    (emotes.TRAINING_CHANNEL_EMOTE_RE): those stay here, as they always have."""
    names = sorted(lx.EMOTES, key=len, reverse=True)
    return re.compile(r"(?<!\S)(?:" + "|".join(map(re.escape, names)) + "|" + CHANNEL_EMOTE_RE + r")(?!\S)")


def normalise_for_slang(texts: pd.Series) -> pd.Series:
    """Lower-case, squeeze runs of 3+ letters to two, fold laughter ("hahaha", "HA HA HA", "ahah" -> "haha",
    "hehehe" -> "hehe", "no no no" -> "noo" (emphatic, like "noooo"), "lmaoooo"/"lmaoaoa" -> "lmao", "loool" -> "lol",
    "xddd" -> "xd")."""
    s = texts.str.lower().str.replace(r"(\w)\1{2,}", r"\1\1", regex=True)
    s = s.str.replace(r"\b(?:a?ha(?:\s*ha)+h?|ah(?:ah)+)\b", "haha", regex=True)
    s = s.str.replace(r"\b(?:he){2,}h?\b", "hehe", regex=True).str.replace(r"\bno(?:[\s,]+no)+\b", "noo", regex=True)
    return s.str.replace(r"\b(?:lma+o+[ao]*|lo+l|x+d+)\b", _fold_laugh, regex=True)


def _fold_laugh(m: re.Match) -> str:
    word = m.group(0)
    return "lmao" if word[1] == "m" else ("lol" if word[0] == "l" else "xd")


def channel_emotes(texts: pd.Series) -> pd.Series:
    """Every channel-emote-shaped token (`fusHeart`, `chjbHug`) that EMOTES does not list, one row per token,
    indexed by the position of its text (a flat Series: texts with none are absent)."""
    texts = texts.fillna("").astype(str)
    has = texts.str.contains(CHANNEL_EMOTE_RE, regex=True).to_numpy(dtype=bool)
    if not has.any():
        return pd.Series([], dtype=object, index=pd.Index([], dtype=np.int64))
    rows = np.flatnonzero(has)
    found = pd.Series(texts.to_numpy()[rows], index=rows).str.findall(_CHANNEL_TOKEN).explode().dropna()
    return found[~found.isin(lx.EMOTES)]


def lexicon_counts(texts: pd.Series) -> dict[str, np.ndarray | sparse.csr_matrix]:
    """Sparse hit counts of emotes, slang, emoji and channel-emote suffixes for each text (no per-text Python
    loop), plus `channel_emotes`: the number of channel-emote-shaped tokens, known suffix or not."""
    texts = texts.fillna("").astype(str)
    emote_vec, slang_vec, emoji_vec, *_rest, overlap = _matchers()
    ce = emote_vec.transform(texts)
    cs = slang_vec.transform(normalise_for_slang(texts))
    if overlap.nnz:
        cs = cs - ce @ overlap
        cs.data = np.maximum(cs.data, 0)
        cs.eliminate_zeros()
    # most chat has no emoji: tokenise only the rows that do
    has = texts.str.contains(lx.EMOJI_RE, regex=True).to_numpy(dtype=bool)
    cj = sparse.csr_matrix((len(texts), len(emoji_vec.vocabulary)), dtype=np.int64)
    if has.any():
        rows = np.flatnonzero(has)
        sub = emoji_vec.transform(texts.iloc[rows]).tocoo()
        cj = sparse.csr_matrix((sub.data, (rows[sub.row], sub.col)), shape=cj.shape)
    index, _w = _suffix_table()
    tokens = channel_emotes(texts)
    n_channel = np.bincount(tokens.index.to_numpy(dtype=np.int64), minlength=len(texts))
    suffix = tokens.str.extract(_CHANNEL_SUFFIX, expand=False).str.split("_").str[0].str.lower().map(index)
    known = suffix.notna().to_numpy()
    cc = sparse.csr_matrix(
        (
            np.ones(int(known.sum())),
            (tokens.index.to_numpy(dtype=np.int64)[known], suffix[known].to_numpy(dtype=np.int64)),
        ),
        shape=(len(texts), len(index)),
    )
    return {"emotes": ce, "slang": cs, "emoji": cj, "channel": cc, "channel_emotes": n_channel}


def lexicon_totals(counts: dict, parts=("emotes", "slang", "emoji", "channel")) -> tuple[np.ndarray, np.ndarray]:
    """Summed weights (valence, five emotions: one column each) and number of hits per text, over the lexicon
    `parts` of `lexicon_counts`."""
    *_v, w_emote, w_slang, w_emoji, _o = _matchers()
    weights = {"emotes": w_emote, "slang": w_slang, "emoji": w_emoji, "channel": _suffix_table()[1]}
    n = counts["emotes"].shape[0]
    total = np.zeros((n, len(lx.COLUMNS)))
    hits = np.zeros(n)
    for part in parts:
        total += np.asarray(counts[part] @ weights[part])
        hits += np.asarray(counts[part].sum(axis=1)).ravel()
    return total, hits


def lexicon_scores(texts: pd.Series, counts: dict | None = None) -> pd.DataFrame:
    """Lexicon-only scores: `hits`, `valence` (mean, 0 without hits) and the five emotions in [0, 1]."""
    counts = counts or lexicon_counts(texts)
    total, hits = lexicon_totals(counts)
    valence = np.divide(total[:, 0], hits, out=np.zeros(len(hits)), where=hits > 0)
    out = pd.DataFrame({"hits": hits.astype(float), "valence": np.clip(valence, -1, 1)}, index=texts.index)
    for j, name in enumerate(lx.EMOTIONS, start=1):
        out[name] = 1.0 - np.exp(-total[:, j])
    return out


def vader_compound(texts: pd.Series) -> np.ndarray:
    """VADER compound in [-1, 1]; a Python loop inside vaderSentiment, so each distinct text is scored once
    (overlapping speech windows share their sentences, chat repeats itself)."""
    analyzer = _vader()
    codes, distinct = pd.factorize(pd.Series(texts, dtype=object).fillna("").astype(str))
    scores = np.array([analyzer.polarity_scores(t)["compound"] if t else 0.0 for t in distinct], dtype=float)
    return scores[codes] if len(codes) else np.zeros(0)


@functools.lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def score_texts(texts, use_vader: bool = True, blend: Blend = PLAIN, models=None) -> pd.DataFrame:
    """Score texts -> DataFrame with sentiment_score in [-1, 1] and excitement, funny, happiness, anger,
    sadness, neutral in [0, 1] (formulas in the module docstring), indexed like `texts`. `use_vader=False` sets
    w_v to 0. The trained models (klipstream.emotions.chat_model.ChatModels: `models`, loaded from models/ when
    None) are read only when `blend.model_weight` > 0."""
    texts = pd.Series(texts, dtype=object).fillna("").astype(str)
    if not use_vader:
        blend = replace(blend, vader_weight=0.0)
    counts = lexicon_counts(texts)
    lex = lexicon_scores(texts, counts)
    h = lex["hits"].to_numpy()
    a = h / (h + 1.0)
    w_v = float(blend.vader_weight)
    v = _vader_scores(texts, blend.vader_symbols) if w_v else np.zeros(len(texts))
    if not blend.question_vader:
        v = np.where(texts.str.contains("?", regex=False).to_numpy(), 0.0, v)
    text_part = w_v * v
    model_part = None
    if blend.model_weight > 0:
        model_part = model_probs(texts, counts, models)
        text_part = text_part + blend.model_weight * model_part["sentiment"].to_numpy()
    sentiment = np.clip(a * lex["valence"].to_numpy() + (1 - a) * text_part, -1, 1)
    vader_part = {
        "happiness": 0.5 * np.maximum(w_v * v, 0),
        "anger": 0.25 * np.maximum(-w_v * v, 0),
        "sadness": 0.25 * np.maximum(-w_v * v, 0),
    }
    exclaim = np.minimum(0.15 * texts.str.count("!").to_numpy(dtype=float), 0.45)
    out = pd.DataFrame({"sentiment_score": sentiment}, index=texts.index)
    for name in lx.EMOTIONS:
        keep = (1.0 - lex[name].to_numpy()) * (1.0 - vader_part.get(name, 0.0))
        if name == "excitement":
            keep = keep * (1.0 - exclaim)
        if model_part is not None:
            keep = keep * (1.0 - (1 - a) * blend.model_weight * model_part[name].to_numpy())
        out[name] = np.clip(1.0 - keep, 0, 1)
    strongest = out[list(lx.EMOTIONS)].max(axis=1).to_numpy()
    if blend.emotion_floor is None:
        out["neutral"] = np.clip((1 - strongest) * (1 - np.abs(sentiment)), 0, 1)
    else:
        out["neutral"] = np.clip(1.0 - strongest / float(blend.emotion_floor), 0, 1)
    return out


def _vader_scores(texts: pd.Series, symbols: bool) -> np.ndarray:
    """VADER compound of each text; without `symbols` only of the texts with a letter (0 for the rest)."""
    if symbols:
        return vader_compound(texts)
    out = np.zeros(len(texts))
    rows = np.flatnonzero(texts.str.contains(r"[A-Za-z]", regex=True).to_numpy())
    if len(rows):
        out[rows] = vader_compound(texts.iloc[rows])
    return out


def model_probs(texts: pd.Series, counts: dict, models=None) -> pd.DataFrame:
    """The trained models' probabilities on the text with emotes masked (as in training), sentiment centred so
    that a text the models cannot read scores 0; rows with no word left get zeros. `counts`: lexicon_counts."""
    from .chat_model import ChatModels

    models = models or ChatModels.load()
    has_emote = (np.asarray(counts["emotes"].sum(axis=1)).ravel() + counts["channel_emotes"]) > 0
    masked = texts.copy()
    if has_emote.any():
        masked[has_emote] = texts[has_emote].str.replace(emote_pattern(), " ", regex=True)
    probs = models.predict(masked)
    probs["sentiment"] -= float(models.predict(pd.Series([""]))["sentiment"].iloc[0])
    words = masked.str.contains(r"\w", regex=True).to_numpy()
    probs.loc[~words, :] = 0.0
    return probs
