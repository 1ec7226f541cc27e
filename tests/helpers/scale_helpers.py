"""Helpers for the run-at-scale tests (Slurm, GCS default storage, many VODs): small chat-only VODs cut from real
Twitch chat, VOD tables, comparing two runs' results, and reading job concurrency from Snakemake's own log."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd

from tests.helpers.workflow import SHARED_DATA, write_table  # noqa: F401 - write_table is used by the scale tests

REAL_CHAT = SHARED_DATA / "chat" / "twitch_v5_1087079172.json"

# What a chat-only VOD produces, relative to the work directory (the tables compared between runs).
CHAT_TABLES = [
    "output/analysis/chat/{vod}_chat_sentiment.csv",
    "output/analysis/chat/{vod}_chat_timeline.csv",
    "output/analysis/chat/{vod}_highlight_analysis.csv",
]
AUDIO_TABLES = [
    "output/raw/transcripts/audio_{vod}_words.csv",
    "output/raw/transcripts/audio_{vod}_segments.csv",
    "output/analysis/audio/{vod}_features.csv",
    "output/analysis/audio/{vod}_sentiment.csv",
    "output/analysis/audio/{vod}_highlights.csv",
]
INTEGRATED = "output/analysis/{vod}_integrated_analysis.json"


def cut_chat(dst: Path, start: float, seconds: float, src: Path = REAL_CHAT) -> Path:
    """A TwitchDownloader-style chat JSON holding the comments of [start, start + seconds) of `src`,
    shifted to start at 0 (so each cut is a different, real, short VOD)."""
    doc = json.loads(src.read_text())
    kept = []
    for c in doc["comments"]:
        t = c["content_offset_seconds"]
        if start <= t < start + seconds:
            c = dict(c, content_offset_seconds=t - start)
            kept.append(c)
    doc["comments"] = kept
    if isinstance(doc.get("video"), dict):
        doc["video"] = {**doc["video"], "start": 0, "end": seconds, "length": seconds}
    dst.write_text(json.dumps(doc))
    return dst


def read_integrated(work: Path, vod: str) -> dict:
    return json.loads((work / INTEGRATED.format(vod=vod)).read_text())


def highlights_of(doc: dict) -> list[dict]:
    """The ranked highlights of an integrated analysis, without fields that name the run (paths, clock times)."""
    return [{k: v for k, v in h.items() if k not in ("clip", "clip_path", "url")} for h in doc["highlights"]]


def assert_same_results(a: Path, b: Path, vod: str, tables=CHAT_TABLES) -> None:
    """Two runs of one VOD gave the same highlights and the same tables (exact, row for row)."""
    ha, hb = highlights_of(read_integrated(a, vod)), highlights_of(read_integrated(b, vod))
    assert ha, f"{vod}: no highlights in {a}"
    assert ha == hb, f"{vod}: highlights differ between {a} and {b}"
    for pattern in tables:
        rel = pattern.format(vod=vod)
        ta, tb = pd.read_csv(a / rel), pd.read_csv(b / rel)
        assert len(ta) > 0, f"{rel} is empty"
        pd.testing.assert_frame_equal(ta, tb, check_exact=True, obj=rel)


def max_concurrent_jobs(log_text: str) -> int:
    """Most jobs running at once, from the order of `jobid: N` (start) and `Finished jobid: N` lines in a
    Snakemake log (the same log on every executor)."""
    running: set[str] = set()
    peak = 0
    for line in log_text.splitlines():
        line = line.strip()
        finished = re.match(r"Finished jobid: (\d+)", line)
        started = re.match(r"jobid: (\d+)$", line)
        if started:
            running.add(started.group(1))
            peak = max(peak, len(running))
        elif finished:
            running.discard(finished.group(1))
    return peak


def snakemake_log(work: Path) -> str:
    """The newest main log of the Snakemake runs in `work`."""
    logs = sorted((work / ".snakemake" / "log").glob("*.snakemake.log"))
    return logs[-1].read_text() if logs else ""


def slurm_answers(timeout: float = 5) -> bool:
    """True when `sinfo` reaches a controller and a node is usable (idle, mixed or allocated)."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return False
    try:
        proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return False
    states = proc.stdout.split()
    return proc.returncode == 0 and any(s.rstrip("*~#") in ("idle", "mixed", "allocated") for s in states)
