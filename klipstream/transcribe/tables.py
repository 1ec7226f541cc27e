"""Tables derived from the transcript JSON (Deepgram shape): words, paragraphs, and sliding-window segments.

Segments are a separate function because their window parameters change independently of the transcript."""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd

from .. import config as _config
from ..errors import KlipError
from ..io import read_json, write_csv

# this module's settings defaults: the config schema's `segments` section, where they are written once
_SEGMENTS = _config.default("segments")

log = logging.getLogger(__name__)

# speaker: Deepgram's speaker label (0, 1, ...) with diarize; empty without labels (offline, or no diarize)
WORD_COLUMNS = ["start_time", "end_time", "word", "punctuated_word", "confidence", "speaker"]
PARAGRAPH_COLUMNS = ["start_time", "end_time", "text", "word_count"]
SEGMENT_COLUMNS = ["window_id", "start_time", "end_time", "word_count", "speech_rate", "text"]
FLOAT_FORMAT = "%.4f"


def _alternative(doc: dict, path) -> dict:
    try:
        return doc["results"]["channels"][0]["alternatives"][0]
    except (KeyError, IndexError, TypeError) as exc:
        raise KlipError(f"{path}: not a Deepgram transcript (no results.channels[0].alternatives[0])") from exc


def load_transcript(transcript_json: str | os.PathLike) -> tuple[dict, dict]:
    try:
        doc = read_json(transcript_json)
    except FileNotFoundError as exc:
        raise KlipError(f"transcript not found: {transcript_json}") from exc
    except ValueError as exc:
        raise KlipError(f"transcript is not valid JSON: {transcript_json} ({exc})") from exc
    return doc, _alternative(doc, transcript_json)


def words_frame(alt: dict) -> pd.DataFrame:
    """One row per recognised word, in time order; `speaker` is a nullable integer (NA without labels)."""
    words = alt.get("words") or []
    frame = pd.DataFrame.from_records(
        words, columns=["start", "end", "word", "punctuated_word", "confidence", "speaker"]
    )
    frame = frame.rename(columns={"start": "start_time", "end": "end_time"})
    frame["punctuated_word"] = frame["punctuated_word"].fillna(frame["word"])
    frame["speaker"] = frame["speaker"].astype("Int64")
    frame = frame.astype({"start_time": float, "end_time": float, "confidence": float})
    return frame.sort_values("start_time", kind="stable").reset_index(drop=True)[WORD_COLUMNS]


def paragraphs_frame(alt: dict) -> pd.DataFrame:
    """One row per Deepgram paragraph: its sentences joined, its word count."""
    paras = (alt.get("paragraphs") or {}).get("paragraphs") or []
    rows = [
        {
            "start_time": float(p["start"]),
            "end_time": float(p["end"]),
            "text": " ".join(s["text"] for s in p.get("sentences", [])),
            "word_count": int(p.get("num_words", 0)),
        }
        for p in paras
    ]
    return pd.DataFrame.from_records(rows, columns=PARAGRAPH_COLUMNS).astype(
        {"start_time": float, "end_time": float, "word_count": int}
    )


def write_word_tables(
    transcript_json: str | os.PathLike, words_csv: str | os.PathLike, paragraphs_csv: str | os.PathLike
) -> tuple[int, int]:
    """Write words.csv and paragraphs.csv from the transcript JSON; return their row counts."""
    _, alt = load_transcript(transcript_json)
    words, paras = words_frame(alt), paragraphs_frame(alt)
    write_csv(words_csv, words, float_format=FLOAT_FORMAT)
    write_csv(paragraphs_csv, paras, float_format=FLOAT_FORMAT)
    log.info("%s: %d words, %d paragraphs", transcript_json, len(words), len(paras))
    return len(words), len(paras)


def window_bounds(duration: float, window_seconds: float = 60.0, step_seconds: float = 30.0) -> np.ndarray:
    """(n, 2) array of [start, end] windows every `step` covering [0, duration].

    Windows stop at the first one that reaches the end (clipped: the last partial window); later
    windows would lie wholly inside it. Zero duration gives no windows."""
    if window_seconds <= 0 or step_seconds <= 0:
        raise KlipError(f"segments: window_seconds and step_seconds must be > 0, got {window_seconds}, {step_seconds}")
    if duration <= 0:
        return np.zeros((0, 2))
    n = max(1, int(np.ceil((duration - window_seconds) / step_seconds - 1e-9)) + 1)
    starts = np.arange(n) * float(step_seconds)
    return np.column_stack([starts, np.minimum(starts + window_seconds, duration)])


