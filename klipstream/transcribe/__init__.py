"""Transcription stage: audio_{vod}.wav -> audio_{vod}_transcript.json (Deepgram response shape).

`transcribe()` picks the backend: Deepgram (nova-3 via deepgram-sdk) when DEEPGRAM_API_KEY is set or
asked for, else the offline Whisper recogniser (faster-whisper). The workflow runs each backend as several jobs
(`transcribe_job`): Deepgram gets the WAV encoded once into a compressed format (`upload`), the offline
recogniser decodes the VOD in parts (`scatter`). The tables are derived from the JSON by
`klipstream.transcribe.tables` (`write_word_tables`, `write_segments`)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .. import config as _config
from ..errors import KlipError
from ..io import write_json

# this module's settings defaults: the config schema's `transcription` section, where they are written once
_TRANSCRIPTION = _config.default("transcription")

log = logging.getLogger(__name__)


def __getattr__(name: str):
    """The table writers, imported on first use: the workflow imports this package where it starts (to decide the
    backend), where pandas would cost a third of a second for nothing."""
    if name in ("write_segments", "write_word_tables"):
        from . import tables

        return getattr(tables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


BACKENDS = ("auto", "deepgram", "offline")

__all__ = ["transcribe", "transcribe_job", "choose_backend", "workflow_backend", "write_word_tables", "write_segments"]


def choose_backend(backend: str = "auto", api_key: str | None = None) -> str:
    """auto -> deepgram when a key is present, else offline; explicit deepgram without a key is an error."""
    backend = (backend or "auto").lower()
    if backend not in BACKENDS:
        raise KlipError(f"transcription.backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        return "deepgram" if api_key else "offline"
    if backend == "deepgram" and not api_key:
        raise KlipError("transcription.backend is deepgram but DEEPGRAM_API_KEY is not set")
    return backend


def workflow_backend(settings: dict) -> str:
    """The backend the workflow plans its jobs for (where it starts, before any job runs): deepgram when asked for,
    or under auto when DEEPGRAM_API_KEY is set (in the environment or a .env file); else offline. A deepgram
    backend without a key is reported by the transcription job, not here, so a dry run still works."""
    backend = (settings.get("backend") or "auto").lower()
    if backend == "auto":
        from ..settings import load_env_files

        load_env_files()
        return "deepgram" if os.environ.get("DEEPGRAM_API_KEY") else "offline"
    return "deepgram" if backend == "deepgram" else "offline"


def transcribe(
    wav: str | os.PathLike,
    out_json: str | os.PathLike,
    *,
    backend: str = _TRANSCRIPTION["backend"],
    threads: int = 2,
    language: str = _TRANSCRIPTION["language"],
    model: str = _TRANSCRIPTION["model"],
    fallback_model: str | None = _TRANSCRIPTION["fallback_model"],
    timeout: float = _TRANSCRIPTION["timeout"],
    diarize: bool = _TRANSCRIPTION["diarize"],
    deepgram_url: str = _TRANSCRIPTION["deepgram_url"],
    api_key: str | None = None,
    max_attempts: int = 5,
    offline: dict | None = None,
) -> dict:
    """Transcribe `wav` into `out_json` (written atomically) in one call and return the `klipstream` provenance block.

    `wav` is a 16 kHz WAV, or for Deepgram any file it decodes (its FLAC/Opus upload file). api_key defaults to
    $DEEPGRAM_API_KEY and deepgram_url to $DEEPGRAM_BASE_URL (else api.deepgram.com). `offline`: the offline
    recogniser's settings (the `transcription.offline` section; its language, not `language`, is what it decodes)."""
    from ..media import wav_info

    wav = Path(wav)
    if not wav.is_file():
        raise KlipError(f"audio file not found: {wav}")
    api_key = api_key if api_key is not None else os.environ.get("DEEPGRAM_API_KEY") or None
    chosen = choose_backend(backend, api_key)
    duration = (
        f"{wav_info(wav).duration:.1f} s" if wav.suffix.lower() == ".wav" else f"{wav.stat().st_size / 1e6:.2f} MB"
    )
    log.info(
        "transcribing %s (%s) with the %s backend%s",
        wav,
        duration,
        chosen,
        f" (model {model})" if chosen == "deepgram" else f" ({threads} threads)",
    )
    if chosen == "deepgram":
        from .deepgram import transcribe_deepgram

        doc = transcribe_deepgram(
            wav,
            api_key=api_key,
            model=model,
            fallback_model=fallback_model,
            language=language,
            timeout=timeout,
            diarize=diarize,
            base_url=deepgram_url or None,
            max_attempts=max_attempts,
        )
    else:
        from .offline import transcribe_offline

        settings = {k: v for k, v in (offline or {}).items() if k != "job_seconds"}
        doc = transcribe_offline(wav, threads=threads, **settings)
    write_json(out_json, doc, indent=None)
    words = len(doc["results"]["channels"][0]["alternatives"][0]["words"])
    log.info(
        "transcript by %s/%s: %d words -> %s", doc["klipstream"]["backend"], doc["klipstream"]["model"], words, out_json
    )
    return doc["klipstream"]


def transcribe_job(
    out_json: str | os.PathLike,
    *,
    audio: str | None = None,
    plan: str | None = None,
    parts: list[str] | None = None,
    settings: dict | None = None,
) -> dict:
    """The workflow's transcript job: gather the offline parts of `plan`, or send `audio` (the upload file the
    workflow encoded) to Deepgram with `settings` (the transcription section)."""
    if plan:
        from .scatter import gather

        return gather(plan, list(parts or []), out_json)
    if not audio:
        raise KlipError(f"{out_json}: nothing to transcribe (neither an upload file nor a transcription plan)")
    # the section's `upload` and `offline` parts are the encoding and planning jobs' settings, not transcribe()'s
    settings = {k: v for k, v in (settings or {}).items() if k not in ("backend", "upload", "offline")}
    return transcribe(audio, out_json, backend="deepgram", **settings)
