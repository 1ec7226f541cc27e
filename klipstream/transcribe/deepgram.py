"""Deepgram pre-recorded transcription through the official deepgram-sdk (v7: `client.listen.v1.media`).

Upload: the SDK's `transcribe_file(request=...)` accepts an iterator of bytes, which httpx sends as a
streamed body, so the audio (the WAV, or its FLAC/Opus encoding made by `upload.encode_for_upload`) is read
from disk 1 MiB at a time and memory does not grow with its length. We send its Content-Type (from the
file's extension, the artifact registry's table) and Content-Length (httpx then streams without chunked
encoding, which any proxy accepts).

Retries are ours, not the SDK's: the SDK would re-send the same, already consumed iterator, so its
retries are disabled (max_retries=0) and each attempt opens the file again. 429/5xx/timeouts/malformed
bodies are retried with exponential backoff and full jitter, a bounded number of times; 401/403 fail at
once with a one-line error that never contains the key; a 400 that names the model switches once to
the fallback model. The raw JSON body is saved as is (captured by an httpx response hook), so the
transcript is exactly what Deepgram returned, plus a top-level `klipstream` provenance block."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from .. import config as _config
from ..artifacts import content_type as artifact_content_type
from ..errors import KlipError
from ..retry import backoff_delay
from .shape import now_iso

# this module's settings defaults: the config schema's `transcription` section, where they are written once
_TRANSCRIPTION = _config.default("transcription")

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.deepgram.com"
UPLOAD_BLOCK = 1 << 20
RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}


class _Retryable(Exception):
    """A failure worth another attempt (rate limit, server error, timeout, malformed body)."""


class _ModelRejected(Exception):
    pass


def iter_file(path: str | os.PathLike, block: int = UPLOAD_BLOCK, progress_seconds: float = 30.0) -> Iterator[bytes]:
    """The file's bytes, `block` at a time (the upload body), logging upload progress now and then."""
    total = os.path.getsize(path)
    sent, t0 = 0, time.monotonic()
    last = t0
    with open(path, "rb") as fh:
        while data := fh.read(block):
            yield data
            sent += len(data)
            if time.monotonic() - last >= progress_seconds:
                last = time.monotonic()
                log.info("deepgram: uploaded %.0f/%.0f MB, elapsed %.0f s", sent / 1e6, total / 1e6, last - t0)


def _scrub(text: str, secret: str) -> str:
    text = " ".join(str(text).split())
    return text.replace(secret, "***") if secret else text


def _error_message(body) -> str:
    if isinstance(body, dict):
        return str(body.get("err_msg") or body.get("message") or body.get("err_code") or body)
    return str(body)[:200]


def _validate(doc) -> None:
    try:
        doc["results"]["channels"][0]["alternatives"][0]["words"]
        float(doc["metadata"]["duration"])
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise _Retryable("response has no results.channels[0].alternatives[0].words or metadata.duration") from exc


