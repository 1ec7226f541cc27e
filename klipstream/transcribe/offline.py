"""Offline transcription with pocketsphinx: pause-based chunking, parallel decoding, Deepgram-shaped output.

The audio is read twice, both times streamed: pass 1 computes a 10 ms energy envelope (4 bytes per
frame, 14 MB for 10 hours) and plans chunks that start and end in pauses; pass 2 walks the file again
and hands each chunk's PCM to a pool of worker processes, each holding one pocketsphinx Decoder.
At most a few chunks are in flight, so memory does not grow with the length of the audio."""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..errors import KlipError
from ..media import SAMPLE_RATE, iter_blocks, wav_info
from .shape import build_response, file_sha256

log = logging.getLogger(__name__)

FRAME = 160                      # 10 ms at 16 kHz: pocketsphinx's own frame rate
FRAME_SECONDS = FRAME / SAMPLE_RATE
MODEL_NAME = "pocketsphinx-5-en-us"


@dataclass(frozen=True)
class ChunkPlan:
    """How audio is cut into decoder utterances (all in seconds)."""
    min_pause: float = 0.3       # a quiet run at least this long is a pause we may cut in
    target: float = 10.0         # cut at the first pause once a chunk is this long
    max_chunk: float = 30.0      # never longer: cut at the quietest frame instead
    pad: float = 0.15            # keep this much quiet audio around speech
    long_pause: float = 1.5      # always cut at a pause this long, whatever the length
    margin_db: float = 12.0      # speech: this much louder than the block's noise floor (10th percentile)...
    range_db: float = 20.0       # ...or than its loud level (90th percentile) minus this, whichever is lower
    floor_db: float = -55.0      # ...and at least this loud (dBFS); digital silence is never speech
    block_seconds: float = 30.0  # noise floor is estimated per block of this length


# ---------------------------------------------------------------- pass 1: energy envelope and plan

