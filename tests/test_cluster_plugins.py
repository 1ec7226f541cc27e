"""A laptop or CI machine with the Slurm client installed but no cluster must not make every Snakemake call wait:
the default install loads no cluster executor plugin, so Slurm's tools are never asked anything."""

from __future__ import annotations

import os
import time

from tests.helpers.workflow import planned_jobs, run_snakemake

FAKE = '#!/bin/sh\necho "$(basename "$0") $*" >> "{marker}"\nsleep 20\n'


def test_dry_run_never_calls_slurm_tools(tmp_path):
    """Slurm tools that hang (a client without a controller) are on PATH; a dry run must not call any of them."""
    fake_bin, marker = tmp_path / "fake-slurm", tmp_path / "slurm-called.txt"
    fake_bin.mkdir()
    for tool in ("sinfo", "scontrol", "squeue", "sacct", "sbatch"):
        (fake_bin / tool).write_text(FAKE.format(marker=marker))
        (fake_bin / tool).chmod(0o755)
    (tmp_path / "chat.txt").write_text("0:00:01 hello\n0:00:02 Pog\n")
    (tmp_path / "vods.tsv").write_text(f"vod_id\turl\tvideo\tchat\ttitle\nc\t\t\t{tmp_path}/chat.txt\tc\n")
    started = time.monotonic()
    proc = run_snakemake(
        tmp_path,
        "-n",
        "--config",
        f"vods={tmp_path}/vods.tsv",
        env={"PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"},
    )
    elapsed = time.monotonic() - started
    assert "publish_upload" in planned_jobs(proc)  # the dry run planned the VOD
    assert not marker.exists(), f"Snakemake called Slurm's tools: {marker.read_text()}"
    assert elapsed < 15, elapsed  # far below the 20 s a single call of a fake tool would take
