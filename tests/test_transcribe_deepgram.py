"""Deepgram backend through the real deepgram-sdk against a stub /v1/listen on 127.0.0.1."""

import copy
import hashlib
import json
import logging
import time
import wave
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from klipstream.errors import KlipError
from klipstream.transcribe import transcribe, write_segments, write_word_tables
from klipstream.transcribe.deepgram import transcribe_deepgram
from tests.helpers.loopback import LoopbackServer

KEY = "dg-secret-key-0123456789abcdef"

# A nova-3 response as Deepgram returns it for smart_format, punctuate, paragraphs, utterances
# (shape and field order recorded from the API; words shortened to one sentence).
RESPONSE = {
    "metadata": {
        "transaction_key": "deprecated",
        "request_id": "9bbb7b9d-0cf1-4e4c-bf96-ea7c47b45056",
        "sha256": "0dd03dfb6fe83b7d10df166cb77d28bf139f9be2c739e9927c757d88255aa88b",
        "created": "2025-04-08T16:15:45.798Z",
        "duration": 2.0,
        "channels": 1,
        "models": ["3b3aabe4-608a-46ac-9585-7960a25daf1a"],
        "model_info": {
            "3b3aabe4-608a-46ac-9585-7960a25daf1a": {
                "name": "general-nova-3",
                "version": "2024-12-20.0",
                "arch": "nova-3",
            }
        },
    },
    "results": {
        "channels": [
            {
                "alternatives": [
                    {
                        "transcript": "Let's go. That was insane!",
                        "confidence": 0.9955069,
                        "words": [
                            {
                                "word": "let's",
                                "start": 0.08,
                                "end": 0.32,
                                "confidence": 0.99808353,
                                "punctuated_word": "Let's",
                            },
                            {"word": "go", "start": 0.32, "end": 0.56, "confidence": 0.9971, "punctuated_word": "go."},
                            {
                                "word": "that",
                                "start": 1.04,
                                "end": 1.2,
                                "confidence": 0.9932,
                                "punctuated_word": "That",
                            },
                            {"word": "was", "start": 1.2, "end": 1.36, "confidence": 0.9987, "punctuated_word": "was"},
                            {
                                "word": "insane",
                                "start": 1.36,
                                "end": 1.84,
                                "confidence": 0.9899,
                                "punctuated_word": "insane!",
                            },
                        ],
                        "paragraphs": {
                            "transcript": "\nLet's go. That was insane!",
                            "paragraphs": [
                                {
                                    "sentences": [
                                        {"text": "Let's go.", "start": 0.08, "end": 0.56},
                                        {"text": "That was insane!", "start": 1.04, "end": 1.84},
                                    ],
                                    "num_words": 5,
                                    "start": 0.08,
                                    "end": 1.84,
                                }
                            ],
                        },
                    }
                ]
            }
        ],
        "utterances": [
            {
                "start": 0.08,
                "end": 1.84,
                "confidence": 0.9955069,
                "channel": 0,
                "transcript": "Let's go. That was insane!",
                "words": [],
                "id": "5d1e1d0e-8e3c-4c6c-9d4e-2f0b8f6b8a61",
            }
        ],
    },
}
MODEL_ERROR = {
    "err_code": "Bad Request",
    "err_msg": "No such model/language/tier combination found.",
    "request_id": "1b6c7a40-2a47-4ed0-9d51-0c1c1f4f7a11",
}


