"""The workflow end to end: dry run, a full run on a tiny VOD, incremental rebuilds read from Snakemake's own
dry-run output, chat-only and video-only VODs, and the errors a user meets first."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from tests.helpers.workflow import ROOT, cut_demo, planned_jobs, run_snakemake, write_table

pytestmark = pytest.mark.workflow

DEMO = ROOT / "data" / "demo"
TINY_SECONDS = 50

CHAT_JOBS = {"chat_fetch", "chat_sentiment_score", "chat_timeline_build", "chat_highlights_detect", "chat_plot"}
# A dry run shows the transcription's plan (a checkpoint) and gather; the decoding jobs appear once the plan exists.
AUDIO_JOBS = {
    "video_fetch",
    "audio_extract",
    "transcript_plan",
    "transcript_transcribe",
    "transcript_tables",
    "transcript_segments",
    "waveform_render",
    "audio_features_compute",
    "audio_sentiment_score",
    "audio_highlights_detect",
    "audio_plot",
}
EXPORT_JOBS = {
    "titles_write",
    "timeline_export",
    "chapters_write",
    "moments_tabulate",
    "captions_write",
    "vertical_render",
}
FINAL_JOBS = {"analysis_integrate", "report_render", "clips_cut", "publish_upload"} | EXPORT_JOBS


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 50 s cut of the demo VOD (video + chat), built once and shared by the tests that follow it."""
    if not (DEMO / "demo.mp4").is_file():
        pytest.skip("demo VOD not generated")
    work = tmp_path_factory.mktemp("tiny")
    cut_demo(work, TINY_SECONDS)
    table = write_table(work / "vods.tsv", [("tiny", "", str(work / "tiny.mp4"), str(work / "tiny_chat.json"), "Tiny")])
    return work, table


def test_dry_run_plans_every_stage(tiny):
    work, table = tiny
    proc = run_snakemake(work, "--dry-run", "--config", f"vods={table}")
    assert planned_jobs(proc) == CHAT_JOBS | AUDIO_JOBS | FINAL_JOBS


def test_full_run_then_incremental_rebuilds(tiny):
    work, table = tiny
    run_snakemake(work, "--config", f"vods={table}")
    out = work / "output"
    for path in [
        "raw/videos/video_tiny.mp4",
        "raw/audio/audio_tiny.wav",
        "raw/transcripts/audio_tiny_transcript.json",
        "raw/transcripts/audio_tiny_words.csv",
        "raw/transcripts/audio_tiny_paragraphs.csv",
        "raw/transcripts/audio_tiny_segments.csv",
        "raw/waveforms/audio_tiny_waveform.png",
        "raw/waveforms/audio_tiny_waveform.json",
        "raw/chat/tiny_chat.json",
        "analysis/chat/tiny_chat_sentiment.csv",
        "analysis/chat/tiny_chat_timeline.csv",
        "analysis/chat/tiny_highlight_analysis.csv",
        "analysis/chat/tiny_chat_activity.png",
        "analysis/audio/tiny_features.csv",
        "analysis/audio/tiny_sentiment.csv",
        "analysis/audio/tiny_highlights.csv",
        "analysis/audio/tiny_loudness.png",
        "analysis/tiny_integrated_analysis.json",
        "report/tiny.html",
        "clips/tiny/clips.json",
        "publish/tiny_manifest.json",
        "exports/tiny/tiny_moments.otio",
        "exports/tiny/tiny_moments.edl",
        "exports/tiny/tiny_moments.xml",
        "exports/tiny/tiny_selects.otio",
        "exports/tiny/tiny_selects.edl",
        "exports/tiny/tiny_selects.xml",
        "exports/tiny/tiny_moments.csv",
        "exports/tiny/tiny.srt",
        "exports/tiny/tiny.vtt",
        "exports/tiny/captions/captions.json",
        "exports/tiny/vertical/vertical.json",
    ]:
        assert (out / path).is_file() and (out / path).stat().st_size > 0, path
    # YouTube chapters: three or more from 0:00, or none (a short VOD may not have three headline moments)
    chapters = (out / "exports/tiny/tiny_chapters.txt").read_text().splitlines()
    assert chapters == [] or (len(chapters) >= 3 and chapters[0].startswith("0:00 ")), chapters

    doc = json.loads((out / "analysis/tiny_integrated_analysis.json").read_text())
    schema = json.loads((ROOT / "schemas/integrated_analysis.schema.json").read_text())
    jsonschema.validate(doc, schema)
    assert set(doc["signals_used"]) >= {"chat", "audio"}

    status = json.loads((out / "status/tiny.json").read_text())
    assert status["status"] == "Completed"
    seen = [event["status"] for event in status["history"]]
    assert seen[0] == "Queued" and seen[-1] == "Completed"
    assert {"Downloading", "Fetching chat", "Transcribing", "Analyzing", "Finding highlights"} <= set(seen)
    assert not list(out.rglob(".*.tmp")), "temp files left behind"

    # Nothing changed: nothing to do.
    assert planned_jobs(run_snakemake(work, "--dry-run", "--config", f"vods={table}")) == set()

    check_exports(work, table)

    # A chat highlight parameter changed: only the job that uses it, and what depends on its output.
    proc = run_snakemake(work, "--dry-run", "--config", f"vods={table}", "chat_highlights={min_gap_seconds: 45}")
    assert planned_jobs(proc) == {"chat_highlights_detect"} | FINAL_JOBS

    # The chat file changed: the chat side and integration, never the audio side.
    chat = work / "tiny_chat.json"
    doc = json.loads(chat.read_text())
    doc["comments"] = doc["comments"][:-1]
    chat.write_text(json.dumps(doc))
    proc = run_snakemake(work, "--dry-run", "--config", f"vods={table}")
    assert planned_jobs(proc) == CHAT_JOBS | FINAL_JOBS


