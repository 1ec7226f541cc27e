"""What a careless user meets through `klipstream run` and Snakemake targets (issue 27): a VOD without speech, a
broken row beside good ones, a failing rerun, a deleted result, a truncated video, bad options and settings, killed
runs' temp files, and the one last line that says why a run failed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from klipstream.cli import main
from klipstream.media import ffmpeg_exe
from tests.helpers.workflow import ROOT, cut_chat, planned_jobs, run_snakemake, write_table

DEMO = ROOT / "data" / "demo"
CLI = [sys.executable, "-m", "klipstream.cli"]


def needs_demo():
    if not (DEMO / "demo.mp4").is_file():
        pytest.skip("demo VOD not generated")


def klipstream_run(*argv: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """`klipstream run ARGV`, with the run's job events (its logger plugin's file) as `proc.events`."""
    from klipstream import run_events, workflow

    proc = subprocess.run([*CLI, "run", *argv], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    workdir = argv[argv.index("--workdir") + 1] if "--workdir" in argv else ROOT
    events = workflow.events_file(workdir, argv[0])
    proc.events = run_events.read(events, 0)[0] if events.is_file() else []
    return proc


def speechless_video(path, seconds: float, audio: bool):
    """`seconds` of a test pattern with digital silence (audio) or no audio stream at all."""
    sources = ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=10"]
    sources += ["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono"] if audio else []
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    codecs += ["-c:a", "aac"] if audio else ["-an"]
    cmd = [ffmpeg_exe(), "-v", "error", "-y", *sources, "-t", str(seconds), *codecs, "-shortest", str(path)]
    subprocess.run(cmd, check=True)
    return path


@pytest.mark.workflow
def test_vods_without_speech_get_vertical_clips_without_captions(tmp_path):
    """Silent audio and no audio track: the clips' caption files are empty, the vertical clips are made without
    captions, and the VODs complete (vertical_render failed on pysubs2.load of an empty SRT)."""
    needs_demo()
    cut_chat(DEMO / "demo_chat.json", tmp_path / "chat.json", 40)
    rows = [
        ("silent", "", str(speechless_video(tmp_path / "silent.mp4", 40, audio=True)), str(tmp_path / "chat.json"), ""),
        ("mute", "", str(speechless_video(tmp_path / "mute.mp4", 40, audio=False)), str(tmp_path / "chat.json"), ""),
    ]
    table = write_table(tmp_path / "vods.tsv", rows)
    run_snakemake(
        tmp_path, "--config", f"vods={table}", "--", *(f"output/exports/{v}/vertical" for v in ("silent", "mute"))
    )
    for vod in ("silent", "mute"):
        captions = json.loads((tmp_path / f"output/exports/{vod}/captions/captions.json").read_text())
        assert captions["clips"] and all(c["cues"] == 0 for c in captions["clips"]), captions
        listing = json.loads((tmp_path / f"output/exports/{vod}/vertical/vertical.json").read_text())
        assert len(listing["clips"]) == len(captions["clips"])
        assert not any(c["captions_burned"] for c in listing["clips"])
        for clip in listing["clips"]:
            assert (tmp_path / f"output/exports/{vod}/vertical" / clip["file"]).stat().st_size > 0


@pytest.mark.workflow
def test_a_row_whose_file_is_missing_fails_alone(tmp_path):
    """A VOD table with a good VOD and a row whose chat file is gone: the good VOD plans and builds (also beside
    the broken one, in one run), the broken one fails alone in one line naming its file."""
    needs_demo()
    cut_chat(DEMO / "demo_chat.json", tmp_path / "chat.json", 60)
    gone = tmp_path / "gone_chat.json"
    table = write_table(
        tmp_path / "vods.tsv", [("good", "", "", str(tmp_path / "chat.json"), ""), ("badrow", "", "", str(gone), "")]
    )
    where = ["--workdir", str(tmp_path), "--config", f"vods={table}"]
    dry = klipstream_run("good", "-n", *where)
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "chat_fetch" in dry.stdout and "vod_input_missing" not in dry.stdout
    reason = f"VOD badrow: chat file not found: {gone} (see {table})"
    both = ["output/analysis/good_integrated_analysis.json", "output/analysis/badrow_integrated_analysis.json"]
    proc = run_snakemake(tmp_path, "--config", f"vods={table}", "--", *both, check=False)
    assert proc.returncode != 0
    assert reason in proc.stdout + proc.stderr
    doc = json.loads((tmp_path / both[0]).read_text())
    assert doc["vod_id"] == "good" and len(doc["highlights"]) >= 1
    assert not (tmp_path / both[1]).exists()
    status = json.loads((tmp_path / "output/status/badrow.json").read_text())
    assert (status["status"], status["step"], status["reason"]) == ("Failed", "vod_input_missing", reason)
    run = klipstream_run("badrow", *where)
    assert run.returncode == 1
    assert run.stderr.splitlines()[-1] == f"klipstream: VOD badrow failed in vod_input_missing: {reason}"


@pytest.mark.workflow
def test_a_failing_rerun_keeps_the_previous_good_output(tmp_path):
    """The chat file is broken after a good run: the rerun fails in chat_fetch, and the chat JSON of the good run
    is still there, byte for byte (Snakemake had deleted it before running the job)."""
    needs_demo()
    chat = tmp_path / "chat.json"
    cut_chat(DEMO / "demo_chat.json", chat, 60)
    table = write_table(tmp_path / "vods.tsv", [("kept", "", "", str(chat), "")])
    where = ["--workdir", str(tmp_path), "--config", f"vods={table}"]
    first = klipstream_run("kept", "--raw-only", *where)
    assert first.returncode == 0, first.stderr[-2000:]
    out = tmp_path / "output/raw/chat/kept_chat.json"
    good = out.read_bytes()
    chat.write_text("this is not a chat log\n")
    second = klipstream_run("kept", "--raw-only", *where)
    assert second.returncode == 1
    assert "klipstream: VOD kept failed in chat_fetch: " in second.stderr.splitlines()[-1]
    assert out.read_bytes() == good
    assert not list((tmp_path / ".snakemake/klipstream-kept").iterdir())  # nothing left behind


def test_kept_outputs_come_back_after_a_killed_run(tmp_path):
    """What a run killed with kill -9 kept (files and folders) is put back by the next run where it is missing, and
    an output that was rebuilt is not overwritten."""
    from klipstream import keep

    (tmp_path / "output/clips/v").mkdir(parents=True)
    (tmp_path / "output/clips/v/clips.json").write_text("old listing")
    (tmp_path / "output/a.json").write_text("old a")
    (tmp_path / "output/b.json").write_text("old b")
    folder = keep.keep(["output/clips/v", "output/a.json", "output/b.json", "output/none.json"], tmp_path)
    dead = subprocess.Popen(["true"])  # a pid whose process is gone: the killed run's
    dead.wait()
    stale = folder.with_name(folder.name.replace(f"-{os.getpid()}-", f"-{dead.pid}-"))
    folder.rename(stale)
    shutil.rmtree(tmp_path / "output/clips/v")  # Snakemake removed them before running their jobs
    (tmp_path / "output/a.json").unlink()
    (tmp_path / "output/b.json").write_text("new b")  # this one's job finished
    assert sorted(keep.recover_stale(tmp_path)) == ["output/a.json", "output/clips/v"]
    assert (tmp_path / "output/clips/v/clips.json").read_text() == "old listing"
    assert (tmp_path / "output/a.json").read_text() == "old a"
    assert (tmp_path / "output/b.json").read_text() == "new b"
    assert not stale.exists()


@pytest.mark.workflow
def test_a_deleted_result_is_rebuilt_and_force_rebuilds_one_vod(tmp_path):
    """`rm` the integrated analysis after a full run: `klipstream run` rebuilds it and lists it (it said 'Nothing
    to be done': only the manifest was a target); --force and --forcerun plan this VOD's jobs and no other's."""
    needs_demo()
    cut_chat(DEMO / "demo_chat.json", tmp_path / "chat.json", 60)
    rows = [("one", "", "", str(tmp_path / "chat.json"), ""), ("two", "", "", str(tmp_path / "chat.json"), "")]
    table = write_table(tmp_path / "vods.tsv", rows)
    where = ["--workdir", str(tmp_path), "--config", f"vods={table}"]
    assert klipstream_run("one", *where).returncode == 0
    analysis = tmp_path / "output/analysis/one_integrated_analysis.json"
    analysis.unlink()
    again = klipstream_run("one", *where)
    assert again.returncode == 0, again.stderr[-2000:]
    assert analysis.is_file() and "  analysis   output/analysis/one_integrated_analysis.json" in again.stdout
    assert "analysis_integrate" in again.stdout + again.stderr
    assert planned_jobs(klipstream_run("one", "-n", *where)) == set()
    forced = planned_jobs(klipstream_run("one", "-n", "--force", *where))
    assert {"chat_fetch", "analysis_integrate", "publish_upload"} <= forced
    dry = klipstream_run("one", "-n", "--forcerun", "chat_plot", *where)
    assert planned_jobs(dry) == {"chat_plot", "publish_upload"}, dry.stdout[-3000:]
    assert "two" not in dry.stdout.split("Job stats:")[0].replace(str(tmp_path), "")


@pytest.mark.parametrize("cores", ["0", "-3", "two"])
def test_cores_below_one_is_refused_in_one_line(cores, capsys):
    with pytest.raises(SystemExit) as done:
        main(["run", "demo", "-n", "--cores", cores])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "argument --cores: " in err.splitlines()[-1] and cores in err.splitlines()[-1]


LAG = "fusion={lag_min_seconds: 30, lag_max_seconds: 0}"
LAG_ERROR = (
    "config fusion.lag_min_seconds (30) is above fusion.lag_max_seconds (0): the smallest must not exceed the largest"
)


def test_a_reversed_range_is_refused_naming_both_keys(tmp_path):
    """lag_min above lag_max passed validation and fusion silently used its default lag."""
    from klipstream.config import section
    from klipstream.errors import KlipError

    with pytest.raises(KlipError) as err:
        section("fusion", {"lag_min_seconds": 30, "lag_max_seconds": 0})
    assert str(err.value) == LAG_ERROR
    with pytest.raises(KlipError, match=r"fusion.lag_min_seconds \(40\) is above fusion.lag_max_seconds \(30\)"):
        section("fusion", {"lag_min_seconds": 40})  # against the default
    assert section("fusion", {"lag_min_seconds": 10, "lag_max_seconds": 10})["lag_max_seconds"] == 10
    proc = run_snakemake(tmp_path, "--dry-run", "--config", LAG, check=False)
    assert proc.returncode != 0 and LAG_ERROR in proc.stdout + proc.stderr


@pytest.mark.parametrize("what", ["config", "table"])
def test_config_and_table_errors_end_the_run_with_their_own_line(what, tmp_path, capsys):
    """`klipstream run` checks the config and the VOD table before Snakemake starts: the error is the one line
    (it was a traceback under `failed (snakemake exit code 1; see its output above)`)."""
    if what == "config":
        argv, message = ["--config", LAG], LAG_ERROR
    else:
        table = write_table(tmp_path / "vods.tsv", [("demo", "", "", "", ""), ("bad id!", "", "", "x.json", "")])
        argv, message = ["--config", f"vods={table}"], f"VOD table {table}, line 3: vod_id: 'bad id!' does not match"
    assert main(["run", "demo", "-n", "--workdir", str(tmp_path), *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith(f"klipstream: error: {message}"), err


def v5_doc(*offsets):
    comments = [
        {"_id": f"c{i}", "content_offset_seconds": o, "commenter": {"display_name": "u"}, "message": {"body": "hi"}}
        for i, o in enumerate(offsets)
    ]
    return {"comments": comments}


def test_a_chat_offset_that_is_not_a_number_is_one_line_naming_file_and_field(tmp_path):
    """`"abc"` was a bare ValueError naming neither the file nor the field."""
    from klipstream.chat.importers import import_chat
    from klipstream.errors import KlipError

    src = tmp_path / "chat.json"
    src.write_text(json.dumps(v5_doc(1.0, 2.0, "abc")))
    with pytest.raises(KlipError) as err:
        import_chat(src, tmp_path / "out.json", "v")
    assert str(err.value) == f"chat file {src}, comment 3: content_offset_seconds is not a number of seconds: 'abc'"
    src.write_text(json.dumps([{"time_in_seconds": [1], "message": "x"}]))  # chat-downloader JSON
    with pytest.raises(KlipError, match=r"comment 1: time_in_seconds is not a number of seconds: \[1\]$"):
        import_chat(src, tmp_path / "out.json", "v")
    assert not (tmp_path / "out.json").exists()


def test_a_null_chat_offset_is_dropped_and_counted_not_put_at_zero(tmp_path, caplog):
    """`null` became 0.0 (a message at 0:00 that never was there); now it is left out and counted in the log."""
    from klipstream.chat.importers import import_chat
    from klipstream.chat.io import iter_comments

    src = tmp_path / "chat.json"
    src.write_text(json.dumps(v5_doc(1.0, None, 2.5, "3.5", None)))
    with caplog.at_level("WARNING"):
        assert import_chat(src, tmp_path / "out.json", "v")["comments"] == 3
    assert [c["content_offset_seconds"] for c in iter_comments(tmp_path / "out.json")] == [1.0, 2.5, 3.5]
    assert f"{src}: skipped 2 entries without a time offset (or null) or message" in caplog.text


@pytest.mark.workflow
def test_the_next_write_of_a_target_removes_what_killed_jobs_left_beside_it(tmp_path):
    """kill -9 leaves `.name.*` temp files and folders that no later run removed (a killed audio_extract: a
    multi-GB WAV). The next write of that target removes those whose writer is gone, and only those."""
    import socket

    needs_demo()
    host = socket.gethostname().split(".")[0]
    cut_chat(DEMO / "demo_chat.json", tmp_path / "chat.json", 30)
    table = write_table(tmp_path / "vods.tsv", [("t", "", "", str(tmp_path / "chat.json"), "")])
    folder = tmp_path / "output/raw/chat"
    folder.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    old = time.time() - 2 * 3600  # untouched for two hours
    stale = [folder / ".t_chat.json.k3j2_x.json", folder / f".t_chat.json.{dead.pid}@{host}.q1.json"]
    stale_dir = folder / f".t_chat.json.{dead.pid}@{host}.d9"
    kept = [
        folder / f".t_chat.json.{os.getpid()}@{host}.live.json",  # a writer still at work
        folder / ".t_chat.json.fresh.json",  # an older version's, but touched a moment ago
        folder / f".t_chat.json.{dead.pid}@otherhost.z.json",  # another host's: its pid means nothing here
        folder / ".t_chat2.json.k3j2_x.json",  # another target's
    ]
    for path in stale + kept:
        path.write_bytes(b"x" * 1000)
    (stale_dir / "sub").mkdir(parents=True)
    (stale_dir / "sub" / "part.wav").write_bytes(b"x")
    for path in [stale[0], kept[3]]:
        os.utime(path, (old, old))
    proc = klipstream_run("t", "--raw-only", "--workdir", str(tmp_path), "--config", f"vods={table}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (folder / "t_chat.json").is_file()
    assert [p.name for p in stale + [stale_dir] if p.exists()] == []
    assert [p.name for p in kept if not p.exists()] == []


@pytest.mark.workflow
def test_a_truncated_video_fails_in_audio_extract_naming_the_file(tmp_path):
    """The first 100 kB of the demo mp4 (its moov atom first: ffmpeg reads it without an error) decoded to 5.8 s
    of audio for a 240 s video, and the VOD completed as if whole."""
    needs_demo()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes((DEMO / "demo.mp4").read_bytes()[:100_000])
    table = write_table(tmp_path / "vods.tsv", [("cut", "", str(cut), "", "")])
    proc = klipstream_run("cut", "--raw-only", "--workdir", str(tmp_path), "--config", f"vods={table}")
    assert proc.returncode == 1
    reason = (
        r"video output/raw/videos/video_cut\.mp4 is truncated or damaged: its audio decodes to \d+\.\d s but the "
        r"file says 240\.0 s \(fetch or copy it again\)"
    )
    assert re.fullmatch(f"klipstream: VOD cut failed in audio_extract: {reason}", proc.stderr.splitlines()[-1])
    assert not (tmp_path / "output/raw/audio/audio_cut.wav").exists()
    assert not (tmp_path / "output/raw/transcripts/audio_cut_transcript.json").exists()


@pytest.mark.workflow
def test_a_twitch_failure_is_a_short_output_ending_with_its_reason(tmp_path):
    """A Twitch VOD that cannot be reached (a closed port on 127.0.0.1): 105 lines came before the good last line
    (Snakemake's header, every job's block, each failed log printed again); now the progress, the jobs' own lines,
    the errors, the failed step's log file and the reason, which is the last line. The log file has it all."""
    dead = "http://127.0.0.1:9"
    twitch = f'twitch={{gql_url: "{dead}/gql", usher_url: "{dead}/usher", timeout: 2}}'
    proc = klipstream_run("12345", "--raw-only", "--workdir", str(tmp_path), "--config", twitch)
    assert proc.returncode == 1
    lines = (proc.stdout + proc.stderr).splitlines()
    last = proc.stderr.splitlines()[-1]
    assert last.startswith("klipstream: VOD 12345 failed in ") and "cannot reach Twitch (127.0.0.1)" in last, last
    assert len(lines) <= 45, "\n".join(lines)
    assert not any(line.startswith(("localrule ", "Logfile ", "Error in rule ")) for line in lines)
    step = last.split(" failed in ", 1)[1].split(":", 1)[0]
    assert proc.stderr.splitlines()[-2] == f"klipstream: the log of {step}: logs/{step}/12345.log"
    assert "cannot reach Twitch (127.0.0.1)" in (tmp_path / f"logs/{step}/12345.log").read_text()


@pytest.mark.workflow
def test_a_chat_only_vods_timelines_name_no_video_file(tmp_path):
    """A chat-only VOD's EDL named video_{vod}.mp4, a file that never exists (no video, no Twitch URL)."""
    needs_demo()
    cut_chat(DEMO / "demo_chat.json", tmp_path / "chat.json", 60)
    table = write_table(tmp_path / "vods.tsv", [("talk", "", "", str(tmp_path / "chat.json"), "")])
    edl = "output/exports/talk/talk_selects.edl"
    run_snakemake(tmp_path, "--config", f"vods={table}", "--", edl)
    text = (tmp_path / edl).read_text()
    assert "FROM CLIP NAME:  talk (no video)" in text and "video_talk.mp4" not in text
