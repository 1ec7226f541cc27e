"""The HTTP service's parts without running the workflow: job store, progress from Snakemake's job events, request
validation, the bearer token and the routes' errors (the app in-process with a paused queue: max_jobs=0)."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from fastapi.testclient import TestClient

from klipstream.run_events import RunProgress
from klipstream.service.app import create_app
from klipstream.service.store import JobStore
from tests.helpers.waits import wait_until

TOKEN = "test-token-4f9a2c"


@pytest.fixture
def store(tmp_path):
    s = JobStore(tmp_path / "jobs.sqlite")
    yield s
    s.close()


def test_one_active_job_per_vod(store):
    first, created = store.submit("42", "https://www.twitch.tv/videos/42", "all")
    again, created_again = store.submit("42", "42", "analysis")
    other, created_other = store.submit("43", "43", "all")
    assert created and not created_again and created_other
    assert again["id"] == first["id"] and again["stage"] == "all"
    store.update(first["id"], state="completed")
    rerun, created_rerun = store.submit("42", "42", "all")
    assert created_rerun and rerun["id"] != first["id"]
    assert store.get(first["id"])["finished_at"] is not None


def test_concurrent_submissions_from_two_store_connections_create_one_job(tmp_path):
    stores = [JobStore(tmp_path / "jobs.sqlite") for _ in range(2)]
    results = []

    def submit(s):
        for _ in range(20):
            results.append(s.submit("7", "7", "all"))

    threads = [threading.Thread(target=submit, args=(s,)) for s in stores]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sum(created for _, created in results) == 1
    assert len({job["id"] for job, _ in results}) == 1


def test_claim_takes_the_oldest_and_counts_attempts(store):
    a, _ = store.submit("1", "1", "all")
    b, _ = store.submit("2", "2", "all")
    claimed = store.claim_next()
    assert claimed["id"] == a["id"] and claimed["state"] == "running" and claimed["attempts"] == 1
    assert store.claim_next()["id"] == b["id"]
    assert store.claim_next() is None


def test_recover_marks_running_jobs_and_requeues_them(tmp_path):
    path = tmp_path / "jobs.sqlite"
    s = JobStore(path)
    job, _ = s.submit("9", "9", "all")
    s.claim_next()
    s.update(job["id"], pid=123456, steps_done=4, steps_total=19)
    s.close()  # the server "crashed" here

    paused = JobStore(path)
    stale, requeued = paused.recover(resume=False)
    assert [j["id"] for j in stale] == [job["id"]] and stale[0]["pid"] == 123456 and requeued == []
    assert paused.get(job["id"])["state"] == "interrupted"
    assert paused.submit("9", "9", "all")[0]["id"] == job["id"]  # still the VOD's active job
    assert paused.requeue(job["id"]) is None and paused.get(job["id"])["state"] == "queued"
    again = paused.claim_next()
    assert again["attempts"] == 2 and again["steps_done"] == 0 and again["steps_total"] is None
    paused.close()

    resumed = JobStore(path)
    resumed.update(job["id"], state="interrupted")  # attempt 2 ended by a graceful stop
    stale, requeued = resumed.recover(resume=True)
    assert stale == [] and [j["id"] for j in requeued] == [job["id"]]
    assert resumed.get(job["id"])["state"] == "queued"
    resumed.close()


# Job events as klipstream's logger plugin writes them, in Snakemake 9's order (a job's job_started comes just
# before its job_info), from a run of the demo workflow.
EVENTS = [
    {"event": "run_info", "total": 19, "jobs": {"audio_extract": 1, "video_fetch": 1, "all": 1}},
    {"event": "job_started", "jobids": [2, 12]},
    {"event": "job_info", "jobid": 2, "rule": "video_fetch", "wildcards": {"vod": "tiny"}},
    {"event": "job_info", "jobid": 12, "rule": "chat_fetch", "wildcards": {"vod": "tiny"}},
    {"event": "job_finished", "jobid": 2},
    {"event": "progress", "done": 1, "total": 19},
    {"event": "job_started", "jobids": [3]},
    {"event": "job_info", "jobid": 3, "rule": "audio_extract", "wildcards": {"vod": "tiny"}},
    {"event": "job_error", "jobid": 3, "rule": "audio_extract", "wildcards": {"vod": "tiny"}, "log": []},
]


def test_progress_follows_job_events():
    progress = RunProgress()
    changed = [progress.feed(event) for event in EVENTS[:8]]
    assert progress.total == 19 and progress.done == 1 and progress.planned == {"audio_extract": 1, "video_fetch": 1}
    assert progress.fields() == {"steps_done": 1, "steps_total": 19, "running_rules": "audio_extract,chat_fetch"}
    assert changed == [True, True, True, True, True, True, True, True]
    progress.feed(EVENTS[8])
    assert progress.failed_rule == "audio_extract" and progress.fields()["running_rules"] == "chat_fetch"
    assert not progress.nothing_to_do and RunProgress().nothing_to_do  # a run without events planned nothing
    # the other order (job_info first) and a dry run's job_info alone
    other = RunProgress()
    assert [other.feed(e) for e in (EVENTS[2], EVENTS[1])] == [False, True] and other.running == {2: "video_fetch"}
    dry = RunProgress()
    dry.feed(EVENTS[0]), dry.feed(EVENTS[2])
    assert dry.running == {} and dry.rules == {2: "video_fetch"}


def test_events_are_read_whole_lines_only(tmp_path):
    from klipstream import run_events

    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(EVENTS[0]) + "\n" + '{"event": "job_in')  # the plugin is mid-line
    events, offset = run_events.read(path)
    assert events == [EVENTS[0]] and offset == len(json.dumps(EVENTS[0])) + 1
    with open(path, "a") as fh:
        fh.write('fo", "jobid": 1, "rule": "r", "wildcards": {}}\n')
    assert run_events.read(path, offset) == (
        [{"event": "job_info", "jobid": 1, "rule": "r", "wildcards": {}}],
        path.stat().st_size,
    )
    assert run_events.read(tmp_path / "missing.jsonl", 0) == ([], 0)


@pytest.fixture
def client(tmp_path):
    (tmp_path / "vods.tsv").write_text("vod_id\turl\tvideo\tchat\ttitle\ndemo\t\tdemo.mp4\t\tDemo\n")
    app = create_app(workdir=tmp_path, cores=1, max_jobs=0, config=["vods=vods.tsv"], token=TOKEN)
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        yield c


@pytest.mark.parametrize(
    "body, message",
    [
        ({"url": "https://www.youtube.com/watch?v=abc"}, "url: not a Twitch VOD URL or VOD id: `url`"),
        ({"url": "https://www.twitch.tv/somechannel"}, "url: not a Twitch VOD URL or VOD id"),
        ({"vod_id": "nosuchvod"}, "vod_id: VOD `vod_id` is not in the VOD table and is not a numeric Twitch VOD id"),
        ({"vod_id": "0"}, "vod_id: not a valid Twitch VOD id: `vod_id`"),
        ({"vod_id": "../etc"}, "vod_id: not a Twitch VOD URL or VOD id: `vod_id`"),
        # whitespace runs are folded in messages: the value must still not come back
        ({"vod_id": "abc  def<script>"}, "vod_id: not a Twitch VOD URL or VOD id: `vod_id`"),
        ({"url": " https://www.youtube.com/watch?v=a  b "}, "url: not a Twitch VOD URL or VOD id: `url`"),
    ],
)
def test_bad_references_get_422_with_a_message_that_does_not_echo_them(client, body, message):
    response = client.post("/api/v1/analysis", json=body)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    sent = list(body.values())[0]
    assert sent not in response.text and " ".join(sent.split()) not in response.text
    assert "\n" not in response.json()["detail"]


@pytest.mark.parametrize(
    "body", [{}, {"url": "42", "vod_id": "42"}, {"vod_id": "42", "stage": "clips"}, {"vod_id": "42", "extra": 1}]
)
def test_malformed_bodies_get_422(client, body):
    assert client.post("/api/v1/analysis", json=body).status_code == 422


@pytest.mark.parametrize(
    "content, detail",
    [
        (b'{"vod_id": "SECRET-INPUT-' + b"x" * 5000 + b'"', "JSON decode error"),
        (b'{"vod_id": "42", "SECRET-INPUT": "' + b"y" * 5000 + b'"}', "body: unexpected field"),  # key not named
        (
            b'{"url": "https://www.twitch.tv/videos/1' + b"2" * 5000 + b'"}',
            "url: String should have at most 300 characters",
        ),
        (b'{"vod_id": ["SECRET-INPUT"]}', "vod_id: Input should be a valid string"),
        (b'{"vod_id": "42", "stage": "SECRET-INPUT"}', "stage: Input should be 'all', 'analysis' or 'raw'"),
        (b"[" * 3000, "There was an error parsing the body"),  # too deep for the parser: 400
    ],
)
def test_422s_are_one_line_and_never_echo_the_body(client, content, detail):
    response = client.post("/api/v1/analysis", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == (400 if content.startswith(b"[[") else 422)
    assert detail in response.json()["detail"] and "\n" not in response.json()["detail"]
    assert b"SECRET-INPUT" not in response.content and b"xxxx" not in response.content
    assert b"yyyy" not in response.content and b"2222" not in response.content and len(response.content) < 400


def test_body_over_the_limit_gets_413_before_it_is_read(client):
    big = b'{"vod_id": "' + b"1" * 20_000 + b'"}'
    response = client.post("/api/v1/analysis", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json() == {"detail": "request body over 16384 bytes"}

    def chunked():  # no Content-Length: counted while it streams in
        for _ in range(100):
            yield b"1" * 1000

    response = client.post("/api/v1/analysis", content=chunked(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert client.post("/api/v1/analysis", content=b"{}", headers={"Content-Length": "nope"}).status_code == 400


def test_the_token_is_checked_before_the_body(client):
    read = []

    def body():  # a client without the token never gets its body read
        for _ in range(50):
            read.append(1)
            yield b"1" * 1000

    response = client.post("/api/v1/analysis", content=body(), headers={"Authorization": ""})
    assert response.status_code == 401 and len(read) <= 2
    huge = client.post("/api/v1/analysis", content=b"x" * 100_000, headers={"Authorization": "Bearer no"})
    assert huge.status_code == 401 and huge.headers["www-authenticate"] == "Bearer"


def test_reads_need_the_token_too(client):
    job = client.post("/api/v1/analysis", json={"vod_id": "demo"}).json()
    base = f"/api/v1/analysis/{job['job_id']}"
    for path in (
        "/api/v1/analysis",
        base + "/status",
        base + "/stream",
        base + "/result",
        base + "/report",
        base + "/log",
        "/api/v1/analysis/" + "0" * 32 + "/status",
    ):
        response = client.get(path, headers={"Authorization": "Bearer wrong"})
        assert response.status_code == 401, path
        assert job["job_id"] not in response.text and "demo" not in response.text
    assert client.get(base + "/status").status_code == 200
    for open_path in ("/health", "/openapi.json", "/docs"):
        assert client.get(open_path, headers={"Authorization": ""}).status_code == 200
    # OpenAPI says which routes need the token
    spec = client.get("/openapi.json").json()["paths"]
    assert spec["/api/v1/analysis/{job_id}/status"]["get"]["security"] == [{"HTTPBearer": []}]


def test_a_full_queue_answers_429_with_retry_after(tmp_path):
    app = create_app(workdir=tmp_path, max_jobs=0, max_queue=2)
    with TestClient(app, base_url="http://127.0.0.1:8080") as c:  # no token: a local Host
        assert [c.post("/api/v1/analysis", json={"vod_id": v}).status_code for v in ("11", "12")] == [202, 202]
        again = c.post("/api/v1/analysis", json={"vod_id": "11"})  # the VOD's own job: not a new one
        assert again.status_code == 200
        full = c.post("/api/v1/analysis", json={"vod_id": "13"})
        assert full.status_code == 429 and int(full.headers["retry-after"]) > 0
        assert full.json()["detail"] == "the queue is full (2 jobs waiting); try again later"
        first = c.get("/api/v1/analysis").json()[-1]["job_id"]
        assert c.delete(f"/api/v1/analysis/{first}").status_code == 200
        assert c.post("/api/v1/analysis", json={"vod_id": "13"}).status_code == 202


def test_write_routes_need_the_bearer_token(client):
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic x"}):
        response = client.post("/api/v1/analysis", json={"vod_id": "demo"}, headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in response.text
    assert client.get("/health", headers={"Authorization": ""}).status_code == 200


def test_submit_queues_once_per_vod_and_reports_status(client):
    first = client.post("/api/v1/analysis", json={"url": "https://www.twitch.tv/videos/2345678901?t=1h"})
    assert first.status_code == 202
    job = first.json()
    assert job["vod_id"] == "2345678901" and job["status"] == "queued" and job["step"] == "Queued"
    assert first.headers["location"] == f"/api/v1/analysis/{job['job_id']}/status"
    same = client.post("/api/v1/analysis", json={"vod_id": "2345678901"})
    assert same.status_code == 200 and same.json()["job_id"] == job["job_id"]
    table_vod = client.post("/api/v1/analysis", json={"vod_id": "demo", "stage": "analysis"})
    assert table_vod.status_code == 202 and table_vod.json()["vod_id"] == "demo"
    status = client.get(f"/api/v1/analysis/{job['job_id']}/status").json()
    assert status["progress"] == 0.0 and status["attempts"] == 0 and status["results"] == {}
    assert client.get("/health").json()["jobs"] == {"queued": 2, "running": 0, "interrupted": 0}
    assert [j["vod_id"] for j in client.get("/api/v1/analysis").json()] == ["demo", "2345678901"]
    assert [j["job_id"] for j in client.get("/api/v1/analysis", params={"vod_id": "2345678901"}).json()] == [
        job["job_id"]
    ]
    # Nothing is built yet: results are refused, resume has nothing to do.
    assert client.get(f"/api/v1/analysis/{job['job_id']}/result").status_code == 409
    assert client.post(f"/api/v1/analysis/{job['job_id']}/resume").status_code == 409


def test_unknown_and_malformed_job_ids(client):
    assert client.get("/api/v1/analysis/" + "0" * 32 + "/status").status_code == 404
    assert client.get("/api/v1/analysis/../../etc/passwd/status").status_code == 404
    assert client.get("/api/v1/analysis/NOT-AN-ID/status").status_code == 422
    assert client.get("/api/v1/analysis/" + "0" * 32 + "/stream").status_code == 404


def test_openapi_documents_the_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/health",
        "/api/v1/analysis",
        "/api/v1/analysis/{job_id}/status",
        "/api/v1/analysis/{job_id}/stream",
        "/api/v1/analysis/{job_id}/result",
    } <= set(paths)
    assert client.get("/docs").status_code == 200


def test_workflow_is_found_in_the_current_folder_when_the_package_is_installed_elsewhere(tmp_path, monkeypatch):
    """The container layout: klipstream pip-installed into site-packages, the workflow in WORKDIR /app."""
    from klipstream import workflow
    from klipstream.errors import KlipError

    monkeypatch.setattr(workflow, "WORKFLOW_DIR", tmp_path / "site-packages")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(KlipError, match="no Snakefile"):
        workflow.snakefile()
    (tmp_path / "Snakefile").write_text("")
    assert workflow.snakefile() == tmp_path / "Snakefile"
    cmd = workflow.snakemake_command("demo", "analysis", 4, workdir=tmp_path / "run", config=["vods=v.tsv"])
    assert cmd[3:5] == ["output/analysis/demo_integrated_analysis.json", "output/report/demo.html"]
    assert cmd[cmd.index("--configfile") + 1] == str(tmp_path / "config" / "config.yaml")
    assert cmd[-2:] == ["--config", "vods=v.tsv"]


def test_failed_run_without_a_failed_rule_reports_snakemakes_error(tmp_path):
    from klipstream.service.runner import failure_reason

    progress = RunProgress()
    progress.feed(
        {
            "event": "error",
            "exception": "WorkflowError",
            "message": "VOD table not found: nope.tsv (set the config key `vods`)",
        }
    )
    job = {"vod_id": "demo", "started_at": "2026-01-01T00:00:00.000+00:00"}
    assert (
        failure_reason(tmp_path, [], job, progress, 1)
        == "snakemake exited with code 1: VOD table not found: nope.tsv (set the config key `vods`)"
    )
    assert failure_reason(tmp_path, [], job, RunProgress(), 2, "usage: snakemake") == (
        "snakemake exited with code 2: usage: snakemake"  # died before any event: its last line
    )
    progress.feed({"event": "job_error", "jobid": 4, "rule": "chat_fetch", "wildcards": {}, "log": []})
    assert failure_reason(tmp_path, [], job, progress, 1) == "rule chat_fetch failed (see the job log)"


FAKE_SNAKEMAKE = r"""
import json, sys, time
vod, events = sys.argv[1], open(sys.argv[2], "a")

