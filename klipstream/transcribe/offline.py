"""Offline transcription with pocketsphinx: pause-based chunking, parallel decoding, Deepgram-shaped output.

The audio is read twice, both times streamed: pass 1 (`chunking`) computes a 10 ms energy envelope and plans
chunks that start and end in pauses; pass 2 walks the file again and hands each chunk's PCM to a pool of worker
processes, each holding one pocketsphinx Decoder. At most a few chunks are in flight, so memory does not grow with
the length of the audio. Each chunk decodes with fresh state, so the words do not depend on which process (or which
Snakemake job, `scatter`) decoded it."""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import re
import sys
import time

from ..errors import KlipError
from ..io import file_sha256
from ..media import SAMPLE_RATE, wav_info
from .chunking import FRAME_SECONDS, ChunkPlan, frame_energy_db, iter_chunk_audio, plan_chunks
from .shape import build_response

log = logging.getLogger(__name__)

MODEL_NAME = "pocketsphinx-5-en-us"
__all__ = ["ChunkPlan", "frame_energy_db", "iter_chunk_audio", "plan_chunks", "transcribe_offline", "decode_chunks"]


_DECODER = None
_DECODER_OPTIONS: dict | None = None
_FILLER = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")
_ALT = re.compile(r"\(\d+\)$")


def decoder_options(**overrides) -> dict:
    """pocketsphinx settings: bundled en-us model, quiet logs, CMN over the whole chunk (offline, so batch is exact)."""
    opts = {"samprate": SAMPLE_RATE, "loglevel": "FATAL", "cmn": "batch"}
    opts.update(overrides)
    return opts


def _init_worker(options: dict) -> None:
    """Build one Decoder per worker process (loading the model takes ~0.3 s, far more than a short chunk)."""
    global _DECODER, _DECODER_OPTIONS
    if _DECODER is not None and _DECODER_OPTIONS == options:
        return  # same process, same settings: keep the loaded model
    from pocketsphinx import Decoder

    _DECODER = Decoder(**options)
    _DECODER_OPTIONS = dict(options)


def decode_chunk(start: float, pcm: bytes) -> list[tuple[str, float, float, float]]:
    """Decode one utterance; return (word, start_s, end_s, confidence) with times offset by the chunk start.

    Fillers (<s>, <sil>, [NOISE], ...) are dropped and alternate pronunciations ("the(2)") folded.
    Confidence is the word's lattice posterior from pocketsphinx's bestpath pass."""
    d = _DECODER
    d.reinit_feat()  # fresh CMN/feature state: a chunk decodes the same whatever the worker decoded before
    d.start_utt()
    d.process_raw(pcm, no_search=False, full_utt=True)
    d.end_utt()
    words = []
    for seg in d.seg():
        if _FILLER.match(seg.word):
            continue
        w = _ALT.sub("", seg.word)
        s = start + seg.start_frame * FRAME_SECONDS
        e = start + (seg.end_frame + 1) * FRAME_SECONDS
        words.append((w, round(s, 3), round(e, 3), float(min(1.0, max(0.0, seg.prob)))))
    return words


# ---------------------------------------------------------------- the backend


