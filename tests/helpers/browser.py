"""Debian's chromium driven over the DevTools protocol (headless, no network), and the analysis a report is drawn
from."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from klipstream.io import write_json

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
]


def report_inputs(tmp: Path) -> dict:
    """A 10-minute VOD with one audio+chat moment at 200 s (chat 10 s later) and audio noise elsewhere."""
    n = 600
    rng = np.random.default_rng(3)
    t = np.arange(n, dtype=float)
    loud = rng.normal(0, 0.3, n)
    loud[200:208] += 6
    pd.DataFrame(
        {
            "time": t,
            "rms_db": -30 + loud,
            "loudness_z": loud,
            "spectral_flux": 1.0,
            "flux_z": loud * 0.5,
            "pitch_hz": 150.0,
            "pitch_variability": 1.0,
            "voiced_share": 0.5,
            "speech_rate": 2.0,
            "laughter": (loud > 3).astype(int),
            "shout": 0,
        }
    ).to_csv(tmp / "f.csv", index=False)
    times = np.concatenate([rng.uniform(0, n, 300), 210 + rng.gamma(2, 2, 60)])
    users = np.concatenate([rng.integers(0, 40, 300), 100 + np.arange(60)])
    msgs = np.where(np.arange(360) >= 300, "KEKW </script><b>x</b>", "hello chat")
    order = np.argsort(times)
    sent = pd.DataFrame(
        {
            "time": times[order],
            "comment_id": np.arange(360),
            "user": [f"u{u}" for u in users[order]],
            "message": msgs[order],
            "emotes": np.where(msgs[order] != "hello chat", "KEKW", ""),
            "is_filtered": False,
            "excitement": 0.2,
            "funny": np.where(msgs[order] != "hello chat", 0.8, 0.0),
            "happiness": 0.1,
            "anger": 0.0,
            "sadness": 0.0,
            "neutral": 0.3,
        }
    )
    sent.to_csv(tmp / "s.csv", index=False)
    sec = np.floor(sent["time"]).astype(int)
    msg = np.bincount(sec, minlength=n).astype(float)
    tl = pd.DataFrame({"time": t, "messages": msg, "unique_chatters": msg})
    z = (msg - np.median(msg)) / 1.0
    tl["messages_z"], tl["unique_chatters_z"] = z, z
    tl.to_csv(tmp / "t.csv", index=False)
    words = pd.DataFrame(
        {
            "start_time": [201.0, 201.5, 202.0],
            "end_time": [201.4, 201.9, 202.4],
            "word": ["no", "way", "dude"],
            "punctuated_word": ["No", "way,", "dude!"],
            "confidence": 0.9,
        }
    )
    words.to_csv(tmp / "w.csv", index=False)
    data = []
    for k in range(n * 10):
        a = int(min(127, 20 + 100 * (200 <= k / 10 < 208)))
        data += [-a, a]
    write_json(
        tmp / "peaks.json",
        {
            "version": 2,
            "channels": 1,
            "sample_rate": 16000,
            "samples_per_pixel": 1600,
            "bits": 8,
            "length": n * 10,
            "data": data,
        },
    )
    return {
        "chat_timeline_csv": tmp / "t.csv",
        "chat_sentiment_csv": tmp / "s.csv",
        "audio_features_csv": tmp / "f.csv",
        "words_csv": tmp / "w.csv",
    }


class DevTools:
    """A minimal Chrome DevTools Protocol client over the page target's websocket."""

    def __init__(self, ws_url: str):
        from websockets.sync.client import connect

        self.ws = connect(ws_url, max_size=None, open_timeout=10).__enter__()
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, timeout: float = 20.0, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            msg = json.loads(self.ws.recv(timeout=max(0.1, end - time.monotonic())))
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)
        raise TimeoutError(method)

    def wait_event(self, name: str, timeout: float = 20.0) -> dict:
        for ev in self.events:
            if ev.get("method") == name:
                return ev
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            msg = json.loads(self.ws.recv(timeout=max(0.1, end - time.monotonic())))
            self.events.append(msg)
            if msg.get("method") == name:
                return msg
        raise TimeoutError(name)

    def drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.events.append(json.loads(self.ws.recv(timeout=max(0.05, end - time.monotonic()))))
            except TimeoutError:
                break

    def close(self):
        self.ws.close()