class Stub(LoopbackServer):
    """Serves a scripted list of replies: (status, body, delay_seconds); records every request."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                url = urlparse(self.path)
                stub.requests.append(
                    {
                        "path": url.path,
                        "query": parse_qs(url.query),
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "sha256": hashlib.sha256(body).hexdigest(),
                        "size": len(body),
                    }
                )
                status, payload, delay = stub.replies.pop(0) if stub.replies else (500, {"err_msg": "no reply"}, 0)
                if delay:
                    time.sleep(delay)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        super().__init__(Handler)


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "audio_v1.wav"
    t = np.arange(32000) / 16000
    pcm = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    return path


def run(wav, stub, sleeps, **kw):
    kw.setdefault("timeout", 5.0)
    return transcribe_deepgram(wav, api_key=KEY, base_url=stub.url, sleep=sleeps.append, **kw)


def test_request_params_auth_and_streamed_body(wav, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DEEPGRAM_API_KEY", KEY)
    with Stub([(200, RESPONSE, 0)]) as stub:
        monkeypatch.setenv("DEEPGRAM_BASE_URL", stub.url)
        out = tmp_path / "audio_v1_transcript.json"
        info = transcribe(wav, out, backend="auto", language="en")
    assert info["backend"] == "deepgram" and info["model"] == "nova-3"
    (req,) = stub.requests
    assert req["path"] == "/v1/listen"
    q = {k: v[0] for k, v in req["query"].items()}
    assert q["model"] == "nova-3" and q["language"] == "en"
    for flag in ("smart_format", "punctuate", "paragraphs", "utterances"):
        assert q[flag] == "true"
    assert "diarize" not in q  # speaker labels only when asked for (Deepgram bills them)
    assert req["headers"]["authorization"] == f"Token {KEY}"
    assert req["headers"]["content-type"] == "audio/wav"
    assert "transfer-encoding" not in req["headers"]  # streamed with a Content-Length, not chunked
    data = wav.read_bytes()
    assert req["size"] == len(data) and req["sha256"] == hashlib.sha256(data).hexdigest()
    doc = json.loads(out.read_text())
    assert doc["results"] == RESPONSE["results"] and doc["metadata"] == RESPONSE["metadata"]
    assert doc["klipstream"]["backend"] == "deepgram" and doc["klipstream"]["model"] == "nova-3"
    assert KEY not in caplog.text
    # the tables come out of the Deepgram JSON unchanged
    write_word_tables(out, tmp_path / "w.csv", tmp_path / "p.csv")
    write_segments(out, tmp_path / "s.csv")
    assert (tmp_path / "w.csv").read_text().splitlines()[5] == "1.3600,1.8400,insane,insane!,0.9899,"  # no speaker
    assert (tmp_path / "p.csv").read_text().splitlines()[1] == "0.0800,1.8400,Let's go. That was insane!,5"
    assert (tmp_path / "s.csv").read_text().splitlines()[1] == "0,0.0000,2.0000,5,2.5000,Let's go. That was insane!"


def diarized(response: dict, speakers: list[int]) -> dict:
    """`response` as Deepgram returns it with diarize=true: `speaker` and `speaker_confidence` on each word."""
    doc = copy.deepcopy(response)
    words = doc["results"]["channels"][0]["alternatives"][0]["words"]
    for word, speaker in zip(words, speakers, strict=True):
        word.update(speaker=speaker, speaker_confidence=0.9)
    doc["results"]["utterances"][0]["speaker"] = speakers[0]
    return doc


def test_diarize_asks_deepgram_for_speaker_labels_and_the_words_table_keeps_them(wav, tmp_path):
    # "Let's go." by speaker 1, "That was insane!" by speaker 0 (labels need not start at 0 in time order)
    with Stub([(200, diarized(RESPONSE, [1, 1, 0, 0, 0]), 0)]) as stub:
        transcribe(wav, tmp_path / "t.json", backend="deepgram", api_key=KEY, deepgram_url=stub.url, diarize=True)
    (req,) = stub.requests
    assert req["query"]["diarize"] == ["true"]
    write_word_tables(tmp_path / "t.json", tmp_path / "w.csv", tmp_path / "p.csv")
    assert (tmp_path / "w.csv").read_text().splitlines() == [
        "start_time,end_time,word,punctuated_word,confidence,speaker",
        "0.0800,0.3200,let's,Let's,0.9981,1",
        "0.3200,0.5600,go,go.,0.9971,1",
        "1.0400,1.2000,that,That,0.9932,0",
        "1.2000,1.3600,was,was,0.9987,0",
        "1.3600,1.8400,insane,insane!,0.9899,0",
    ]


@pytest.mark.parametrize(
    "failure",
    [
        (429, {"err_code": "TOO_MANY_REQUESTS", "err_msg": "Too many requests"}, 0),
        (500, {"err_code": "INTERNAL_SERVER_ERROR", "err_msg": "boom"}, 0),
        (200, b"{not json", 0),
        (200, {"metadata": {}}, 0),
    ],
)
def test_transient_failures_are_retried_with_jittered_backoff(wav, failure):
    sleeps = []
    with Stub([failure, failure, (200, RESPONSE, 0)]) as stub:
        doc = run(wav, stub, sleeps, backoff_base=1.0, backoff_cap=10.0)
    assert len(stub.requests) == 3
    assert all(r["size"] == wav.stat().st_size for r in stub.requests)  # each attempt re-sends the whole file
    assert doc["results"]["channels"] == RESPONSE["results"]["channels"]
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 1.0 and 0 <= sleeps[1] <= 2.0


def test_timeout_is_retried(wav):
    sleeps = []
    with Stub([(200, RESPONSE, 1.5), (200, RESPONSE, 0)]) as stub:
        doc = run(wav, stub, sleeps, timeout=0.5)
    assert len(stub.requests) == 2 and len(sleeps) == 1
    assert doc["klipstream"]["model"] == "nova-3"


def test_retries_are_bounded(wav):
    sleeps = []
    with Stub([(503, {"err_msg": "unavailable"}, 0)] * 5) as stub:
        with pytest.raises(KlipError, match="after 3 attempts: HTTP 503") as err:
            run(wav, stub, sleeps, max_attempts=3)
    assert len(stub.requests) == 3 and len(sleeps) == 2
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("status", [401, 403])
def test_bad_key_is_one_line_and_never_shows_the_key(wav, status, caplog):
    caplog.set_level(logging.DEBUG)
    sleeps = []
    body = {"err_code": "INVALID_AUTH", "err_msg": f"Invalid credentials. key={KEY}"}
    with Stub([(status, body, 0)]) as stub:
        with pytest.raises(KlipError) as err:
            run(wav, stub, sleeps)
    assert len(stub.requests) == 1 and sleeps == []
    msg = str(err.value)
    assert f"HTTP {status}" in msg and "DEEPGRAM_API_KEY" in msg and "\n" not in msg
    assert KEY not in msg and KEY not in caplog.text


def test_model_error_falls_back_to_nova2(wav):
    sleeps = []
    fallback = copy.deepcopy(RESPONSE)
    with Stub([(400, MODEL_ERROR, 0), (200, fallback, 0)]) as stub:
        doc = run(wav, stub, sleeps)
    assert [r["query"]["model"][0] for r in stub.requests] == ["nova-3", "nova-2"]
    assert doc["klipstream"]["model"] == "nova-2"


def test_other_400_is_not_retried(wav):
    with Stub([(400, {"err_code": "Bad Request", "err_msg": "corrupt or unsupported data"}, 0)]) as stub:
        with pytest.raises(KlipError, match="HTTP 400.*corrupt"):
            run(wav, stub, [])
    assert len(stub.requests) == 1


def test_deepgram_without_key_fails_before_upload(wav, tmp_path, monkeypatch):
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    with Stub([(200, RESPONSE, 0)]) as stub:
        monkeypatch.setenv("DEEPGRAM_BASE_URL", stub.url)
        with pytest.raises(KlipError, match="DEEPGRAM_API_KEY"):
            transcribe(wav, tmp_path / "t.json", backend="deepgram")
    assert stub.requests == []
    assert not (tmp_path / "t.json").exists()


@pytest.fixture
def speech_wav(tmp_path):
    """8 s of a real voice (the demo's audio) as 16 kHz PCM: what the workflow encodes for Deepgram."""
    from klipstream.media import run_ffmpeg

    demo = Path(__file__).resolve().parents[1] / "data" / "demo" / "demo.mp4"
    if not demo.is_file():
        pytest.skip("demo VOD not generated")
    wav = tmp_path / "audio_v2.wav"
    run_ffmpeg(
        ["-ss", "10", "-t", "8", "-i", str(demo), "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(wav)],
        what="demo",
    )
    return wav


@pytest.mark.parametrize(
    "fmt, content_type, probed, max_share", [("opus", "audio/ogg", "ogg", 1 / 8), ("flac", "audio/flac", "flac", 0.9)]
)
def test_encoded_upload_is_sent_with_its_type_and_decodes(
    speech_wav, tmp_path, monkeypatch, fmt, content_type, probed, max_share
):
    """The workflow's path: the WAV encoded once (audio_encode), then sent by the transcript job with its
    Content-Type; the stand-in checks the type against what it received and decodes it with ffmpeg."""
    from klipstream.transcribe import transcribe_job
    from klipstream.transcribe.upload import encode_for_upload
    from tests.helpers.deepgram_stub import DeepgramStub

    upload = tmp_path / f"audio_v2.{fmt}"
    summary = encode_for_upload(speech_wav, upload, format=fmt, bitrate_kbps=24)
    assert summary["content_type"] == content_type and summary["bytes"] == upload.stat().st_size
    assert upload.stat().st_size <= max_share * speech_wav.stat().st_size
    monkeypatch.setenv("DEEPGRAM_API_KEY", KEY)
    with DeepgramStub(key=KEY) as stub:
        out = tmp_path / "t.json"
        info = transcribe_job(
            out,
            audio=str(upload),
            settings={
                "backend": "auto",
                "model": "nova-3",
                "deepgram_url": stub.url,
                "timeout": 10,
                "upload": {"format": fmt},
                "offline": {},
            },
        )
    (req,) = stub.requests
    assert req["status"] == 200 and req["content_type"] == content_type and not req["chunked"]
    assert probed in req["probed_format"].split(",") and req["bytes"] == upload.stat().st_size
    assert req["duration"] == pytest.approx(8.0, abs=0.05)  # decoded: as long as the WAV
    assert info["upload"] == {"content_type": content_type, "bytes": upload.stat().st_size}
    doc = json.loads(out.read_text())
    assert doc["metadata"]["duration"] == pytest.approx(8.0, abs=0.05) and doc["klipstream"]["backend"] == "deepgram"


def test_a_body_that_is_not_its_content_type_is_refused_once(speech_wav, tmp_path):
    from klipstream.transcribe.upload import encode_for_upload
    from tests.helpers.deepgram_stub import DeepgramStub

    upload = tmp_path / "audio_v2.opus"
    encode_for_upload(speech_wav, upload, format="opus")
    with DeepgramStub() as stub:
        with pytest.raises(KlipError, match="HTTP 400.*body is ogg, content-type says audio/flac"):
            transcribe_deepgram(upload, api_key=KEY, base_url=stub.url, content_type="audio/flac", sleep=[].append)
    assert len(stub.requests) == 1


def test_upload_settings_errors_are_one_line(speech_wav, tmp_path):
    from klipstream.transcribe.upload import encode_for_upload

    with pytest.raises(KlipError, match="upload.format must be one of opus, flac"):
        encode_for_upload(speech_wav, tmp_path / "a.mp3", format="mp3")
    with pytest.raises(KlipError, match="must end with .opus"):
        encode_for_upload(speech_wav, tmp_path / "a.ogg", format="opus")
