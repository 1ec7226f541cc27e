"""`klipstream serve` run for real on 127.0.0.1, restartable, with a client for its routes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers.waits import Progress, scaled

TOKEN = "e2e-token-7c1d0b"


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `klipstream serve` process on 127.0.0.1; start() again after a stop or crash reuses its workdir."""

    def __init__(
        self,
        workdir: Path,
        config: tuple[str, ...] = ("vods=vods.tsv",),
        token: str | None = TOKEN,
        args: tuple[str, ...] = (),
    ):
        self.workdir, self.port, self.proc, self.starts = workdir, free_port(), None, 0
        self.config, self.token, self.args = list(config), token, list(args)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"

    def start(self) -> None:
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if k != "KLIPSTREAM_API_TOKEN"}
        if self.token:
            env["KLIPSTREAM_API_TOKEN"] = self.token
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "klipstream.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workdir",
                    str(self.workdir),
                    "--cores",
                    "2",
                    *self.args,
                    *(["--config", *self.config] if self.config else []),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
            )
        deadline = time.monotonic() + scaled(30)
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(self.url + "/health", timeout=scaled(1)).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("server did not start:\n" + self.log.read_text()[-3000:])

    def stop(self, sig=signal.SIGTERM, timeout: float = 60) -> float:
        started = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(timeout=scaled(timeout))
        return time.monotonic() - started

    def get(self, path: str, **kw) -> httpx.Response:
        return httpx.get(self.url + path, timeout=scaled(10), **{"headers": AUTH, **kw})

    def post(self, path: str, **kw) -> httpx.Response:
        return httpx.post(self.url + path, timeout=scaled(10), headers=AUTH, **kw)

    def status(self, job_id: str) -> dict:
        return self.get(f"/api/v1/analysis/{job_id}/status").json()

    def wait_for(self, job_id: str, predicate, stall: float = 180) -> dict:
        """Poll the job until `predicate(status)`; fail if it fails, or if its state (status, attempt, steps) stays
        the same for `stall` seconds scaled to the machine's load (a slow job is fine, a stuck one is not)."""
        progress = Progress(stall, f"job {job_id} never got there")
        while True:
            current = self.status(job_id)
            if predicate(current):
                return current
            assert current["status"] != "failed", current
            state = (current["status"], current["attempts"], current["steps_done"], tuple(current["running_rules"]))
            progress.check(state)
            time.sleep(0.3)

    def events(self, job_id: str) -> list[dict]:
        """Read the job's event stream until the server ends it; the `data` of each `status` event."""
        seen, event = [], None
        url = f"{self.url}/api/v1/analysis/{job_id}/stream"  # it sends an event at least every few seconds
        with httpx.stream("GET", url, timeout=scaled(300), headers=AUTH) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "status":
                    seen.append(json.loads(line[5:]))
        return seen


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its parent's reaping is left


def report_media(page: str, report_url: str) -> list[str]:
    """The absolute URLs a served report's cards play (its clips, then the full video), as a browser resolves them."""
    from urllib.parse import urljoin

    data = re.search(r'<script type="application/json" id="klip-data">(.*?)</script>', page, re.S).group(1)
    media = json.loads(data)["media"]
    srcs = [clip["src"] for clip in media["clips"].values()] + ([media["video"]] if media["video"] else [])
    return [urljoin(report_url, src) for src in srcs]
