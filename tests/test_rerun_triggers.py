"""The rerun triggers users rely on survive the start-up work done to make Snakemake faster (no pandas or second
config validation where the workflow starts, input functions that carry their signature): a changed parameter, a
changed script, a changed input file and a changed workflow setting each rerun what they affect, and nothing else."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.helpers.workflow import ROOT, planned_jobs, run_snakemake, write_table

pytestmark = pytest.mark.workflow

DEMO_CHAT = ROOT / "data" / "demo" / "demo_chat.json"
TARGET = "output/analysis/chat/trig_highlight_analysis.csv"
CHAT_JOBS = {"chat_fetch", "chat_sentiment_score", "chat_timeline_build", "chat_highlights_detect"}


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory):
    """The workflow copied (so a test may edit a script), and a chat-only VOD built up to its chat highlights."""
    if not DEMO_CHAT.is_file():
        pytest.skip("demo VOD not generated")
    base = tmp_path_factory.mktemp("triggers")
    wf = base / "wf"
    wf.mkdir()
    for name in ("Snakefile", "rules", "scripts", "config", "klipstream", "models", "report", "schemas", "envs"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, wf / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, wf / name)
    chat = base / "chat.json"
    chat.write_text(DEMO_CHAT.read_text())
    table = write_table(base / "vods.tsv", [("trig", "", "", str(chat), "triggers")])
    work = base / "work"
    work.mkdir()
    run_snakemake(
        work,
        TARGET,
        "--snakefile",
        str(wf / "Snakefile"),
        "--configfile",
        str(wf / "config/config.yaml"),
        "--config",
        f"vods={table}",
    )
    return wf, work, table, chat


def planned(workflow_copy, *config):
    wf, work, table, _ = workflow_copy
    proc = run_snakemake(
        work,
        TARGET,
        "-n",
        "--snakefile",
        str(wf / "Snakefile"),
        "--configfile",
        str(wf / "config/config.yaml"),
        "--config",
        f"vods={table}",
        *config,
    )
    return planned_jobs(proc)


def test_nothing_changed_nothing_reruns(workflow_copy):
    assert planned(workflow_copy) == set()


def test_a_parameter_reruns_its_job_and_what_follows(workflow_copy):
    assert planned(workflow_copy, "chat_timeline={copypasta_window: 45}") == {
        "chat_timeline_build",
        "chat_highlights_detect",
    }
    assert planned(workflow_copy, "chat_highlights={min_gap_seconds: 45}") == {"chat_highlights_detect"}
    # settings of stages this target does not reach change nothing
    assert planned(workflow_copy, "transcription={model: nova-2}", "fusion={top_n: 3}") == set()


def test_a_changed_script_reruns_its_job_and_what_follows(workflow_copy):
    wf = workflow_copy[0]
    script = wf / "scripts" / "chat_timeline_build.py"
    original, stat = script.read_text(), script.stat()
    try:
        script.write_text(original + "\n# changed\n")
        assert planned(workflow_copy) == {"chat_timeline_build", "chat_highlights_detect"}
    finally:  # Snakemake tells a changed script by its modification time: restore both
        script.write_text(original)
        os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert planned(workflow_copy) == set()


def test_a_changed_input_file_reruns_everything_after_it(workflow_copy):
    chat = workflow_copy[3]
    doc = json.loads(chat.read_text())
    doc["comments"] = doc["comments"][:-1]
    chat.write_text(json.dumps(doc))
    assert planned(workflow_copy) == CHAT_JOBS
