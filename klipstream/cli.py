"""`klipstream` command: a thin front door onto the Snakemake workflow and the local status store.

klipstream run URL_OR_ID [--video FILE] [--chat FILE] [--title TEXT] [--raw-only | --analysis-only] [--cores N]
               [--concurrency N] [--timeout S] [-n] [--force | --forcerun RULE ..] [--workdir DIR]
               [--config KEY=VALUE ...]
klipstream status [VOD] [--workdir DIR] [--status-dir DIR]
klipstream serve [--host H] [--port P] [--workdir DIR] [--max-jobs N] [--cores N] [--config K=V ...]
klipstream live CHANNEL [--irc-host H] [--irc-port P] [--no-tls] [--until DURATION] [--then-run analysis|all]
klipstream train-models [--corpus FILE ...]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sys
from pathlib import Path

import yaml

from . import vods, workflow
from .errors import BadVodReference, KlipError
from .service import add_arguments as add_service_arguments
from .service import serve as serve_http
from .status import read as read_status


def run_config(args: argparse.Namespace) -> list[str]:
    """`--config` words for Snakemake: the user's, then --concurrency/--timeout as speech_sentiment settings."""
    llm = {k: v for k, v in (("concurrency", args.concurrency), ("timeout", args.timeout)) if v is not None}
    extra = ["speech_sentiment={" + ", ".join(f"{k}: {v}" for k, v in llm.items()) + "}"] if llm else []
    return [*(args.config or []), *extra]


def run_workdir(args: argparse.Namespace) -> Path:
    return workflow.workdir_of(args.workdir)


def run_table(args: argparse.Namespace) -> Path:
    return run_workdir(args) / workflow.config_value(run_config(args), "vods")


def run_vod(args: argparse.Namespace) -> str:
    table = run_table(args)
    return workflow.vod_id_of(args.vod, workflow.table_vod_ids(table), table=table)


def add_local_inputs(args: argparse.Namespace) -> None:
    """`--video`/`--chat`/`--title`: put the VOD in the VOD table (its files as absolute paths), so that this run,
    later runs and plain `snakemake` targets all find its inputs. The reference is a new vod_id, or a Twitch URL or
    id whose missing side is then downloaded."""
    if not (args.video or args.chat):
        if args.title:
            raise KlipError("--title goes with --video or --chat (a VOD table row's title)")
        return
    files = {}
    for column in ("video", "chat"):
        if value := getattr(args, column):
            path = Path(value).expanduser().resolve()
            if not path.is_file():
                raise KlipError(f"--{column}: file not found: {value}")
            files[column] = str(path)
    try:
        vod = workflow.vod_id_of(args.vod)  # a Twitch URL or id -> its id; any other valid id as it is
    except BadVodReference as exc:
        if args.vod.strip().isdigit():  # a numeric id Twitch cannot have: its own message says so
            raise
        raise KlipError(
            f"--video/--chat: {args.vod!r} cannot be a VOD id: a new id must be letters, digits, _ and - "
            "(or give a Twitch VOD URL or id)"
        ) from exc
    url = f"https://www.twitch.tv/videos/{vod}" if vod.isdigit() else ""  # numeric ids are Twitch's
    table = run_table(args)
    row = {"vod_id": vod, "url": url, "title": args.title or "", **files}
    schema = workflow.snakefile().parent / "config" / "vods.schema.yaml"
    if args.dry_run:  # a dry run writes nothing: it plans with a copy of the table that has the row
        draft = run_workdir(args) / ".snakemake" / "klipstream" / "dry-run-vods.tsv"
        draft.parent.mkdir(parents=True, exist_ok=True)
        draft.unlink(missing_ok=True)
        if table.is_file():
            shutil.copyfile(table, draft)
        try:
            added = vods.add_row(draft, row, schema)
        except KlipError as exc:
            raise KlipError(str(exc).replace(str(draft), str(table))) from None
        if added:
            print(
                f"klipstream: dry run: VOD {vod} would be added to the VOD table {table} (not written)", file=sys.stderr
            )
            args.config = [*(args.config or []), f"vods={draft}"]
        return
    if vods.add_row(table, row, schema):
        print(f"klipstream: added VOD {vod} to the VOD table {table}", file=sys.stderr)


