"""The workflow really run on Slurm (a one-node cluster started by .ci/slurm-up.sh): every job is an sbatch job,
each asks Slurm for its rule's own threads/mem_mb/runtime, and the results equal a local run's; the offline
transcription's decoding jobs are Slurm jobs too, one per group of chunks."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from klipstream.media import ffmpeg_exe
from tests.helpers.scale_helpers import INTEGRATED, REAL_CHAT, assert_same_results, cut_chat, slurm_answers, write_table
from tests.helpers.workflow import ROOT, run_snakemake, slurm_args

# .ci/run installs the Slurm executor plugin here, beside the venv (see tests/test_cluster_plugins.py for why).
PLUGINS = ROOT / ".ci" / "cluster-plugins"
HAVE_PLUGIN = (PLUGINS / "snakemake_executor_plugin_slurm").is_dir() or bool(
    importlib.util.find_spec("snakemake_executor_plugin_slurm")
)
PLUGIN_ENV = {"PYTHONPATH": os.pathsep.join(p for p in (str(PLUGINS), os.environ.get("PYTHONPATH", "")) if p)}

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(not slurm_answers(), reason="no Slurm cluster answers `sinfo` (bash .ci/slurm-up.sh)"),
    pytest.mark.skipif(not HAVE_PLUGIN, reason="no Slurm executor plugin (pip install -e '.[slurm]')"),
]

VOD = "slurmchat"
SLURM_ARGS = slurm_args(jobs=8)


def submitted_jobs(text: str) -> dict[str, str]:
    """Rule name -> Slurm job id, from the executor's 'submitted with SLURM jobid' lines."""
    jobs = {}
    for m in re.finditer(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+?)/", text):
        jobs[m.group(2)] = m.group(1)
    return jobs


def planned_resources(text: str, rule: str) -> dict[str, str]:
    """The `resources:` Snakemake printed for a rule's job (what it asked the executor for)."""
    block = text.split(f"rule {rule}:", 1)[1].split("\n\n", 1)[0]
    threads = re.search(r"^\s*threads: (\d+)", block, re.M)
    res = dict(re.findall(r"(\w+)=([^,\s]+)", re.search(r"^\s*resources: (.*)$", block, re.M).group(1)))
    res["threads"] = threads.group(1) if threads else "1"
    return res


def scontrol(jobid: str) -> dict[str, str]:
    """`scontrol show job` fields of a (recently finished) job; slurmctld keeps them MinJobAge=300 s."""
    out = subprocess.run(["scontrol", "-o", "show", "job", jobid], capture_output=True, text=True, timeout=10).stdout
    return dict(re.findall(r"(\w+)=(\S+)", out))


@pytest.fixture(scope="module")
def chat_vod(tmp_path_factory):
    if not REAL_CHAT.is_file():
        pytest.skip("../shared/data is not present")
    base = tmp_path_factory.mktemp("slurm")
    # 15 minutes of a real stream's chat: enough for chat highlights, small enough for a fast run.
    chat = cut_chat(base / "chat.json", 0, 900)
    return base, write_table(base / "vods.tsv", [(VOD, "", "", chat, "slurm chat")])


