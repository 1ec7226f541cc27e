"""`klipstream serve` for real on 127.0.0.1: submit the demo VOD, follow its event stream to Completed and fetch
the result while status requests pour in; stop and crash the server mid-job and watch the job resume."""

from __future__ import annotations

import json
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jsonschema
import pytest

from klipstream.highlights import load_schema
from tests.helpers.service import AUTH, TOKEN, Server, alive, report_media
from tests.helpers.waits import scaled, wait_until
from tests.helpers.workflow import ROOT, cut_demo, write_table

pytestmark = pytest.mark.workflow

DEMO = ROOT / "data" / "demo"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not (DEMO / "demo.mp4").is_file():
        pytest.skip("demo VOD not generated")
    work = tmp_path_factory.mktemp("service")
    cut_demo(work, 50)
    (work / "broken_chat.json").write_text('{"comments": "not a list"}')
    write_table(
        work / "vods.tsv",
        [
            ("demo", "", str(DEMO / "demo.mp4"), str(DEMO / "demo_chat.json"), "Demo"),
            ("tiny", "", str(work / "tiny.mp4"), str(work / "tiny_chat.json"), "Tiny"),
            ("broken", "", "", str(work / "broken_chat.json"), "Broken chat"),
        ],
    )
    srv = Server(work)
    srv.start()
    yield srv
    if srv.proc.poll() is None:
        srv.stop()
    assert TOKEN not in srv.log.read_text()


def test_demo_vod_from_request_to_result(server):
    submitted = server.post("/api/v1/analysis", json={"vod_id": "demo"})
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["job_id"]
    again = server.post("/api/v1/analysis", json={"vod_id": "demo"})
    assert again.status_code == 200 and again.json()["job_id"] == job_id  # the running job, not a second run
    assert server.post("/api/v1/analysis", json={"url": "https://www.twitch.tv/directory"}).status_code == 422

    with ThreadPoolExecutor(max_workers=25) as pool:
        stream = pool.submit(server.events, job_id)
        server.wait_for(job_id, lambda s: s["status"] == "running" and s["steps_done"] >= 1)
        # 24 status requests at once while the job runs: all answered, all the same job.
        answers = list(pool.map(lambda _: server.get(f"/api/v1/analysis/{job_id}/status"), range(24)))
        assert [a.status_code for a in answers] == [200] * 24
        assert {a.json()["job_id"] for a in answers} == {job_id}
        assert {a.json()["status"] for a in answers} <= {"running", "completed"}
        # the whole demo takes minutes, more on a loaded machine: wait while its steps move, then read the stream
        server.wait_for(job_id, lambda s: s["status"] == "completed")
        events = stream.result(timeout=scaled(60))

    assert events[-1]["status"] == "completed" and events[-1]["progress"] == 1.0
    # 19 rules' jobs, the transcription plan (a checkpoint), the two decoding jobs it plans for the demo, 5 exports
    assert events[-1]["steps_done"] == events[-1]["steps_total"] == 28
    running = [e for e in events if e["status"] == "running"]
    progress = [e["progress"] for e in running]
    assert progress == sorted(progress) and any(0 < p < 1 for p in progress)
    # The stream samples every 0.5 s, so it shows the long steps; the VOD's status history has every one.
    assert {"Transcribing", "Finding highlights"} <= {e["step"] for e in running}
    history = json.loads((server.workdir / "output" / "status" / "demo.json").read_text())["history"]
    statuses = [h["status"] for h in history]
    assert statuses[0] == "Queued" and statuses[-1] == "Completed" and "Downloading" in statuses
    assert any("transcript_decode" in e["running_rules"] for e in running)

    final = server.status(job_id)
    assert final["results"] == {
        "analysis": f"/api/v1/analysis/{job_id}/result",
        "report": f"/api/v1/analysis/{job_id}/report",
    }
    assert final["error"] is None and final["attempts"] == 1 and not final["resumed"]
    assert server.get(f"/api/v1/analysis/{job_id}/status", headers={}).status_code == 401  # reads need the token
    analysis = server.get(final["results"]["analysis"]).json()
    jsonschema.validate(analysis, load_schema())
    truth = json.loads((DEMO / "truth.json").read_text())
    peaks = sorted(h["peak"] for h in analysis["highlights"][:4])
    assert [round(p) for p in peaks] == pytest.approx([m["peak"] for m in truth["moments"]], abs=5)
    report = server.get(final["results"]["report"])
    assert report.status_code == 200 and report.text.lstrip().lower().startswith("<!doctype html")
    # What the report's cards play is served where its relative links lead: every clip, then the full video.
    out = server.workdir / "output"
    links = report_media(report.text, server.url + final["results"]["report"])
    clips = sorted((out / "clips" / "demo").glob("demo_*.mp4"))
    api = server.url + "/api/v1/analysis/"
    assert links == [api + f"clips/demo/{c.name}" for c in clips] + [api + "raw/videos/video_demo.mp4"]
    for link, path in zip(links, [*clips, out / "raw" / "videos" / "video_demo.mp4"], strict=True):
        got = httpx.get(link, headers=AUTH, timeout=10)
        assert (
            got.status_code == 200 and got.content == path.read_bytes() and got.headers["content-type"] == "video/mp4"
        )
    assert httpx.get(api + "clips/demo/clips.json", headers=AUTH).status_code == 404  # not linked by the report
    assert "Finished jobid" in server.get(final["log"]).text
    assert f"job {job_id}: VOD demo 28/28 steps" in server.log.read_text()  # operators see progress lines

    # The finished VOD again: Snakemake has nothing to build; the job says so, and the VOD is Completed again.
    resubmitted = server.post("/api/v1/analysis", json={"vod_id": "demo"})
    assert resubmitted.status_code == 202 and resubmitted.json()["job_id"] != job_id
    redo = server.events(resubmitted.json()["job_id"])[-1]
    assert (redo["status"], redo["steps_done"], redo["steps_total"], redo["progress"]) == ("completed", 0, 0, 1.0)
    assert redo["note"] == "nothing to do: every output of this stage was already up to date"
    assert (redo["step"], redo["rule"]) == ("Completed", "service")
    listed = {job["job_id"]: job for job in server.get("/api/v1/analysis").json()}
    assert listed[redo["job_id"]] == server.status(redo["job_id"])  # the list shows what /status shows


