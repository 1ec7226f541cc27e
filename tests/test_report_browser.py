"""The HTML report in a real headless browser (Debian chromium) driven over the DevTools protocol:
it renders the timeline and every highlight card, logs no console error or exception, fetches nothing
from the network, and a screenshot is kept in the pytest tmp dir. (The README's picture is made from the demo by
`python -m devtools.screenshot`, not from this test's VOD.)"""

from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path

import pytest

from klipstream.highlights import integrate
from klipstream.outputs.report import reduce_waveform, render_report
from klipstream.outputs.titles import titles_for
from tests.helpers.browser import CHROMIUM, FLAGS, DevTools, report_inputs

ROOT = Path(__file__).resolve().parents[1]


def test_reduce_waveform_keeps_extremes():
    peaks = {
        "channels": 1,
        "sample_rate": 100,
        "samples_per_pixel": 10,
        "bits": 8,
        "data": [-1, 1, -5, 3, -2, 9, 0, 0, -7, 2],
    }
    red = reduce_waveform(peaks, max_points=2)  # 5 pairs -> groups of 3 (last padded with itself)
    assert red["data"] == [-5, 9, -7, 2]
    assert red["seconds_per_point"] == pytest.approx(0.3)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
def test_report_renders_in_headless_chromium(tmp_path):
    import httpx

    inputs = report_inputs(tmp_path)
    doc = integrate(
        "browser_vod",
        tmp_path / "a.json",
        title="Browser <test> VOD",
        twitch_url="https://www.twitch.tv/videos/42",
        params={"top_n": 3},
        **inputs,
    )
    assert len(doc["highlights"]) > 3, "fixture must yield headline highlights and further candidates"
    html_path = render_report(tmp_path / "a.json", tmp_path / "report.html", waveform_json=tmp_path / "peaks.json")
    text = html_path.read_text(encoding="utf-8")
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "<link" not in text
    assert text.count("</script>") == 2  # the chat's "</script>" was escaped inside the JSON

    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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
            cards = dt.call(
                "Runtime.evaluate", expression="document.querySelectorAll('.card').length", returnByValue=True
            )
            spans = dt.call(
                "Runtime.evaluate",
                expression="document.querySelectorAll('#timeline g.span').length",
                returnByValue=True,
            )
            rows = dt.call(
                "Runtime.evaluate", expression="document.querySelectorAll('#cands tr').length", returnByValue=True
            )
            folded = dt.call(
                "Runtime.evaluate", expression="document.getElementById('cands-more').open", returnByValue=True
            )
            wave = dt.call(
                "Runtime.evaluate", expression="document.querySelectorAll('#timeline path').length", returnByValue=True
            )
            first = dt.call("Runtime.evaluate", expression="document.querySelector('.card a').href", returnByValue=True)
            named = dt.call(
                "Runtime.evaluate",
                expression="[...document.querySelectorAll('.card h4.title')].map((e) => e.textContent)",
                returnByValue=True,
            )
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

    errors = [
        e
        for e in dt.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]
    assert errors == []
    fetched = [e["params"]["request"]["url"] for e in dt.events if e.get("method") == "Network.requestWillBeSent"]
    assert all(u.startswith(("file:", "data:", "about:")) for u in fetched), fetched
    n = doc["summary"]["headline_count"]
    assert n == 3
    assert rendered["result"]["value"] == str(n)
    assert cards["result"]["value"] == n and spans["result"]["value"] == n
    # each card is titled (outputs/titles.py: here the extractive titles, no titles file given)
    want = titles_for(doc)
    assert named["result"]["value"] == [want[h["rank"]]["title"] for h in doc["highlights"][:n]]
    # the candidates beyond the headline ones are listed, collapsed
    assert rows["result"]["value"] == len(doc["highlights"]) - n and folded["result"]["value"] is False
    assert wave["result"]["value"] >= 4  # waveform + three score lines
    top = doc["highlights"][0]
    assert 195 <= top["peak"] <= 215
    assert first["result"]["value"] == top["twitch_link"]