def frame_energy_db(wav: str | os.PathLike, block_seconds: float = 30.0) -> np.ndarray:
    """Per-10 ms frame energy in dBFS, streamed block by block (the last partial frame is padded)."""
    parts: list[np.ndarray] = []
    carry = np.zeros(0, dtype=np.float32)
    for _, block in iter_blocks(wav, block_seconds=block_seconds):
        x = np.concatenate([carry, block]) if carry.size else block
        n = len(x) // FRAME
        carry = x[n * FRAME:]
        if n:
            frames = x[: n * FRAME].reshape(n, FRAME).astype(np.float64)
            parts.append((10 * np.log10(np.mean(frames * frames, axis=1) + 1e-10)).astype(np.float32))
    if carry.size:
        padded = np.zeros(FRAME, dtype=np.float64)
        padded[: carry.size] = carry
        parts.append(np.array([10 * np.log10(np.mean(padded * padded) + 1e-10)], dtype=np.float32))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def speech_mask(db: np.ndarray, plan: ChunkPlan = ChunkPlan()) -> np.ndarray:
    """Frames louder than min(noise floor + margin, loud level - range) of their block, and than an absolute floor.

    The second term keeps a block of continuous sound (talk over music: noise floor = loud level) all speech,
    so a missed pause costs decoding time, never words."""
    if db.size == 0:
        return np.zeros(0, dtype=bool)
    per_block = max(1, int(round(plan.block_seconds / FRAME_SECONDS)))
    n_blocks = -(-db.size // per_block)
    padded = np.full(n_blocks * per_block, np.nan, dtype=np.float32)
    padded[: db.size] = db
    noise, loud = np.nanpercentile(padded.reshape(n_blocks, per_block), [10, 90], axis=1)
    threshold = np.maximum(np.minimum(noise + plan.margin_db, loud - plan.range_db), plan.floor_db)
    return db > np.repeat(threshold, per_block)[: db.size]


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and end (exclusive) indices of the True runs of a boolean array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def plan_chunks(db: np.ndarray, plan: ChunkPlan = ChunkPlan()) -> list[tuple[int, int]]:
    """Cut the speech of an energy envelope into (start_frame, end_frame) chunks that begin and end in pauses.

    Speech runs separated by less than `min_pause` are one region; regions are joined into a chunk until
    it reaches `target` seconds or the next pause is `long_pause` long; a region longer than `max_chunk`
    is split at its quietest frames. Audio outside every chunk (long silences) is never decoded."""
    mask = speech_mask(db, plan)
    starts, ends = _runs(mask)
    if starts.size == 0:
        return []
    fps = 1.0 / FRAME_SECONDS
    min_pause = int(round(plan.min_pause * fps))
    # join speech runs separated by short gaps, drop isolated clicks shorter than 50 ms
    gaps = starts[1:] - ends[:-1]
    keep = np.concatenate([[True], gaps >= min_pause])
    r_start = starts[keep]
    r_end = np.concatenate([ends[:-1][keep[1:]], [ends[-1]]])
    long_enough = (r_end - r_start) >= int(0.05 * fps)
    r_start, r_end = r_start[long_enough], r_end[long_enough]
    pad = int(round(plan.pad * fps))
    target, max_len = int(plan.target * fps), int(plan.max_chunk * fps)
    long_pause = int(plan.long_pause * fps)

    chunks: list[tuple[int, int]] = []
    cur_s = cur_e = None
    for s, e in zip(r_start.tolist(), r_end.tolist()):  # one iteration per pause, not per frame
        if cur_s is not None and (cur_e - cur_s >= target or s - cur_e >= long_pause or e - cur_s > max_len):
            chunks.append((cur_s, cur_e))
            cur_s = None
        if cur_s is None:
            cur_s = s
        cur_e = e
    if cur_s is not None:
        chunks.append((cur_s, cur_e))

    out: list[tuple[int, int]] = []
    for s, e in chunks:
        out.extend(_split_long(db, s, e, max_len))
    n = db.size
    # pad into the surrounding pause, but never into the neighbour chunk
    padded = []
    for i, (s, e) in enumerate(out):
        lo = max(0, s - pad) if i == 0 else max(s - pad, (out[i - 1][1] + s) // 2)
        hi = min(n, e + pad) if i == len(out) - 1 else min(e + pad, (e + out[i + 1][0]) // 2)
        padded.append((lo, hi))
    return padded


def _split_long(db: np.ndarray, s: int, e: int, max_len: int) -> list[tuple[int, int]]:
    """Split [s, e) into pieces of at most max_len frames, each cut at the quietest 100 ms in its last third."""
    pieces = []
    while e - s > max_len:
        lo, hi = s + (2 * max_len) // 3, s + max_len
        smooth = np.convolve(db[lo:hi], np.ones(10) / 10, mode="same")
        cut = lo + int(np.argmin(smooth))
        pieces.append((s, cut))
        s = cut
    pieces.append((s, e))
    return pieces


# ---------------------------------------------------------------- pass 2: chunk audio, decoding

def iter_chunk_audio(wav: str | os.PathLike, chunks: list[tuple[int, int]],
                     block_seconds: float = 30.0) -> Iterator[tuple[int, float, bytes]]:
    """Yield (index, start_seconds, 16-bit PCM bytes) of each planned chunk, streaming the file once more."""
    if not chunks:
        return
    i = 0
    pending: list[np.ndarray] = []   # pieces of chunk i collected so far
    for block_start, block in iter_blocks(wav, block_seconds=block_seconds):
        b0 = int(round(block_start * SAMPLE_RATE))
        b1 = b0 + len(block)
        while i < len(chunks):
            c0, c1 = chunks[i][0] * FRAME, chunks[i][1] * FRAME
            if c0 >= b1:
                break
            lo, hi = max(c0, b0), min(c1, b1)
            if hi > lo:
                pending.append(block[lo - b0: hi - b0])
            if c1 > b1:
                break
            pcm = np.concatenate(pending) if pending else np.zeros(0, np.float32)
            pending = []
            yield i, c0 / SAMPLE_RATE, _to_pcm16(pcm)
            i += 1
        if i >= len(chunks):
            return
    if i < len(chunks) and pending:   # file shorter than planned (last partial frame)
        yield i, chunks[i][0] * FRAME / SAMPLE_RATE, _to_pcm16(np.concatenate(pending))


def _to_pcm16(x: np.ndarray) -> bytes:
    # iter_blocks divides int16 by 32768, so this is exact
    return np.clip(np.rint(x * 32768.0), -32768, 32767).astype("<i2").tobytes()


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
        return                      # same process, same settings: keep the loaded model
    from pocketsphinx import Decoder
    _DECODER = Decoder(**options)
    _DECODER_OPTIONS = dict(options)


def decode_chunk(start: float, pcm: bytes) -> list[tuple[str, float, float, float]]:
    """Decode one utterance; return (word, start_s, end_s, confidence) with times offset by the chunk start.

    Fillers (<s>, <sil>, [NOISE], ...) are dropped and alternate pronunciations ("the(2)") folded.
    Confidence is the word's lattice posterior from pocketsphinx's bestpath pass."""
    d = _DECODER
    d.reinit_feat()   # fresh CMN/feature state: a chunk decodes the same whatever the worker decoded before
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


# per-worker CPU seconds of the last transcribe_offline call in this process (for bench/transcription.py)
last_run_stats: dict = {}


def transcribe_offline(wav: str | os.PathLike, *, threads: int = 2, language: str = "en",
                       plan: ChunkPlan = ChunkPlan(), chunk_timeout: float = 600.0,
                       progress_seconds: float = 30.0, options: dict | None = None) -> dict:
    """Transcribe a 16 kHz mono WAV with pocketsphinx over `threads` worker processes; return the Deepgram shape.

    Chunks are decoded independently (batch CMN per chunk), so the result does not depend on how
    chunks were spread over workers. At most 2 x workers chunks are in flight at any time."""
    info = wav_info(wav)
    if info.sample_rate != SAMPLE_RATE:
        raise KlipError(f"{wav}: offline transcription needs {SAMPLE_RATE} Hz audio, got {info.sample_rate} Hz")
    if not language.lower().startswith("en"):
        log.warning("offline backend has only an English model; transcribing %s as English, not %r", wav, language)
    t0 = time.monotonic()
    db = frame_energy_db(wav, plan.block_seconds)
    chunks = plan_chunks(db, plan)
    speech = sum(e - s for s, e in chunks) * FRAME_SECONDS
    log.info("offline backend (%s, pocketsphinx %s): %d chunks, %.1f s to decode of %.1f s audio",
             MODEL_NAME, pocketsphinx_version(), len(chunks), speech, info.duration)
    opts = decoder_options(**(options or {}))
    results: dict[int, list] = {}
    workers = max(1, min(int(threads), len(chunks)))
    done_audio = 0.0
    last_log = time.monotonic()

    def progress(force: bool = False) -> None:
        nonlocal last_log
        if force or time.monotonic() - last_log >= progress_seconds:
            elapsed = time.monotonic() - t0
            log.info("transcribed %d/%d chunks (%.0f/%.0f s of speech), elapsed %.1f s, RTF %.3f",
                     len(results), len(chunks), done_audio, speech, elapsed,
                     elapsed / info.duration if info.duration else 0.0)
            last_log = time.monotonic()

    worker_cpu: dict[int, float] = {}
    if workers == 1:
        _init_worker(opts)
        for i, start, pcm in iter_chunk_audio(wav, chunks, plan.block_seconds):
            results[i], pid, cpu = _decode_chunk_timed(start, pcm)
            worker_cpu[pid] = worker_cpu.get(pid, 0.0) + cpu
            done_audio += len(pcm) / 2 / SAMPLE_RATE
            progress()
    elif chunks:
        lengths = {i: (e - s) * FRAME_SECONDS for i, (s, e) in enumerate(chunks)}
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(),
                                    initializer=_init_worker, initargs=(opts,)) as pool:
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

            for i, start, pcm in iter_chunk_audio(wav, chunks, plan.block_seconds):
                inflight[pool.submit(_decode_chunk_timed, start, pcm)] = i
                drain(2 * workers)
            drain(0)
    words = [w for i in sorted(results) for w in results[i]]
    progress(force=True)
    last_run_stats.clear()
    last_run_stats.update(workers=workers, chunks=len(chunks), speech_seconds=speech,
                          wall_seconds=time.monotonic() - t0, worker_cpu_seconds=sorted(worker_cpu.values()))
    if worker_cpu:
        log.info("decoding CPU per worker: %s s", ", ".join(f"{v:.1f}" for v in sorted(worker_cpu.values())))
    return build_response(words, info.duration, backend="offline", model=MODEL_NAME,
                          model_version=pocketsphinx_version(), sha256=file_sha256(wav))
