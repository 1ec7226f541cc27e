"""Transcription through Snakemake, both backends: Deepgram gets the audio encoded once (its own target, reused on
reruns) with its Content-Type, and the offline recogniser runs as a checkpoint, one job per group of chunks and a
gather whose words equal the one-call path. Each backend's jobs rerun only for their own settings."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from klipstream.media import ffmpeg_exe
from klipstream.transcribe.offline import transcribe_offline
from klipstream.transcribe.tables import write_word_tables
from tests.helpers.deepgram_stub import DeepgramStub
from tests.helpers.workflow import ROOT, planned_jobs, ran_rules, run_snakemake, write_table

pytestmark = pytest.mark.workflow

DEMO = ROOT / "data" / "demo"
KEY = "dg-test-key-0123456789"
WORDS = "output/raw/transcripts/audio_cut_words.csv"


@pytest.fixture(scope="module")
def cut(tmp_path_factory):
    """The demo's first 40 s (two voices, pauses) as a local video VOD."""
    if not (DEMO / "demo.mp4").is_file():
        pytest.skip("demo VOD not generated")
    base = tmp_path_factory.mktemp("tjobs")
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(DEMO / "demo.mp4"), "-t", "40", "-c", "copy", str(base / "cut.mp4")],
        check=True,
    )
    return base, write_table(base / "vods.tsv", [("cut", "", str(base / "cut.mp4"), "", "cut")])


def env_without_keys(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DEEPGRAM_API_KEY", "DEEPGRAM_BASE_URL")}
    return {**env, **extra}


def test_deepgram_gets_the_encoded_audio_once(cut, tmp_path):
    _, table = cut
    with DeepgramStub(key=KEY) as stub:
        env = env_without_keys(DEEPGRAM_API_KEY=KEY, DEEPGRAM_BASE_URL=stub.url)
        plan = planned_jobs(run_snakemake(tmp_path, WORDS, "-n", "--config", f"vods={table}", env=env))
        assert plan == {"video_fetch", "audio_extract", "audio_encode", "transcript_transcribe", "transcript_tables"}
        run_snakemake(tmp_path, WORDS, "--config", f"vods={table}", env=env)
        (req,) = stub.requests
        upload = tmp_path / "output/raw/audio/audio_cut.opus"
        assert req["content_type"] == "audio/ogg" and req["bytes"] == upload.stat().st_size
        assert upload.stat().st_size * 8 < (tmp_path / "output/raw/audio/audio_cut.wav").stat().st_size
        assert req["duration"] == pytest.approx(40.0, abs=0.1)
        doc = json.loads((tmp_path / "output/raw/transcripts/audio_cut_transcript.json").read_text())
        assert doc["klipstream"]["upload"] == {"content_type": "audio/ogg", "bytes": upload.stat().st_size}

        # The transcript lost (or a failed upload): the rerun sends the same file again, it does not re-encode.
        transcript = "output/raw/transcripts/audio_cut_transcript.json"
        (tmp_path / transcript).unlink()
        proc = run_snakemake(tmp_path, transcript, "--config", f"vods={table}", env=env)
        assert "audio_encode" not in ran_rules(proc)
        assert len(stub.requests) == 2 and stub.requests[1]["bytes"] == req["bytes"]

        # Deepgram's settings rerun the transcript job, the upload settings the encoding too; offline ones nothing.
        def planned(*config):
            return planned_jobs(run_snakemake(tmp_path, WORDS, "-n", "--config", f"vods={table}", *config, env=env))

        run_snakemake(tmp_path, WORDS, "--config", f"vods={table}", env=env)
        assert planned() == set()
        assert planned("transcription={model: nova-2}") == {"transcript_transcribe", "transcript_tables"}
        assert planned("transcription={upload: {bitrate_kbps: 16}}") == {
            "audio_encode",
            "transcript_transcribe",
            "transcript_tables",
        }
        assert planned("transcription={upload: {format: flac}}") == {
            "audio_encode",
            "transcript_transcribe",
            "transcript_tables",
        }
        assert planned("transcription={offline: {job_seconds: 5}}") == set()

        # Speaker labels: asked for only with diarize; captions then mark each change of speaker.
        assert "diarize" not in stub.requests[0]["query"]
        assert planned("transcription={diarize: true}") == {"transcript_transcribe", "transcript_tables"}
        run_snakemake(
            tmp_path,
            "output/exports/cut/cut.srt",
            "--config",
            f"vods={table}",
            "transcription={diarize: true}",
            env=env,
        )
        assert stub.requests[-1]["query"]["diarize"] == "true"
        srt = (tmp_path / "output/exports/cut/cut.srt").read_text()
        turns = range(20, stub.requests[-1]["words"], 20)  # the stand-in changes speaker every 20 words
        assert srt.count(">> ") == len(turns) > 0


def test_offline_transcription_runs_as_parts_and_equals_one_job(cut, tmp_path):
    base, table = cut
    env = env_without_keys()
    config = ["--config", f"vods={table}", "transcription={offline: {job_seconds: 8}}"]
    dry = planned_jobs(run_snakemake(tmp_path, WORDS, "-n", *config, env=env))
    assert dry == {"video_fetch", "audio_extract", "transcript_plan", "transcript_transcribe", "transcript_tables"}
    proc = run_snakemake(tmp_path, WORDS, *config, env=env)
    plan = json.loads((tmp_path / "output/raw/transcripts/parts/cut/plan.json").read_text())
    assert len(plan["groups"]) == len(plan["chunks"]) >= 2  # 40 s in chunks of up to 28 s, each its own job
    assert ran_rules(proc)["transcript_decode"] == len(plan["groups"])
    assert not list((tmp_path / "output/raw/transcripts/parts/cut").glob("part_*")), "parts are temp()"
    assert not (tmp_path / "output/raw/audio/audio_cut.opus").exists()  # no Deepgram, nothing encoded

    # the same words table as one transcribe_offline call over the same WAV (and as many threads as each job had)
    one = tmp_path / "one.json"
    one.write_text(json.dumps(transcribe_offline(tmp_path / "output/raw/audio/audio_cut.wav", threads=2)))
    write_word_tables(one, tmp_path / "one_words.csv", tmp_path / "one_paragraphs.csv")
    assert (tmp_path / WORDS).read_bytes() == (tmp_path / "one_words.csv").read_bytes()

    def planned(*extra):
        return planned_jobs(run_snakemake(tmp_path, WORDS, "-n", *config, *extra, env=env))

    # Up to date with the parts gone; Deepgram settings do not touch an offline transcript; the grouping does.
    assert planned() == set()
    assert planned("transcription={model: nova-2, upload: {format: flac}, offline: {job_seconds: 8}}") == set()
    assert planned("transcription={offline: {job_seconds: 20}}") == {
        "transcript_plan",
        "transcript_transcribe",
        "transcript_tables",
    }