def emit(**event):
    events.write(json.dumps({"t": time.time(), **event}) + "\n")
    events.flush()

emit(event="run_info", total=3, jobs={"step1": 1, "step2": 1, "step3": 1})
for step in (1, 2, 3):
    emit(event="job_info", jobid=step, rule=f"step{step}", wildcards={"vod": vod})
    emit(event="job_started", jobids=[step])
    print(f"running step{step}", flush=True)
    time.sleep(0.4)
    if vod == "bad" and step == 2:
        emit(event="job_error", jobid=step, rule="step2", wildcards={"vod": vod}, log=[])
        sys.exit(1)
    emit(event="job_finished", jobid=step)
    emit(event="progress", done=step, total=3)
"""


class FakeRunner:
    """JobRunner with a stand-in for Snakemake that writes job events as the logger plugin does: the queue, bound
    and bookkeeping."""

    @staticmethod
    def make(store, tmp_path, max_jobs):
        import sys

        from klipstream.service.runner import JobRunner

        class Runner(JobRunner):
            def command(self, job, *options):
                return [sys.executable, "-c", FAKE_SNAKEMAKE, job["vod_id"], str(self.events_path(job["id"]))]

        return Runner(store, workdir=tmp_path, cores=1, max_jobs=max_jobs, stop_grace=5)


def test_runner_bounds_jobs_and_records_progress_and_failures(store, tmp_path):
    async def scenario():
        runner = FakeRunner.make(store, tmp_path, max_jobs=2)
        ids = [store.submit(vod, vod, "all")[0]["id"] for vod in ("a", "b", "bad")]
        await runner.start()
        most_running, seen_partial = 0, False
        while {store.get(i)["state"] for i in ids} - {"completed", "failed"}:
            most_running = max(most_running, store.count("running"))
            seen_partial |= any(0 < store.get(i)["steps_done"] < 3 for i in ids)
            await asyncio.sleep(0.05)
        await runner.stop()
        return ids, most_running, seen_partial

    ids, most_running, seen_partial = asyncio.run(scenario())
    a, b, bad = (store.get(i) for i in ids)
    assert most_running == 2 and seen_partial
    assert a["state"] == b["state"] == "completed" and a["steps_done"] == a["steps_total"] == 3
    assert bad["state"] == "failed" and bad["returncode"] == 1 and bad["steps_done"] == 1
    assert bad["error"] == "rule step2 failed (see the job log)"
    assert "=== attempt 1" in (tmp_path / "output" / "service" / "logs" / f"{ids[0]}.log").read_text()


def run_slow_job(store, tmp_path, act) -> dict:
    """Start a runner with one job, wait until its first step is done, `await act(runner, job_id)`, stop."""

    async def scenario():
        runner = FakeRunner.make(store, tmp_path, max_jobs=1)
        job_id = store.submit("slow", "slow", "all")[0]["id"]
        await runner.start()
        while store.get(job_id)["steps_done"] < 1:
            await asyncio.sleep(0.05)
        await act(runner, job_id)
        await runner.stop()
        return job_id

    return store.get(asyncio.run(scenario()))


def test_runner_stop_interrupts_running_jobs(store, tmp_path):
    async def nothing(runner, job_id):
        pass

    job = run_slow_job(store, tmp_path, nothing)
    assert job["state"] == "interrupted" and job["pid"] is None and job["returncode"] != 0


def test_log_lines_of_any_length_are_read_whole():
    from klipstream.service.runner import _lines

    async def read(data: bytes, longest: int):
        stream = asyncio.StreamReader()
        stream.feed_data(data)
        stream.feed_eof()
        return [line async for line in _lines(stream, longest)]

    long_line = "x" * 200_000  # longer than asyncio's 64 KiB readline limit
    assert asyncio.run(read(f"a\r\n{long_line}\nb\nlast".encode(), 1 << 20)) == ["a", long_line, "b", "last"]
    assert asyncio.run(read(b"0123456789" * 20 + b"\nz\n", 50)) == ["0123456789" * 20, "z"]


def test_cors_only_for_the_configured_origin(tmp_path):
    app = create_app(workdir=tmp_path, max_jobs=0, cors_origins=["https://app.example.com"])
    with TestClient(app) as c:
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        ok = c.options("/api/v1/analysis", headers={"Origin": "https://app.example.com", **preflight})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://app.example.com"
        delete = c.options(
            "/api/v1/analysis/" + "0" * 32,
            headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "DELETE"},
        )
        assert delete.status_code == 200 and "DELETE" in delete.headers["access-control-allow-methods"]
        other = c.options("/api/v1/analysis", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers
        assert (
            c.get("/health", headers={"Origin": "https://app.example.com"}).headers["access-control-allow-origin"]
            == "https://app.example.com"
        )


def test_cancel_a_queued_job(client, tmp_path):
    job = client.post("/api/v1/analysis", json={"vod_id": "demo"}).json()
    url = f"/api/v1/analysis/{job['job_id']}"
    assert client.delete(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    cancelled = client.delete(url)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["error"] == "cancelled by request"
    assert cancelled.json()["finished_at"] is not None
    assert client.delete(url).status_code == 409
    vod_status = json.loads((tmp_path / "output" / "status" / "demo.json").read_text())
    assert (vod_status["status"], vod_status["reason"]) == ("Failed", "cancelled by request")
    fresh = client.post("/api/v1/analysis", json={"vod_id": "demo"})  # no longer the VOD's active job
    assert fresh.status_code == 202 and fresh.json()["job_id"] != job["job_id"]
    assert client.post(url + "/resume").status_code == 409  # the VOD has another job now
    client.delete(f"/api/v1/analysis/{fresh.json()['job_id']}")
    assert client.post(url + "/resume").json()["status"] == "queued"


def test_runner_cancels_a_running_job(store, tmp_path):
    async def cancel(runner, job_id):
        assert runner.cancel(job_id) and not runner.cancel("0" * 32)
        while store.get(job_id)["state"] == "running":
            await asyncio.sleep(0.05)

    job = run_slow_job(store, tmp_path, cancel)
    assert job["state"] == "cancelled" and job["steps_done"] == 1 and job["returncode"] != 0
    vod_status = json.loads((tmp_path / "output" / "status" / "slow.json").read_text())
    assert vod_status["status"] == "Failed" and vod_status["reason"] == "cancelled by request"


def test_log_route_returns_the_tail(client, tmp_path):
    job = client.post("/api/v1/analysis", json={"vod_id": "demo"}).json()
    url = f"/api/v1/analysis/{job['job_id']}/log"
    assert client.get(url).text == ""  # not started yet
    log_file = tmp_path / "output" / "service" / "logs" / f"{job['job_id']}.log"
    log_file.write_text("".join(f"line {i}\n" for i in range(1000)))
    assert client.get(url, params={"lines": 2}).text == "line 998\nline 999\n"
    assert client.get(url).text.count("\n") == 200


def test_settings_come_from_overrides_else_the_workflow_config():
    from klipstream.workflow import config_value

    assert config_value([], "vods") == "config/vods.tsv" and config_value([], "status_dir") == "output/status"
    assert config_value(["vods=a.tsv", "status_dir=s", "vods=b.tsv"], "vods") == "b.tsv"


def test_serve_works_in_the_workflow_folder_by_default_as_run_does(tmp_path, monkeypatch):
    """`klipstream serve` without --workdir builds where `klipstream run` does (the workflow's folder), not in the
    current folder; a relative --workdir is taken from the current folder."""
    from klipstream.cli import main
    from klipstream.service import app as app_module
    from klipstream.workflow import snakefile

    class Stop(Exception):
        pass

    seen = {}

    def fake_create_app(**kwargs):
        seen.update(kwargs)
        raise Stop  # no server: only where it would work

    monkeypatch.setattr(app_module, "create_app", fake_create_app)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Stop):
        main(["serve"])
    assert seen["workdir"] == snakefile().parent
    with pytest.raises(Stop):
        main(["serve", "--workdir", "w"])
    assert seen["workdir"] == tmp_path / "w"


def served_report_workdir(tmp_path):
    """output/ as a completed job leaves it: a real report whose cards link two clips and the full video."""
    from klipstream.highlights import integrate
    from klipstream.outputs.report import render_report
    from tests.helpers.browser import report_inputs

    out = tmp_path / "output"
    analysis = out / "analysis" / "demo_integrated_analysis.json"
    integrate("demo", analysis, title="Demo", twitch_url="", params={}, **report_inputs(tmp_path))
    clips = out / "clips" / "demo"
    clips.mkdir(parents=True)
    files = {"demo_01_0h3m11s.mp4": b"clip one " * 50, "demo_02_0h2m24s.mp4": b"clip two " * 70}
    for name, data in files.items():
        (clips / name).write_bytes(data)
    (tmp_path / "secret.txt").write_text("not for the web")
    (clips / "evil.mp4").symlink_to(tmp_path / "secret.txt")  # listed, but leads out of the output folder
    (clips / ".snakemake_timestamp").write_text("")
    listing = [{"rank": r, "file": n, "start": 10.0 * r, "end": 10.0 * r + 5} for r, n in enumerate(files, 1)]
    listing.append({"rank": 3, "file": "evil.mp4", "start": 40.0, "end": 45.0})
    (clips / "clips.json").write_text(json.dumps({"clips": listing}))
    video = out / "raw" / "videos" / "video_demo.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(bytes(range(256)) * 20)
    (out / "raw" / "audio").mkdir(parents=True)
    (out / "raw" / "audio" / "audio_demo.wav").write_bytes(b"RIFF")
    (out / "clips" / "other").mkdir()
    (out / "clips" / "other" / "other_01.mp4").write_bytes(b"another VOD, no job")
    (out / "clips" / "other" / "clips.json").write_text('{"clips": [{"rank": 1, "file": "other_01.mp4"}]}')
    render_report(analysis, out / "report" / "demo.html", clips_dir=clips, video=video)
    return files


def test_the_served_report_plays_its_clips_and_video(client, tmp_path):
    from tests.helpers.service import report_media

    files = served_report_workdir(tmp_path)
    job = client.post("/api/v1/analysis", json={"vod_id": "demo"}).json()
    report_url = f"/api/v1/analysis/{job['job_id']}/report"
    assert client.get("/api/v1/analysis/clips/demo/demo_01_0h3m11s.mp4").status_code == 404  # no finished job yet
    other = JobStore(tmp_path / "output" / "service" / "jobs.sqlite")
    other.update(job["job_id"], state="completed")
    other.close()

    links = set(report_media(client.get(report_url).text, "http://testserver" + report_url))
    base = "http://testserver/api/v1/analysis/"
    assert links == {
        base + "clips/demo/demo_01_0h3m11s.mp4",
        base + "clips/demo/demo_02_0h2m24s.mp4",
        base + "raw/videos/video_demo.mp4",
        "http://testserver/api/v1/secret.txt",  # evil.mp4 resolved by the report: outside every route
    }
    assert client.get("http://testserver/api/v1/secret.txt").status_code == 404
    for name, data in files.items():
        got = client.get(base + f"clips/demo/{name}")
        assert got.status_code == 200 and got.content == data and got.headers["content-type"] == "video/mp4"
    video = (tmp_path / "output" / "raw" / "videos" / "video_demo.mp4").read_bytes()
    whole = client.get(base + "raw/videos/video_demo.mp4")
    assert whole.status_code == 200 and whole.content == video
    part = client.get(base + "raw/videos/video_demo.mp4", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == video[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(video)}"
    assert client.head(base + "raw/videos/video_demo.mp4").headers["content-length"] == str(len(video))
    # the same token rule as every /api/ read
    assert client.get(base + "raw/videos/video_demo.mp4", headers={"Authorization": "Bearer no"}).status_code == 401

    for path in (
        "clips/demo/evil.mp4",  # a symlink out of output/
        "clips/demo/clips.json",  # exists, but the report does not link it
        "clips/demo/.snakemake_timestamp",
        "clips/demo/missing.mp4",
        "clips/other/other_01.mp4",  # another VOD, which no job completed
        "raw/audio/audio_demo.wav",
        "report/demo.html",
        "clips/demo/%2e%2e/%2e%2e/vods.tsv",
        "clips/demo/..%2F..%2F..%2Fsecret.txt",
        "clips/%2e%2e/clips/demo/demo_01_0h3m11s.mp4",
        "raw/videos/video_..%2F..%2F..%2Fsecret.txt",
        "raw/videos/video_demo.mp4/",
    ):
        response = client.get(base + path)
        assert response.status_code == 404, path
        assert b"not for the web" not in response.content


def test_the_job_list_shows_each_job_as_its_status_route_does(client, tmp_path):
    from klipstream import status as status_store

    done = client.post("/api/v1/analysis", json={"vod_id": "demo"}).json()
    waiting = client.post("/api/v1/analysis", json={"vod_id": "2345678901"}).json()
    status_store.report("demo", "Completed", step="publish", status_dir=tmp_path / "output" / "status")
    listed = {job["job_id"]: job for job in client.get("/api/v1/analysis").json()}
    for job in (done, waiting):
        assert listed[job["job_id"]] == client.get(f"/api/v1/analysis/{job['job_id']}/status").json()
    assert (listed[done["job_id"]]["step"], listed[done["job_id"]]["rule"]) == ("Completed", "publish")
    assert (listed[waiting["job_id"]]["step"], listed[waiting["job_id"]]["rule"]) == ("Queued", "service")


def _completed(client, job_id: str) -> dict:
    """The job's status once it is completed (a few seconds idle; the deadline scales with the machine's load)."""
    url = f"/api/v1/analysis/{job_id}/status"
    return wait_until(
        lambda: (s := client.get(url).json())["status"] == "completed" and s,
        30,
        f"job {job_id} never completed",
        poll=0.05,
    )


def test_resubmitting_a_finished_vod_says_there_was_nothing_to_do(tmp_path, monkeypatch):
    """Snakemake finds every output up to date: the job completes with 0 of 0 steps, says why, and the VOD's
    status is Completed again instead of the Queued the submission set."""
    import sys

    from klipstream.service.runner import JobRunner

    nothing = "print('Building DAG of jobs...\\nNothing to be done (all requested files are present and up to date).')"
    monkeypatch.setattr(JobRunner, "command", lambda self, job, *options: [sys.executable, "-c", nothing])
    (tmp_path / "vods.tsv").write_text("vod_id\turl\tvideo\tchat\ttitle\ndemo\t\tdemo.mp4\t\tDemo\n")
    app = create_app(workdir=tmp_path, cores=1, max_jobs=1, config=["vods=vods.tsv"], poll_seconds=0.05)
    with TestClient(app, base_url="http://127.0.0.1:8080") as c:  # no token: a local Host
        job = c.post("/api/v1/analysis", json={"vod_id": "demo", "stage": "analysis"}).json()
        final = _completed(c, job["job_id"])
        listed = c.get("/api/v1/analysis").json()
    assert final["status"] == "completed" and (final["steps_done"], final["steps_total"], final["progress"]) == (
        0,
        0,
        1.0,
    )
    assert final["note"] == "nothing to do: every output of this stage was already up to date"
    assert (final["step"], final["rule"]) == ("Completed", "service") and listed == [final]
    vod_status = json.loads((tmp_path / "output" / "status" / "demo.json").read_text())
    assert [(h["status"], h.get("stage")) for h in vod_status["history"]] == [
        ("Queued", None),
        ("Completed", "analysis"),
    ]


# Issue 27: what a careless user and a hostile client hit through the API.

LONG_ID_URL = "https://www.twitch.tv/videos/" + "7" * 260


def test_a_url_with_an_overlong_id_is_refused_before_it_is_stored(client, tmp_path):
    """A bare id is capped at 12 digits; a URL's id is too, so no job with an unusable VOD id is ever stored."""
    for url in (LONG_ID_URL, "https://www.twitch.tv/videos/1234567890123", "twitch.tv/videos/0"):
        response = client.post("/api/v1/analysis", json={"url": url})
        assert response.status_code == 422, (url, response.text)
        assert response.json()["detail"].startswith("url: ") and url not in response.text
    assert client.get("/api/v1/analysis").json() == []
    assert not (tmp_path / "output" / "status").exists() or list((tmp_path / "output" / "status").iterdir()) == []
    twelve = client.post("/api/v1/analysis", json={"url": "https://www.twitch.tv/videos/123456789012"})
    assert twelve.status_code == 202 and twelve.json()["vod_id"] == "123456789012"


