"""Benchmark: chat download from the loopback Twitch GQL stub with 100 ms latency per page.

Runs the stub in its own process (tests/helpers/twitch_stub.py) and each download in a fresh child process,
so wall time and peak RSS (ru_maxrss) belong to the downloader alone.

    .venv/bin/python bench/chat_download.py                 # 200k with 8 workers, 50k vs 200k memory, 1 worker
    (partial)
    .venv/bin/python bench/chat_download.py --full-single   # also run 1 worker over the whole 200k (~200 s)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DURATION = 36_000  # a 10-hour VOD


def child(url: str, workers: int, end: float | None) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    from klipstream.chat.twitch_gql import download_chat

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "chat.json"
        t0 = time.monotonic()
        res = download_chat("123456789", dst, workers=workers, gql_url=url, bin_dir=None, end=end)
        secs = time.monotonic() - t0
        size = dst.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "comments": res["comments"],
                "requests": res["requests"],
                "seconds": secs,
                "cpu_s": ru.ru_utime + ru.ru_stime,
                "rss_before_mb": base / 1024,
                "peak_rss_mb": peak / 1024,
                "file_mb": size / 2**20,
            }
        )
    )


def run(messages: int, workers: int, end: float | None = None, latency: float = 0.1) -> dict:
    stub = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.helpers.twitch_stub",
            "--messages",
            str(messages),
            "--duration",
            str(DURATION),
            "--latency",
            str(latency),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        url = stub.stdout.readline().strip() + "/gql"
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, str(workers), str(end or "")],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        stub.stdin.close()
        stub.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", nargs=3)
    ap.add_argument("--full-single", action="store_true")
    a = ap.parse_args()
    if a.child:
        url, workers, end = a.child
        return child(url, int(workers), float(end) if end else None)

    def show(label: str, r: dict) -> None:
        print(
            f"{label:<44} {r['comments']:>7} msgs {r['requests']:>5} req {r['seconds']:7.1f} s  "
            f"peak RSS {r['peak_rss_mb']:6.1f} MB (after imports {r['rss_before_mb']:5.1f} MB)  "
            f"file {r['file_mb']:5.1f} MB",
            flush=True,
        )

    r8 = run(200_000, 8)
    show("200k messages, 8 workers", r8)
    r50 = run(50_000, 8)
    show("50k messages, 8 workers", r50)
    frac = 0.1
    r1 = run(200_000, 1, end=DURATION * frac)
    show(f"200k messages, 1 worker, first {frac:.0%} of VOD", r1)
    print(f"1 worker extrapolated to 200k: {r1['seconds'] / frac:.0f} s", flush=True)
    if a.full_single:
        show("200k messages, 1 worker (full)", run(200_000, 1))


if __name__ == "__main__":
    main()
