"""How klipstream asks Snakemake for one VOD's outputs; shared by `klipstream run` and `klipstream serve`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
import yaml

from .errors import KlipError
from .vod import parse_vod_id

WORKFLOW_DIR = Path(__file__).resolve().parent.parent
STAGES = ("all", "analysis", "raw")
_TABLE_ID = re.compile(r"[A-Za-z0-9_-]+")


def snakefile() -> Path:
    """The workflow beside the package (a source checkout), else ./Snakefile (e.g. a container's WORKDIR)."""
    for candidate in (WORKFLOW_DIR / "Snakefile", Path.cwd() / "Snakefile"):
        if candidate.is_file():
            return candidate
    raise KlipError(f"no Snakefile in {WORKFLOW_DIR} or {Path.cwd()}: run klipstream from the workflow's folder")


def config_value(overrides: list[str] | tuple[str, ...], key: str) -> str:
    """A top-level workflow setting: the last `key=value` of --config overrides, else config/config.yaml's."""
    for item in reversed(overrides):
        if item.startswith(f"{key}="):
            return item.split("=", 1)[1]
    with open(snakefile().parent / "config" / "config.yaml", encoding="utf-8") as fh:
        return str(yaml.safe_load(fh)[key])


def table_vod_ids(path: str | Path) -> set[str]:
    """The vod_id column of a VOD table (config/vods.tsv); empty when the file does not exist."""
    path = Path(path)
    if not path.is_file():
        return set()
    return set(pd.read_csv(path, sep="\t", dtype=str, comment="#", usecols=["vod_id"]).vod_id.dropna())


def vod_id_of(ref: str, table_ids: set[str] | None = None) -> str:
    """A Twitch VOD URL, a numeric Twitch id, or an id of the VOD table -> the VOD id used in file names.

    With `table_ids` given, a non-numeric id must be one of them (the workflow would not know where to find it)."""
    ref = str(ref).strip()
    if table_ids and ref in table_ids:
        return ref
    try:
        return parse_vod_id(ref)
    except KlipError as exc:
        if ref.isdigit():  # a numeric id Twitch cannot have, e.g. 0
            raise
        bad_reference = exc
    if _TABLE_ID.fullmatch(ref):
        if table_ids is None:
            return ref
        raise KlipError(f"VOD {ref!r} is not in the VOD table and is not a numeric Twitch VOD id")
    raise KlipError(f"not a Twitch VOD URL or VOD id: {ref!r} (expected https://www.twitch.tv/videos/ID or ID)"
                    ) from bad_reference


def targets_for(vod: str, stage: str) -> list[str]:
    """The files that stand for a stage: raw artifacts, the analysis + report, or everything up to publishing."""
    raw = [f"output/raw/chat/{vod}_chat.json", f"output/raw/transcripts/audio_{vod}_segments.csv",
           f"output/raw/transcripts/audio_{vod}_words.csv", f"output/raw/waveforms/audio_{vod}_waveform.json"]
    analysis = [f"output/analysis/{vod}_integrated_analysis.json", f"output/report/{vod}.html"]
    return {"raw": raw, "analysis": analysis, "all": [f"output/publish/{vod}_manifest.json"]}[stage]


def snakemake_command(vod: str, stage: str = "all", cores: int = 2, *, workdir: str | Path | None = None,
                      options: list[str] | tuple[str, ...] = (), config: list[str] | tuple[str, ...] = ()) -> list[str]:
    """`python -m snakemake TARGETS --cores N [--snakefile .. --directory WORKDIR] OPTIONS [--config K=V ..]`."""
    # Targets go first and --config last: `--config` takes every following word as a key=value pair.
    cmd = [sys.executable, "-m", "snakemake", *targets_for(vod, stage), "--cores", str(cores)]
    if workdir is not None:
        smk = snakefile()
        cmd += ["--snakefile", str(smk), "--directory", str(workdir),
                "--configfile", str(smk.parent / "config" / "config.yaml")]
    cmd += list(options)
    if config:
        cmd += ["--config", *config]
    return cmd