def test_a_bad_stored_row_never_takes_the_service_down(tmp_path):
    """A job stored by an older version with a 260-digit VOD id (its status file name is too long for the
    filesystem): after a restart the list, its status, stream, log and resume answer, and it is failed, not run."""
    from klipstream import status as status_store

    (tmp_path / "vods.tsv").write_text("vod_id\turl\tvideo\tchat\ttitle\ndemo\t\tdemo.mp4\t\tDemo\n")
    old = JobStore(tmp_path / "output" / "service" / "jobs.sqlite")
    bad = old.submit("7" * 260, LONG_ID_URL, "all")[0]["id"]
    good = old.submit("demo", "demo", "analysis")[0]["id"]
    old.close()
    status_store.report("demo", "Queued", step="service", status_dir=tmp_path / "output" / "status")
    app = create_app(workdir=tmp_path, cores=1, max_jobs=0, config=["vods=vods.tsv"], token=TOKEN)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        listed = c.get("/api/v1/analysis")
        assert listed.status_code == 200, listed.text
        assert {j["job_id"] for j in listed.json()} == {good, bad}
        status = c.get(f"/api/v1/analysis/{bad}/status")
        assert status.status_code == 200 and status.json()["status"] == "failed"
        assert status.json()["error"] == "not a valid VOD id; submit the VOD again"
        assert status.json()["step"] is None
        assert c.get(f"/api/v1/analysis/{good}/status").json()["status"] == "queued"  # the good job is untouched
        stream = c.get(f"/api/v1/analysis/{bad}/stream")
        assert stream.status_code == 200 and '"status": "failed"' in stream.text
        assert c.get(f"/api/v1/analysis/{bad}/log").status_code == 200
        resumed = c.post(f"/api/v1/analysis/{bad}/resume")
        assert resumed.status_code == 409 and resumed.json()["detail"] == f"job {bad} has no valid VOD id"
        assert c.get("/health").json()["jobs"] == {"queued": 1, "running": 0, "interrupted": 0}


