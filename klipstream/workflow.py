"""How klipstream asks Snakemake for one VOD's outputs; shared by `klipstream run` and `klipstream serve`."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from . import run_events, vods
from .artifacts import EXPORTS_DIR, stage_targets, target
from .errors import BadVodReference, KlipError
from .twitch.ids import parse_vod_id

WORKFLOW_DIR = Path(__file__).resolve().parent.parent
STAGES = ("all", "analysis", "raw")
_TABLE_ID = re.compile(r"[A-Za-z0-9_-]+")


def snakefile() -> Path:
    """The workflow beside the package (a source checkout), else ./Snakefile (e.g. a container's WORKDIR)."""
    for candidate in (WORKFLOW_DIR / "Snakefile", Path.cwd() / "Snakefile"):
        if candidate.is_file():
            return candidate
    raise KlipError(f"no Snakefile in {WORKFLOW_DIR} or {Path.cwd()}: run klipstream from the workflow's folder")


def workdir_of(path: str | os.PathLike | None = None) -> Path:
    """The folder a run works in (its output/, logs/, .snakemake/): `path` (a --workdir), else the workflow's folder.
    `klipstream run`, `status` and `serve` share this default."""
    return Path(path or snakefile().parent).resolve()


def config_value(overrides: list[str] | tuple[str, ...], key: str) -> str:
    """A top-level workflow setting: the last `key=value` of --config overrides, else config/config.yaml's."""
    for item in reversed(overrides):
        if item.startswith(f"{key}="):
            return item.split("=", 1)[1]
    with open(snakefile().parent / "config" / "config.yaml", encoding="utf-8") as fh:
        return str(yaml.safe_load(fh)[key])


def read_table(path: str | Path) -> dict[str, dict[str, str]]:
    """The VOD table (config/vods.tsv): vod_id -> row; empty when the file does not exist."""
    return vods.load(path)


def table_vod_ids(path: str | Path) -> set[str]:
    """The vod_id column of a VOD table; empty when the file does not exist."""
    return set(read_table(path))


def vod_sides(vod: str, table: dict[str, dict[str, str]]) -> set[str]:
    """What a VOD's inputs allow: `audio` (a local video or a Twitch URL) and/or `chat` (a local log or a URL).
    A numeric id that is not in the table is a Twitch VOD, which has both."""
    if vod not in table:
        return {"audio", "chat"}
    row = table[vod]
    return {side for side, local in (("audio", "video"), ("chat", "chat")) if row.get(local) or row.get("url")}


def vod_id_of(ref: str, table_ids: set[str] | None = None, table: str | Path | None = None) -> str:
    """A Twitch VOD URL, a numeric Twitch id, or an id of the VOD table -> the VOD id used in file names.

    With `table_ids` given, a non-numeric id must be one of them (the workflow would not know where to find it).
    `table`, the file they came from, is then named in the error: only for the CLI (a server must not show its
    paths), and never taken from the reference, which stays in `{ref}` for a server to replace."""
    ref = str(ref).strip()
    if table_ids and ref in table_ids:
        return ref
    try:
        return parse_vod_id(ref)
    except KlipError as exc:
        if ref.isdigit():  # a numeric id Twitch cannot have, e.g. 0
            raise BadVodReference("not a valid Twitch VOD id: {ref}", ref) from exc
        bad_reference = exc
    if _TABLE_ID.fullmatch(ref):
        if table_ids is None:
            return ref
        where = "" if table is None else f" {table}" + ("" if Path(table).is_file() else " (no such file)")
        where = where.replace("{", "{{").replace("}", "}}")  # a literal in the template
        raise BadVodReference(f"VOD {{ref}} is not in the VOD table{where} and is not a numeric Twitch VOD id", ref)
    raise BadVodReference(
        "not a Twitch VOD URL or VOD id: {ref} (expected https://www.twitch.tv/videos/ID or ID)", ref
    ) from bad_reference


def results_of(vod: str, workdir: str | Path, status_dir: str = "output/status") -> dict[str, Path]:
    """The user-facing results of a VOD that exist in `workdir`, by name, as paths relative to `workdir` (absolute
    for a status_dir outside it): what `klipstream run` and the service say when a VOD is done."""
    names = {
        "report": "report_html",
        "analysis": "integrated_json",
        "clips": "clips_dir",
        "manifest": "manifest",
        "raw chat": "chat_json",
        "transcript": "transcript_json",
    }
    candidates = {name: target(key, vod) for name, key in names.items()}
    candidates |= {"exports": EXPORTS_DIR.format(vod=vod), "status": f"{status_dir}/{vod}.json"}
    return {name: Path(rel) for name, rel in candidates.items() if (Path(workdir) / rel).exists()}


def snakemake_command(
    vod: str,
    stage: str = "all",
    cores: int = 2,
    *,
    workdir: str | Path | None = None,
    options: list[str] | tuple[str, ...] = (),
    config: list[str] | tuple[str, ...] = (),
    events: str | os.PathLike | None = None,
) -> list[str]:
    """`python -m klipstream.snakemake_cli TARGETS --cores N [--logger klipstream --logger-klipstream-path EVENTS]
    [--snakefile .. --directory WORKDIR] OPTIONS [--config K=V ..]`: Snakemake's CLI with klipstream's
    logger plugin, which writes the run's job events to `events` (klipstream.run_events)."""
    base = Path(workdir) if workdir is not None else snakefile().parent
    table = read_table(base / config_value(config, "vods"))
    sides, video = vod_sides(vod, table), bool(table.get(vod, {}).get("video"))  # a local video is always fetched
    # Targets go first and --config last: `--config` takes every following word as a key=value pair.
    cmd = [
        sys.executable,
        "-m",
        "klipstream.snakemake_cli",
        *stage_targets(vod, stage, sides, video),
        "--cores",
        str(cores),
    ]
    cmd += (run_events.logger_args(events) if events is not None else []) + _where(workdir) + list(options)
    return cmd + (["--config", *config] if config else [])


def events_file(workdir: str | os.PathLike, vod: str) -> Path:
    """Where `klipstream run` has the logger plugin write a VOD's job events (the last run's)."""
    return Path(workdir) / ".snakemake" / "klipstream" / f"{vod}.events.jsonl"


def run(
    cmd: list[str],
    cwd: str | os.PathLike,
    events: str | os.PathLike,
    on_event: Callable[[dict, run_events.RunProgress], None] | None = None,
    poll: float = 0.25,
) -> tuple[int, run_events.RunProgress]:
    """Run a command from `snakemake_command(..., events=events)` in `cwd` (its output goes where ours does) and
    follow the job events its logger plugin writes: `on_event(event, progress)` for each that changes the progress.
    Returns Snakemake's exit code and the run's progress (steps, the failed rule, the run's error)."""
    Path(events).unlink(missing_ok=True)  # this run's events only
    progress, offset = run_events.RunProgress(), 0
    proc = subprocess.Popen(cmd, cwd=cwd)
    try:
        while True:
            finished = proc.poll() is not None
            batch, offset = run_events.read(events, offset)
            for event in batch:
                if progress.feed(event) and on_event is not None:
                    on_event(event, progress)
            if finished:
                return proc.returncode, progress
            time.sleep(poll)
    except BaseException:  # Ctrl-C reaches Snakemake too (same process group): let it stop its jobs and exit
        proc.wait()
        raise


def unlock_command(workdir: str | os.PathLike | None = None, config: list[str] | tuple[str, ...] = ()) -> list[str]:
    """`python -m snakemake --unlock` for the workflow in `workdir` (no targets: unlocking builds no DAG)."""
    cmd = [sys.executable, "-m", "snakemake", "--cores", "1"]
    return cmd + _where(workdir) + ["--unlock"] + (["--config", *config] if config else [])


def _where(workdir: str | os.PathLike | None) -> list[str]:
    if workdir is None:
        return []
    smk = snakefile()
    return [
        "--snakefile",
        str(smk),
        "--directory",
        str(workdir),
        "--configfile",
        str(smk.parent / "config" / "config.yaml"),
    ]


def lock_files(workdir: str | os.PathLike) -> list[Path]:
    """The lock files Snakemake keeps in WORKDIR/.snakemake/locks while it runs (a killed run leaves them)."""
    return sorted((Path(workdir) / ".snakemake" / "locks").glob("*.lock"))


def is_snakemake(pid: int | str) -> bool:
    """True while `pid` is a live Snakemake process (not a zombie, not an unrelated process that reused the pid)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X") and b"snakemake" in cmdline


def live_snakemake(workdir: str | os.PathLike) -> list[int] | None:
    """Pids of live processes of a Snakemake run in `workdir` (its main process or its jobs: whatever works in
    that folder and names snakemake in its command line); None where /proc cannot tell (not Linux)."""
    proc = Path("/proc")
    if not (proc / "self" / "cwd").exists():
        return None
    workdir, me, pids = Path(workdir).resolve(), os.getpid(), []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if Path(os.readlink(entry / "cwd")) != workdir:
                continue
        except OSError:
            continue
        if is_snakemake(entry.name):
            pids.append(int(entry.name))
    return sorted(pids)


def clear_stale_lock(workdir: str | os.PathLike, config: list[str] | tuple[str, ...] = (), wait: float = 0.0) -> bool:
    """Before a run: if a dead run (kill -9, a crash, a power cut) left its lock in `workdir`, remove it with
    `snakemake --unlock` and return True. While a live Snakemake works in the folder (or where processes cannot be
    seen) the lock is left alone and False returned: Snakemake itself refuses a second run only when the two share
    outputs, so another VOD can be built beside a running one. `wait` seconds are given to processes of a stopped
    run that are still exiting. Used by `klipstream run` and by the service when it starts."""
    if not lock_files(workdir):
        return False
    workdir = Path(workdir).resolve()
    alive, deadline = live_snakemake(workdir), time.monotonic() + wait
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = live_snakemake(workdir)
    if alive != []:  # a live run holds it, or nobody can tell: Snakemake decides
        return False
    done = subprocess.run(unlock_command(workdir, config), cwd=workdir, capture_output=True, text=True)
    if done.returncode != 0 or lock_files(workdir):
        unlock = f"cd {shlex.quote(str(workdir))} && {shlex.join(unlock_command(workdir, config))}"
        raise KlipError(f"could not remove the stale Snakemake lock in {workdir}; unlock with: {unlock}")
    return True


def lock_holders_hint(workdir: str | os.PathLike, config: list[str] | tuple[str, ...] = ()) -> str | None:
    """After a failed run: one line naming the live Snakemake that holds a lock in `workdir` (the likely reason
    Snakemake refused to start), or how to unlock when a lock is left and nobody can be seen holding it."""
    if not lock_files(workdir):
        return None
    workdir = Path(workdir).resolve()
    alive = live_snakemake(workdir)
    if alive:
        pids = ", ".join(map(str, alive))
        return f"{workdir} is locked by a running Snakemake (pid {pids}) building the same outputs: wait for it to end"
    unlock = f"cd {shlex.quote(str(workdir))} && {shlex.join(unlock_command(workdir, config))}"
    return f"{workdir} has a Snakemake lock; if no other run uses this folder, unlock with: {unlock}"
