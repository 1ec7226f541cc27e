"""HTTP service benchmark: the demo VOD through `klipstream serve` while clients poll its status.

  .venv/bin/python bench/service.py [--clients 50] [--interval 1.0] [--cores 2]

Starts the server on 127.0.0.1 in a temporary folder and builds the demo VOD twice (as `demo`, then as `demo2`):
first with no other traffic, then with `--clients` concurrent clients each requesting its status every
`--interval` seconds (0 = as fast as they can) until it completes. Reports both build times, status latencies
and errors, the time to the first finished step on the SSE stream, a resubmission with nothing left to build,
and how long a SIGTERM takes to stop the server mid-job and an idle one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


def start_server(work: Path, port: int, cores: int) -> subprocess.Popen:
    log = open(work / "server.log", "a")
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
            "--cores",
            str(cores),
            "--config",
            "vods=vods.tsv",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=work,
    )
    for _ in range(150):
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


async def poll(url: str, job_id: str, clients: int, interval: float) -> tuple[list[float], int, float]:
    """Status requests from `clients` concurrent clients until the job ends: latencies, errors, end time."""
    latencies, errors, done = [], 0, asyncio.Event()

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while not done.is_set():
            t0 = time.perf_counter()
            try:
                response = await http.get(f"{url}/api/v1/analysis/{job_id}/status")
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    errors += 1
                elif response.json()["status"] in ("completed", "failed"):
                    done.set()
            except httpx.HTTPError:
                errors += 1
            await asyncio.sleep(interval)

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return latencies, errors, time.perf_counter()


def first_running_event(url: str, job_id: str, t0: float) -> float:
    with httpx.stream("GET", f"{url}/api/v1/analysis/{job_id}/stream", timeout=300) as response:
        for line in response.iter_lines():
            if line.startswith("data:") and json.loads(line[5:])["steps_done"] >= 1:
                return time.perf_counter() - t0
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="klip-bench-service-") as tmp:
        work = Path(tmp)
        (work / "vods.tsv").write_text(
            f"vod_id\turl\tvideo\tchat\ttitle\ndemo\t\t{DEMO / 'demo.mp4'}\t{DEMO / 'demo_chat.json'}\tDemo\n"
        )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        proc = start_server(work, port, args.cores)

        def build(vod: str, clients: int) -> tuple[float, str, list[float], int]:
            t0 = time.perf_counter()
            job_id = httpx.post(f"{url}/api/v1/analysis", json={"vod_id": vod}).json()["job_id"]
            latencies, errors, t_end = asyncio.run(poll(url, job_id, clients, args.interval))
            return t_end - t0, httpx.get(f"{url}/api/v1/analysis/{job_id}/status").json(), latencies, errors

        with open(work / "vods.tsv", "a") as table:
            for vod in ("demo2", "demo3"):
                table.write(f"{vod}\t\t{DEMO / 'demo.mp4'}\t{DEMO / 'demo_chat.json'}\t{vod}\n")
        quiet_seconds, quiet, _, _ = build("demo", 1)
        busy_seconds, final, latencies, errors = build("demo2", args.clients)
        lat = np.array(latencies) * 1000

        t1 = time.perf_counter()
        again = httpx.post(f"{url}/api/v1/analysis", json={"vod_id": "demo"}).json()["job_id"]
        while httpx.get(f"{url}/api/v1/analysis/{again}/status").json()["status"] not in ("completed", "failed"):
            time.sleep(0.1)
        nothing_to_do = time.perf_counter() - t1

        # A third id for the same files, stopped mid-job by SIGTERM, to time the shutdown.
        t2 = time.perf_counter()
        busy = httpx.post(f"{url}/api/v1/analysis", json={"vod_id": "demo3"}).json()["job_id"]
        first_event = first_running_event(url, busy, t2)
        t3 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        stop_busy = time.perf_counter() - t3
        proc = start_server(work, port, args.cores)
        time.sleep(1)
        t4 = time.perf_counter()
        httpx.post(f"{url}/api/v1/analysis", json={"vod_id": "demo"})  # finishes at once: an idle server
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        stop_idle = time.perf_counter() - t4

    result = {
        "demo_seconds_no_traffic": round(quiet_seconds, 1),
        "demo_seconds_while_polled": round(busy_seconds, 1),
        "job_status": [quiet["status"], final["status"]],
        "steps": final["steps_total"],
        "clients": args.clients,
        "interval_seconds": args.interval,
        "status_requests": len(lat),
        "errors": errors,
        "requests_per_second": round(len(lat) / busy_seconds, 1),
        "latency_ms": {
            "p50": round(float(np.percentile(lat, 50)), 1),
            "p95": round(float(np.percentile(lat, 95)), 1),
            "p99": round(float(np.percentile(lat, 99)), 1),
            "max": round(float(lat.max()), 1),
        },
        "resubmit_nothing_to_do_seconds": round(nothing_to_do, 1),
        "first_step_done_event_seconds": round(first_event, 1),
        "sigterm_mid_job_seconds": round(stop_busy, 1),
        "sigterm_idle_seconds": round(stop_idle, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
