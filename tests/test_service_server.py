"""`klipstream serve` for real on 127.0.0.1, probed as a hostile client would (issue 27): what its log keeps of a URL,
what it does with connections that never finish a request, how many it holds, and which Host and Origin headers
it answers without a token. No job runs here: the VOD table is empty and nothing is submitted."""

from __future__ import annotations

import re
import socket
import threading
import time

import httpx
import pytest

from tests.helpers.service import TOKEN, Server

pytestmark = pytest.mark.slow

API = "/api/v1/analysis"


def start(tmp_path, **kw) -> Server:
    (tmp_path / "vods.tsv").write_text("vod_id\turl\tvideo\tchat\ttitle\n")
    server = Server(tmp_path, **kw)
    server.start()
    return server


@pytest.fixture
def server(tmp_path):
    srv = start(tmp_path)
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def wait_until(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_tokens_in_urls_never_reach_the_servers_log(server):
    """EventSource cannot send a header, so clients put tokens in URLs: uvicorn's access log must not keep them."""
    query_secret, other_secret = "query-secret-1a2b3c4d", "query-secret-5e6f7a8b"
    assert server.get(API, params={"token": query_secret}).status_code == 200
    assert httpx.get(server.url + "/health", params={"access_token": other_secret}).status_code == 200
    # the server's own token, wherever it shows in a URL, and without the header: 401, and still not logged
    assert httpx.get(server.url + API, params={"vod_id": "x", "t": TOKEN}).status_code == 401
    access = re.compile(r'"GET /(api/v1/analysis|health)\?[^"]* HTTP/1\.1" (200|401)')

    def access_lines() -> list[str] | None:
        found = [line for line in server.log.read_text().splitlines() if access.search(line)]
        return found if len(found) >= 3 else None

    lines = wait_until(access_lines, what="three access log lines")
    log = server.log.read_text()
    for secret in (query_secret, other_secret, TOKEN):
        assert secret not in log
    assert "Logging error" not in log  # uvicorn's access formatter still gets its arguments
    # the lines are still there, with the request and its status: only the secrets are masked
    assert any('/api/v1/analysis?token=*** HTTP/1.1" 200' in ln for ln in lines), lines
    assert any('/health?access_token=*** HTTP/1.1" 200' in ln for ln in lines), lines
    assert any('/api/v1/analysis?vod_id=x&t=*** HTTP/1.1" 401' in ln for ln in lines), lines


def until_closed(port: int, payload: bytes, limit: float) -> tuple[float | None, bytes]:
    """Connect, send `payload` and read until the server closes the connection: (seconds it took, what the server
    sent), or (None, ...) when it was still open after `limit` seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        if payload:
            sock.sendall(payload)
        started, got = time.monotonic(), b""
        while (left := limit - (time.monotonic() - started)) > 0:
            sock.settimeout(left)
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                break
            except ConnectionResetError:
                return time.monotonic() - started, got
            if not chunk:
                return time.monotonic() - started, got
            got += chunk
        return None, got


def test_incomplete_requests_are_timed_out(server):
    """No bytes, headers that never end, a body cut after `{`: each connection is closed after the header or body
    timeout (10 s by default) instead of being held forever; the unfinished ones are told 408 first."""
    auth = f"Authorization: Bearer {TOKEN}\r\n".encode()
    cases = {
        "no bytes": b"",
        "partial headers": b"POST /api/v1/analysis HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty",
        "body cut after {": b"POST /api/v1/analysis HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + auth
        + b"Content-Type: application/json\r\nContent-Length: 20\r\n\r\n{",
    }
    results: dict[str, tuple[float | None, bytes]] = {}
    threads = [
        threading.Thread(target=lambda k=k, p=p: results.__setitem__(k, until_closed(server.port, p, 90)))
        for k, p in cases.items()
    ]
    [t.start() for t in threads]
    [t.join() for t in threads]
    for name, (seconds, _sent) in results.items():
        assert seconds is not None, f"{name}: still open after 90 s"
        assert seconds >= 5, f"{name}: closed after {seconds:.1f} s, before the timeout"
    assert results["no bytes"][1] == b""
    assert results["partial headers"][1].startswith(b"HTTP/1.1 408 ")
    body_answer = results["body cut after {"][1]
    assert body_answer.startswith(b"HTTP/1.1 408 ") and b"request body not received within 10 s" in body_answer
    assert httpx.get(server.url + "/health", timeout=10).status_code == 200


def test_connections_past_the_limit_are_refused(tmp_path):
    server = start(tmp_path, args=("--max-connections", "3", "--header-timeout", "300"))
    held: list[socket.socket] = []
    try:

        def hold() -> socket.socket | None:  # a connection that the server keeps (its headers never end)
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            sock.settimeout(1.0)
            try:
                sock.recv(1)  # the server answers only a connection it refused
            except TimeoutError:
                return sock
            sock.close()
            return None

        while len(held) < 3:  # the start-up probe's connection may still be counted for a moment
            held.append(wait_until(hold, what="a held connection"))
        seconds, answer = until_closed(server.port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 30)
        assert seconds is not None and answer.startswith(b"HTTP/1.1 503 "), answer
        assert b"too many connections" in answer
        held.pop().close()  # one slot free again: the next request is answered
        wait_until(lambda: httpx.get(server.url + "/health", timeout=10).status_code == 200, what="a free slot")
    finally:
        for sock in held:
            sock.close()
        server.stop()


def test_without_a_token_only_local_hosts_and_origins_are_answered(tmp_path):
    """No token: a page on another site cannot resume a job (a POST with a CORS "simple" request needs no
    preflight), and a DNS-rebinding page (Host: its own name) is refused; the server says so when it starts."""
    from klipstream.service.store import JobStore

    store = JobStore(tmp_path / "output" / "service" / "jobs.sqlite")
    failed = store.submit("demo", "demo", "all")[0]["id"]
    store.update(failed, state="failed", error="chat_fetch: broken")
    store.close()
    server = start(tmp_path, token=None, args=("--allowed-host", "klip.lan"))
    try:
        assert "without KLIPSTREAM_API_TOKEN" in server.log.read_text()
        assert httpx.get(server.url + API).status_code == 200  # Host: 127.0.0.1:PORT
        assert httpx.get(server.url + API, headers={"Host": f"localhost:{server.port}"}).status_code == 200
        assert httpx.get(server.url + API, headers={"Host": f"klip.lan:{server.port}"}).status_code == 200
        rebound = httpx.get(server.url + API, headers={"Host": f"attacker.example:{server.port}"})
        assert rebound.status_code == 403 and "Host" in rebound.json()["detail"]
        assert "attacker.example" not in rebound.text
        simple = {"Origin": "https://attacker.example", "Content-Type": "text/plain"}
        resumed = httpx.post(f"{server.url}{API}/{failed}/resume", headers=simple)
        assert resumed.status_code == 403 and "Origin" in resumed.json()["detail"]
        assert httpx.get(f"{server.url}{API}/{failed}/status").json()["status"] == "failed"  # not queued again
        # the server's own page (same origin) gets through to the API: here a 422 for a VOD it does not know
        own = httpx.post(server.url + API, json={"vod_id": "nosuchvod"}, headers={"Origin": server.url})
        assert own.status_code == 422, own.text
    finally:
        server.stop()


def test_a_long_event_stream_outlives_the_header_timeout(tmp_path):
    """The header timeout ends with the request's headers: an event stream stays open however long its job waits."""
    from klipstream.service.store import JobStore

    store = JobStore(tmp_path / "output" / "service" / "jobs.sqlite")
    waiting = store.submit("demo", "demo", "all")[0]["id"]
    store.update(waiting, state="interrupted")  # with --no-resume it stays so: the stream never ends by itself
    store.close()
    server = start(tmp_path, args=("--no-resume", "--header-timeout", "1"))
    try:
        timeout = httpx.Timeout(10, read=6)  # no event for 6 s (5 header timeouts): the read times out, not ends
        with httpx.stream("GET", f"{server.url}{API}/{waiting}/stream", headers=server_auth(), timeout=timeout) as r:
            lines = r.iter_lines()
            assert next(lines) == "event: status" and '"status": "interrupted"' in next(lines)
            with pytest.raises(httpx.ReadTimeout):
                for line in lines:
                    assert line in ("", ": keep-alive"), line
    finally:
        server.stop()


def server_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