def check_exports(work, table):
    """The exports of the full run are what the workflow promised, published, and rebuilt only when their inputs
    (integrated analysis, clips, transcript) or their own settings change."""
    import opentimelineio as otio

    out = work / "output"
    clips = json.loads((out / "clips/tiny/clips.json").read_text())
    selects = otio.adapters.read_from_file(str(out / "exports/tiny/tiny_selects.otio"))
    fps = 5.0  # the demo video's rate
    got = [
        (c.source_range.start_time.rescaled_to(fps).value, c.source_range.end_time_exclusive().rescaled_to(fps).value)
        for c in selects.tracks[0].find_clips()
    ]
    assert got == [(round(c["start"] * fps), round(c["end"] * fps)) for c in clips["clips"]]
    vertical = json.loads((out / "exports/tiny/vertical/vertical.json").read_text())
    assert (vertical["width"], vertical["height"], vertical["count"]) == (1080, 1920, clips["count"])
    # the demo's facecam (data/demo/README.md: 106x94 px at 8, 142 of 426x240) is found in every clip: stacked
    placed = {"x": 8 / 426, "y": 142 / 240, "w": 106 / 426, "h": 94 / 240}
    for v in vertical["clips"]:
        assert v["layout"] == "stack" and v["facecam"]["kind"] == "facecam", v
        assert all(abs(v["facecam"]["region"][k] - placed[k]) <= 0.10 for k in placed), v["facecam"]
    manifest = json.loads((out / "publish/tiny_manifest.json").read_text())
    # the clips are titled and cut on the transcript's word boundaries (the moment's own span kept)
    from klipstream.outputs.captions import load_words
    from klipstream.outputs.cuts import inside_word

    words = load_words(out / "raw/transcripts/audio_tiny_words.csv")
    titles = {row["rank"]: row for row in json.loads((out / "analysis/tiny_titles.json").read_text())["titles"]}
    for c in clips["clips"]:
        assert not inside_word(c["start"], words) and not inside_word(c["end"], words), c
        assert abs(c["start"] - c["span"]["start"]) <= 3.0 + 1e-6 and abs(c["end"] - c["span"]["end"]) <= 3.0 + 1e-6
        assert c["title"] == titles[c["rank"]]["title"] and c["description"] == titles[c["rank"]]["description"]
    assert {
        "titlesUrl",
        "momentsOtioUrl",
        "momentsEdlUrl",
        "momentsFcpXmlUrl",
        "selectsOtioUrl",
        "selectsEdlUrl",
        "selectsFcpXmlUrl",
        "chaptersUrl",
        "momentsCsvUrl",
        "captionsSrtUrl",
        "captionsVttUrl",
        "clipCaptionsUrl",
        "verticalClipsUrl",
    } <= set(manifest["urls"])

    def planned(*config):
        return planned_jobs(run_snakemake(work, "--dry-run", "--config", f"vods={table}", *config))

    # Each export's own settings rebuild that export (and what is made from it), then publishing.
    assert planned("vertical={mode: crop}") == {"vertical_render", "publish_upload"}
    assert planned("captions={max_chars_per_line: 32}") == {"captions_write", "vertical_render", "publish_upload"}
    assert planned("chapters={min_seconds: 20}") == {"chapters_write", "publish_upload"}
    # The clips changed: what is made from them; the analysis and the chapters/CSV (integrated analysis only) stay.
    assert planned("clips={crf: 30}") == {
        "clips_cut",
        "report_render",
        "timeline_export",
        "captions_write",
        "vertical_render",
        "publish_upload",
    }
    # Turning an export off only changes what is published.
    assert planned("exports={vertical: false}") == {"publish_upload"}
    # Settings the exports do not read rebuild none of them.
    assert planned("waveform={samples_per_pixel: 800}") == {"waveform_render", "report_render", "publish_upload"}
    # The transcript's words changed: the audio analysis reading them, integration and everything made from it,
    # never the raw or chat steps. (Snakemake compares the content of small inputs: a touch alone rebuilds nothing.)
    words = out / "raw/transcripts/audio_tiny_words.csv"
    original = words.read_bytes()
    words.write_bytes(original + original.splitlines(keepends=True)[-1])
    assert (
        planned()
        == {
            "audio_features_compute",
            "audio_sentiment_score",
            "audio_highlights_detect",
            "audio_plot",
            "analysis_integrate",
        }
        | FINAL_JOBS
    )
    words.write_bytes(original)
    assert planned() == set()


