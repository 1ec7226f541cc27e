"""Transcription stage: audio_{vod}.wav -> audio_{vod}_transcript.json (Deepgram response shape).

`transcribe()` picks the backend: Deepgram (nova-3 via deepgram-sdk) when DEEPGRAM_API_KEY is set or
asked for, else the offline pocketsphinx recogniser. The tables are derived from the JSON by
`klipstream.transcribe.tables` (`write_word_tables`, `write_segments`)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import KlipError
from ..io import write_json
from ..media import wav_info
from .tables import write_segments, write_word_tables

log = logging.getLogger(__name__)

BACKENDS = ("auto", "deepgram", "offline")

__all__ = ["transcribe", "choose_backend", "write_word_tables", "write_segments"]


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


def transcribe(wav: str | os.PathLike, out_json: str | os.PathLike, *, backend: str = "auto", threads: int = 2,
               language: str = "en", model: str = "nova-3", fallback_model: str | None = "nova-2",
               timeout: float = 600.0, deepgram_url: str = "", api_key: str | None = None,
               max_attempts: int = 5) -> dict:
    """Transcribe `wav` into `out_json` (written atomically) and return the `klipstream` provenance block.

    api_key defaults to $DEEPGRAM_API_KEY and deepgram_url to $DEEPGRAM_BASE_URL (else api.deepgram.com)."""
    wav = Path(wav)
    if not wav.is_file():
        raise KlipError(f"audio file not found: {wav}")
    api_key = api_key if api_key is not None else os.environ.get("DEEPGRAM_API_KEY") or None
    chosen = choose_backend(backend, api_key)
    info = wav_info(wav)
    log.info("transcribing %s (%.1f s) with the %s backend%s", wav, info.duration, chosen,
             f" (model {model})" if chosen == "deepgram" else f" ({threads} workers)")
    if chosen == "deepgram":
        from .deepgram import transcribe_deepgram
        doc = transcribe_deepgram(wav, api_key=api_key, model=model, fallback_model=fallback_model,
                                  language=language, timeout=timeout, base_url=deepgram_url or None, max_attempts=max_attempts)
    else:
        from .offline import transcribe_offline
        doc = transcribe_offline(wav, threads=threads, language=language)
    write_json(out_json, doc, indent=None)
    words = len(doc["results"]["channels"][0]["alternatives"][0]["words"])
    log.info("transcript by %s/%s: %d words -> %s", doc["klipstream"]["backend"], doc["klipstream"]["model"],
             words, out_json)
    return doc["klipstream"]
