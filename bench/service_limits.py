"""Hostile-client load test of `klipstream serve` on 127.0.0.1: oversized, chunked, malformed and unauthorised
bodies from several clients at once, while the server's memory (RSS) and `/health` latency are sampled.

  .venv/bin/python bench/service_limits.py [--requests 400] [--concurrency 4] [--seconds 60] [--body-mb 10]

Starts its own server (a temporary workdir, a token, --max-queue 2) and stops it at the end; the request loop
is bounded in count (`--requests`) and in time (`--seconds`), and talks only to 127.0.0.1. Prints one JSON
document: requests sent by kind and the status codes they got, RSS before/after/peak and /health latencies.
tests/test_service_load.py runs a small version of it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TOKEN = "bench-token-5b2e"
CHUNK = b"7" * 65536


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(work: Path, port: int) -> subprocess.Popen:
    (work / "vods.tsv").write_text("vod_id\turl\tvideo\tchat\ttitle\n")
    env = {**os.environ, "KLIPSTREAM_API_TOKEN": TOKEN}
    env.pop("CONVEX_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "klipstream.cli",
            "serve",
            "--port",
            str(port),
            "--workdir",
            str(work),
            "--max-queue",
            "2",
            "--config",
            "vods=vods.tsv",
        ],
        stdout=open(work / "server.log", "w"),
        stderr=subprocess.STDOUT,
        cwd=work,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/health", None, {})[0] == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start: " + (work / "server.log").read_text()[-2000:])


def request(port: int, method: str, path: str, body, headers: dict[str, str], timeout: float = 30) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a fresh connection; `body` is bytes, or ("declared", n) / ("chunked", n) for
    n bytes streamed in 64 KiB pieces until the server stops reading. Returns (status or 0 if none, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        head = [
            f"{method} {path} HTTP/1.1",
            "Host: 127.0.0.1",
            "Connection: close",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        kind, size = ("bytes", len(body)) if isinstance(body, bytes) else body if body else ("none", 0)
        if kind in ("bytes", "declared"):
            head.append(f"Content-Length: {size}")
        elif kind == "chunked":
            head.append("Transfer-Encoding: chunked")
        try:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            if kind == "bytes":
                sock.sendall(body)
            elif kind in ("declared", "chunked"):
                for sent in range(0, size, len(CHUNK)):
                    piece = CHUNK[: min(len(CHUNK), size - sent)]
                    sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if kind == "chunked" else piece)
                if kind == "chunked":
                    sock.sendall(b"0\r\n\r\n")
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking the whole body: what a limit should do
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    if not data.startswith(b"HTTP/1.1 "):
        return 0, b""
    return int(data[9:12]), data.split(b"\r\n\r\n", 1)[-1]


def hostile_requests(body_mb: float):
    """(kind, method, path, body, headers) of each hostile request, cycled."""
    auth, bad = {"Authorization": f"Bearer {TOKEN}"}, {"Authorization": "Bearer wrong"}
    big = int(body_mb * 1024 * 1024)
    api, js = "/api/v1/analysis", {"Content-Type": "application/json"}
    return [
        ("big, no token", "POST", api, ("declared", big), js),
        ("big, wrong token", "POST", api, ("declared", big), {**js, **bad}),
        ("big, token", "POST", api, ("declared", big), {**js, **auth}),
        ("big chunked, token", "POST", api, ("chunked", big), {**js, **auth}),
        ("malformed json", "POST", api, b'{"vod_id": "1' + b"2" * 8000, {**js, **auth}),
        ("deep json", "POST", api, b"[" * 16000, {**js, **auth}),
        ("extra keys", "POST", api, json.dumps({f"k{i}": "v" * 50 for i in range(200)}).encode(), {**js, **auth}),
        (
            "bad reference",
            "POST",
            api,
            json.dumps({"url": "https://example.com/" + "a" * 250}).encode(),
            {**js, **auth},
        ),
        ("read, no token", "GET", api + "/" + "0" * 32 + "/status", None, {}),
    ]


def run(port: int, pid: int, *, requests: int, concurrency: int, seconds: float, body_mb: float) -> dict:
    kinds = hostile_requests(body_mb)
    codes: dict[str, Counter] = {k[0]: Counter() for k in kinds}
    echoed = Counter()
    health_ms, rss = [], [rss_mb(pid)]
    stop = threading.Event()

    def watch():  # /health latency and RSS while the flood runs
        while not stop.is_set():
            started = time.monotonic()
            code, _ = request(port, "GET", "/health", None, {}, timeout=30)
            health_ms.append((time.monotonic() - started) * 1000 if code == 200 else float("inf"))
            rss.append(rss_mb(pid))
            stop.wait(0.25)

    deadline = time.monotonic() + seconds
    order = itertools.islice(itertools.cycle(kinds), requests)

    def one(item):
        if time.monotonic() > deadline:
            return
        kind, method, path, body, headers = item
        code, reply = request(port, method, path, body, headers)
        codes[kind][code] += 1
        if b"7777" in reply or b"2222" in reply or b"aaaa" in reply or b"vvvv" in reply:
            echoed[kind] += 1

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, order))
    elapsed = time.monotonic() - started
    stop.set()
    watcher.join()
    rss.append(rss_mb(pid))
    health = sorted(health_ms)
    return {
        "requests": sum(sum(c.values()) for c in codes.values()),
        "seconds": round(elapsed, 1),
        "concurrency": concurrency,
        "body_mb": body_mb,
        "status_codes": {k: dict(c) for k, c in codes.items()},
        "echoed_input": dict(echoed),
        "rss_mb": {"before": round(rss[0], 1), "after": round(rss[-1], 1), "peak": round(max(rss), 1)},
        "health_ms": {
            "n": len(health),
            "median": round(health[len(health) // 2], 1) if health else None,
            "max": round(health[-1], 1) if health else None,
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--body-mb", type=float, default=10)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start_server(Path(tmp), port)
        try:
            for _ in range(20):  # warm up: imports and first-request allocations are not a leak
                request(port, "POST", "/api/v1/analysis", b"{}", {"Authorization": f"Bearer {TOKEN}"})
            result = run(
                port,
                proc.pid,
                requests=args.requests,
                concurrency=args.concurrency,
                seconds=args.seconds,
                body_mb=args.body_mb,
            )
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