def transcribe_deepgram(
    wav: str | os.PathLike,
    *,
    api_key: str | None,
    model: str = _TRANSCRIPTION["model"],
    fallback_model: str | None = _TRANSCRIPTION["fallback_model"],
    language: str = _TRANSCRIPTION["language"],
    timeout: float = _TRANSCRIPTION["timeout"],
    diarize: bool = _TRANSCRIPTION["diarize"],
    base_url: str | None = None,
    max_attempts: int = 5,
    backoff_base: float = 2.0,
    backoff_cap: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    content_type: str | None = None,
) -> dict:
    """POST the audio file `wav` (WAV, FLAC or Ogg/Opus; its Content-Type from its extension unless given) to
    Deepgram /v1/listen and return its JSON response (plus `klipstream` provenance)."""
    if not api_key:
        raise KlipError("transcription backend deepgram needs DEEPGRAM_API_KEY (environment variable) to be set")
    from deepgram import DeepgramClient
    from deepgram.core.api_error import ApiError
    from deepgram.core.parse_error import ParsingError
    from deepgram.environment import DeepgramClientEnvironment

    wav = Path(wav)
    if not wav.is_file():
        raise KlipError(f"audio file not found: {wav}")
    size = wav.stat().st_size
    content_type = content_type or artifact_content_type(str(wav))
    base_url = (base_url or os.environ.get("DEEPGRAM_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    ws_url = base_url.replace("https://", "wss://").replace("http://", "ws://")
    captured: dict[str, httpx.Response] = {}

    def keep_response(response: httpx.Response) -> None:
        captured["last"] = response

    http = httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(30.0, timeout)),
        event_hooks={"response": [keep_response]},
        follow_redirects=True,
    )
    client = DeepgramClient(
        api_key=api_key,
        httpx_client=http,
        max_retries=0,
        timeout=timeout,
        environment=DeepgramClientEnvironment(base=base_url, production=ws_url, agent=ws_url, agent_rest=base_url),
    )

    def attempt(use_model: str) -> dict:
        captured.clear()
        try:
            client.listen.v1.media.transcribe_file(
                request=iter_file(wav),
                model=use_model,
                language=language,
                smart_format=True,
                punctuate=True,
                paragraphs=True,
                utterances=True,
                diarize=diarize or None,  # None: the parameter is not sent at all
                request_options={
                    "max_retries": 0,
                    "timeout": timeout,
                    "additional_headers": {"content-type": content_type, "content-length": str(size)},
                },
            )
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out after {timeout:g} s ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__}: {_scrub(exc, api_key)})") from exc
        except ParsingError as exc:
            raise _Retryable("malformed response body (unexpected shape)") from exc
        except ApiError as exc:
            status = exc.status_code or 0
            if status in (401, 403):
                raise KlipError(f"Deepgram rejected the API key (HTTP {status}): check DEEPGRAM_API_KEY") from None
            message = _scrub(_error_message(exc.body), api_key)
            if status in RETRY_STATUSES:
                raise _Retryable(f"HTTP {status}: {message}") from None
            if 200 <= status < 300:
                raise _Retryable(f"malformed response body (HTTP {status})") from None
            if status == 400 and "model" in message.lower():
                raise _ModelRejected(message) from None
            raise KlipError(f"Deepgram refused {wav.name} (HTTP {status}): {message}") from None
        response = captured.get("last")
        try:
            doc = json.loads(response.content) if response is not None else None
        except ValueError as exc:
            raise _Retryable("malformed response body (not JSON)") from exc
        _validate(doc)
        return doc

    models = [model] + ([fallback_model] if fallback_model and fallback_model != model else [])
    t0 = time.monotonic()
    try:
        for m_index, use_model in enumerate(models):
            for n in range(max_attempts):
                log.info(
                    "deepgram: uploading %s (%.2f MB, %s) with model %s, attempt %d/%d",
                    wav.name,
                    size / 1e6,
                    content_type,
                    use_model,
                    n + 1,
                    max_attempts,
                )
                try:
                    doc = attempt(use_model)
                except _ModelRejected as exc:
                    if m_index + 1 < len(models):
                        log.warning(
                            "deepgram rejected model %s (%s); falling back to %s", use_model, exc, models[m_index + 1]
                        )
                        break
                    raise KlipError(f"Deepgram rejected model {use_model} for {wav.name}: {exc}") from None
                except _Retryable as exc:
                    if n + 1 >= max_attempts:
                        raise KlipError(
                            f"Deepgram failed for {wav.name} after {max_attempts} attempts: {_scrub(exc, api_key)}"
                        ) from None
                    delay = backoff_delay(n, backoff_base, backoff_cap)
                    log.warning(
                        "deepgram attempt %d failed: %s; retrying in %.1f s", n + 1, _scrub(exc, api_key), delay
                    )
                    sleep(delay)
                    continue
                duration = float(doc["metadata"]["duration"])
                elapsed = time.monotonic() - t0
                log.info(
                    "deepgram: model %s transcribed %.1f s of audio in %.1f s (RTF %.3f), %d words",
                    use_model,
                    duration,
                    elapsed,
                    elapsed / duration if duration else 0.0,
                    len(doc["results"]["channels"][0]["alternatives"][0]["words"]),
                )
                doc["klipstream"] = {
                    "backend": "deepgram",
                    "model": use_model,
                    "created": now_iso(),
                    "upload": {"content_type": content_type, "bytes": size},
                }
                return doc
    finally:
        http.close()
    raise KlipError(f"Deepgram gave no transcript for {wav.name}")  # pragma: no cover - loop always returns/raises
