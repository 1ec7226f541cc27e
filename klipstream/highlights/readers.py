"""Reading the analysis tables the highlight engine works on, each re-indexed on whole seconds where it is a
per-second signal. One-line KlipErrors name the file (klipstream.io.read_table)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..io import read_table

TRUE_TEXT = ["true", "1", "1.0", "yes"]
# `!clip`-style commands are viewers asking for a clip: a cue, not command noise.
CLIP_COMMAND = r"^\s*!(?:clip|replay)\b"


def read_csv_table(path, what: str, required: list[str]) -> pd.DataFrame:
    """A CSV with `required` columns; empty cells are NaN, every other cell is kept as written."""
    return read_table(path, what, required, keep_default_na=False, na_values=[""], low_memory=False)


def per_second(df: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
    """Re-index a per-second table on 0..n-1 (missing seconds become 0) so arrays line up by index."""
    if df.empty:
        return df.iloc[0:0]
    sec = np.floor(df["time"].to_numpy(dtype=float)).astype(np.int64)
    n = int(sec.max()) + 1 if n is None else n
    keep = (sec >= 0) & (sec < n)
    out = df.loc[keep].copy()
    out["time"] = sec[keep]
    out = out.groupby("time").mean(numeric_only=True)
    return out.reindex(np.arange(n), fill_value=0.0).fillna(0.0).reset_index(names="time")


def read_timeline(path) -> pd.DataFrame:
    """The chat timeline on whole seconds; bins wider than 1 s (chat_timeline.bin_seconds) are held over their
    seconds."""
    df = read_csv_table(path, "chat timeline", ["time", "messages"])
    t = df["time"].to_numpy(dtype=float)
    step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    out = per_second(df)
    if step > 1.0 and len(out):
        filled = out.drop(columns="time").astype(float)
        filled.loc[~np.isin(out["time"], np.floor(t).astype(np.int64))] = np.nan
        out = pd.concat([out[["time"]], filled.ffill(limit=int(np.ceil(step)) - 1).fillna(0.0)], axis=1)
    return out


@dataclass
class ChatTable:
    """The per-message chat table split the way the engine needs it.

    `messages`: the unfiltered messages (bots and !commands are in the CSV for transparency but are not chat
    reactions), plus `!clip`/`!replay` commands (viewer cues), sorted by time; `command_times`: the times of the
    other !commands (a command flood means chat is busy with a bot, e.g. a giveaway); `all_times`: every row's time,
    filtered or not (when chat was alive)."""

    messages: pd.DataFrame
    command_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    all_times: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def named(self) -> bool:
        """True when the log has user names (`H:MM:SS message` text logs do not)."""
        return not self.messages.empty and self.messages["user"].replace("", np.nan).nunique() > 1


def chat_table(df: pd.DataFrame) -> ChatTable:
    """Split a chat sentiment frame (`time, user, message[, emotes, is_filtered, filter_reason, ...]`)."""
    df = df.copy()
    for col in ("emotes", "message", "user"):
        df[col] = df[col].astype("string").fillna("").astype(str) if col in df.columns else ""
    times = pd.to_numeric(df["time"], errors="coerce").to_numpy(dtype=float)
    df["time"] = times
    df = df.loc[np.isfinite(times)]
    flt = (
        df["is_filtered"].astype(str).str.strip().str.lower().isin(TRUE_TEXT).to_numpy()
        if "is_filtered" in df.columns
        else np.zeros(len(df), dtype=bool)
    )
    reason = df["filter_reason"].astype(str).to_numpy() if "filter_reason" in df.columns else np.full(len(df), "")
    clip = df["message"].str.match(CLIP_COMMAND, case=False).to_numpy(dtype=bool)
    command = flt & (reason == "command") & ~clip
    keep = ~flt | (clip & (reason == "command"))
    msgs = df.loc[keep].sort_values("time", kind="stable").reset_index(drop=True)
    return ChatTable(
        msgs, np.sort(df["time"].to_numpy(dtype=float)[command]), np.sort(df["time"].to_numpy(dtype=float))
    )


def read_chat(path) -> ChatTable:
    """The chat sentiment CSV as a ChatTable."""
    return chat_table(read_csv_table(path, "chat sentiment", ["time", "user", "message"]))


def read_chat_sentiment(path) -> pd.DataFrame:
    """The messages the engine reads as chat (see ChatTable.messages)."""
    return read_chat(path).messages


def read_features(path) -> pd.DataFrame:
    return per_second(read_csv_table(path, "audio features", ["time"]))


def read_speech_sentiment(path) -> pd.DataFrame:
    return read_csv_table(path, "speech sentiment", ["start_time", "end_time"])


def read_words(path) -> pd.DataFrame:
    df = read_csv_table(path, "words table", ["start_time", "end_time", "word"])
    if "punctuated_word" not in df.columns:
        df["punctuated_word"] = df["word"]
    df["punctuated_word"] = df["punctuated_word"].fillna(df["word"]).fillna("").astype(str)
    return df.sort_values("start_time", kind="stable").reset_index(drop=True)