def assign_words(
    starts: np.ndarray, ends: np.ndarray, bounds: np.ndarray, step_seconds: float
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised (word_index, window_index) pairs where at least half of the word lies in the window.

    Each word is tested only against the few windows near it, so the cost is O(words), not words x windows.
    A zero-length word counts in the windows containing its instant (start inclusive, end exclusive,
    except at the very end of the audio)."""
    n_win = len(bounds)
    if n_win == 0 or starts.size == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    window = float(bounds[0, 1] - bounds[0, 0]) if n_win == 1 else float(np.max(bounds[:, 1] - bounds[:, 0]))
    lo = np.clip(np.floor((starts - window) / step_seconds).astype(int), 0, n_win - 1)
    hi = np.clip(np.floor(ends / step_seconds).astype(int), 0, n_win - 1)
    counts = hi - lo + 1
    word_idx = np.repeat(np.arange(starts.size), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    win_idx = lo[word_idx] + offsets
    ws, we = bounds[win_idx, 0], bounds[win_idx, 1]
    s, e = starts[word_idx], ends[word_idx]
    length = e - s
    overlap = np.minimum(e, we) - np.maximum(s, ws)
    last = win_idx == n_win - 1
    instant = (s >= ws) & ((s < we) | (last & (s <= we)))
    keep = np.where(length > 0, overlap >= 0.5 * length - 1e-9, instant)
    return word_idx[keep], win_idx[keep]


def segments_frame(
    alt: dict,
    duration: float,
    window_seconds: float = _SEGMENTS["window_seconds"],
    step_seconds: float = _SEGMENTS["step_seconds"],
) -> pd.DataFrame:
    words = words_frame(alt)
    bounds = window_bounds(duration, window_seconds, step_seconds)
    w_idx, k_idx = assign_words(words["start_time"].to_numpy(), words["end_time"].to_numpy(), bounds, step_seconds)
    counts = np.bincount(k_idx, minlength=len(bounds))
    pairs = pd.DataFrame({"window_id": k_idx, "text": words["punctuated_word"].to_numpy()[w_idx]})
    text = pairs.groupby("window_id", sort=True)["text"].agg(" ".join)
    frame = pd.DataFrame(
        {
            "window_id": np.arange(len(bounds)),
            "start_time": bounds[:, 0],
            "end_time": bounds[:, 1],
            "word_count": counts,
        }
    )
    length = frame["end_time"] - frame["start_time"]
    frame["speech_rate"] = np.where(length > 0, frame["word_count"] / length.where(length > 0, 1.0), 0.0)
    frame["text"] = frame["window_id"].map(text).astype(object).where(frame["window_id"].isin(text.index), "")
    return frame[SEGMENT_COLUMNS]


def transcript_language(transcript_json: str | os.PathLike | None) -> str:
    """The language the transcript was made in, as Deepgram records a detected one
    (`results.channels[0].detected_language`); "" when absent. Streamed: a channel writes it before its words."""
    if not transcript_json:
        return ""
    import ijson

    try:
        with open(transcript_json, "rb") as f:
            for value in ijson.items(f, "results.channels.item.detected_language"):
                return str(value or "")
    except (OSError, ijson.JSONError) as exc:
        raise KlipError(f"transcript unreadable: {transcript_json} ({exc})") from exc
    return ""


def transcript_duration(doc: dict, alt: dict) -> float:
    """metadata.duration (the audio's length); if absent, the end of the last word."""
    duration = (doc.get("metadata") or {}).get("duration")
    if duration is None:
        words = alt.get("words") or []
        duration = max((float(w["end"]) for w in words), default=0.0)
    return float(duration)


def write_segments(
    transcript_json: str | os.PathLike,
    segments_csv: str | os.PathLike,
    window_seconds: float = _SEGMENTS["window_seconds"],
    step_seconds: float = _SEGMENTS["step_seconds"],
) -> int:
    """Write segments.csv: sliding windows over [0, duration]; return the number of windows."""
    doc, alt = load_transcript(transcript_json)
    frame = segments_frame(alt, transcript_duration(doc, alt), window_seconds, step_seconds)
    write_csv(segments_csv, frame, float_format=FLOAT_FORMAT)
    log.info("%s: %d windows of %g s every %g s", transcript_json, len(frame), window_seconds, step_seconds)
    return len(frame)