def test_result_and_report_never_follow_a_symlink_out_of_output(client, tmp_path):
    job = client.post("/api/v1/analysis", json={"vod_id": "demo", "stage": "analysis"}).json()
    store = JobStore(tmp_path / "output" / "service" / "jobs.sqlite")
    store.update(job["job_id"], state="completed")
    store.close()
    (tmp_path / "shadow").write_text('{"root": "not for the web"}')
    analysis = tmp_path / "output" / "analysis" / "demo_integrated_analysis.json"
    report = tmp_path / "output" / "report" / "demo.html"
    analysis.parent.mkdir(parents=True)
    report.parent.mkdir(parents=True)
    analysis.symlink_to(tmp_path / "shadow")
    report.symlink_to(tmp_path / "shadow")
    base = f"/api/v1/analysis/{job['job_id']}"
    for route, name in (("/result", analysis.name), ("/report", report.name)):
        response = client.get(base + route)
        assert response.status_code == 404 and b"not for the web" not in response.content, route
        assert response.json() == {"detail": f"job {job['job_id']} built no {name}"}
    # a link that stays inside output/ is still served
    inside = tmp_path / "output" / "analysis" / "kept.json"
    inside.write_text('{"highlights": []}')
    analysis.unlink()
    analysis.symlink_to(inside)
    assert client.get(base + "/result").json() == {"highlights": []}


