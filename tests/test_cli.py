"""`klipstream run` maps the older tool's commands onto Snakemake targets and config."""

import argparse
import json

import pytest

from klipstream.cli import add_local_inputs, main, snakemake_command
from klipstream.errors import KlipError
from klipstream.workflow import vod_id_of


@pytest.mark.parametrize(
    "ref, vod",
    [
        ("https://www.twitch.tv/videos/2345678901", "2345678901"),
        ("https://twitch.tv/videos/42?t=1h2m3s", "42"),
        ("2345678901", "2345678901"),
        ("demo", "demo"),
    ],
)
def test_vod_id_of_accepts_urls_and_ids(ref, vod):
    assert vod_id_of(ref) == vod


@pytest.mark.parametrize("ref", ["https://www.youtube.com/watch?v=x", "https://www.twitch.tv/somechannel", "a b"])
def test_vod_id_of_rejects_other_urls_with_one_line(ref):
    with pytest.raises(KlipError) as err:
        vod_id_of(ref)
    assert ref in str(err.value) and "\n" not in str(err.value)


def args(**kw):
    base = dict(
        vod="https://www.twitch.tv/videos/42",
        raw_only=False,
        analysis_only=False,
        cores=4,
        concurrency=None,
        timeout=None,
        dry_run=False,
        workdir=None,
        config=None,
    )
    return argparse.Namespace(**{**base, **kw})


def test_full_run_targets_the_publish_manifest():
    cmd = snakemake_command(args())
    assert cmd[3] == "output/publish/42_manifest.json"
    assert cmd[cmd.index("--cores") + 1] == "4"
    assert "--config" not in cmd


def test_raw_only_and_analysis_only_targets():
    raw = snakemake_command(args(raw_only=True))
    assert "output/raw/chat/42_chat.json" in raw and "output/raw/transcripts/audio_42_segments.csv" in raw
    assert not any(t.startswith("output/analysis") for t in raw)
    analysis = snakemake_command(args(analysis_only=True))
    assert "output/analysis/42_integrated_analysis.json" in analysis


def test_concurrency_and_timeout_become_speech_sentiment_config():
    cmd = snakemake_command(args(concurrency=16, timeout=12.5, dry_run=True))
    assert cmd[cmd.index("--config") + 1] == "speech_sentiment={concurrency: 16, timeout: 12.5}"
    assert "--dry-run" in cmd


def test_bad_reference_exits_2_with_message(capsys):
    assert main(["run", "https://example.com/x"]) == 2
    assert "not a Twitch VOD URL or VOD id" in capsys.readouterr().err


def test_reference_errors_name_the_table_and_what_a_local_id_may_hold(tmp_path, capsys):
    """The CLI names the VOD table it looked in (here one that does not exist); with --video/--chat a bad id is
    told what an id may hold, not the Twitch URL form. Nothing is created on the way."""
    chat = tmp_path / "c.json"
    chat.write_text("{}")
    work = tmp_path / "x"
    assert main(["run", "demo", "--workdir", str(work)]) == 2
    table = work / "config" / "vods.tsv"
    assert capsys.readouterr().err == (
        f"klipstream: error: VOD 'demo' is not in the VOD table {table} (no such file) "
        "and is not a numeric Twitch VOD id\n"
    )
    table.parent.mkdir(parents=True)
    table.write_text("vod_id\turl\tvideo\tchat\ttitle\n")
    assert main(["run", "demo", "--workdir", str(work)]) == 2
    assert f"is not in the VOD table {table} and" in capsys.readouterr().err
    assert main(["run", "my stream", "--chat", str(chat), "--workdir", str(work)]) == 2
    assert capsys.readouterr().err == (
        "klipstream: error: --video/--chat: 'my stream' cannot be a VOD id: a new id must be letters, digits, _ and - "
        "(or give a Twitch VOD URL or id)\n"
    )
    assert main(["run", "0", "--chat", str(chat), "--workdir", str(work)]) == 2
    assert capsys.readouterr().err == "klipstream: error: not a valid Twitch VOD id: '0'\n"
    assert table.read_text() == "vod_id\turl\tvideo\tchat\ttitle\n" and sorted(work.iterdir()) == [work / "config"]


def test_train_models_hands_every_option_to_the_trainer(capsys):
    with pytest.raises(SystemExit) as done:
        main(["train-models", "--help"])
    assert done.value.code == 0
    assert "--corpus" in capsys.readouterr().out


