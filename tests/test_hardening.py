"""What a careless user and bad data hit first: a video without audio, which ffmpeg made the audio, a stale
Snakemake lock after kill -9, `klipstream status | head`, the status after building only the analysis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from klipstream import media
from klipstream.media import extract_audio, ffmpeg_exe
from tests.helpers.workflow import ROOT, run_snakemake

DEMO = ROOT / "data" / "demo"


def needs_demo():
    if not (DEMO / "demo.mp4").is_file():
        pytest.skip("demo VOD not generated")


@pytest.fixture(scope="module")
def mute_video(tmp_path_factory) -> Path:
    """The demo's first 40 s without its audio stream."""
    needs_demo()
    path = tmp_path_factory.mktemp("mute") / "mute.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(DEMO / "demo.mp4"), "-t", "40", "-an", "-c:v", "copy", str(path)],
        check=True,
    )
    return path


def test_a_video_without_audio_gives_an_empty_wav_and_one_line(mute_video, tmp_path, caplog):
    wav = tmp_path / "a.wav"
    assert extract_audio(mute_video, wav) is False
    with wave.open(str(wav)) as w:
        assert (w.getnframes(), w.getframerate(), w.getnchannels(), w.getsampwidth()) == (0, 16000, 1, 2)
    lines = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert lines == [
        f"video {mute_video} has no audio stream: its audio is empty and the VOD goes on with its chat only"
    ]


def _ffmpegs() -> list[str]:
    import shutil

    import imageio_ffmpeg

    found = [shutil.which("ffmpeg", path="/usr/bin:/usr/local/bin"), imageio_ffmpeg.get_ffmpeg_exe()]
    return [f for f in dict.fromkeys(found) if f]


def test_the_wav_does_not_depend_on_which_ffmpeg_made_it(tmp_path, monkeypatch):
    """System ffmpeg and the wheel's differ (5.1 vs 9.0 here): same samples, bit for bit."""
    needs_demo()
    exes = _ffmpegs()
    if len(exes) < 2:
        pytest.skip("needs a system ffmpeg besides the imageio-ffmpeg one")
    samples = []
    for i, exe in enumerate(exes):
        monkeypatch.setattr(media, "ffmpeg_exe", lambda exe=exe: exe)
        extract_audio(DEMO / "demo.mp4", tmp_path / f"{i}.wav")
        with wave.open(str(tmp_path / f"{i}.wav")) as w:
            samples.append(w.readframes(w.getnframes()))
    assert len(samples[0]) == 2 * 16000 * 240 and len(set(samples)) == 1


@pytest.mark.workflow
def test_a_vod_whose_video_has_no_audio_goes_on_with_its_chat(mute_video, tmp_path):
    from tests.helpers.workflow import write_table

    write_table(tmp_path / "vods.tsv", [("mute", "", str(mute_video), str(DEMO / "demo_chat.json"), "Mute")])
    run_snakemake(
        tmp_path,
        "output/analysis/mute_integrated_analysis.json",
        "output/report/mute.html",
        "--config",
        "vods=vods.tsv",
    )
    doc = json.loads((tmp_path / "output/analysis/mute_integrated_analysis.json").read_text())
    assert doc["signals_used"] == ["chat", "chat_sentiment"] and doc["highlights"]
    log = (tmp_path / "logs/audio_extract/mute.log").read_text()
    assert "has no audio stream: its audio is empty and the VOD goes on with its chat only" in log
    assert json.loads((tmp_path / "output/status/mute.json").read_text())["status"] != "Failed"


def test_a_stale_lock_is_cleared_and_a_live_one_is_left_to_snakemake(tmp_path):
    from klipstream import workflow

    assert workflow.clear_stale_lock(tmp_path) is False  # no lock, nothing to do
    assert workflow.lock_holders_hint(tmp_path) is None
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text(str(tmp_path / "x"))
    # a live process of a Snakemake run in that folder (its command line names snakemake): its lock is kept, since
    # Snakemake lets a second run (another VOD) work beside it and refuses only one that shares its outputs
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "snakemake"], cwd=tmp_path)
    try:
        assert workflow.clear_stale_lock(tmp_path) is False and (locks / "0.input.lock").is_file()
        hint = workflow.lock_holders_hint(tmp_path)  # what `klipstream run` adds when Snakemake refused to start
        assert f"locked by a running Snakemake (pid {holder.pid})" in hint and "\n" not in hint
    finally:
        holder.kill()
        holder.wait()
    assert "--unlock" in workflow.lock_holders_hint(tmp_path)
    assert workflow.clear_stale_lock(tmp_path) is True
    assert workflow.lock_files(tmp_path) == []


