"""Score the speech windows of segments.csv -> audio sentiment.csv (contract in docs/contracts.md).

Backends: `llm` (OpenAI-compatible chat API, see llm.py), `offline` (offline.py: VADER + lexicon), `auto` (llm
when NEBIUS_API_KEY or OPENAI_API_KEY is set, else offline). The `model` column names the scorer of each row:
the LLM model name, or `offline-lexicon-v1` for offline rows, LLM fallbacks and windows without words.

Delivery numbers per window (from features.csv, vectorised with cumulative sums):
  loudness_db = mean rms_db over the window's seconds; loud_rel = loudness_db - median over windows;
  arousal     = clip((loud_rel / 6 dB + rate_rel) / 2, 0, 1), rate_rel = speech_rate / median rate - 1 clipped to [0,
  1].
Each window's event (delivery.py): its most aroused second (loudness, shout and laughter flags), with event
arousal A in [0, 1] and the words spoken around it (words.csv).
Offline, per window:
  background = the mean over the window's sentences of the offline text scores (offline.score_texts), so a minute
               of ordinary talk reads mild instead of saturating;
  event      = delivery.event_emotions of the event words' scores (loud + positive -> excitement, loud + negative
               -> anger, fear words -> excitement, laughter -> funny);
  emotion    = (1 - A) * background + A * event;  sentiment_score = (1 - A) * background + A * event words' score;
  neutral    = clip(1 - max emotion / 0.5, 0, 1);
  highlight_score = clip(0.4 excitement + 0.25 funny + 0.15 max(anger, sadness) + 0.2 arousal, 0, 1).
The LLM prompt carries the same delivery numbers and the event (time, arousal, shout/laughter, its words).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import config
from ..errors import KlipError
from ..io import write_csv
from . import delivery as dlv
from . import llm as llm_mod
from .lexicon import EMOTIONS as LEXICON_EMOTIONS
from .offline import MODEL_NAME as OFFLINE_MODEL
from .offline import score_texts

EMOTIONS = list(LEXICON_EMOTIONS)

# the speech_sentiment section's defaults (klipstream/schemas/config.schema.yaml): one source for them
_DEFAULTS = config.default("speech_sentiment")
log = logging.getLogger(__name__)

# language: the transcript's (detected_language), the language of the words that were scored; "" when unknown
COLUMNS = [
    "window_id",
    "start_time",
    "end_time",
    "sentiment_score",
    *EMOTIONS,
    "neutral",
    "highlight_score",
    "model",
    "language",
]
SEGMENT_COLUMNS = ["window_id", "start_time", "end_time", "word_count", "speech_rate", "text"]


def read_segments(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise KlipError(f"segments file {path} not found")
    seg = pd.read_csv(path, keep_default_na=False, na_values={"start_time": [""], "end_time": [""]})
    missing = [c for c in SEGMENT_COLUMNS if c not in seg.columns]
    if missing:
        raise KlipError(f"segments file {path} lacks columns {', '.join(missing)}")
    seg["text"] = seg["text"].astype(str)
    return seg


def window_loudness(feat: pd.DataFrame | None, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Mean rms_db over [start, end) per window from the per-second features (NaN when unknown)."""
    if feat is None:
        return np.full(len(starts), np.nan)
    feat = feat[["time", "rms_db"]]
    feat = feat.dropna().sort_values("time")
    t = feat["time"].to_numpy(dtype=float)
    db = feat["rms_db"].to_numpy(dtype=float)
    csum = np.concatenate([[0.0], np.cumsum(db)])
    lo = np.searchsorted(t, starts, side="left")
    hi = np.searchsorted(t, ends, side="left")
    n = hi - lo
    return np.where(n > 0, (csum[hi] - csum[lo]) / np.maximum(n, 1), np.nan)


def delivery(seg: pd.DataFrame, loud_db: np.ndarray) -> pd.DataFrame:
    rate = seg["speech_rate"].to_numpy(dtype=float)
    spoken = rate > 0
    med_rate = np.median(rate[spoken]) if spoken.any() else np.nan
    rate_rel = np.clip(rate / med_rate - 1, 0, 1) if med_rate == med_rate and med_rate > 0 else np.zeros(len(rate))
    finite = np.isfinite(loud_db)
    med_db = np.median(loud_db[finite]) if finite.any() else np.nan
    loud_rel = loud_db - med_db
    loud_part = np.clip(np.nan_to_num(loud_rel, nan=0.0) / 6.0, 0, 1)
    arousal = np.clip((loud_part + np.nan_to_num(rate_rel)) / 2, 0, 1)
    return pd.DataFrame({"loudness_db": loud_db, "loud_rel": loud_rel, "arousal": arousal}, index=seg.index)


def sentence_means(texts: pd.Series) -> pd.DataFrame:
    """Mean offline scores over the sentences of each text (split after . ! ?; a text without any is one sentence)."""
    sentences = texts.fillna("").astype(str).str.split(r"(?<=[.!?])\s+", regex=True).explode()
    sentences = sentences[sentences.str.contains(r"\w", regex=True)]
    out = pd.DataFrame(0.0, index=texts.index, columns=["sentiment_score"] + EMOTIONS)
    if sentences.empty:
        return out
    scored = score_texts(sentences.reset_index(drop=True), use_vader=True)
    scored.index = sentences.index
    means = scored[["sentiment_score"] + EMOTIONS].groupby(level=0).mean()
    out.loc[means.index] = means.to_numpy()
    return out