def test_local_files_go_into_the_vod_table_with_one_line_errors(tmp_path, capsys):
    chat = tmp_path / "my chat.json"
    chat.write_text("{}")
    work = tmp_path / "w"
    table = work / "config" / "vods.tsv"
    # a dry run plans with the row and writes nothing (its rows showed as pending jobs of later runs)
    assert main(["run", "clip1", "--chat", str(chat), "--title", "Mine", "--workdir", str(work), "-n"]) == 0
    out, err = capsys.readouterr()
    assert f"dry run: VOD clip1 would be added to the VOD table {table} (not written)" in err
    assert "output/publish/clip1_manifest.json" in out and not table.exists()
    add_local_inputs(args(vod="clip1", chat=str(chat), video=None, title="Mine", workdir=str(work)))
    assert table.read_text().splitlines()[1] == f"clip1\t\t\t{chat}\tMine"
    assert "added VOD clip1 to the VOD table" in capsys.readouterr().err
    # a Twitch URL with a local chat: the id, and the URL for what is downloaded
    twitch = args(vod="https://twitch.tv/videos/77?t=5", chat=str(chat), video=None, title=None, workdir=str(work))
    add_local_inputs(twitch)
    assert table.read_text().splitlines()[2] == f"77\thttps://www.twitch.tv/videos/77\t\t{chat}\t"
    capsys.readouterr()
    for argv, message in [
        (["clip1", "--chat", str(tmp_path / "other.json")], "--chat: file not found: "),
        (["clip1", "--video", str(chat)], "already lists clip1 with other inputs"),
        (["clip1", "--title", "x"], "--title goes with --video or --chat"),
    ]:
        assert main(["run", *argv, "--workdir", str(work), "-n"]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert len(table.read_text().splitlines()) == 3


def test_status_reads_where_run_wrote_and_a_missing_vod_is_one_line(tmp_path, monkeypatch, capsys):
    """`status --workdir DIR` reads DIR/output/status, as `run --workdir DIR` writes it, from any current folder;
    without --workdir, the workflow's folder (run's default); a VOD with no status exits 1 naming the folder."""
    from klipstream import status
    from klipstream.workflow import snakefile

    work = tmp_path / "w"
    status.report(
        "v1", "Failed", step="video_fetch", reason="no network", status_dir=work / "output/status", convex=None
    )
    monkeypatch.chdir(tmp_path)
    assert main(["status", "v1", "--workdir", str(work)]) == 0
    assert capsys.readouterr().out.startswith("VOD v1: Failed (video_fetch) - no network")
    assert main(["status", "--workdir", "w"]) == 0 and "v1" in capsys.readouterr().out
    assert main(["status", "v1", "--workdir", str(work), "--status-dir", str(work / "output/status")]) == 0
    capsys.readouterr()
    for argv, folder in [
        (["--workdir", str(work), "--status-dir", "elsewhere"], work / "elsewhere"),
        ([], snakefile().parent / "output/status"),
    ]:
        assert main(["status", "no-such-vod", *argv]) == 1
        out, err = capsys.readouterr()
        assert out == "" and err == f"klipstream: no status recorded for VOD no-such-vod in {folder}\n"


@pytest.mark.slow
@pytest.mark.workflow
def test_run_with_a_local_chat_builds_it_end_to_end(tmp_path):
    import subprocess
    import sys

    from tests.helpers.workflow import ROOT

    work = tmp_path / "w"
    chat = ROOT / "data" / "demo" / "demo_chat.json"
    cmd = [sys.executable, "-m", "klipstream.cli", "run", "mine", "--chat", str(chat), "--analysis-only"]
    proc = subprocess.run([*cmd, "--workdir", str(work)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((work / "output" / "analysis" / "mine_integrated_analysis.json").read_text())
    assert doc["vod_id"] == "mine" and doc["signals_used"] == ["chat", "chat_sentiment"] and len(doc["highlights"]) >= 4
    assert "report     output/report/mine.html" in proc.stdout
    # progress from the run's job events (klipstream's logger plugin), one line per finished step, up to the last
    from klipstream.run_events import iter_events

    events = list(iter_events(work / ".snakemake" / "klipstream" / "mine.events.jsonl"))
    (plan,) = [e for e in events if e["event"] == "run_info"]
    assert {"chat_fetch", "analysis_integrate", "report_render"} <= set(plan["jobs"])
    started = [e["jobid"] for e in events if e["event"] == "job_info"]
    assert sorted(started) == sorted(e["jobid"] for e in events if e["event"] == "job_finished")
    lines = [line for line in proc.stderr.splitlines() if line.startswith("klipstream: VOD mine: ")]
    total = plan["total"]
    assert lines[-1] == f"klipstream: VOD mine: {total} of {total} steps done" and len(lines) == total


def test_the_vod_may_follow_config_words(tmp_path, capsys):
    # `--config` takes every word after it: the one that is not KEY=VALUE is the VOD (a URL may hold `=`)
    argv = ["run", "-n", "--workdir", str(tmp_path), "--config", "clips={top_k: 3}", "https://twitch.tv/videos/42?t=5"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "output/publish/42_manifest.json" in out and out.rstrip().endswith("--dry-run --config 'clips={top_k: 3}'")
    with pytest.raises(SystemExit):
        main(["run", "--config", "clips={top_k: 3}"])
    assert "give one VOD" in capsys.readouterr().err