def test_chat_only_vod_on_slurm_matches_local_run(chat_vod):
    base, table = chat_vod
    local, slurm = base / "local", base / "slurm"
    local.mkdir()
    slurm.mkdir()
    # Up to the integrated analysis (5 levels of jobs): each Slurm job pays two Snakemake start-ups and the
    # executor's status polling, so report/publish (2 more levels) would double the test's time for nothing new.
    targets = [INTEGRATED.format(vod=VOD), f"output/analysis/chat/{VOD}_chat_activity.png"]
    # The local reference run goes on while the Slurm run mostly waits on the scheduler.
    with ThreadPoolExecutor(1) as pool:
        reference = pool.submit(run_snakemake, local, *targets, "--config", f"vods={table}")
        proc = run_snakemake(slurm, *targets, *SLURM_ARGS, "--config", f"vods={table}", env=PLUGIN_ENV)
        reference.result()
    text = proc.stdout + proc.stderr

    # Every job went through sbatch.
    jobs = submitted_jobs(text)
    assert set(jobs) == {
        "chat_fetch",
        "chat_sentiment_score",
        "chat_timeline_build",
        "chat_highlights_detect",
        "chat_plot",
        "analysis_integrate",
    }, jobs

    # Slurm was asked for the rule's own threads, memory and runtime, not the defaults of the command line.
    wanted = planned_resources(text, "chat_sentiment_score")
    granted = scontrol(jobs["chat_sentiment_score"])
    if granted:  # gone when the run outlived MinJobAge
        assert granted["JobState"] == "COMPLETED"
        assert int(granted["NumCPUs"]) == int(wanted["threads"])
        hours, minutes, _ = (int(x) for x in granted["TimeLimit"].split(":")[-3:])
        assert hours * 60 + minutes == int(wanted["runtime"]) != 5
        assert int(re.match(r"(\d+)", granted["MinMemoryNode"]).group(1)) >= int(wanted["mem_mb"]) > 200

    assert_same_results(local, slurm, VOD)
    # Statuses were reported from inside the Slurm jobs.
    status = json.loads((slurm / "output/status" / f"{VOD}.json").read_text())
    seen = {(e["status"], e["step"]) for e in status["history"]}
    assert {
        ("Fetching chat", "chat_fetch"),
        ("Analyzing", "chat_sentiment_score"),
        ("Finding highlights", "chat_highlights_detect"),
    } <= seen
    assert status["status"] != "Failed"


SPEECH_VOD = "slurmspeech"
WORDS = f"output/raw/transcripts/audio_{SPEECH_VOD}_words.csv"


@pytest.fixture(scope="module")
def speech_vod(tmp_path_factory):
    demo = ROOT / "data" / "demo" / "demo.mp4"
    if not demo.is_file():
        pytest.skip("demo VOD not generated")
    base = tmp_path_factory.mktemp("slurm_speech")
    video = base / "speech.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(demo), "-t", "45", "-c", "copy", str(video)], check=True)
    return base, write_table(base / "vods.tsv", [(SPEECH_VOD, "", str(video), "", "slurm speech")])


def test_offline_transcription_parts_are_slurm_jobs(speech_vod):
    """The offline recogniser's checkpoint, one decoding job per group of chunks and the gather each go through
    sbatch; the words equal a local run's (itself equal to one transcribe_offline call,
    tests/test_transcription_jobs)."""
    base, table = speech_vod
    local, slurm = base / "local", base / "slurm"
    local.mkdir()
    slurm.mkdir()
    config = ["--config", f"vods={table}", "transcription={offline: {job_seconds: 10}}"]
    env = {**PLUGIN_ENV, "DEEPGRAM_API_KEY": ""}
    with ThreadPoolExecutor(1) as pool:
        reference = pool.submit(run_snakemake, local, WORDS, *config, env={"DEEPGRAM_API_KEY": ""})
        proc = run_snakemake(slurm, WORDS, *SLURM_ARGS, *config, env=env)
        reference.result()
    text = proc.stdout + proc.stderr
    parts = len(json.loads((slurm / f"output/raw/transcripts/parts/{SPEECH_VOD}/plan.json").read_text())["groups"])
    assert parts >= 2  # 45 s in chunks of up to 28 s (one Whisper window)
    decode_jobs = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_transcript_decode/", text)
    assert len(decode_jobs) == parts, text[-3000:]
    assert {"transcript_plan", "transcript_transcribe", "transcript_tables"} <= set(submitted_jobs(text))
    granted = scontrol(decode_jobs[0])
    if granted:
        assert granted["JobState"] == "COMPLETED" and int(granted["NumCPUs"]) == 2  # the rule's threads
    assert (slurm / WORDS).read_bytes() == (local / WORDS).read_bytes()
