"""Captions from the transcript's words: SRT and WebVTT for the whole VOD and for each clip, written by pysubs2.

Cues follow the common caption guidelines (BBC, Netflix, DCMP): at most `max_lines` lines of at most
`max_chars_per_line` characters, broken at word boundaries into balanced lines; a cue lasts from its first word's
start to its last word's end, at least `min_seconds` (unless the next cue starts sooner) and is split before it
would run past `max_seconds`; a pause longer than `max_gap_seconds`, the end of a sentence (once the cue has been
up for `min_seconds`) and a change of speaker (when the words table has Deepgram speaker labels) start a new cue,
and a new speaker's first cue starts with `speaker_prefix`."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import section
from ..io import atomic_dir, atomic_path, read_table, write_json
from .clips import read_listing

log = logging.getLogger(__name__)

SENTENCE_END = (".", "?", "!", "…")
# Words a line should not end on (guidelines keep an article or preposition with the word it introduces).
WEAK = frozenset("a an the to of and or but in on at for with from by as i my your our their his her its".split())


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def load_words(words_csv: str | os.PathLike) -> pd.DataFrame:
    """start, end, text (punctuated), speaker (None when unknown) per word, in time order."""
    frame = read_table(
        words_csv,
        "transcript words",
        required=("start_time", "end_time", "word"),
        keep_default_na=False,
        na_values={"speaker": [""]},  # only the speaker column has empty cells meaning "unknown"
        dtype={"speaker": "Int64"},
    )
    text = frame["punctuated_word"] if "punctuated_word" in frame else frame["word"]
    speaker = frame["speaker"] if "speaker" in frame else pd.Series(pd.NA, index=frame.index, dtype="Int64")
    words = pd.DataFrame(
        {
            "start": frame["start_time"].astype(float),
            "end": frame["end_time"].astype(float),
            "text": text.astype(str)
            .str.strip()
            .where(text.astype(str).str.strip() != "", frame["word"].astype(str).str.strip()),
            # plain ints and None: build_cues compares speakers with `is not None` and `!=`
            "speaker": speaker.astype(object).where(speaker.notna(), None),
        }
    )
    words = words[words["text"] != ""].sort_values("start", kind="stable").reset_index(drop=True)
    words["end"] = np.maximum(words["end"], words["start"])
    return words


def wrap(tokens: list[str], max_chars: int, max_lines: int) -> list[str] | None:
    """`tokens` as at most `max_lines` lines of at most `max_chars` (None when they do not fit).

    Two lines are balanced (the split with the shortest longer line, counting a top line that ends on an article,
    conjunction or preposition as 8 characters longer; the top line the shorter on ties); more lines are filled
    greedily. A single token longer than a line still makes a line of its own."""
    line = " ".join(tokens)
    if len(line) <= max_chars or len(tokens) == 1:
        return [line]
    if max_lines < 2:
        return None
    if max_lines == 2:
        best = None
        for k in range(1, len(tokens)):
            top, bottom = " ".join(tokens[:k]), " ".join(tokens[k:])
            if len(top) <= max_chars and len(bottom) <= max_chars:
                weak = tokens[k - 1].lower().strip("\"'") in WEAK
                key = (max(len(top), len(bottom)) + (8 if weak else 0), len(top) > len(bottom))
                if best is None or key < best[0]:
                    best = (key, [top, bottom])
        return best[1] if best else None
    lines: list[str] = []
    for token in tokens:
        if lines and len(lines[-1]) + 1 + len(token) <= max_chars:
            lines[-1] += " " + token
        else:
            lines.append(token)
    return lines if len(lines) <= max_lines and all(len(x) <= max_chars for x in lines) else None


def build_cues(words: pd.DataFrame, settings: Mapping[str, Any] | None = None, span: float | None = None) -> list[Cue]:
    """Caption cues from `words` (see load_words); `span` caps the last cue's end (a clip's length)."""
    opts = section("captions", settings)
    max_chars, max_lines = int(opts["max_chars_per_line"]), int(opts["max_lines"])
    min_s, max_s, max_gap = float(opts["min_seconds"]), float(opts["max_seconds"]), float(opts["max_gap_seconds"])
    prefix = str(opts["speaker_prefix"])
    speakers = words["speaker"].tolist() if "speaker" in words else [None] * len(words)
    mark_turns = len({s for s in speakers if s is not None}) > 1
    groups: list[tuple[float, float, list[str]]] = []
    tokens: list[str] = []
    start = end = 0.0
    speaker = last_speaker = None
    for w_start, w_end, text, who in zip(
        words["start"].tolist(), words["end"].tolist(), words["text"].tolist(), speakers
    ):
        if tokens:
            turn = who is not None and who != speaker
            sentence = tokens[-1].endswith(SENTENCE_END) and end - start >= min_s
            too_long = w_end - start > max_s
            if (
                turn
                or sentence
                or too_long
                or w_start - end > max_gap
                or wrap(tokens + [text], max_chars, max_lines) is None
            ):
                groups.append((start, end, tokens))
                last_speaker, tokens = speaker, []
        if not tokens:
            start, speaker = w_start, who
            if mark_turns and who is not None and who != last_speaker and groups:
                text = prefix + text
        tokens.append(text)
        end = max(end, w_end) if len(tokens) > 1 else w_end
    if tokens:
        groups.append((start, end, tokens))
    cues = []
    for i, (c_start, c_end, toks) in enumerate(groups):
        limit = groups[i + 1][0] if i + 1 < len(groups) else (span if span is not None else np.inf)
        c_end = min(max(c_end, c_start + min_s), limit)  # never overlaps the next cue
        if span is not None:
            c_end = min(c_end, span)
        if c_end - c_start < 0.001:
            continue
        lines = wrap(toks, max_chars, max_lines) or [" ".join(toks)]
        cues.append(Cue(round(c_start, 3), round(c_end, 3), tuple(lines)))
    return cues


def write_cues(
    cues: list[Cue],
    srt: str | os.PathLike | None = None,
    vtt: str | os.PathLike | None = None,
    ass: str | os.PathLike | None = None,
    style: Mapping[str, Any] | None = None,
) -> None:
    """Write `cues` as SRT / WebVTT / ASS (each file atomically) through pysubs2."""
    import pysubs2

    subs = pysubs2.SSAFile()
    for cue in cues:
        subs.append(
            pysubs2.SSAEvent(
                start=int(round(cue.start * 1000)),
                end=int(round(cue.end * 1000)),
                text=r"\N".join(line.replace("{", "(").replace("}", ")") for line in cue.lines),
            )
        )
    if style:
        subs.info.update({"PlayResX": str(style["width"]), "PlayResY": str(style["height"])})
        default = subs.styles["Default"]
        default.fontname, default.fontsize = "DejaVu Sans", float(style["font_size"])
        default.bold, default.outline, default.shadow = True, max(2.0, style["font_size"] / 14), 0.0
        default.alignment = pysubs2.Alignment.BOTTOM_CENTER
        default.marginv = int(style["margin_bottom"])
        default.marginl = default.marginr = int(style["width"] * 0.06)
    for path, fmt in ((srt, "srt"), (vtt, "vtt"), (ass, "ass")):
        if path:
            with atomic_path(path) as tmp:
                subs.save(str(tmp), format_=fmt, encoding="utf-8")


def clip_words(words: pd.DataFrame, start: float, end: float) -> pd.DataFrame:
    """The words whose middle falls inside [start, end), in clip time (clamped to the clip)."""
    mid = (words["start"] + words["end"]) / 2
    inside = words[(mid >= start) & (mid < end)].copy()
    inside["start"] = (inside["start"] - start).clip(lower=0.0)
    inside["end"] = (inside["end"] - start).clip(upper=end - start)
    return inside


def write_captions(
    words_csv: str | os.PathLike,
    srt: str | os.PathLike,
    vtt: str | os.PathLike,
    *,
    clips_dir: str | os.PathLike | None = None,
    clip_captions_dir: str | os.PathLike | None = None,
    settings: Mapping[str, Any] | None = None,
    vod: str = "",
) -> dict:
    """Whole-VOD captions to `srt`/`vtt`; with `clips_dir`, `{clip}.srt`/`.vtt` per clip in `clip_captions_dir`
    (in clip time) plus `captions.json` listing them. Returns that listing."""
    words = load_words(words_csv)
    cues = build_cues(words, settings)
    write_cues(cues, srt, vtt)
    log.info(
        "captions of %s: %d words -> %d cues (%s speaker labels) -> %s, %s",
        vod or words_csv,
        len(words),
        len(cues),
        "with" if words["speaker"].notna().any() else "no",
        srt,
        vtt,
    )
    listing: dict[str, Any] = {"vod_id": vod, "cues": len(cues), "settings": section("captions", settings), "clips": []}
    if clip_captions_dir is None:
        return listing
    out = Path(clip_captions_dir)
    with atomic_dir(out) as tmp:  # whole or not at all; a clip that is gone keeps no captions
        if clips_dir is not None:
            for clip in read_listing(clips_dir)["clips"]:
                stem = Path(clip["file"]).stem
                span = float(clip["end"]) - float(clip["start"])
                clip_cues = build_cues(clip_words(words, float(clip["start"]), float(clip["end"])), settings, span=span)
                write_cues(clip_cues, tmp / f"{stem}.srt", tmp / f"{stem}.vtt")
                listing["clips"].append(
                    {
                        "rank": clip["rank"],
                        "clip": clip["file"],
                        "srt": f"{stem}.srt",
                        "vtt": f"{stem}.vtt",
                        "start": clip["start"],
                        "end": clip["end"],
                        "cues": len(clip_cues),
                    }
                )
        write_json(tmp / "captions.json", listing)
    log.info("captions of %s: %d clips -> %s", vod or words_csv, len(listing["clips"]), out)
    return listing
