"""A Deepgram /v1/listen stand-in on 127.0.0.1 that really receives and decodes the audio it is sent.

- The upload can be throttled to a given rate (a token bucket on the server's reads: the client sees the same
  back-pressure a real uplink gives), so upload times at 20 or 50 Mbit/s are measured, not computed.
- The Content-Type must name a format Deepgram takes and match what the body is (ffprobe), else HTTP 400 as
  Deepgram answers for corrupt or unsupported data; the body is decoded with ffmpeg to 16 kHz mono PCM.
- The answer is a Deepgram-shaped transcript of the decoded audio: words (from a fixed vocabulary, ~2.5 per second)
  placed where the audio is loud, so every later stage has something realistic to read; `metadata.duration` is the
  decoded duration. Processing time: `processing_base + processing_rtf x duration` seconds of sleep (Deepgram's
  pre-recorded API takes seconds to tens of seconds for an hour of audio; the default 1/180 = 20 s per hour is
  an assumption, labelled as such wherever it is used).

Run standalone (bench/): `python -m tests.helpers.deepgram_stub --rate-mbit 50 --rtf 0.0056` prints its URL and
serves until
its stdin closes; GET /stats returns the requests it received.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np

from tests.helpers.loopback import LoopbackServer  # noqa: E402

# What each Content-Type Deepgram takes must decode as (ffprobe's format_name contains this).
CONTENT_TYPES = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/webm": "webm",
}
VOCABULARY = (
    "let's",
    "go",
    "that",
    "was",
    "insane",
    "chat",
    "look",
    "at",
    "this",
    "no",
    "way",
    "okay",
    "we",
    "are",
    "so",
    "back",
    "guys",
    "what",
    "is",
    "happening",
    "right",
    "now",
    "i",
    "think",
    "it's",
    "fine",
)
FRAME = 160  # 10 ms at 16 kHz


def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def probe_format(path: Path) -> str:
    """ffprobe's format_name of a file ('' when ffprobe cannot read it)."""
    probe = shutil.which("ffprobe")
    if probe is None:
        return ""
    out = subprocess.run(
        [probe, "-v", "error", "-show_entries", "format=format_name", "-of", "default=nw=1:nk=1", str(path)],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() if out.returncode == 0 else ""


def decode(path: Path) -> np.ndarray:
    """The file decoded by ffmpeg to 16 kHz mono int16 samples (raises CalledProcessError on bad data)."""
    out = subprocess.run(
        [
            ffmpeg(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(path),
            "-ac",
            "1",
            "-ar",
            "16000",
            "-f",
            "s16le",
            "-",
        ],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(out.stdout, dtype="<i2")


def synth_words(pcm: np.ndarray, rate: float = 2.5) -> list[dict]:
    """Words where the audio is loud: about `rate` per second of frames above the median energy (vectorised)."""
    n = pcm.size // FRAME
    if n == 0:
        return []
    frames = pcm[: n * FRAME].reshape(n, FRAME).astype(np.float32)
    db = 10 * np.log10(np.mean(frames * frames, axis=1) + 1.0)
    loud = db > max(np.median(db), 40.0)
    step = int(round(100 / rate))  # one word every `step` loud frames
    idx = np.flatnonzero(loud)[::step]
    starts = idx * 0.01
    ends = np.minimum(starts + 0.3, n * 0.01)
    conf = 0.80 + 0.19 * ((idx * 7919) % 100) / 100
    words = np.array(VOCABULARY, dtype=object)[np.arange(idx.size) % len(VOCABULARY)]
    return [
        {
            "word": w,
            "start": round(float(s), 3),
            "end": round(float(e), 3),
            "confidence": round(float(c), 4),
            "punctuated_word": w,
        }
        for w, s, e, c in zip(words, starts, ends, conf)
    ]


def response(words: list[dict], duration: float, model: str) -> dict:
    """A nova-3 response shape (smart_format, punctuate, paragraphs, utterances), one paragraph per 30 words."""
    text = " ".join(w["punctuated_word"] for w in words)
    paragraphs = []
    for i in range(0, len(words), 30):
        part = words[i : i + 30]
        paragraphs.append(
            {
                "sentences": [
                    {
                        "text": " ".join(w["punctuated_word"] for w in part),
                        "start": part[0]["start"],
                        "end": part[-1]["end"],
                    }
                ],
                "num_words": len(part),
                "start": part[0]["start"],
                "end": part[-1]["end"],
            }
        )
    return {
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": "00000000-0000-4000-8000-000000000000",
            "sha256": "",
            "created": "2026-01-01T00:00:00.000Z",
            "duration": round(duration, 6),
            "channels": 1,
            "models": ["stub-model"],
            "model_info": {"stub-model": {"name": f"general-{model}", "version": "stub", "arch": model}},
        },
        "results": {
            "channels": [
                {
                    "alternatives": [
                        {
                            "transcript": text,
                            "confidence": 0.9,
                            "words": words,
                            "paragraphs": {
                                "transcript": "".join("\n" + p["sentences"][0]["text"] + "\n" for p in paragraphs),
                                "paragraphs": paragraphs,
                            },
                        }
                    ]
                }
            ],
            "utterances": [],
        },
    }


class DeepgramStub(LoopbackServer):
    """/v1/listen that throttles, checks, decodes and transcribes (see the module docstring); records requests."""

    def __init__(
        self,
        *,
        rate_bps: float | None = None,
        processing_base: float = 0.0,
        processing_rtf: float = 0.0,
        key: str | None = None,
    ):
        self.rate_bps, self.processing_base, self.processing_rtf, self.key = (
            rate_bps,
            processing_base,
            processing_rtf,
            key,
        )
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                with stub.lock:
                    self._send(200, {"requests": stub.requests})

            def do_POST(self):
                record = {
                    "content_type": (self.headers.get("Content-Type") or "").split(";")[0].strip().lower(),
                    "chunked": "chunked" in (self.headers.get("Transfer-Encoding") or "").lower(),
                    "model": None,
                    "bytes": 0,
                    "receive_seconds": 0.0,
                    "status": 0,
                }
                with stub.lock:
                    stub.requests.append(record)
                query = dict(p.split("=", 1) for p in self.path.partition("?")[2].split("&") if "=" in p)
                record["model"] = query.get("model")
                record["query"] = query
                if stub.key and self.headers.get("Authorization") != f"Token {stub.key}":
                    record["status"] = 401
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    return self._send(401, {"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."})
                with tempfile.TemporaryDirectory(prefix="dg-stub-") as tmp:
                    body = Path(tmp) / "upload"
                    t0 = time.monotonic()
                    record["bytes"] = stub.receive(self.rfile, int(self.headers.get("Content-Length") or 0), body)
                    record["receive_seconds"] = round(time.monotonic() - t0, 3)
                    status, payload = stub.transcribe(body, record)
                record["status"] = status
                self._send(status, payload)

        super().__init__(Handler)

    def receive(self, rfile, length: int, dst: Path) -> int:
        """Read `length` bytes into `dst`, no faster than `rate_bps` (64 KiB reads, sleeping to the schedule)."""
        got, t0 = 0, time.monotonic()
        with open(dst, "wb") as fh:
            while got < length:
                data = rfile.read(min(1 << 16, length - got))
                if not data:
                    break
                fh.write(data)
                got += len(data)
                if self.rate_bps:
                    ahead = got * 8 / self.rate_bps - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
        return got

    def transcribe(self, body: Path, record: dict) -> tuple[int, dict]:
        expected = CONTENT_TYPES.get(record["content_type"])
        if expected is None:
            return 415, {"err_code": "UNSUPPORTED_MEDIA_TYPE", "err_msg": f"unsupported {record['content_type']}"}
        found = probe_format(body)
        record["probed_format"] = found
        if expected not in found.split(","):
            return 400, {
                "err_code": "Bad Request",
                "err_msg": f"corrupt or unsupported data: body is {found or 'unreadable'}, "
                f"content-type says {record['content_type']}",
            }
        t0 = time.monotonic()
        try:
            pcm = decode(body)
        except subprocess.CalledProcessError:
            return 400, {"err_code": "Bad Request", "err_msg": "corrupt or unsupported data"}
        duration = pcm.size / 16000
        words = synth_words(pcm)
        if record["query"].get("diarize") == "true":  # Deepgram then labels each word: two speakers, 20-word turns
            for i, word in enumerate(words):
                word.update(speaker=(i // 20) % 2, speaker_confidence=0.9)
        record.update(duration=duration, words=len(words), decode_seconds=round(time.monotonic() - t0, 3))
        delay = self.processing_base + self.processing_rtf * duration
        record["processing_seconds"] = round(delay, 3)
        time.sleep(delay)
        return 200, response(words, duration, record["model"] or "nova-3")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate-mbit", type=float, default=0.0, help="upload throttle in Mbit/s (0: none)")
    ap.add_argument("--rtf", type=float, default=1 / 180, help="processing seconds per audio second")
    ap.add_argument("--base", type=float, default=1.0, help="fixed processing seconds per request")
    a = ap.parse_args()
    stub = DeepgramStub(rate_bps=a.rate_mbit * 1e6 or None, processing_base=a.base, processing_rtf=a.rtf)
    with stub:
        print(stub.url, flush=True)
        try:
            sys.stdin.read()
        finally:
            ru = __import__("resource").getrusage(__import__("resource").RUSAGE_SELF)
            print(f"deepgram stub cpu {ru.ru_utime + ru.ru_stime:.1f} s", file=sys.stderr)
    os._exit(0)
