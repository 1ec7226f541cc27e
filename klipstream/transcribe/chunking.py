"""Pause-cut chunks for the offline recogniser: pass 1 (energy envelope, chunk plan, chunk groups) and the PCM of
planned chunks (pass 2's reader).

The audio is streamed: pass 1 computes a 10 ms energy envelope (4 bytes per frame, 14 MB for 10 hours) and plans
chunks that start and end in pauses; `iter_chunk_audio` reads the planned chunks' samples, seeking to the first one,
so a job that decodes one group of chunks reads only its own stretch of the file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..media import SAMPLE_RATE, iter_blocks

FRAME = 160  # 10 ms at 16 kHz
FRAME_SECONDS = FRAME / SAMPLE_RATE


@dataclass(frozen=True)
class ChunkPlan:
    """How audio is cut into decoder utterances (all in seconds)."""

    min_pause: float = 0.3  # a quiet run at least this long is a pause we may cut in
    target: float = 20.0  # cut at the first pause once a chunk is this long
    max_chunk: float = 28.0  # never longer (one 30 s Whisper window with its padding): cut at the quietest frame
    pad: float = 0.15  # keep this much quiet audio around speech
    long_pause: float = 4.0  # always cut at a pause this long, whatever the length
    margin_db: float = 12.0  # speech: this much louder than the block's noise floor (10th percentile)...
    range_db: float = 20.0  # ...or than its loud level (90th percentile) minus this, whichever is lower
    floor_db: float = -55.0  # ...and at least this loud (dBFS); digital silence is never speech
    block_seconds: float = 30.0  # noise floor is estimated per block of this length


# ---------------------------------------------------------------- pass 1: energy envelope and plan


def frame_energy_db(wav: str | os.PathLike, block_seconds: float = 30.0) -> np.ndarray:
    """Per-10 ms frame energy in dBFS, streamed block by block (the last partial frame is padded)."""
    parts: list[np.ndarray] = []
    carry = np.zeros(0, dtype=np.float32)
    for _, block in iter_blocks(wav, block_seconds=block_seconds):
        x = np.concatenate([carry, block]) if carry.size else block
        n = len(x) // FRAME
        carry = x[n * FRAME :]
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


# ---------------------------------------------------------------- chunk audio


def iter_chunk_audio(
    wav: str | os.PathLike, chunks: list[tuple[int, int]], block_seconds: float = 30.0
) -> Iterator[tuple[int, float, bytes]]:
    """Yield (index, start_seconds, 16-bit PCM bytes) of each chunk (sorted, not overlapping), streaming the file
    from the first chunk's start; index counts from 0 over `chunks`."""
    if not chunks:
        return
    i = 0
    pending: list[np.ndarray] = []  # pieces of chunk i collected so far
    first = chunks[0][0] * FRAME  # nothing before the first chunk is read
    for block_start, block in iter_blocks(wav, block_seconds=block_seconds, start_sample=first):
        b0 = int(round(block_start * SAMPLE_RATE))
        b1 = b0 + len(block)
        while i < len(chunks):
            c0, c1 = chunks[i][0] * FRAME, chunks[i][1] * FRAME
            if c0 >= b1:
                break
            lo, hi = max(c0, b0), min(c1, b1)
            if hi > lo:
                pending.append(block[lo - b0 : hi - b0])
            if c1 > b1:
                break
            pcm = np.concatenate(pending) if pending else np.zeros(0, np.float32)
            pending = []
            yield i, c0 / SAMPLE_RATE, to_pcm16(pcm)
            i += 1
        if i >= len(chunks):
            return
    if i < len(chunks) and pending:  # file shorter than planned (last partial frame)
        yield i, chunks[i][0] * FRAME / SAMPLE_RATE, to_pcm16(np.concatenate(pending))


def to_pcm16(x: np.ndarray) -> bytes:
    # iter_blocks divides int16 by 32768, so this is exact
    return np.clip(np.rint(x * 32768.0), -32768, 32767).astype("<i2").tobytes()


def group_chunks(chunks: list[tuple[int, int]], job_seconds: float) -> list[tuple[int, int]]:
    """Contiguous (first, last + 1) ranges of chunk indices holding about `job_seconds` of speech each: as many groups
    as ceil(speech / job_seconds) (at most one per chunk), cut where the running speech total crosses each share."""
    if not chunks:
        return []
    lengths = np.array([e - s for s, e in chunks], dtype=np.float64) * FRAME_SECONDS
    total = float(lengths.sum())
    n = int(min(len(chunks), max(1, np.ceil(total / job_seconds - 1e-9))))
    ends = np.cumsum(lengths)
    # group k ends after the chunk whose running total first reaches (k+1)/n of the speech
    cuts = np.searchsorted(ends, total * np.arange(1, n) / n, side="left") + 1
    cuts = np.unique(np.clip(cuts, 1, len(chunks) - 1))
    bounds = [0, *cuts.tolist(), len(chunks)]
    return list(zip(bounds[:-1], bounds[1:]))