def test_a_422_never_repeats_a_field_name_the_client_chose(client):
    for name in ("<script>alert(1)</script>", "SECRET-INPUT", "x" * 30):
        response = client.post("/api/v1/analysis", json={"vod_id": "42", name: 1})
        assert response.status_code == 422
        assert response.json() == {"detail": "body: unexpected field (the body takes only url, vod_id and stage)"}
    both = client.post("/api/v1/analysis", json={"vod_id": "42", "stage": "nope", "<b>": 1})
    assert both.status_code == 422 and "<b>" not in both.text and both.json()["detail"].endswith("(and 1 more)")
    nested = client.post("/api/v1/analysis", json={"vod_id": {"<i>": 1}})
    assert nested.status_code == 422 and "<i>" not in nested.text


@pytest.fixture
def open_client(tmp_path):
    """The app as `klipstream serve` runs it without a token, reached as http://127.0.0.1:8080."""
    (tmp_path / "vods.tsv").write_text("vod_id\turl\tvideo\tchat\ttitle\ndemo\t\tdemo.mp4\t\tDemo\n")
    app = create_app(workdir=tmp_path, cores=1, max_jobs=0, config=["vods=vods.tsv"])
    with TestClient(app, base_url="http://127.0.0.1:8080") as c:
        yield c


