"""Test helpers for the publishing tests: a recording Convex stub and the Cloud Storage emulator process."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.helpers.loopback import LoopbackServer

SECRET = "prod:klip-test-123|s3cr3tTok3nValue9876543210"  # deploy-key shaped: `Convex <key>`


class ConvexStub(LoopbackServer):
    """Records every request (path, Authorization, JSON body). `mode`: ok | 500 | hang | error, or a list of
    modes consumed one per request (then ok). `fail_functions`: function paths answered with a Convex error."""

    def __init__(self, mode="ok", hang_s: float = 5.0, fail_functions=()):
        self.mode = mode
        self.hang_s = hang_s
        self.fail_functions = set(fail_functions)
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw or b"{}")
                with stub._lock:
                    stub.requests.append(
                        {
                            "path": self.path,
                            "auth": self.headers.get("Authorization"),
                            "body": body,
                            "at": time.monotonic(),
                        }
                    )
                    if isinstance(stub.mode, list):
                        mode = stub.mode.pop(0) if stub.mode else "ok"
                    else:
                        mode = stub.mode
                if mode == "hang":
                    time.sleep(stub.hang_s)
                    return
                if mode == "500":
                    return self._send(500, {"code": "InternalServerError"})
                if mode == "429":
                    return self._send(429, {"code": "RateLimited"})
                if mode == "error" or body.get("path") in stub.fail_functions:
                    return self._send(
                        200,
                        {"status": "error", "errorMessage": f"no video {body['args'].get('twitchId')}", "logLines": []},
                    )
                return self._send(200, {"status": "success", "value": None, "logLines": []})

            def _send(self, code, payload):
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(Handler)

    def calls(self, function: str | None = None) -> list[dict]:
        with self._lock:
            return [r["body"] for r in self.requests if function is None or r["body"].get("path") == function]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def emulator_command() -> list[str] | None:
    exe = Path(sys.executable).with_name("gcp-storage-emulator")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("gcp-storage-emulator")
    return [found] if found else None


class Emulator:
    """`gcp-storage-emulator start --host=127.0.0.1 --port=<free> --in-memory`, waited for and stopped."""

    def __init__(self):
        cmd = emulator_command()
        if cmd is None:
            raise RuntimeError("gcp-storage-emulator is not installed")
        self.port = free_port()
        self.host = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            cmd + ["start", "--host=127.0.0.1", f"--port={self.port}", "--in-memory"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gcp-storage-emulator exited with {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gcp-storage-emulator did not start within 20 s")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


CLEAR_ENV = (
    "CONVEX_URL",
    "CONVEX_API_KEY",
    "USE_GCS",
    "BASE_DIR",
    "GCS_PROJECT",
    "GCS_VOD_BUCKET",
    "GCS_TRANSCRIPT_BUCKET",
    "GCS_CHATLOG_BUCKET",
    "GCS_ANALYSIS_BUCKET",
    "GCP_SERVICE_ACCOUNT_PATH",
    "STORAGE_EMULATOR_HOST",
    "CONVEX_TIMEOUT",
    "CONVEX_ATTEMPTS",
    "CONVEX_BACKOFF",
    "K_SERVICE",
    "CONVEX_STATUS_FUNCTION",
    "CONVEX_URLS_FUNCTION",
    "CONVEX_AUTH_SCHEME",
)


def clean_env(monkeypatch, tmp_path):
    """Isolate a test from the machine's environment and any .env file; fresh Convex clients."""
    from klipstream import convex, settings

    for name in CLEAR_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(settings, "_dotenv_loaded", True)
    monkeypatch.setattr(convex, "_clients", {})
    monkeypatch.chdir(tmp_path)