def test_job_resumes_after_a_stop_and_after_a_crash(server):
    job_id = server.post("/api/v1/analysis", json={"vod_id": "tiny"}).json()["job_id"]
    wav = server.workdir / "output" / "raw" / "audio" / "audio_tiny.wav"
    first = server.wait_for(job_id, lambda s: s["steps_done"] >= 3 and wav.is_file())
    kept_mtime = wav.stat().st_mtime_ns

    # 1. A normal stop (SIGTERM, as Cloud Run or systemd send): Snakemake is interrupted, the job kept.
    assert server.stop(signal.SIGTERM) < scaled(45)  # the 30 s grace, then SIGKILL
    server.start()
    second = server.wait_for(job_id, lambda s: s["attempts"] == 2 and s["status"] == "running")
    assert second["resumed"]

    # 2. A crash (SIGKILL): the server cannot clean up; its Snakemake dies with it and the store remembers.
    server.wait_for(job_id, lambda s: s["steps_done"] >= 1)
    pid = _job_pid(server.workdir, job_id)
    server.stop(signal.SIGKILL)
    # it got SIGTERM when its parent died and stops its jobs: 30 s is plenty idle, scaled for a loaded machine
    wait_until(lambda: not alive(pid), 30, "Snakemake outlived the crashed server")
    server.start()
    events = server.events(job_id)
    final = events[-1]
    assert final["status"] == "completed" and final["attempts"] == 3 and final["resumed"]
    # Snakemake kept what earlier attempts finished: fewer steps, the extracted audio untouched.
    assert final["steps_total"] < first["steps_total"]
    assert wav.stat().st_mtime_ns == kept_mtime
    assert (server.workdir / "output" / "analysis" / "tiny_integrated_analysis.json").is_file()
    log = server.get(final["log"], params={"lines": 100000}).text
    assert [line.split(":")[0] for line in log.splitlines() if line.startswith("=== attempt")] == [
        "=== attempt 1",
        "=== attempt 2",
        "=== attempt 3",
    ]
    server_log = server.log.read_text()
    assert "interrupted by shutdown" in server_log and "was running when the server stopped" in server_log


def test_failing_vod_reports_the_rule_and_reason(server):
    job_id = server.post("/api/v1/analysis", json={"vod_id": "broken", "stage": "analysis"}).json()["job_id"]
    final = server.events(job_id)[-1]
    assert final["status"] == "failed" and final["step"] == "Failed" and final["results"] == {}
    assert final["error"].startswith("chat_fetch: ") and "broken_chat.json" in final["error"]
    assert "\n" not in final["error"]
    assert server.get(f"/api/v1/analysis/{job_id}/result").status_code == 409
    # A failed job can be queued again; it fails again the same way.
    assert server.post(f"/api/v1/analysis/{job_id}/resume").status_code == 200
    again = server.events(job_id)[-1]
    assert again["status"] == "failed" and again["attempts"] == 2 and again["error"] == final["error"]


def _job_pid(workdir: Path, job_id: str) -> int:
    from klipstream.service.store import JobStore

    store = JobStore(workdir / "output" / "service" / "jobs.sqlite")
    try:
        return store.get(job_id)["pid"]
    finally:
        store.close()
