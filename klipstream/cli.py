"""`klipstream` command: a thin front door onto the Snakemake workflow and the local status store.

    klipstream run URL_OR_ID [--raw-only | --analysis-only] [--cores N] [--concurrency N] [--timeout S] [-n]
    klipstream status [VOD]
    klipstream serve [--host H] [--port P] [--workdir DIR] [--max-jobs N] [--cores N] [--config K=V ...]
    klipstream train-models [--corpus FILE ...]
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

from . import workflow
from .errors import KlipError
from .service import add_arguments as add_service_arguments, serve as serve_http


def snakemake_command(args: argparse.Namespace) -> list[str]:
    stage = "raw" if args.raw_only else "analysis" if args.analysis_only else "all"
    llm = {k: v for k, v in (("concurrency", args.concurrency), ("timeout", args.timeout)) if v is not None}
    config = ["speech_sentiment={" + ", ".join(f"{k}: {v}" for k, v in llm.items()) + "}"] if llm else []
    return workflow.snakemake_command(workflow.vod_id_of(args.vod), stage, args.cores,
                                      options=["--dry-run"] if args.dry_run else [], config=config)


def cmd_run(args: argparse.Namespace) -> int:
    cmd = snakemake_command(args)
    print("+ " + shlex.join(cmd), flush=True)
    return subprocess.call(cmd, cwd=workflow.snakefile().parent)


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

    serve = sub.add_parser("serve", help="HTTP service: POST a VOD, follow its job, fetch the results")
    add_service_arguments(serve)
    serve.set_defaults(func=serve_http)

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
