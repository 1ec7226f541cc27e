"""Running the repo's workflow in a test's own folder, and the small files its VOD tables are made of."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"


def snakemake_command(workdir: str | os.PathLike, *args: str, cores: int = 2) -> list[str]:
    """`snakemake` on the repo's workflow and default config, working in `workdir`, with `args` after it."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(ROOT / "config" / "config.yaml"),
        "--cores",
        str(cores),
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
    """Run the repo's workflow in `workdir` (its own output/, logs/, .snakemake/) and return the finished process."""
    proc = subprocess.run(
        snakemake_command(workdir, *args),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=workdir,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def planned_jobs(proc: subprocess.CompletedProcess) -> set[str]:
    """Rule names from the 'Job stats' table of a dry run (empty when nothing is to be done)."""
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return set()
    table = text.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+\s*$", table, re.M)} - {"all"}


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