def failed_job(c, tmp_path) -> str:
    job = c.post("/api/v1/analysis", json={"vod_id": "demo"}).json()["job_id"]
    store = JobStore(tmp_path / "output" / "service" / "jobs.sqlite")
    store.update(job, state="failed", error="chat_fetch: broken")
    store.close()
    return job


def test_without_a_token_a_page_on_another_site_cannot_resume_a_job(open_client, tmp_path):
    job = failed_job(open_client, tmp_path)
    url = f"/api/v1/analysis/{job}/resume"
    for origin in ("https://attacker.example", "null", "http://127.0.0.1:9999", "http://127.0.0.1.attacker.example"):
        response = open_client.post(url, headers={"Origin": origin, "Content-Type": "text/plain"})  # no preflight
        assert response.status_code == 403, origin
        assert response.json()["detail"].startswith("Origin not allowed") and origin not in response.text
    assert open_client.get(f"/api/v1/analysis/{job}/status").json()["status"] == "failed"
    assert open_client.post(url, headers={"Origin": "http://127.0.0.1:8080"}).json()["status"] == "queued"


def test_without_a_token_a_rebound_host_is_refused(open_client):
    for host in ("attacker.example", "attacker.example:8080", "127.0.0.1.nip.io:8080", ""):
        response = open_client.get("/api/v1/analysis", headers={"Host": host})
        assert response.status_code == 403, host
        assert response.json()["detail"].startswith("Host not allowed")
    for host in ("127.0.0.1:8080", "localhost:8080", "LOCALHOST", "[::1]:8080", "127.0.0.1"):
        assert open_client.get("/api/v1/analysis", headers={"Host": host}).status_code == 200, host
    assert open_client.get("/health", headers={"Host": "attacker.example"}).status_code == 200  # says nothing