def test_publish_settings_through_config_then_environment(tiny):
    """The five publish keys the schema used to reject, set through `--config`, take effect in the publish job and
    win over the environment; an environment override wins over config.yaml (only publish reruns: --forcerun)."""
    work, table = tiny
    if not (work / "output/publish/tiny_manifest.json").is_file():
        pytest.skip("needs the full run above")
    env = {"USE_GCS": "true", "BASE_DIR": str(work / "from-env"), "GCS_ANALYSIS_BUCKET": "env-analysis"}
    run_snakemake(
        work,
        "--forcerun",
        "publish_upload",
        "--config",
        f"vods={table}",
        f"base_dir={work / 'base'}",
        "publish={use_gcs: false, buckets: {vods: old-raw}}",
        env=env,
    )
    manifest = json.loads((work / "output/publish/tiny_manifest.json").read_text())
    assert manifest["backend"] == "local" and manifest["root"] == str(work / "base" / "output" / "buckets")
    assert manifest["buckets"]["raw"] == "old-raw" and manifest["buckets"]["analysis"] == "env-analysis"
    buckets = {o["kind"]: o["bucket"] for o in manifest["objects"]}
    assert buckets["video"] == "old-raw" and buckets["integrated_json"] == "env-analysis"
    assert (work / "base/output/buckets/old-raw/tiny/video_tiny.mp4").is_file()

    # use_gcs, gcs_project and service_account_path: Cloud Storage is asked for with that project and key file,
    # whatever USE_GCS, GCS_PROJECT and GCP_SERVICE_ACCOUNT_PATH say
    key = work / "bad_key.json"
    key.write_text(
        '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nAAA\\n-----END PRIVATE KEY-----"}'
    )
    env = {"USE_GCS": "false", "GCS_PROJECT": "env-project", "GCP_SERVICE_ACCOUNT_PATH": str(work / "nope.json")}
    proc = run_snakemake(
        work,
        "--forcerun",
        "publish_upload",
        "--config",
        f"vods={table}",
        f"publish={{use_gcs: true, gcs_project: cli-project, service_account_path: {key}}}",
        env=env,
        check=False,
    )
    assert proc.returncode != 0
    status = json.loads((work / "output/status/tiny.json").read_text())
    assert status["status"] == "Failed" and status["step"] == "publish_upload"
    assert status["reason"].startswith("cannot create a Cloud Storage client for project cli-project:"), status
    assert "AAA" not in status["reason"]


