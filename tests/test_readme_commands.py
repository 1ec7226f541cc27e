"""Every command block of the README runs as written on a clean copy of the repository after `make demo`.

A block may say how it is tested in an HTML comment right above it: `<!-- docs-test: skip: REASON -->` (it needs
the network, keys, a cluster or a server that runs until stopped), or `<!-- docs-test: dry-run: REASON -->` (its
`klipstream run` and `snakemake` commands run with `-n`: they would download from Twitch or rebuild for minutes).
Every other block runs as it is, with bash -e, from the copy's root, offline (no service keys in the environment)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.workflow import ROOT

pytestmark = pytest.mark.workflow

BLOCK = re.compile(
    r"(?:<!-- docs-test: (?P<mode>skip|dry-run): (?P<reason>[^>]*?) -->\n)?```bash\n(?P<body>.*?)```", re.S
)
SERVICE_VARS = (
    "DEEPGRAM_API_KEY",
    "NEBIUS_API_KEY",
    "OPENAI_API_KEY",
    "USE_GCS",
    "CONVEX_URL",
    "CONVEX_API_KEY",
    "KLIPSTREAM_API_TOKEN",
    "GCP_SERVICE_ACCOUNT_PATH",
    "STORAGE_EMULATOR_HOST",
)


def readme_blocks(text: str) -> list[tuple[str, str, str]]:
    """(mode: run | dry-run | skip, reason, body) of each ```bash block."""
    return [(m["mode"] or "run", m["reason"] or "", m["body"]) for m in BLOCK.finditer(text)]


def dry(body: str) -> str:
    body = re.sub(r"(\.venv/bin/klipstream run) ", r"\1 -n ", body)
    return re.sub(r"(\.venv/bin/snakemake) ", r"\1 -n ", body)


def test_the_readme_marks_what_it_does_not_run():
    blocks = readme_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 8
    assert all(reason for mode, reason, _ in blocks if mode != "run")
    assert sum(mode == "run" for mode, _, _ in blocks) >= 3
    bare = [
        line
        for _, _, body in blocks
        for line in body.splitlines()
        if re.match(r"\s*(klipstream|snakemake|python|pytest) ", line)
    ]
    assert bare == [], "commands must name the venv's executable (.venv/bin/...)"


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> tuple[Path, dict]:
    """The repository's tracked files copied to a fresh folder, the test's own venv as its .venv, `make demo` run."""
    if shutil.which("make") is None or not (ROOT / ".git").exists():
        pytest.skip("needs make and a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    repo = tmp_path_factory.mktemp("clone") / "klipstream"
    for name in filter(None, listed.decode().split("\0")):
        src, dst = ROOT / name, repo / name
        if not (src.exists() or src.is_symlink()):
            continue  # deleted in the working tree
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, dst)
    (repo / ".venv").symlink_to(Path(sys.prefix))
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env["PYTHONPATH"] = str(repo)  # the copy's package, not the one the venv was installed from
    # the venv exists already: `-o` keeps make from reinstalling it (the copy's pyproject.toml is newer)
    demo = subprocess.run(
        ["make", "-o", ".venv/.installed", "demo"], cwd=repo, env=env, capture_output=True, text=True, timeout=1800
    )
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    return repo, {"env": env, "demo": demo}


def test_make_demo_ends_with_where_the_results_are(clone):
    repo, run = clone
    lines = run["demo"].stdout.strip().splitlines()
    done = f"klipstream: VOD demo done; results in {repo}:"
    assert done in lines, lines[-12:]
    tail = lines[lines.index(done) :]
    shown = {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1] for line in tail[1:]}
    for name in ("report", "analysis", "clips", "status"):
        assert (repo / shown[name]).exists(), (name, tail)


def test_every_readme_command_runs(clone):
    repo, run = clone
    ran, skipped = 0, []
    for mode, reason, body in readme_blocks((repo / "README.md").read_text()):
        if mode == "skip":
            skipped.append(reason)
            continue
        script = dry(body) if mode == "dry-run" else body
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=repo,
            env=run["env"],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, f"{script}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr, f"{script}\n{done.stderr[-3000:]}"
        ran += 1
    assert ran >= 5 and skipped