def test_with_a_token_host_and_origin_are_left_to_the_token(client):
    headers = {"Host": "klip.example.com", "Origin": "https://app.example.com"}
    assert client.get("/api/v1/analysis", headers=headers).status_code == 200


def test_a_job_is_completed_only_once_the_vods_status_says_so(tmp_path, monkeypatch):
    """Issue 27 item 10: the runner records the VOD's Completed first and only then marks the job completed, so a
    poller that sees `completed` never finds the status still Queued (it did on a busy machine). Checked where the
    order is decided: when the VOD's Completed is recorded, the job is still running."""
    import sys

    from klipstream.service.runner import JobRunner

    monkeypatch.setattr(JobRunner, "command", lambda self, job, *options: [sys.executable, "-c", "pass"])
    report_vod, states_then = JobRunner.report_vod, []

    async def recording(self, vod, status, reason=None, stage=None):
        if status == "Completed":
            states_then.extend(job["state"] for job in self.store.list(vod_id=vod))
        await report_vod(self, vod, status, reason, stage)

    monkeypatch.setattr(JobRunner, "report_vod", recording)
    (tmp_path / "vods.tsv").write_text("vod_id\turl\tvideo\tchat\ttitle\ndemo\t\tdemo.mp4\t\tDemo\n")
    app = create_app(workdir=tmp_path, cores=1, max_jobs=1, config=["vods=vods.tsv"], poll_seconds=0.05)
    with TestClient(app, base_url="http://127.0.0.1:8080") as c:  # no token: only a local Host is answered
        job = c.post("/api/v1/analysis", json={"vod_id": "demo", "stage": "analysis"}).json()
        final = _completed(c, job["job_id"])
    assert states_then == ["running"]
    assert (final["step"], final["rule"]) == ("Completed", "service")
