"""The HTML report in a real headless browser (Debian chromium) driven over the DevTools protocol:
it renders the timeline and every highlight card, logs no console error or exception, fetches nothing
from the network, and a screenshot is kept in the pytest tmp dir (copied to docs/report_screenshot.png
when KLIP_UPDATE_SCREENSHOT=1)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from klipstream.highlights import integrate
from klipstream.io import write_json
from klipstream.outputs.report import reduce_waveform, render_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-port=0", "--remote-allow-origins=*"]


def _inputs(tmp: Path) -> dict:
    """A 10-minute VOD with one audio+chat moment at 200 s (chat 10 s later) and audio noise elsewhere."""
    n = 600
    rng = np.random.default_rng(3)
    t = np.arange(n, dtype=float)
    loud = rng.normal(0, 0.3, n)
    loud[200:208] += 6
    pd.DataFrame({"time": t, "rms_db": -30 + loud, "loudness_z": loud, "spectral_flux": 1.0, "flux_z": loud * 0.5,
                  "pitch_hz": 150.0, "pitch_variability": 1.0, "voiced_share": 0.5, "speech_rate": 2.0,
                  "laughter": (loud > 3).astype(int), "shout": 0}).to_csv(tmp / "f.csv", index=False)
    times = np.concatenate([rng.uniform(0, n, 300), 210 + rng.gamma(2, 2, 60)])
    users = np.concatenate([rng.integers(0, 40, 300), 100 + np.arange(60)])
    msgs = np.where(np.arange(360) >= 300, "KEKW </script><b>x</b>", "hello chat")
    order = np.argsort(times)
    sent = pd.DataFrame({"time": times[order], "comment_id": np.arange(360), "user": [f"u{u}" for u in users[order]],
                         "message": msgs[order], "emotes": np.where(msgs[order] != "hello chat", "KEKW", ""),
                         "is_filtered": False, "excitement": 0.2, "funny": np.where(msgs[order] != "hello chat", 0.8, 0.0),
                         "happiness": 0.1, "anger": 0.0, "sadness": 0.0, "neutral": 0.3})
    sent.to_csv(tmp / "s.csv", index=False)
    sec = np.floor(sent["time"]).astype(int)
    msg = np.bincount(sec, minlength=n).astype(float)
    tl = pd.DataFrame({"time": t, "messages": msg, "unique_chatters": msg})
    z = (msg - np.median(msg)) / 1.0
    tl["messages_z"], tl["unique_chatters_z"] = z, z
    tl.to_csv(tmp / "t.csv", index=False)
    words = pd.DataFrame({"start_time": [201.0, 201.5, 202.0], "end_time": [201.4, 201.9, 202.4],
                          "word": ["no", "way", "dude"], "punctuated_word": ["No", "way,", "dude!"], "confidence": 0.9})
    words.to_csv(tmp / "w.csv", index=False)
    data = []
    for k in range(n * 10):
        a = int(min(127, 20 + 100 * (200 <= k / 10 < 208)))
        data += [-a, a]
    write_json(tmp / "peaks.json", {"version": 2, "channels": 1, "sample_rate": 16000, "samples_per_pixel": 1600,
                                    "bits": 8, "length": n * 10, "data": data})
    return {"chat_timeline_csv": tmp / "t.csv", "chat_sentiment_csv": tmp / "s.csv", "audio_features_csv": tmp / "f.csv",
            "words_csv": tmp / "w.csv"}


def test_reduce_waveform_keeps_extremes():
    peaks = {"channels": 1, "sample_rate": 100, "samples_per_pixel": 10, "bits": 8,
             "data": [-1, 1, -5, 3, -2, 9, 0, 0, -7, 2]}
    red = reduce_waveform(peaks, max_points=2)  # 5 pairs -> groups of 3 (last padded with itself)
    assert red["data"] == [-5, 9, -7, 2]
    assert red["seconds_per_point"] == pytest.approx(0.3)


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


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_report_renders_in_headless_chromium(tmp_path):
    import httpx

    inputs = _inputs(tmp_path)
    doc = integrate("browser_vod", tmp_path / "a.json", title="Browser <test> VOD", twitch_url="https://www.twitch.tv/videos/42",
                    params={"top_n": 3}, **inputs)
    assert len(doc["highlights"]) > 3, "fixture must yield headline highlights and further candidates"
    html_path = render_report(tmp_path / "a.json", tmp_path / "report.html", waveform_json=tmp_path / "peaks.json")
    text = html_path.read_text(encoding="utf-8")
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "<link" not in text
    assert text.count("</script>") == 2  # the chat's "</script>" was escaped inside the JSON

    profile = tmp_path / "profile"
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.is_file() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t.get("type") == "page")
        dt = DevTools(page["webSocketDebuggerUrl"])
        try:
            for domain in ("Runtime", "Log", "Page", "Network"):
                dt.call(f"{domain}.enable")
            dt.call("Emulation.setDeviceMetricsOverride", width=1400, height=1500, deviceScaleFactor=1, mobile=False)
            dt.call("Page.navigate", url=html_path.as_uri())
            dt.wait_event("Page.loadEventFired")
            dt.drain(0.5)
            rendered = dt.call("Runtime.evaluate", expression="document.body.dataset.rendered", returnByValue=True)
            cards = dt.call("Runtime.evaluate", expression="document.querySelectorAll('.card').length", returnByValue=True)
            spans = dt.call("Runtime.evaluate", expression="document.querySelectorAll('#timeline g.span').length",
                            returnByValue=True)
            rows = dt.call("Runtime.evaluate", expression="document.querySelectorAll('#cands tr').length", returnByValue=True)
            folded = dt.call("Runtime.evaluate", expression="document.getElementById('cands-more').open", returnByValue=True)
            wave = dt.call("Runtime.evaluate", expression="document.querySelectorAll('#timeline path').length",
                           returnByValue=True)
            first = dt.call("Runtime.evaluate", expression="document.querySelector('.card a').href", returnByValue=True)
            shot = dt.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        finally:
            dt.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

    png = base64.b64decode(shot["data"])
    (tmp_path / "report.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    if os.environ.get("KLIP_UPDATE_SCREENSHOT") == "1":  # refresh the README picture on request only
        (ROOT / "docs" / "report_screenshot.png").write_bytes(png)

    errors = [e for e in dt.events if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    assert errors == []
    fetched = [e["params"]["request"]["url"] for e in dt.events if e.get("method") == "Network.requestWillBeSent"]
    assert all(u.startswith(("file:", "data:", "about:")) for u in fetched), fetched
    n = doc["summary"]["headline_count"]
    assert n == 3
    assert rendered["result"]["value"] == str(n)
    assert cards["result"]["value"] == n and spans["result"]["value"] == n
    # the candidates beyond the headline ones are listed, collapsed
    assert rows["result"]["value"] == len(doc["highlights"]) - n and folded["result"]["value"] is False
    assert wave["result"]["value"] >= 4  # waveform + three score lines
    top = doc["highlights"][0]
    assert 195 <= top["peak"] <= 215
    assert first["result"]["value"] == top["twitch_link"]
