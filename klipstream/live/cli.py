"""`klipstream live CHANNEL`: follow a live channel until its stream ends (GQL says offline), `--until` passes or
Ctrl-C; then hand the stream to the workflow (a VOD table row; with `--then-run`, its analysis and the live moments
matched to it)."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

import yaml

from .. import artifacts, workflow
from ..errors import KlipError
from .handover import add_vod_row, cross_reference
from .session import LiveSession


def parse_duration(text: str | None) -> float | None:
    """Seconds from `90`, `1:30:00`, `2h`, `45m`, `1h30m`; None for None."""
    if text is None:
        return None
    t = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    if re.fullmatch(r"\d+(:\d{1,2}){1,2}", t):
        secs = 0.0
        for part in t.split(":"):
            secs = secs * 60 + int(part)
        return secs
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", t)
    if m and any(m.groups()):
        h, mi, s = (int(g or 0) for g in m.groups())
        return float(h * 3600 + mi * 60 + s)
    raise KlipError(f"--until: {text!r} is not a duration (e.g. 90, 1:30:00, 2h, 45m)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("channel", help="Twitch channel (login name) to follow")
    p.add_argument("--irc-host", help="chat IRC host (config live.irc_host; default irc.chat.twitch.tv)")
    p.add_argument("--irc-port", type=int, help="chat IRC port (config live.irc_port; default 6697)")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--tls", dest="tls", action="store_true", default=None, help="IRC over TLS (default)")
    tls.add_argument("--no-tls", dest="tls", action="store_false", help="plain TCP IRC (e.g. port 6667)")
    p.add_argument("--gql-url", help="Twitch GQL endpoint asked whether the stream is live (config twitch.gql_url)")
    p.add_argument("--until", help="stop after this long (90, 1:30:00, 2h) even if the stream goes on")
    p.add_argument("--workdir", help="folder for output/ (default: the workflow's folder)")
    p.add_argument(
        "--configfile", help="workflow config to read live/twitch/chat_highlights from (default: config/config.yaml)"
    )
    p.add_argument(
        "--then-run",
        choices=["analysis", "all"],
        help="after the stream: run the workflow on it (klipstream run --analysis-only, or everything) "
        "and match the live moments to the offline ones",
    )
    p.add_argument("--cores", type=int, default=2, help="with --then-run: CPU cores for Snakemake (default 2)")


def load_config(path: str | None) -> dict:
    cfg_path = Path(path) if path else workflow.snakefile().parent / "config" / "config.yaml"
    try:
        with open(cfg_path, encoding="utf-8") as fh:
            return yaml.safe_load(fh) or {}
    except OSError as exc:
        raise KlipError(f"cannot read config {cfg_path}: {exc.strerror or exc}") from exc


def cmd_live(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    cfg = load_config(args.configfile)
    live = dict(cfg.get("live") or {})
    for key, value in (("irc_host", args.irc_host), ("irc_port", args.irc_port), ("tls", args.tls)):
        if value is not None:
            live[key] = value
    twitch = dict(cfg.get("twitch") or {})
    if args.gql_url:
        twitch["gql_url"] = args.gql_url
    workdir = workflow.workdir_of(args.workdir)
    session = LiveSession(
        args.channel,
        live,
        twitch=twitch,
        engine_params=cfg.get("chat_highlights") or {},
        workdir=workdir,
        until=parse_duration(args.until),
    )
    result = session.run()
    if result.chat_json is None:
        print(f"klipstream: {args.channel}: no chat arrived, nothing recorded", file=sys.stderr)
        return 1
    print(
        f"klipstream: {args.channel} stream {result.stream} ended ({result.reason}): {result.messages} messages, "
        f"{len(result.gaps)} gap(s), {result.moments} announcement(s) in {result.moments_path}"
    )
    if not session.s["handover"]:
        return 0
    table = workdir / str(cfg.get("vods") or "config/vods.tsv")
    vod = add_vod_row(table, session.channel, result.stream, result.chat_json)
    print(f"klipstream: the stream is VOD {vod} of {table}; build it with: klipstream run {vod}")
    if not args.then_run:
        return 0
    from ..cli import main as klipstream_main

    run_args = ["run", vod, "--workdir", str(workdir), "--cores", str(args.cores)]
    if args.configfile:
        run_args += ["--config", f"vods={table}"]
    code = klipstream_main(run_args + (["--analysis-only"] if args.then_run == "analysis" else []))
    if code != 0:
        return code
    dst = result.folder / f"{result.stream}_handover.json"
    doc = cross_reference(workdir / artifacts.target("integrated_json", vod), result.moments_path, dst)
    print(f"klipstream: {doc['top_found_live']} of the top {doc['top_n']} offline moments were found live; see {dst}")
    return 0
