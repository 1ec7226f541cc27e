"""What made an output: the ffmpeg (path, version, decode settings), the chat models (file hashes), the
transcription backend and model, and the speech-emotion scorer (LLM model or offline lexicon). Recorded in the
integrated analysis under `generator.provenance`, so two results that differ can be told apart by their tools.

Everything is read from the run's own files where they say it (the transcript's `metadata.model_info`, the speech
sentiment table's `model` column); the ffmpeg is the one this environment resolves, with the same rule the audio
step used (the workflow's bin/ first on PATH, else the system's, else the imageio-ffmpeg wheel's).
"""

from __future__ import annotations

import functools
import logging
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import ijson
import pandas as pd

from .io import file_sha256

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def ffmpeg_info(exe: str | None = None) -> dict[str, Any]:
    """{path, version (first line of `ffmpeg -version`), audio_decode (the flags and filter of audio extraction)}."""
    from .media import DECODE_FLAGS, RESAMPLE_FILTER, ffmpeg_exe

    path = exe or ffmpeg_exe()
    try:
        first = subprocess.run(
            [path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=20
        ).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired) as exc:
        first = f"unknown ({type(exc).__name__})"
    return {
        "path": str(path),
        "version": first.strip(),
        "audio_decode": " ".join([*DECODE_FLAGS, "-af", RESAMPLE_FILTER]),
    }


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime: float) -> str:  # size and mtime: a changed file is hashed again
    return file_sha256(path)


def file_hashes(paths) -> list[dict[str, str]]:
    """[{file, sha256}] of the files that exist among `paths`, sorted by name."""
    out = []
    for path in sorted(Path(p) for p in paths):
        if path.is_file():
            st = path.stat()
            out.append({"file": path.name, "sha256": _sha256(str(path), st.st_size, st.st_mtime)})
    return out


def chat_models(models_dir: str | os.PathLike | None = None) -> list[dict[str, str]]:
    """The trained chat emotion/sentiment models (`*.skops`) with their hashes, when the chat scorer uses them
    (their blend weight is above 0); else []: the lexicon scorer alone loads no model."""
    from .emotions.chat import BLEND
    from .emotions.chat_model import DEFAULT_MODELS_DIR

    if BLEND.model_weight <= 0:
        return []
    return file_hashes(Path(models_dir or DEFAULT_MODELS_DIR).glob("*.skops"))


def transcription(transcript_json: str | os.PathLike | None) -> dict[str, Any] | None:
    """{backend, model, version} from the transcript JSON's `metadata.model_info`, which both Deepgram and the
    offline backend write at the top of the file: read without parsing the rest."""
    if not transcript_json or not Path(transcript_json).is_file():
        return None
    try:
        with open(transcript_json, "rb") as fh:
            for _, info in ijson.kvitems(fh, "metadata.model_info"):
                return {"backend": info.get("arch"), "model": info.get("name"), "version": info.get("version")}
    except (ijson.JSONError, OSError, AttributeError) as exc:
        log.warning("cannot read the transcription model from %s: %s", transcript_json, exc)
    return None


def speech_emotions(speech_models: pd.Series | None) -> dict[str, int] | None:
    """How many speech windows each scorer rated ({model name: windows}), from the speech sentiment table's
    `model` column: the LLM model, or the offline lexicon."""
    if speech_models is None:
        return None
    counts = speech_models.fillna("").astype(str).value_counts().sort_index()
    return {str(k): int(v) for k, v in counts.items()}


def provenance(*, audio: bool, chat: bool, transcript_json=None, speech_models: pd.Series | None = None) -> dict:
    """The tools and models behind an integrated analysis built from a VOD's audio side and/or chat side."""
    return {
        "python": platform.python_version(),
        "ffmpeg": ffmpeg_info() if audio else None,
        "chat_models": chat_models() if chat else [],
        "transcription": transcription(transcript_json),
        "speech_emotions": speech_emotions(speech_models),
    }
