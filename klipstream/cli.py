"""`klipstream` command: a thin front door onto the Snakemake workflow and the local status store.

    klipstream run URL_OR_ID [--raw-only | --analysis-only] [--cores N] [--concurrency N] [--timeout S] [-n]
    klipstream status [VOD]
    klipstream train-models [--corpus FILE ...]
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

from .errors import KlipError

WORKFLOW_DIR = Path(__file__).resolve().parent.parent
TWITCH_VOD_URL = re.compile(r"^https?://(?:www\.|m\.)?twitch\.tv/videos/(\d+)(?:[/?#].*)?$")
VOD_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def vod_id_of(ref: str) -> str:
    """A Twitch VOD URL or a VOD id (numeric for Twitch, or any id of the VOD table) -> the id."""
    ref = ref.strip()
    match = TWITCH_VOD_URL.match(ref)
    if match:
        return match.group(1)
    if VOD_ID.match(ref):
        return ref
    raise KlipError(f"not a Twitch VOD URL or VOD id: {ref!r} (expected https://www.twitch.tv/videos/ID or ID)")


def targets_for(vod: str, stage: str) -> list[str]:
    raw = [f"output/raw/chat/{vod}_chat.json", f"output/raw/transcripts/audio_{vod}_segments.csv",
           f"output/raw/transcripts/audio_{vod}_words.csv", f"output/raw/waveforms/audio_{vod}_waveform.json"]
    analysis = [f"output/analysis/{vod}_integrated_analysis.json", f"output/report/{vod}.html"]
    return {"raw": raw, "analysis": analysis, "all": [f"output/publish/{vod}_manifest.json"]}[stage]


def snakemake_command(args: argparse.Namespace) -> list[str]:
    stage = "raw" if args.raw_only else "analysis" if args.analysis_only else "all"
    # Targets go first: `--config` takes every following word as a key=value pair.
    cmd = [sys.executable, "-m", "snakemake", *targets_for(vod_id_of(args.vod), stage), "--cores", str(args.cores)]
    llm = {k: v for k, v in (("concurrency", args.concurrency), ("timeout", args.timeout)) if v is not None}
    if args.dry_run:
        cmd.append("--dry-run")
    if llm:
        cmd += ["--config", "speech_sentiment={" + ", ".join(f"{k}: {v}" for k, v in llm.items()) + "}"]
    return cmd


def cmd_run(args: argparse.Namespace) -> int:
    cmd = snakemake_command(args)
    print("+ " + shlex.join(cmd), flush=True)
    return subprocess.call(cmd, cwd=WORKFLOW_DIR)


def cmd_status(args: argparse.Namespace) -> int:
    from .status import format_status

    print(format_status(args.status_dir, args.vod))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="klipstream", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="build a VOD's outputs with Snakemake (prints the command it runs)")
    run.add_argument("vod", help="Twitch VOD URL, numeric Twitch id, or a vod_id of the VOD table")
    only = run.add_mutually_exclusive_group()
    only.add_argument("--raw-only", action="store_true", help="video, audio, transcript, waveform and chat only")
    only.add_argument("--analysis-only", action="store_true", help="up to the integrated analysis and report")
    run.add_argument("--cores", type=int, default=2, help="CPU cores Snakemake may use (default 2)")
    run.add_argument("--concurrency", type=int, help="most LLM calls in flight (speech_sentiment.concurrency)")
    run.add_argument("--timeout", type=float, help="seconds per LLM call (speech_sentiment.timeout)")
    run.add_argument("-n", "--dry-run", action="store_true", help="show what would run")
    run.set_defaults(func=cmd_run)

    status = sub.add_parser("status", help="status and history of one or all VODs")
    status.add_argument("vod", nargs="?", help="VOD id (default: all)")
    status.add_argument("--status-dir", default="output/status", help="status folder (default output/status)")
    status.set_defaults(func=cmd_status)

    sub.add_parser("train-models", help="rebuild models/*.skops from a chat corpus (see train-models --help)")

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train-models"]:  # every further option belongs to the trainer, --help included
        from .emotions.train import main as train_main

        return train_main(argv[1:])
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KlipError as exc:
        print(f"klipstream: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