def offline_scores(
    seg: pd.DataFrame, dv: pd.DataFrame, events: pd.DataFrame | None = None, words: pd.Series | None = None
) -> pd.DataFrame:
    """Offline window scores (module docstring); without `events` the windows are read as background only."""
    bg = sentence_means(seg["text"])
    if events is None:
        events = pd.DataFrame(
            {"event_arousal": np.zeros(len(seg)), "event_laughter": np.zeros(len(seg))}, index=seg.index
        )
    a = events["event_arousal"].to_numpy(dtype=float)
    local = score_texts(words if words is not None else seg["text"], use_vader=True)
    local.index = seg.index
    ev = dlv.event_emotions(local, events["event_laughter"].to_numpy(dtype=float))
    s = pd.DataFrame(
        {"sentiment_score": (1 - a) * bg["sentiment_score"].to_numpy() + a * local["sentiment_score"].to_numpy()},
        index=seg.index,
    )
    for name in EMOTIONS:
        s[name] = np.clip((1 - a) * bg[name].to_numpy() + a * ev[name].to_numpy(), 0, 1)
    s["neutral"] = np.clip(1 - s[EMOTIONS].max(axis=1) / 0.5, 0, 1)
    s["highlight_score"] = np.clip(
        0.4 * s["excitement"] + 0.25 * s["funny"] + 0.15 * s[["anger", "sadness"]].max(axis=1) + 0.2 * dv["arousal"],
        0,
        1,
    )
    s["model"] = OFFLINE_MODEL
    return s


def score_windows(
    segments_csv: str | Path,
    features_csv: str | Path | None,
    out_csv: str | Path,
    words_csv: str | Path | None = None,
    transcript_json: str | Path | None = None,
    backend: str = _DEFAULTS["backend"],
    base_url: str = _DEFAULTS["base_url"],
    model: str = _DEFAULTS["model"],
    concurrency: int = _DEFAULTS["concurrency"],
    timeout: float = _DEFAULTS["timeout"],
    cache_dir: str | Path | None = _DEFAULTS["cache_dir"],
    max_retries: int = _DEFAULTS["max_retries"],
    backoff_base: float = 0.5,
) -> pd.DataFrame:
    """Score every window of `segments_csv` and write `out_csv` atomically; returns the frame written. The
    `language` column is the language `transcript_json` says its words are in ("" without one)."""
    t0 = time.monotonic()
    if backend not in ("auto", "llm", "offline"):
        raise KlipError(f"emotions backend {backend!r} unknown; use auto, llm or offline")
    seg = read_segments(segments_csv)
    starts = seg["start_time"].to_numpy(dtype=float)
    ends = seg["end_time"].to_numpy(dtype=float)
    feat = dlv.read_features(features_csv)
    dv = delivery(seg, window_loudness(feat, starts, ends))
    events = dlv.window_events(starts, ends, dlv.per_second(feat))
    events.index = seg.index
    words = dlv.event_words(words_csv, events["event_time"], seg["text"])
    scores = offline_scores(seg, dv, events, words)  # cheap; the fallback for any window the LLM cannot score
    key = llm_mod.api_key_from_env()
    use_llm = backend == "llm" or (backend == "auto" and key is not None)
    if backend == "llm" and key is None:
        log.warning(
            "emotions backend llm without %s: calling %s without a key (fine for local servers)",
            " or ".join(llm_mod.KEY_ENV_VARS),
            base_url,
        )
    log.info(
        "speech emotions: %d windows from %s, backend %s",
        len(seg),
        segments_csv,
        "llm" if use_llm else f"offline ({'no API key' if backend == 'auto' else 'configured'})",
    )
    if use_llm and len(seg):
        has_words = seg["text"].str.contains(r"\w", regex=True).to_numpy()
        idx = np.flatnonzero(has_words)
        prompts = [
            llm_mod.build_prompt(
                seg["text"].iat[i],
                float(seg["speech_rate"].iat[i]),
                float(dv["loudness_db"].iat[i]),
                float(dv["loud_rel"].iat[i]),
                event=_event_line(events.iloc[i], words.iat[i], float(starts[i])),
            )
            for i in idx
        ]
        scorer = llm_mod.LLMScorer(
            base_url=base_url,
            model=model,
            api_key=key,
            concurrency=int(concurrency),
            timeout=float(timeout),
            max_retries=int(max_retries),
            backoff_base=float(backoff_base),
            cache_dir=cache_dir,
        )
        results = scorer.score(prompts)
        got = [(i, r) for i, r in zip(idx, results) if r is not None]
        if got:
            rows = pd.DataFrame([r for _, r in got], index=seg.index[[i for i, _ in got]])
            cols = list(llm_mod.SCORE_FIELDS)
            scores.loc[rows.index, cols] = rows[cols].to_numpy()
            scores.loc[rows.index, "model"] = scorer.model
        log.info(
            "speech emotions: %d windows scored by %s, %d by %s",
            len(got),
            scorer.model,
            len(seg) - len(got),
            OFFLINE_MODEL,
        )
    from ..transcribe.tables import transcript_language

    scores["language"] = transcript_language(transcript_json)
    out = pd.concat([seg[["window_id", "start_time", "end_time"]], scores], axis=1)[COLUMNS]
    write_csv(out_csv, out.round(6), float_format=None)  # rounded: repr is faster than %g and as short
    log.info("speech emotions: wrote %s in %.1f s", out_csv, time.monotonic() - t0)
    return out


def _event_line(event: pd.Series, words: str, start: float) -> str | None:
    """The window's most aroused moment for the LLM prompt, or None when nothing stands out (A < 0.5)."""
    if not event["event_arousal"] >= 0.5 or event["event_time"] != event["event_time"]:
        return None
    kind = "laughter" if event["event_laughter"] >= 0.5 else "loud/raised voice"
    return (
        f"{event['event_time'] - start:.0f} s into the window, {kind} (arousal {event['event_arousal']:.1f} of 1); "
        f"words around it: {' '.join(str(words).split())[:400]}"
    )
