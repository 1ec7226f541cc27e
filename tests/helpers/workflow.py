"""Running the repo's workflow in a test's own folder, and the small files its VOD tables are made of."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from klipstream.run_events import iter_events, logger_args

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
_RUNS = itertools.count()


def snakemake_command(
    workdir: str | os.PathLike, *args: str, cores: int = 2, events: str | os.PathLike | None = None
) -> list[str]:
    """`snakemake` on the repo's workflow and default config, working in `workdir`, with `args` after it; with
    `events`, klipstream's logger plugin writes the run's job events there (klipstream.run_events)."""
    return [
        sys.executable,
        "-m",
        "klipstream.snakemake_cli",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(ROOT / "config" / "config.yaml"),
        "--cores",
        str(cores),
        *(logger_args(events) if events is not None else []),
        *args,
    ]


def slurm_args(jobs: int) -> list[str]:
    """Snakemake options for the one-node Slurm cluster of CI (.ci/slurm-up.sh): no account, small default
    resources, squeue for status, at most `jobs` jobs submitted at once."""
    return [
        "--executor",
        "slurm",
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--slurm-no-account",
        "--default-resources",
        "mem_mb=200",
        "runtime=5",
        "--jobs",
        str(jobs),
    ]


def run_snakemake(
    workdir: Path, *args: str, check: bool = True, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run the repo's workflow in `workdir` (its own output/, logs/, .snakemake/) and return the finished process,
    with the run's job events as `proc.events` (from klipstream's logger plugin)."""
    events = Path(workdir) / ".snakemake" / f"klipstream-events-{next(_RUNS)}.jsonl"
    proc = subprocess.run(
        snakemake_command(workdir, *args, events=events),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=workdir,
    )
    proc.events = list(iter_events(events))
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def planned_jobs(proc: subprocess.CompletedProcess) -> set[str]:
    """Rule names a (dry) run planned, from its run_info job event (empty when nothing is to be done)."""
    plans = [event["jobs"] for event in proc.events if event["event"] == "run_info"]
    return set(plans[0]) - {"all"} if plans else set()


def ran_rules(proc: subprocess.CompletedProcess) -> Counter:
    """Rule -> how many of its jobs a run started (its job_info events; in a dry run: planned)."""
    return Counter(event["rule"] for event in proc.events if event["event"] == "job_info")


def write_table(path, rows):
    """A VOD table (vod_id, url, video, chat, title) with one row per tuple."""
    lines = ["vod_id\turl\tvideo\tchat\ttitle"] + ["\t".join(str(c) for c in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def cut_demo(work: Path, seconds: float, name: str = "tiny") -> tuple[Path, Path]:
    """The demo VOD's first `seconds` as `work/{name}.mp4` (re-encoded, so the cut is exact) and its chat as
    `work/{name}_chat.json`."""
    from klipstream.media import ffmpeg_exe

    video, chat = work / f"{name}.mp4", work / f"{name}_chat.json"
    demo = ROOT / "data" / "demo"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(demo / "demo.mp4"), "-t", str(seconds)]
        + ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(video)],
        check=True,
    )
    cut_chat(demo / "demo_chat.json", chat, seconds)
    return video, chat


def cut_chat(src, dst, seconds):
    """Keep the comments of the first `seconds` of a TwitchDownloader chat JSON."""
    doc = json.loads(src.read_text())
    doc["comments"] = [c for c in doc["comments"] if c["content_offset_seconds"] < seconds]
    dst.write_text(json.dumps(doc))
