"""Status store + Convex push: statuses in order with the auth header, Failed with its reason from a job,
Convex outages (500, hang, refused) never fail the run and are recorded, `format_status` output."""

from __future__ import annotations

import json
import logging
import os
import time
from types import SimpleNamespace

import pytest

from klipstream import status
from klipstream.errors import KlipError
from tests.helpers.publish_stubs import SECRET, ConvexStub, clean_env, free_port

PIPELINE = ["Queued", "Downloading", "Fetching chat", "Transcribing", "Analyzing", "Finding highlights", "Completed"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    clean_env(monkeypatch, tmp_path)


def _convex_env(monkeypatch, url, **convex_keys):
    """CONVEX_URL and the key in the environment; other `convex.*` keys are config only: the workflow config."""
    monkeypatch.setenv("CONVEX_URL", url)
    monkeypatch.setenv("CONVEX_API_KEY", SECRET)
    return {"convex": convex_keys}


def test_statuses_pushed_in_order_with_auth_header(monkeypatch, tmp_path):
    with ConvexStub() as stub:
        _convex_env(monkeypatch, stub.url)
        for st in PIPELINE:
            status.report("555", st, step=f"rule_{st.split()[0].lower()}", status_dir=tmp_path / "st")
    assert [b["args"] for b in stub.calls()] == [{"twitchId": "555", "status": st} for st in PIPELINE]
    assert {b["path"] for b in stub.calls()} == {"video:updateStatusByTwitchId"}
    assert {r["auth"] for r in stub.requests} == {f"Convex {SECRET}"}
    doc = status.read("555", tmp_path / "st")
    assert [e["status"] for e in doc["history"]] == PIPELINE
    assert doc["status"] == "Completed" and "convex_errors" not in doc


def test_failed_stays_failed_for_the_rest_of_its_run(monkeypatch, tmp_path):
    """Keep-going: the video failed, the chat jobs of the same VOD go on and publishing may end the run. Their steps
    are history only (and not pushed); a new run's Queued starts afresh, and a second failure replaces the first."""
    st = tmp_path / "st"
    with ConvexStub() as stub:
        _convex_env(monkeypatch, stub.url)
        status.report("7", "Queued", step="workflow", status_dir=st)
        status.report("7", "Failed", step="video_fetch", reason="no network", status_dir=st)
        status.report("7", "Analyzing", step="chat_plot", status_dir=st)
        doc = status.report("7", "Completed", step="publish", status_dir=st)
        assert (doc["status"], doc["step"], doc["reason"]) == ("Failed", "video_fetch", "no network")
        assert [(e["status"], e["step"]) for e in doc["history"]][-2:] == [
            ("Analyzing", "chat_plot"),
            ("Completed", "publish"),
        ]
        assert [b["args"]["status"] for b in stub.calls()] == ["Queued", "Failed"]
        status.finish_run({"7": "analysis"}, status_dir=st, convex=None)
        assert status.read("7", st)["status"] == "Failed"
        doc = status.report("7", "Failed", step="chat_fetch", reason="bad chat", status_dir=st)
        assert (doc["status"], doc["step"], doc["reason"]) == ("Failed", "chat_fetch", "bad chat")
        status.report("7", "Queued", step="workflow", status_dir=st)
        doc = status.report("7", "Downloading", step="video_fetch", status_dir=st)
    assert (doc["status"], doc["step"], doc["reason"]) == ("Downloading", "video_fetch", None)
    assert [b["args"]["status"] for b in stub.calls()][2:] == ["Failed", "Queued", "Downloading"]


def test_no_convex_url_means_no_push_and_local_store_only(tmp_path):
    doc = status.report("9", "Queued", status_dir=tmp_path)
    assert doc["status"] == "Queued" and doc["history"][0]["step"] is None


def test_forced_job_failure_reports_failed_with_reason(monkeypatch, tmp_path):
    from klipstream import smk

    log_file = tmp_path / "logs" / "chat_fetch.log"
    log_file.parent.mkdir()
    fake = SimpleNamespace(
        log=[str(log_file)],
        wildcards={"vod": "808"},
        rule="chat_fetch",
        scriptdir=str(tmp_path / "scripts"),
        config={"status_dir": str(tmp_path / "st")},
    )
    monkeypatch.setenv("PATH", os.environ["PATH"])  # job() prepends the workflow's bin/; undo after the test
    with ConvexStub() as stub:
        _convex_env(monkeypatch, stub.url)
        with pytest.raises(SystemExit) as info:
            with smk.job(fake, status="Fetching chat"):
                raise KlipError(f"chat file data/808.json is not valid JSON (key {SECRET})")
    assert info.value.code == 1
    doc = status.read("808", tmp_path / "st")
    assert doc["status"] == "Failed" and doc["step"] == "chat_fetch"
    assert doc["reason"].startswith("chat file data/808.json is not valid JSON")
    assert [b["args"]["status"] for b in stub.calls()] == ["Fetching chat", "Failed"]
    # the secret that leaked into the error text is in neither the status file nor the job log
    for text in (json.dumps(doc), (tmp_path / "st" / "808.json").read_text(), log_file.read_text()):
        assert "s3cr3tTok3nValue" not in text
    assert "***" in doc["reason"]
    assert "chat_fetch failed for 808: chat file data/808.json is not valid JSON (key ***)" in log_file.read_text()


def test_convex_500_does_not_fail_and_is_recorded(monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with ConvexStub(mode="500") as stub:
        cfg = _convex_env(monkeypatch, stub.url, attempts=2, backoff_s=0.01)
        doc = status.report("42", "Analyzing", step="audio_features", status_dir=tmp_path, convex=cfg)
    assert len(stub.requests) == 2  # bounded retries
    assert doc["status"] == "Analyzing"
    (err,) = doc["convex_errors"]
    assert err["function"] == "video:updateStatusByTwitchId" and err["status"] == "Analyzing"
    assert "HTTP 500" in err["error"]
    assert status.read("42", tmp_path)["convex_errors"] == doc["convex_errors"]
    assert "s3cr3tTok3nValue" not in caplog.text


def test_convex_hang_is_bounded_for_a_whole_run(monkeypatch, tmp_path):
    with ConvexStub(mode="hang", hang_s=5.0) as stub:
        cfg = _convex_env(monkeypatch, stub.url, timeout=0.3, attempts=1)
        t0 = time.monotonic()
        for st in PIPELINE:
            status.report("7", st, status_dir=tmp_path, convex=cfg)
        elapsed = time.monotonic() - t0
    doc = status.read("7", tmp_path)
    assert [e["status"] for e in doc["history"]] == PIPELINE  # the run went on
    assert len(doc["convex_errors"]) == len(PIPELINE)
    assert len(stub.requests) == 2  # then the breaker stops calling a dead server
    assert elapsed < 2.5


def test_convex_unreachable_is_recorded(monkeypatch, tmp_path):
    cfg = _convex_env(monkeypatch, f"http://127.0.0.1:{free_port()}", attempts=2, backoff_s=0.01)
    doc = status.report("3", "Downloading", status_dir=tmp_path, convex=cfg)
    assert doc["status"] == "Downloading"
    assert "ConnectError" in doc["convex_errors"][0]["error"]


def test_record_urls_merges_and_pushes(monkeypatch, tmp_path):
    with ConvexStub() as stub:
        _convex_env(monkeypatch, stub.url)
        status.record_urls("5", {"chatUrl": "https://a/c.json"}, tmp_path)
        doc = status.record_urls("5", {"videoUrl": "https://a/v.mp4"}, tmp_path)
        status.record_urls("5", {"audioUrl": "file:///x.wav"}, tmp_path, push=False)
    assert doc["urls"] == {"chatUrl": "https://a/c.json", "videoUrl": "https://a/v.mp4"}
    assert [b["args"]["urls"] for b in stub.calls("video:updateUrls")] == [
        {"chatUrl": "https://a/c.json"},
        {"videoUrl": "https://a/v.mp4"},
    ]
    assert status.read("5", tmp_path)["urls"]["audioUrl"] == "file:///x.wav"


def test_unknown_status_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown status 'Done'"):
        status.report("1", "Done", status_dir=tmp_path)


def test_format_status_one_and_all(tmp_path):
    status.report("100", "Queued", status_dir=tmp_path)
    status.report("100", "Transcribing", step="transcribe", status_dir=tmp_path)
    status.report(
        "100",
        "Failed",
        step="transcribe",
        reason="audio file output/raw/audio/audio_100.wav is empty",
        status_dir=tmp_path,
    )
    status.report("200", "Completed", step="publish", status_dir=tmp_path)
    status.record_urls("200", {"chatUrl": "https://h/c.json"}, tmp_path, push=False)

    one = status.format_status(tmp_path, "100").splitlines()
    assert one[0].startswith("VOD 100: Failed (transcribe) - audio file output/raw/audio/audio_100.wav is empty")
    assert one[1] == "history:"
    assert [line.split()[1] for line in one[2:]] == ["Queued", "Transcribing", "Failed"]
    assert one[4].split()[2:] == ["transcribe", "audio", "file", "output/raw/audio/audio_100.wav", "is", "empty"]

    two = status.format_status(tmp_path, "200")
    assert "urls:\n  chatUrl: https://h/c.json" in two

    table = status.format_status(tmp_path).splitlines()
    assert table[0].split() == ["VOD", "STATUS", "STEP", "UPDATED", "REASON"]
    assert [row.split()[:3] for row in table[1:]] == [["100", "Failed", "transcribe"], ["200", "Completed", "publish"]]
    assert table[1].endswith("audio file output/raw/audio/audio_100.wav is empty")

    assert status.format_status(tmp_path, "999") == f"no status recorded for VOD 999 in {tmp_path}"
    assert status.format_status(tmp_path / "none") == f"no VOD status recorded in {tmp_path / 'none'}"


def test_outage_seen_by_one_job_spares_the_others_but_not_terminal_statuses(monkeypatch, tmp_path):
    from klipstream import convex

    with ConvexStub(mode=["500", "500"]) as stub:  # down for the first job's two attempts, then back
        cfg = _convex_env(monkeypatch, stub.url, attempts=2, backoff_s=0.01)
        status.report("11", "Downloading", status_dir=tmp_path, convex=cfg)
        assert len(stub.requests) == 2
        monkeypatch.setattr(convex, "_clients", {})  # a new job = a new process = a fresh client
        status.report("11", "Transcribing", status_dir=tmp_path, convex=cfg)
        assert len(stub.requests) == 2  # skipped: another job saw the outage moments ago
        status.report("11", "Failed", step="transcribe", reason="x", status_dir=tmp_path)
        assert [b["args"]["status"] for b in stub.calls()][-1] == "Failed"  # terminal: always tried
        (tmp_path / status.DOWN_FILE).write_text(f"{time.time() - 1}\n")  # the window has passed
        status.report("11", "Queued", status_dir=tmp_path)
    assert [b["args"]["status"] for b in stub.calls()] == ["Downloading", "Downloading", "Failed", "Queued"]
    errors = status.read("11", tmp_path)["convex_errors"]
    assert [e["status"] for e in errors] == ["Downloading", "Transcribing"]
    assert errors[1]["error"].startswith("skipped: Convex unreachable until")


def test_unwritable_status_folder_neither_hides_the_error_nor_silences_convex(monkeypatch, tmp_path):
    """The status folder cannot be written (here: its parent is a file, which stops root too): the job's own
    error is what the log and the exit say, and Convex still hears every status, Failed included."""
    from klipstream import smk

    (tmp_path / "blocker").write_text("not a folder")
    unwritable = tmp_path / "blocker" / "status"
    log_file = tmp_path / "transcribe.log"
    fake = SimpleNamespace(
        log=[str(log_file)],
        wildcards={"vod": "909"},
        rule="transcript_transcribe",
        scriptdir=str(tmp_path / "scripts"),
        config={"status_dir": str(unwritable)},
    )
    monkeypatch.setenv("PATH", os.environ["PATH"])
    with ConvexStub() as stub:
        _convex_env(monkeypatch, stub.url)
        with pytest.raises(SystemExit) as info:
            with smk.job(fake, status="Transcribing"):
                raise KlipError("audio file output/raw/audio/audio_909.wav is not a PCM WAV file")
    assert info.value.code == 1
    assert [b["args"]["status"] for b in stub.calls()] == ["Transcribing", "Failed"]
    text = log_file.read_text()
    assert "transcript_transcribe failed for 909: audio file output/raw/audio/audio_909.wav is not a PCM WAV" in text
    assert "cannot write the status of 909" in text and "Traceback" not in text
    # and a status report alone returns what it knows instead of raising
    doc = status.report("909", "Analyzing", status_dir=unwritable, convex=None)
    assert doc["status"] == "Analyzing" and doc["unrecorded"] is True


def test_recording_urls_in_an_unwritable_status_folder_still_pushes_them(monkeypatch, tmp_path):
    (tmp_path / "blocker").write_text("not a folder")
    unwritable = tmp_path / "blocker" / "status"
    urls = {"integratedAnalysisUrl": "https://storage.example/a.json"}
    with ConvexStub() as stub:
        _convex_env(monkeypatch, stub.url)
        doc = status.record_urls("909", urls, unwritable)
    assert doc["unrecorded"] is True
    assert [b["args"]["urls"] for b in stub.calls("video:updateUrls")] == [urls]