def run_options(args: argparse.Namespace) -> list[str]:
    """Snakemake options of `klipstream run`: -n, and --force / --forcerun RULE.. (only the jobs of this VOD's
    targets: Snakemake forces jobs of the targets' DAG only)."""
    options = ["--dry-run"] if args.dry_run else []
    if getattr(args, "force", False):
        options.append("--forceall")
    if rules := getattr(args, "forcerun", None):
        options += ["--forcerun", *rules]
    if not args.dry_run:
        # the terminal shows progress, the jobs' own lines and the errors; each job's details stay in its log file
        # (logs/RULE/VOD.log, named above the last line when it fails), and the last line says why
        options += ["--quiet", "host", "rules", "reason"]
    return options


def snakemake_command(args: argparse.Namespace, vod: str | None = None, events: Path | None = None) -> list[str]:
    stage = "raw" if args.raw_only else "analysis" if args.analysis_only else "all"
    return workflow.snakemake_command(
        vod or run_vod(args),
        stage,
        args.cores,
        workdir=run_workdir(args) if args.workdir else None,  # absolute: Snakemake runs from inside it
        options=run_options(args),
        config=run_config(args),
        events=events,
    )


def check_settings(args: argparse.Namespace) -> None:
    """Before Snakemake starts: the config (config/config.yaml with the --config words, read as Snakemake reads
    them) and the VOD table, checked as the workflow checks them at its start, so that a bad key or row ends the run
    with its own one line (not a traceback under a generic failure)."""
    from snakemake.cli import parse_config
    from snakemake.utils import update_config

    from .config import validate_workflow_config

    with open(workflow.snakefile().parent / "config" / "config.yaml", encoding="utf-8") as fh:
        settings = yaml.safe_load(fh) or {}
    try:
        update_config(settings, parse_config(run_config(args)))
    except ValueError as exc:
        raise KlipError(f"--config: {exc}") from None
    validate_workflow_config(settings)
    vods.load(run_workdir(args) / str(settings["vods"]), workflow.snakefile().parent / "config" / "vods.schema.yaml")


def print_progress(vod: str):
    """A line per finished or failed step, from the run's job events."""

    def show(event: dict, progress) -> None:
        if event["event"] == "progress" and progress.total:
            running = progress.fields()["running_rules"]
            print(
                f"klipstream: VOD {vod}: {progress.done} of {progress.total} steps done"
                + (f"; running {running}" if running else ""),
                file=sys.stderr,
                flush=True,
            )
        elif event["event"] == "job_error":
            print(f"klipstream: VOD {vod}: step {event['rule']} failed", file=sys.stderr, flush=True)

    return show