@pytest.mark.workflow
def test_klipstream_run_after_kill_9_clears_the_lock_and_finishes(tmp_path):
    """kill -9 of a run mid-way leaves Snakemake's lock; the next `klipstream run` removes it and says so."""
    import os
    import signal
    import time

    from tests.helpers.workflow import write_table

    needs_demo()
    write_table(tmp_path / "vods.tsv", [("chatonly", "", "", str(DEMO / "demo_chat.json"), "Chat only")])
    cmd = [
        sys.executable,
        "-m",
        "klipstream.cli",
        "run",
        "chatonly",
        "--analysis-only",
        "--workdir",
        str(tmp_path),
        "--config",
        "vods=vods.tsv",
    ]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    from klipstream import workflow

    while not workflow.lock_files(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workflow.lock_files(tmp_path), "the first run never took its lock"
    os.killpg(first.pid, signal.SIGKILL)  # klipstream, Snakemake and its jobs: nothing can clean up
    first.wait()
    time.sleep(0.5)
    assert workflow.lock_files(tmp_path)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"klipstream: removed the Snakemake lock a stopped run left in {tmp_path}" in again.stderr
    assert "LockException" not in again.stderr and (tmp_path / "output/report/chatonly.html").is_file()


def test_status_piped_into_head_prints_no_traceback(tmp_path):
    from klipstream import status

    for i in range(3000):
        (tmp_path / f"v{i}.json").write_text(json.dumps({"vod_id": f"v{i}", "status": "Queued", "history": []}))
    status.report("v1", "Analyzing", step="chat_timeline_build", status_dir=tmp_path, convex=None)
    for _ in range(200):
        status.report("v1", "Analyzing", step="audio_plot", status_dir=tmp_path, convex=None)
    for args in ("", "v1"):
        done = subprocess.run(
            f"{sys.executable} -m klipstream.cli status --status-dir {tmp_path} {args} | head -2",
            shell=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert done.returncode == 0 and len(done.stdout.splitlines()) == 2
        assert done.stderr == "", done.stderr


@pytest.mark.workflow
def test_a_run_that_stops_at_the_analysis_ends_completed_with_its_stage(tmp_path):
    """Only the integrated analysis asked for: the status ends Completed (step workflow, stage analysis), not in
    the last job's "Finding highlights"; a later full run ends Completed by publishing."""
    from tests.helpers.workflow import write_table

    needs_demo()
    write_table(tmp_path / "vods.tsv", [("chatonly", "", "", str(DEMO / "demo_chat.json"), "Chat only")])
    run_snakemake(tmp_path, "output/analysis/chatonly_integrated_analysis.json", "--config", "vods=vods.tsv")
    doc = json.loads((tmp_path / "output/status/chatonly.json").read_text())
    assert (doc["status"], doc["step"], doc["stage"]) == ("Completed", "workflow", "analysis")
    assert [e["status"] for e in doc["history"]][-2:] == ["Finding highlights", "Completed"]
    done = subprocess.run(
        [sys.executable, "-m", "klipstream.cli", "status", "--status-dir", str(tmp_path / "output/status")],
        capture_output=True,
        text=True,
    )
    assert "Completed up to analysis" in done.stdout
    # a run that only adds an export is past the raw stage too (its only job writes under output/exports)
    run_snakemake(tmp_path, "output/exports/chatonly/chatonly_chapters.txt", "--config", "vods=vods.tsv")
    doc = json.loads((tmp_path / "output/status/chatonly.json").read_text())
    assert (doc["status"], doc["stage"]) == ("Completed", "analysis")
    run_snakemake(tmp_path, "--config", "vods=vods.tsv")
    doc = json.loads((tmp_path / "output/status/chatonly.json").read_text())
    assert (doc["status"], doc["step"], doc["stage"]) == ("Completed", "publish", None)


@pytest.mark.workflow
def test_a_failed_video_fetch_ends_failed_though_the_chat_jobs_go_on(tmp_path):
    """A Twitch VOD with a local chat whose video cannot be fetched (Twitch at a closed local port): keep-going runs
    its chat jobs after the failure, yet the status ends Failed in video_fetch and `klipstream run` says so."""
    from tests.helpers.publish_stubs import free_port

    needs_demo()
    vod, closed = "1087079172", f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "KLIPSTREAM_TWITCH_GQL_URL": f"{closed}/gql", "KLIPSTREAM_TWITCH_USHER_URL": f"{closed}/usher"}
    cmd = [sys.executable, "-m", "klipstream.cli", "run", vod, "--chat", str(DEMO / "demo_chat.json")]
    done = subprocess.run([*cmd, "--workdir", str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1
    reason = "cannot reach Twitch (127.0.0.1): connection refused; check the network or use a local video/chat file"
    assert done.stderr.strip().splitlines()[-1] == f"klipstream: VOD {vod} failed in video_fetch: {reason}"
    doc = json.loads((tmp_path / "output" / "status" / f"{vod}.json").read_text())
    assert (doc["status"], doc["step"], doc["reason"]) == ("Failed", "video_fetch", reason)
    assert "chat_plot" in [e["step"] for e in doc["history"]]  # the chat jobs did go on


def test_run_into_a_new_relative_workdir(tmp_path):
    """`klipstream run VOD --workdir ../runs` with a folder that does not exist yet: created, used as given."""
    (tmp_path / "here").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "klipstream.cli", "run", "-n", "2345678901", "--workdir", "../runs"],
        cwd=tmp_path / "here",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"--directory {tmp_path / 'runs'}" in done.stdout and (tmp_path / "runs").is_dir()