def test_chat_only_vod_from_real_twitch_chat(tmp_path, shared_data):
    table = write_table(
        tmp_path / "vods.tsv", [("v5chat", "", "", str(shared_data / "chat/twitch_v5_1087079172.json"), "real chat")]
    )
    proc = run_snakemake(tmp_path, "--dry-run", "--config", f"vods={table}")
    assert planned_jobs(proc) == CHAT_JOBS | {
        "analysis_integrate",
        "report_render",
        "publish_upload",
        "titles_write",
        "timeline_export",
        "chapters_write",
        "moments_tabulate",
    }
    run_snakemake(tmp_path, "--config", f"vods={table}")
    chapters = (tmp_path / "output/exports/v5chat/v5chat_chapters.txt").read_text()
    assert chapters.startswith("0:00 ")
    # every chapter is titled with words (not `#8 Moment: "????????????"`), the titles file's
    titles = json.loads((tmp_path / "output/analysis/v5chat_titles.json").read_text())
    named = {row["rank"]: row["title"] for row in titles["titles"]}
    for line in chapters.splitlines()[1:]:
        rank, title = re.fullmatch(r"\d+:\d\d(?::\d\d)? #(\d+) (.+)", line).groups()
        assert title == named[int(rank)] and re.search(r"[^\W\d_]{3}", title), line
    doc = json.loads((tmp_path / "output/analysis/v5chat_integrated_analysis.json").read_text())
    assert "chat" in doc["signals_used"]
    assert not {"audio", "transcript", "speech_sentiment"} & set(doc["signals_used"])
    assert doc["highlights"], "a 49-minute real chat has highlights"
    assert not (tmp_path / "output/raw/audio").exists()


def test_video_only_vod_plans_no_chat_jobs(tiny, tmp_path):
    work, _ = tiny
    table = write_table(tmp_path / "vods.tsv", [("novid", "", str(work / "tiny.mp4"), "", "video only")])
    proc = run_snakemake(tmp_path, "--dry-run", "--config", f"vods={table}")
    assert planned_jobs(proc) == AUDIO_JOBS | FINAL_JOBS


def test_vod_without_source_gets_one_line_error(tmp_path):
    table = write_table(tmp_path / "vods.tsv", [])
    proc = run_snakemake(
        tmp_path,
        "output/analysis/nosuch_integrated_analysis.json",
        "--dry-run",
        "--config",
        f"vods={table}",
        check=False,
    )
    assert proc.returncode != 0
    assert "VOD nosuch has no source: add a row to" in proc.stdout + proc.stderr


def test_missing_input_file_is_named(tmp_path):
    """The VOD plans (its video_fetch waits on vod_input_missing) and fails in one line naming the file."""
    table = write_table(tmp_path / "vods.tsv", [("gone", "", str(tmp_path / "missing.mp4"), "", "x")])
    assert "vod_input_missing" in planned_jobs(run_snakemake(tmp_path, "--dry-run", "--config", f"vods={table}"))
    proc = run_snakemake(tmp_path, "--config", f"vods={table}", check=False)
    assert proc.returncode != 0
    assert f"VOD gone: video file not found: {tmp_path / 'missing.mp4'}" in proc.stdout + proc.stderr


def test_bad_vod_id_is_rejected_by_the_table_schema(tmp_path):
    table = write_table(tmp_path / "vods.tsv", [("bad id!", "", "", "", "x")])
    proc = run_snakemake(tmp_path, "--dry-run", "--config", f"vods={table}", check=False)
    assert proc.returncode != 0
    assert "bad id!" in proc.stdout + proc.stderr


def test_numeric_id_not_in_table_is_a_twitch_vod(tmp_path):
    table = write_table(tmp_path / "vods.tsv", [])
    proc = run_snakemake(
        tmp_path, "output/analysis/987654_integrated_analysis.json", "--dry-run", "--config", f"vods={table}"
    )
    assert {"video_fetch", "chat_fetch", "analysis_integrate"} <= planned_jobs(proc)