def _pool_context():
    """fork on Linux: workers inherit the loaded module without re-running the caller's __main__
    (a Snakemake script is an unguarded __main__, which spawn/forkserver would execute again)."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def pocketsphinx_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pocketsphinx")
    except PackageNotFoundError:  # pragma: no cover
        return ""


def _decode_chunk_timed(start: float, pcm: bytes) -> tuple[list, int, float]:
    """decode_chunk plus (worker pid, CPU seconds spent), for the per-worker load report."""
    c0 = time.process_time()
    words = decode_chunk(start, pcm)
    return words, os.getpid(), time.process_time() - c0


# per-worker CPU seconds of the last decode_chunks call in this process (for bench/transcription.py)
last_run_stats: dict = {}


def check_wav(wav: str | os.PathLike, language: str = "en"):
    """The WAV's info, after checking it is 16 kHz (the model's rate); warns that the model is English only."""
    info = wav_info(wav)
    if info.sample_rate != SAMPLE_RATE:
        raise KlipError(f"{wav}: offline transcription needs {SAMPLE_RATE} Hz audio, got {info.sample_rate} Hz")
    if not language.lower().startswith("en"):
        log.warning("offline backend has only an English model; transcribing %s as English, not %r", wav, language)
    return info


def decode_chunks(
    wav: str | os.PathLike,
    chunks: list[tuple[int, int]],
    *,
    threads: int = 1,
    block_seconds: float = 30.0,
    chunk_timeout: float = 600.0,
    progress_seconds: float = 30.0,
    options: dict | None = None,
) -> list[list[tuple[str, float, float, float]]]:
    """Decode each (start_frame, end_frame) chunk of `wav` (sorted, not overlapping) over `threads` worker processes
    (1: in this process); return the words of each chunk, in the order of `chunks`.

    At most 2 x workers chunks are in flight at any time."""
    t0 = time.monotonic()
    opts = decoder_options(**(options or {}))
    results: dict[int, list] = {}
    workers = max(1, min(int(threads), len(chunks)))
    lengths = [(e - s) * FRAME_SECONDS for s, e in chunks]
    speech, done_audio = sum(lengths), 0.0
    last_log = time.monotonic()

    def progress(force: bool = False) -> None:
        nonlocal last_log
        if force or time.monotonic() - last_log >= progress_seconds:
            elapsed = time.monotonic() - t0
            log.info(
                "transcribed %d/%d chunks (%.0f/%.0f s of speech), elapsed %.1f s, speech RTF %.3f",
                len(results),
                len(chunks),
                done_audio,
                speech,
                elapsed,
                elapsed / speech if speech else 0.0,
            )
            last_log = time.monotonic()

    worker_cpu: dict[int, float] = {}
    if workers == 1:
        _init_worker(opts)
        for i, start, pcm in iter_chunk_audio(wav, chunks, block_seconds):
            results[i], pid, cpu = _decode_chunk_timed(start, pcm)
            worker_cpu[pid] = worker_cpu.get(pid, 0.0) + cpu
            done_audio += lengths[i]
            progress()
    elif chunks:
        with cf.ProcessPoolExecutor(
            max_workers=workers, mp_context=_pool_context(), initializer=_init_worker, initargs=(opts,)
        ) as pool:
            inflight: dict[cf.Future, int] = {}

            def drain(limit: int) -> None:
                nonlocal done_audio
                while len(inflight) > limit:
                    finished, _ = cf.wait(inflight, timeout=chunk_timeout, return_when=cf.FIRST_COMPLETED)
                    if not finished:
                        raise KlipError(f"{wav}: pocketsphinx made no progress for {chunk_timeout:.0f} s")
                    for fut in finished:
                        idx = inflight.pop(fut)
                        results[idx], pid, cpu = fut.result()
                        worker_cpu[pid] = worker_cpu.get(pid, 0.0) + cpu
                        done_audio += lengths[idx]
                    progress()

            for i, start, pcm in iter_chunk_audio(wav, chunks, block_seconds):
                inflight[pool.submit(_decode_chunk_timed, start, pcm)] = i
                drain(2 * workers)
            drain(0)
    progress(force=True)
    last_run_stats.clear()
    last_run_stats.update(
        workers=workers,
        chunks=len(chunks),
        speech_seconds=speech,
        wall_seconds=time.monotonic() - t0,
        worker_cpu_seconds=sorted(worker_cpu.values()),
    )
    if worker_cpu:
        log.info("decoding CPU per worker: %s s", ", ".join(f"{v:.1f}" for v in sorted(worker_cpu.values())))
    return [results.get(i, []) for i in range(len(chunks))]


def offline_response(words: list, duration: float, sha256: str) -> dict:
    """The Deepgram-shaped transcript of the offline backend's words (time order)."""
    return build_response(
        words, duration, backend="offline", model=MODEL_NAME, model_version=pocketsphinx_version(), sha256=sha256
    )


def transcribe_offline(
    wav: str | os.PathLike,
    *,
    threads: int = 2,
    language: str = "en",
    plan: ChunkPlan = ChunkPlan(),
    chunk_timeout: float = 600.0,
    progress_seconds: float = 30.0,
    options: dict | None = None,
) -> dict:
    """Transcribe a 16 kHz mono WAV with pocketsphinx over `threads` worker processes in one call; return the
    Deepgram shape. (The workflow runs the same steps as separate jobs: `scatter`.)

    Chunks are decoded independently (batch CMN per chunk), so the result does not depend on how
    chunks were spread over workers."""
    info = check_wav(wav, language)
    db = frame_energy_db(wav, plan.block_seconds)
    chunks = plan_chunks(db, plan)
    speech = sum(e - s for s, e in chunks) * FRAME_SECONDS
    log.info(
        "offline backend (%s, pocketsphinx %s): %d chunks, %.1f s to decode of %.1f s audio",
        MODEL_NAME,
        pocketsphinx_version(),
        len(chunks),
        speech,
        info.duration,
    )
    parts = decode_chunks(
        wav,
        chunks,
        threads=threads,
        block_seconds=plan.block_seconds,
        chunk_timeout=chunk_timeout,
        progress_seconds=progress_seconds,
        options=options,
    )
    return offline_response([w for part in parts for w in part], info.duration, file_sha256(wav))
