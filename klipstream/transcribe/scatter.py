"""Offline transcription as separate jobs (scatter-gather), so Snakemake can spread a long VOD over cores or nodes.

1. `write_plan` (a checkpoint): pass 1 over the WAV - energy envelope, pause-cut chunks, and contiguous groups of
   chunks holding about `job_seconds` of speech each - written as plan.json, with the audio's duration and hash, the
   decoder settings (model, device, beam...) and the VOD's language (set, or detected once here for a multilingual
   model), so every part decodes alike.
2. `decode_part` (one job per group): decodes its group's chunks with Whisper, reading only its stretch of the WAV,
   and writes the words as part_{i}.json.
3. `gather`: joins the parts in order and writes the same Deepgram-shaped transcript `transcribe_offline` makes in
   one call: each chunk decodes with fresh state, so the words (and the tables made from them) are identical for a
   given number of threads per job (CTranslate2's sums may round differently with another thread count)."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict
from pathlib import Path

from ..errors import KlipError
from ..io import file_sha256, read_json, write_json
from .chunking import FRAME_SECONDS, ChunkPlan, frame_energy_db, group_chunks, plan_chunks
from .offline import Decoder, check_wav, decode_chunks, decoder_from, detect_language, offline_response, resolve_model

log = logging.getLogger(__name__)

PLAN_VERSION = 2


def write_plan(
    wav: str | os.PathLike,
    plan_json: str | os.PathLike,
    *,
    job_seconds: float = 120.0,
    plan: ChunkPlan = ChunkPlan(),
    threads: int = 1,
    **settings,
) -> dict:
    """Plan the offline transcription of `wav`: its chunks and their groups (one decoding job each). `settings`: the
    rest of the `transcription.offline` section (the Decoder's fields). The model is found here once (downloaded
    into the model cache on first use), so a missing model fails before any decoding job starts."""
    if job_seconds <= 0:
        raise KlipError(f"transcription.offline.job_seconds must be > 0, got {job_seconds}")
    t0 = time.monotonic()
    decoder = decoder_from(settings)
    info = check_wav(wav)
    chunks = plan_chunks(frame_energy_db(wav, plan.block_seconds), plan)
    groups = group_chunks(chunks, job_seconds)
    speech = [sum(e - s for s, e in chunks[a:b]) * FRAME_SECONDS for a, b in groups]
    resolve_model(decoder.model)
    language, confidence = detect_language(wav, chunks, decoder, threads=threads)
    doc = {
        "version": PLAN_VERSION,
        "model": decoder.model,
        "decoder": asdict(decoder),
        "language": language,
        "language_confidence": confidence,
        "duration": info.duration,
        "frames": info.frames,
        "sha256": file_sha256(wav),
        "plan": asdict(plan),
        "job_seconds": job_seconds,
        "speech_seconds": round(sum(speech), 2),
        "chunks": [list(c) for c in chunks],
        "groups": [{"first": a, "last": b, "speech_seconds": round(s, 2)} for (a, b), s in zip(groups, speech)],
    }
    write_json(plan_json, doc, indent=None)
    log.info(
        "%s: %.1f s of audio, %d chunks (%.1f s of speech) in %d decoding job(s) of about %g s; planned in %.1f s",
        wav,
        info.duration,
        len(chunks),
        doc["speech_seconds"],
        len(groups),
        job_seconds,
        time.monotonic() - t0,
    )
    return doc


def read_plan(plan_json: str | os.PathLike) -> dict:
    try:
        doc = read_json(plan_json)
    except (OSError, ValueError) as exc:
        raise KlipError(f"transcription plan unreadable: {plan_json} ({exc})") from exc
    if doc.get("version") != PLAN_VERSION or "groups" not in doc:
        raise KlipError(f"{plan_json}: not a transcription plan of version {PLAN_VERSION}")
    return doc


def part_count(plan_json: str | os.PathLike) -> int:
    """How many decoding jobs (parts) the plan has: what the workflow asks of the checkpoint."""
    return len(read_plan(plan_json)["groups"])


def decode_part(
    wav: str | os.PathLike, plan_json: str | os.PathLike, part: int, out_json: str | os.PathLike, *, threads: int = 1
) -> dict:
    """Decode group `part` of the plan and write its words (and what it cost) to `out_json`."""
    doc = read_plan(plan_json)
    part = int(part)
    if not 0 <= part < len(doc["groups"]):
        raise KlipError(f"{plan_json}: no part {part} (the plan has {len(doc['groups'])})")
    info = check_wav(wav)
    if info.frames != doc["frames"]:
        raise KlipError(f"{wav} changed since {plan_json} was planned ({info.frames} samples, plan {doc['frames']})")
    group = doc["groups"][part]
    chunks = [tuple(c) for c in doc["chunks"][group["first"] : group["last"]]]
    t0, c0 = time.monotonic(), time.process_time()
    per_chunk = decode_chunks(
        wav,
        chunks,
        decoder=Decoder(**doc["decoder"]),
        language=doc["language"],
        threads=threads,
        block_seconds=doc["plan"]["block_seconds"],
    )
    words = [list(w) for chunk in per_chunk for w in chunk]
    out = {
        "part": part,
        "first": group["first"],
        "last": group["last"],
        "model": doc["model"],
        "threads": int(threads),
        "speech_seconds": group["speech_seconds"],
        "cpu_seconds": round(time.process_time() - c0, 2),
        "wall_seconds": round(time.monotonic() - t0, 2),
        "words": words,
    }
    write_json(out_json, out, indent=None)
    log.info(
        "part %d/%d of %s: %d chunks, %.1f s of speech, %d words in %.1f s",
        part + 1,
        len(doc["groups"]),
        wav,
        len(chunks),
        group["speech_seconds"],
        len(words),
        out["wall_seconds"],
    )
    return out


def gather(plan_json: str | os.PathLike, parts: list[str | os.PathLike], out_json: str | os.PathLike) -> dict:
    """Join the decoded parts of a plan into the transcript JSON (Deepgram shape); return its provenance block."""
    doc = read_plan(plan_json)
    found: dict[int, dict] = {}
    for path in parts:
        try:
            part = read_json(path)
        except (OSError, ValueError) as exc:
            raise KlipError(f"transcript part unreadable: {path} ({exc})") from exc
        index = int(part.get("part", -1))
        group = doc["groups"][index] if 0 <= index < len(doc["groups"]) else None
        if group is None or (part.get("first"), part.get("last")) != (group["first"], group["last"]):
            raise KlipError(f"{path} is not a part of {plan_json} (planned again since it was decoded?)")
        found[index] = part
    missing = sorted(set(range(len(doc["groups"]))) - set(found))
    if missing:
        raise KlipError(f"{plan_json}: part(s) {', '.join(map(str, missing))} missing from the gather")
    words = [tuple(w) for i in range(len(doc["groups"])) for w in found[i]["words"]]
    response = offline_response(
        words, doc["duration"], doc["sha256"], Decoder(**doc["decoder"]), doc["language"], doc["language_confidence"]
    )
    write_json(out_json, response, indent=None)
    cpu = sum(p["cpu_seconds"] for p in found.values())
    log.info(
        "gathered %d part(s) of %s: %d words, %.0f CPU seconds of decoding (%.3f per audio second) -> %s",
        len(found),
        Path(plan_json).parent.name,
        len(words),
        cpu,
        cpu / doc["duration"] if doc["duration"] else 0,
        out_json,
    )
    return response["klipstream"]
