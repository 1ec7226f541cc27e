"""One loopback stand-in per process, for bench/vod_e2e.py: the stand-ins' CPU is then theirs, not the client's.

    python bench/_standins.py twitch --hls DIR --vod ID --seconds S --messages N --latency 0.1
    python bench/_standins.py deepgram --rate-mbit 50 --rtf 0.0056 --base 1
    python bench/_standins.py llm --latency 1
    python bench/_standins.py convex

Prints one JSON line {"url": ...} when it serves, and when its stdin closes one JSON line of statistics (requests,
bytes, simulated latency slept, CPU seconds of the process and its children), then exits."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers: the loopback stand-ins
sys.path.insert(0, str(ROOT))


def cpu_seconds() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def twitch(a) -> tuple[str, callable]:
    from tests.helpers.twitch_stub import Stub

    stub = Stub(
        vod_id=a.vod, messages=a.messages, duration=a.seconds, hls_dir=Path(a.hls), latency=a.latency, page_size=100
    )
    stub.renditions = ["audio_only"]
    stub.prepare()
    url = stub.start()

    def stats():
        hls = [r for r in stub.requests if r["path"].startswith("/hls/")]
        gql = [r for r in stub.requests if r["path"] == "/gql"]
        stub.stop()
        return {
            "gql_requests": len(gql),
            "hls_requests": len(hls),
            "bytes_out": stub.bytes_out,
            "latency_slept_s": round(stub.sleep_seconds, 1),
            "max_active": stub.max_active,
        }

    return url, stats


def deepgram(a) -> tuple[str, callable]:
    from tests.helpers.deepgram_stub import DeepgramStub

    stub = DeepgramStub(rate_bps=a.rate_mbit * 1e6 or None, processing_base=a.base, processing_rtf=a.rtf)
    stub.__enter__()

    def stats():
        stub.__exit__(None, None, None)
        return {
            "requests": stub.requests,
            "latency_slept_s": round(sum(r.get("processing_seconds", 0) for r in stub.requests), 1),
            "throttled_receive_s": round(sum(r["receive_seconds"] for r in stub.requests), 1) if a.rate_mbit else 0.0,
        }

    return stub.url, stats


def llm(a) -> tuple[str, callable]:
    from tests.helpers.emotions_stub import StubServer

    stub = StubServer(latency=a.latency)
    stub.__enter__()

    def stats():
        stub.__exit__(None, None, None)
        sent = sum(len(json.dumps(r)) for r in stub.requests)
        return {
            "calls": stub.calls,
            "max_in_flight": stub.max_in_flight,
            "request_bytes": sent,
            "latency_slept_s": round(stub.calls * a.latency, 1),
        }

    return stub.base_url, stats


def convex(a) -> tuple[str, callable]:
    from tests.helpers.publish_stubs import ConvexStub

    stub = ConvexStub()
    stub.__enter__()

    def stats():
        stub.__exit__(None, None, None)
        calls = stub.calls()
        return {"calls": len(calls), "statuses": [c["args"].get("status") for c in calls if "status" in c["args"]]}

    return stub.url, stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=["twitch", "deepgram", "llm", "convex"])
    ap.add_argument("--hls")
    ap.add_argument("--vod", default="123456789")
    ap.add_argument("--seconds", type=int, default=14400)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--rate-mbit", type=float, default=0.0)
    ap.add_argument("--rtf", type=float, default=0.0)
    ap.add_argument("--base", type=float, default=0.0)
    a = ap.parse_args()
    url, stats = {"twitch": twitch, "deepgram": deepgram, "llm": llm, "convex": convex}[a.kind](a)
    print(json.dumps({"url": url, "pid": os.getpid()}), flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
    out = stats()
    out["cpu_s"] = round(cpu_seconds(), 2)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