def cmd_run(args: argparse.Namespace) -> int:
    check_settings(args)
    add_local_inputs(args)
    config, workdir, vod = run_config(args), run_workdir(args), run_vod(args)
    events = workflow.events_file(workdir, vod)
    cmd = snakemake_command(args, vod, events)
    workdir.mkdir(parents=True, exist_ok=True)  # a new --workdir is a new folder for the outputs
    status_dir = workflow.config_value(config, "status_dir")
    before = (read_status(vod, workdir / status_dir) or {}).get("updated_at")
    if not args.dry_run and workflow.clear_stale_lock(workdir, config):
        print(f"klipstream: removed the Snakemake lock a stopped run left in {workdir}", file=sys.stderr)
    print("+ " + shlex.join(cmd), flush=True)
    code, _ = workflow.run(cmd, workdir, events, on_event=print_progress(vod))
    if args.dry_run:
        return code
    if code != 0:
        doc = read_status(vod, workdir / status_dir) or {}
        # only a failure this run recorded (a Failed left by an earlier run says nothing about this one)
        fresh = doc.get("status") == "Failed" and doc.get("updated_at") != before
        cause = (
            f" in {doc.get('step')}: {doc.get('reason')}"
            if fresh and doc.get("reason")
            else f" (snakemake exit code {code}; see its output above)"
        )
        job_log = Path("logs") / str(doc.get("step")) / f"{vod}.log"
        if fresh and (workdir / job_log).is_file():
            print(f"klipstream: the log of {doc.get('step')}: {job_log}", file=sys.stderr)
        print(f"klipstream: VOD {vod} failed{cause}", file=sys.stderr)
        if not fresh and (hint := workflow.lock_holders_hint(workdir, config)):
            print(f"klipstream: {hint}", file=sys.stderr)
        return code
    print(f"klipstream: VOD {vod} done; results in {workdir}:")
    for name, path in workflow.results_of(vod, workdir, status_dir).items():
        print(f"  {name:<10} {path}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .status import format_status

    # the same folder `klipstream run` writes to: the config's status_dir under the same default workdir
    folder = run_workdir(args) / (args.status_dir or workflow.config_value([], "status_dir"))
    if args.vod is not None and read_status(args.vod, folder) is None:
        print(f"klipstream: no status recorded for VOD {args.vod} in {folder}", file=sys.stderr)
        return 1
    print(format_status(folder, args.vod))
    return 0


def positive_int(text: str) -> int:
    """An option's whole number of at least 1 (`--cores 0` made Snakemake wait forever for a free core)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_live_command(sub) -> None:
    """`klipstream live CHANNEL` (klipstream.live.cli)."""
    from .live.cli import add_arguments, cmd_live

    live = sub.add_parser("live", help="follow a live channel: chat, moments as they happen, hand-over at the end")
    add_arguments(live)
    live.set_defaults(func=cmd_live)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="klipstream", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="build a VOD's outputs with Snakemake (prints the command it runs)")
    run.add_argument("vod", nargs="?", help="Twitch VOD URL, numeric Twitch id, or a vod_id of the VOD table")
    run.add_argument("--video", metavar="FILE", help="a local video: adds the VOD to the VOD table (see --chat)")
    run.add_argument(
        "--chat",
        metavar="FILE",
        help="a local chat log: adds the VOD to the VOD table under the id VOD (a new id, or a Twitch URL/id whose "
        "video is then downloaded); a VOD already listed with other files is an error",
    )
    run.add_argument("--title", help="with --video/--chat: the VOD's title")
    only = run.add_mutually_exclusive_group()
    only.add_argument("--raw-only", action="store_true", help="video, audio, transcript, waveform and chat only")
    only.add_argument("--analysis-only", action="store_true", help="up to the integrated analysis and report")
    run.add_argument("--cores", type=positive_int, default=2, help="CPU cores Snakemake may use (default 2)")
    run.add_argument("--concurrency", type=int, help="most LLM calls in flight (speech_sentiment.concurrency)")
    run.add_argument("--timeout", type=float, help="seconds per LLM call (speech_sentiment.timeout)")
    run.add_argument("-n", "--dry-run", action="store_true", help="show what would run")
    force = run.add_mutually_exclusive_group()
    force.add_argument("--force", action="store_true", help="rebuild every output of this VOD (no other VOD's)")
    force.add_argument(
        "--forcerun",
        nargs="+",
        metavar="RULE",
        help="rebuild this VOD's outputs of these rules (e.g. clips_cut) and what depends on them",
    )
    run.add_argument("--workdir", help="folder for output/, logs/ and .snakemake/ (default: the workflow's folder)")
    run.add_argument(
        "--config",
        nargs="+",
        action="extend",
        metavar="KEY=VALUE",
        help="workflow settings, as snakemake --config takes them, e.g. download='{quality: 480p}'",
    )
    run.set_defaults(func=cmd_run)

    status = sub.add_parser("status", help="status and history of one or all VODs")
    status.add_argument("vod", nargs="?", help="VOD id (default: all)")
    status.add_argument("--workdir", help="the folder `klipstream run --workdir` used (default: the workflow's folder)")
    status.add_argument(
        "--status-dir", help="status folder, relative to the workdir unless absolute (default: the config's status_dir)"
    )
    status.set_defaults(func=cmd_status)

    serve = sub.add_parser("serve", help="HTTP service: POST a VOD, follow its job, fetch the results")
    add_service_arguments(serve)
    serve.set_defaults(func=serve_http)

    add_live_command(sub)

    sub.add_parser("train-models", help="rebuild models/*.skops from a chat corpus (see train-models --help)")

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train-models"]:  # every further option belongs to the trainer, --help included
        from .emotions.train import main as train_main

        return train_main(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "run" and args.vod is None:
        # `run --config 'clips={top_k: 3}' demo`: --config takes every word after it, the VOD id included
        words = [w for w in args.config or [] if not re.match(r"[A-Za-z_][\w.]*=", w)]
        if len(words) != 1:
            run.error("give one VOD (a Twitch URL or id, or a vod_id of the VOD table), before --config or --forcerun")
        args.vod = words[0]
        args.config.remove(words[0])
    try:
        return args.func(args)
    except KlipError as exc:
        print(f"klipstream: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `klipstream status | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
