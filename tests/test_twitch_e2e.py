"""The headline use, a Twitch VOD by URL, end to end through every front door, against a Twitch stand-in on
127.0.0.1: GQL (metadata, playback token, comment pages with cursors), usher (a master playlist) and HLS renditions
of a 3-minute stream cut from the demo VOD, with speech, planted moments and the chat bursts that follow them.

The workflow runs in a subprocess pointed at the stand-in only through the documented environment variables
(KLIPSTREAM_TWITCH_GQL_URL, KLIPSTREAM_TWITCH_USHER_URL): no monkeypatching. The VOD id is not in the VOD table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import jsonschema
import pytest

from klipstream.chat.io import read_chat_frame
from klipstream.highlights import load_schema
from klipstream.media import ffmpeg_exe
from klipstream.video import probe_codecs
from tests.helpers.service import Server
from tests.helpers.twitch_stub import RecordedChat, Stub, make_hls
from tests.helpers.workflow import ROOT, run_snakemake

pytestmark = pytest.mark.workflow

VOD = "2345678901"
URL = f"https://www.twitch.tv/videos/{VOD}"
SECONDS = 180
DEMO = ROOT / "data" / "demo"
RENDITIONS = {"720p60": (1280, 720), "480p30": (852, 480), "audio_only": (0, 0)}
PLANTED = [m for m in json.loads((DEMO / "truth.json").read_text())["moments"] if m["peak"] < SECONDS - 20]
# Keys that would send a run to a real service, and the settings of one: a test run uses none of them.
REAL_SERVICE_VARS = (
    "DEEPGRAM_API_KEY",
    "NEBIUS_API_KEY",
    "OPENAI_API_KEY",
    "USE_GCS",
    "CONVEX_URL",
    "KLIPSTREAM_API_TOKEN",
)


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    if not (DEMO / "demo.mp4").is_file():
        pytest.skip("demo VOD not generated")
    hls = make_hls(
        tmp_path_factory.mktemp("hls"),
        ffmpeg_exe(),
        RENDITIONS,
        seconds=SECONDS,
        source=DEMO / "demo.mp4",
        segment_seconds=10,
    )
    stub = Stub(
        vod_id=VOD, duration=SECONDS, hls_dir=hls, chat=RecordedChat(DEMO / "demo_chat.json", SECONDS), page_size=40
    )
    stub.renditions = list(RENDITIONS)
    base = stub.start()
    stub.env = {
        **{k: v for k, v in os.environ.items() if k not in REAL_SERVICE_VARS},
        "KLIPSTREAM_TWITCH_GQL_URL": f"{base}/gql",
        "KLIPSTREAM_TWITCH_USHER_URL": base,
    }
    yield stub
    stub.stop()


def fetched(stub: Stub, prefix: str) -> list[str]:
    return [r["path"] for r in stub.requests if r["path"].startswith(prefix)]


def assert_whole_chain(stub: Stub, workdir: Path, video: bool = True) -> None:
    """Every artifact of the VOD, checked against what the stand-in served."""
    out = workdir / "output"
    meta = json.loads((out / "raw" / f"{VOD}_metadata.json").read_text()) if video else None
    if video:
        assert probe_codecs(out / "raw" / "videos" / f"video_{VOD}.mp4") == {
            "video": "h264",
            "audio": "aac",
            "height": 720,
        }
        assert {k: meta[k] for k in ("vod_id", "title", "streamer", "duration", "backend", "height")} == {
            "vod_id": VOD,
            "title": "Stub stream",
            "streamer": "StubStreamer",
            "duration": SECONDS,
            "backend": "yt-dlp",
            "height": 720,
        }
        assert meta["format"].startswith("720p60")  # the top rendition, which Twitch labels as the source
        assert fetched(stub, "/hls/720p60/") and not fetched(stub, "/hls/480p30/")
    else:
        assert not (out / "raw" / "videos" / f"video_{VOD}.mp4").exists()
        assert fetched(stub, "/hls/audio_only/") and not fetched(stub, "/hls/720p60/")
    with wave.open(str(out / "raw" / "audio" / f"audio_{VOD}.wav")) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert wav.getnframes() / 16000 == pytest.approx(SECONDS, abs=1.0)
    transcript = json.loads((out / "raw" / "transcripts" / f"audio_{VOD}_transcript.json").read_text())
    assert transcript["klipstream"]["backend"] == "offline"
    assert len(transcript["results"]["channels"][0]["alternatives"][0]["words"]) > 200

    chat = read_chat_frame(out / "raw" / "chat" / f"{VOD}_chat.json")
    assert chat["comment_id"].tolist() == [node["id"] for node in stub.chat.nodes]  # every message, in order, once

    doc = json.loads((out / "analysis" / f"{VOD}_integrated_analysis.json").read_text())
    jsonschema.validate(doc, load_schema())
    assert doc["vod_id"] == VOD and doc["twitch_url"] == URL and {"audio", "chat"} <= set(doc["signals_used"])
    top = doc["highlights"][: len(PLANTED) + 1]
    for moment in PLANTED:  # each planted moment is among the top ranks, its peak inside the highlight
        assert any(h["start"] - 5 <= moment["peak"] <= h["end"] + 5 for h in top), (moment, top)

    assert f"{VOD}" in (out / "report" / f"{VOD}.html").read_text()
    manifest = json.loads((out / "publish" / f"{VOD}_manifest.json").read_text())
    names = json.dumps(manifest)
    assert f"{VOD}_integrated_analysis.json" in names and f"{VOD}_chat.json" in names
    if video:
        clips = json.loads((out / "clips" / VOD / "clips.json").read_text())
        assert clips["count"] >= 1 and all((out / "clips" / VOD / c["file"]).is_file() for c in clips["clips"])
    history = [e["status"] for e in json.loads((out / "status" / f"{VOD}.json").read_text())["history"]]
    assert history[0] == "Queued" and history[-1] == "Completed", history
    assert {"Downloading", "Fetching chat", "Transcribing", "Analyzing", "Finding highlights"} <= set(history)


def test_snakemake_target_builds_a_twitch_vod(standin, tmp_path):
    run_snakemake(tmp_path, f"output/analysis/{VOD}_integrated_analysis.json", env=standin.env)
    assert (tmp_path / "output" / "analysis" / f"{VOD}_integrated_analysis.json").is_file()
    run_snakemake(tmp_path, f"output/publish/{VOD}_manifest.json", env=standin.env)  # report, clips, publishing
    assert_whole_chain(standin, tmp_path)


def test_klipstream_run_builds_a_twitch_url(standin, tmp_path):
    standin.requests.clear()
    proc = subprocess.run(
        [sys.executable, "-m", "klipstream.cli", "run", URL, "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=standin.env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert_whole_chain(standin, tmp_path)
    # it ends by saying where the results are
    tail = proc.stdout[proc.stdout.index(f"klipstream: VOD {VOD} done") :]
    for path in (
        f"output/report/{VOD}.html",
        f"output/analysis/{VOD}_integrated_analysis.json",
        f"output/clips/{VOD}",
        f"output/publish/{VOD}_manifest.json",
        f"output/status/{VOD}.json",
    ):
        assert path in tail


def test_service_builds_a_posted_twitch_url(standin, tmp_path, monkeypatch):
    standin.requests.clear()
    for key, value in standin.env.items():
        monkeypatch.setenv(key, value)  # the server process (and its Snakemake) inherit the stand-in's endpoints
    for key in REAL_SERVICE_VARS:
        monkeypatch.delenv(key, raising=False)
    server = Server(tmp_path, config=())
    server.start()
    try:
        job = server.post("/api/v1/analysis", json={"url": URL}).json()
        assert job["vod_id"] == VOD
        final = server.wait_for(job["job_id"], lambda s: s["status"] == "completed")
        assert final["error"] is None and final["steps_done"] == final["steps_total"]
        analysis = server.get(final["results"]["analysis"]).json()
        assert analysis["vod_id"] == VOD
    finally:
        server.stop()
    assert_whole_chain(standin, tmp_path)


def test_audio_only_download_through_the_workflow(standin, tmp_path):
    standin.requests.clear()
    run_snakemake(
        tmp_path, f"output/publish/{VOD}_manifest.json", "--config", "download={video: false}", env=standin.env
    )
    assert_whole_chain(standin, tmp_path, video=False)


def test_no_network_fails_fast_with_one_line(tmp_path):
    """With no network at all (a fresh network namespace: no interface but a down loopback) `klipstream run` of the
    real Twitch URL exits non-zero within seconds, and its last line names the cause."""
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot make a network namespace here (unshare -n needs root)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLIPSTREAM_TWITCH_")}
    started = time.monotonic()
    proc = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "klipstream.cli", "run", URL, "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert (
        last.startswith(f"klipstream: VOD {VOD} failed in ")
        and "cannot reach Twitch (gql.twitch.tv): name resolution failed; check the network or use a local video/chat file"  # noqa: E501
        in last
    ), proc.stderr[-3000:]
    assert elapsed < 15, elapsed
    for side in ("video", "chat"):  # tried once each, not rule retries x client retries
        assert (tmp_path / "logs" / f"{side}_fetch" / f"{VOD}.log").read_text().count("cannot reach Twitch") == 1


def test_twitch_refusing_and_missing_vod_fail_fast(standin, tmp_path):
    """A VOD Twitch does not have: one line naming the VOD, no retries."""
    standin.missing = True
    try:
        started = time.monotonic()
        proc = run_snakemake(tmp_path, f"output/raw/chat/{VOD}_chat.json", check=False, env=standin.env)
    finally:
        standin.missing = False
    assert proc.returncode != 0 and time.monotonic() - started < 30
    status = json.loads((tmp_path / "output" / "status" / f"{VOD}.json").read_text())
    assert status["status"] == "Failed" and status["reason"] == (
        f"Twitch VOD {VOD} not found (deleted, expired, private or a wrong id)"
    )
