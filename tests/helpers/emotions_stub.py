"""An OpenAI-compatible chat-completions stub on 127.0.0.1 for the emotions tests and bench.

Behaviour is steered by markers in the window transcript (the first user message):
  [[429x2]]   two HTTP 429 answers (Retry-After: 0), then a good one
  [[500]]     one HTTP 500, then a good one
  [[500always]] always HTTP 500
  [[bad]]     a non-JSON answer, then (on the repair request) a good one
  [[badalways]] always an answer that fails the schema
  [[slowonce]] the first attempt sleeps `slow_seconds` (past the client's timeout), then a good one
Every request also sleeps `latency` seconds. Good answers are computed from the transcript so tests can
check which window got which scores: excitement 0.9 if "insane" is in it else 0.2; funny 0.8 if "lol" else 0.1.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler

from tests.helpers.loopback import LoopbackServer


def good_answer(prompt: str) -> dict:
    text = prompt.lower()
    exc = 0.9 if "insane" in text else 0.2
    funny = 0.8 if "lol" in text else 0.1
    return {
        "sentiment_score": 0.5,
        "excitement": exc,
        "funny": funny,
        "happiness": 0.4,
        "anger": 0.0,
        "sadness": 0.05,
        "neutral": 0.1,
        "highlight_score": round((exc + funny) / 2, 3),
    }


class StubServer(LoopbackServer):
    def __init__(self, latency: float = 0.0, slow_seconds: float = 2.0, answer=good_answer):
        self.latency = latency
        self.answer = answer  # prompt -> the JSON object of a good answer (titles tests give their own)
        self.slow_seconds = slow_seconds
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[dict] = []
        self.attempts: dict[str, int] = {}
        self.auth_headers: set[str] = set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):  # /stats: counters, for a stub running in another process (bench)
                with stub.lock:
                    data = json.dumps({"calls": len(stub.requests), "max_in_flight": stub.max_in_flight}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with stub.lock:
                    stub.in_flight += 1
                    stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                    stub.requests.append(body)
                    stub.auth_headers.add(self.headers.get("authorization", ""))
                try:
                    status, payload, headers = stub.respond(self.path, body)
                    data = json.dumps(payload).encode()
                    try:
                        self.send_response(status)
                        self.send_header("content-type", "application/json")
                        self.send_header("content-length", str(len(data)))
                        for k, v in headers.items():
                            self.send_header(k, v)
                        self.end_headers()
                        self.wfile.write(data)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the client gave up (timeout): expected in the slow case
                finally:
                    with stub.lock:
                        stub.in_flight -= 1

        super().__init__(Handler)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1/"

    @property
    def calls(self) -> int:
        with self.lock:
            return len(self.requests)

    def respond(self, path: str, body: dict):
        if path.rstrip("/") != "/v1/chat/completions":
            return 404, {"error": {"message": f"no route {path}"}}, {}
        messages = body.get("messages", [])
        prompt = next((m["content"] for m in messages if m.get("role") == "user"), "")
        is_repair = sum(1 for m in messages if m.get("role") == "user") > 1
        with self.lock:
            n = self.attempts.get(prompt, 0)
            self.attempts[prompt] = n + 1
        time.sleep(self.latency)
        markers = set(re.findall(r"\[\[(\w+)\]\]", prompt))
        if "429x2" in markers and n < 2:
            return 429, {"error": {"message": "rate limited"}}, {"retry-after": "0"}
        if "500always" in markers or ("500" in markers and n < 1):
            return 500, {"error": {"message": "boom"}}, {}
        if "slowonce" in markers and n < 1:
            time.sleep(self.slow_seconds)
        if "badalways" in markers:
            content = json.dumps({"sentiment_score": 3, "excitement": "high"})
        elif "bad" in markers and not is_repair:
            content = "Sure! The window seems exciting, excitement about 0.8."
        else:
            content = json.dumps(self.answer(prompt))
        return (
            200,
            {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": len(prompt.split()),
                    "completion_tokens": len(content.split()),
                    "total_tokens": len(prompt.split()) + len(content.split()),
                },
            },
            {},
        )


if __name__ == "__main__":  # run standalone (bench): prints the base URL, serves until killed
    import argparse
    import sys

    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=1.0)
    args = ap.parse_args()
    server = StubServer(latency=args.latency)
    print(server.base_url, flush=True)
    sys.stdout.flush()
    server.server.serve_forever()
