"""The report plays its moments in a real headless browser (Debian chromium over the DevTools protocol): a click on
a card plays its clip inline (the video element reports `playing` at the clip's time), the keyboard moves to a
moment beyond the clips and plays the full video from that moment's start, and a VOD without a video opens
Twitch at ?t= (window.open is recorded, not followed: tests stay off the network). Media are linked relatively
(../clips/{vod}/, ../raw/videos/), so the output folder can be zipped."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from klipstream.highlights import integrate
from klipstream.outputs.clips import cut_clips
from klipstream.outputs.report import render_report
from tests.helpers.browser import CHROMIUM, FLAGS, DevTools, report_inputs
from tests.helpers.media import pattern_video

VOD = "play_vod"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """output/ laid out as the workflow lays it: a 10-minute video, its top 2 clips, the report."""
    tmp = tmp_path_factory.mktemp("play")
    out = tmp / "output"
    doc = integrate(
        VOD,
        out / "analysis" / f"{VOD}_integrated_analysis.json",
        title="Play test",
        twitch_url="https://www.twitch.tv/videos/42",
        params={},
        **report_inputs(tmp),
    )
    video = out / "raw" / "videos" / f"video_{VOD}.mp4"
    pattern_video(
        video, 600, extra=("-preset", "ultrafast", "-g", "20", "-pix_fmt", "yuv420p", "-movflags", "+faststart")
    )
    clips = cut_clips(
        video, out / "analysis" / f"{VOD}_integrated_analysis.json", out / "clips" / VOD, top_k=2, preset="ultrafast"
    )
    html = render_report(
        out / "analysis" / f"{VOD}_integrated_analysis.json",
        out / "report" / f"{VOD}.html",
        clips_dir=out / "clips" / VOD,
        video=video,
    )
    return doc, clips, html


def test_report_links_media_relatively(built):
    doc, clips, html = built
    text = html.read_text(encoding="utf-8")
    assert f'"src":"../clips/{VOD}/{clips["clips"][0]["file"]}"' in text
    assert f'"video":"../raw/videos/video_{VOD}.mp4"' in text
    assert str(html.parent.parent) not in text  # nothing absolute: the folder can move


class Browser:
    def __init__(self, tmp: Path):
        profile = tmp / "profile"
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import httpx

        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.is_file() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        page = next(
            t for t in httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json() if t.get("type") == "page"
        )
        self.dt = DevTools(page["webSocketDebuggerUrl"])
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.dt.call(f"{domain}.enable")
        self.dt.call("Emulation.setDeviceMetricsOverride", width=1400, height=900, deviceScaleFactor=1, mobile=False)

    def open(self, url: str):
        self.dt.call("Page.navigate", url=url)
        self.dt.wait_event("Page.loadEventFired")
        self.dt.drain(0.3)

    def js(self, expression: str):
        result = self.dt.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str):
        """A real mouse click (a user gesture, as a person's) in the middle of `selector`."""
        box = self.js(
            f"(() => {{ const e = document.querySelector({selector!r}); e.scrollIntoView({{block: 'center'}});"
            " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.dt.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def key(self, key: str, code: str, keycode: int):
        for kind in ("keyDown", "keyUp"):
            self.dt.call(
                "Input.dispatchKeyEvent",
                type=kind,
                key=key,
                code=code,
                windowsVirtualKeyCode=keycode,
                text=key if kind == "keyDown" and len(key) == 1 else "",
            )

    def wait_for(self, expression: str, timeout: float = 20.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = self.js(expression)
            if value:
                return value
            self.dt.drain(0.2)
        raise AssertionError(f"timed out waiting for {expression}")

    def errors(self) -> list:
        return [
            e
            for e in self.dt.events
            if e.get("method") == "Runtime.exceptionThrown"
            or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
            or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
        ]

    def close(self):
        self.dt.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium not installed")
    b = Browser(tmp_path)
    yield b
    b.close()


STATE = (
    "(() => {{ const c = document.querySelector({sel!r}); const v = c.querySelector('video');"
    " return {{state: c.dataset.state || '', paused: v.paused, t: v.currentTime, ready: v.readyState,"
    " src: v.currentSrc, selected: c.classList.contains('selected')}}; }})()"
)


def test_clicking_a_card_plays_its_clip(built, browser):
    doc, clips, html = built
    first = clips["clips"][0]
    browser.open(html.as_uri())
    assert browser.js("document.querySelectorAll('#cards .card video').length") == 2
    assert browser.js("document.querySelectorAll('#more-cards .card').length") == len(doc["highlights"]) - 2
    browser.click(f"#hl-{first['rank']} h3")
    browser.wait_for(
        f"document.querySelector('#hl-{first['rank']}').dataset.state === 'playing'"
        f" && document.querySelector('#hl-{first['rank']} video').currentTime > 0.5"
    )
    state = browser.js(STATE.format(sel=f"#hl-{first['rank']}"))
    assert state["paused"] is False and state["ready"] >= 2 and state["selected"]
    assert state["src"].endswith(f"/output/clips/{VOD}/{first['file']}")
    assert 0.5 < state["t"] < first["duration"]  # clip time: the clip starts at the moment's start

    # the keyboard: j moves to the next moment (rank 2, a clip), j again to rank 3 (beyond the clips: full video)
    browser.key("j", "KeyJ", 74)
    browser.key("j", "KeyJ", 74)
    third = doc["highlights"][2]
    assert browser.js(f"document.querySelector('#hl-{third['rank']}').classList.contains('selected')")
    browser.key("Enter", "Enter", 13)
    browser.wait_for(f"document.querySelector('#hl-{third['rank']}').dataset.state === 'playing'")
    state = browser.js(STATE.format(sel=f"#hl-{third['rank']}"))
    assert state["paused"] is False
    assert state["src"].split("#")[0].endswith(f"/output/raw/videos/video_{VOD}.mp4")
    assert third["start"] - 0.5 <= state["t"] <= third["start"] + 3.0  # the full video, seeked to the moment
    assert browser.js(f"document.querySelector('#hl-{first['rank']} video').paused")  # one plays at a time

    browser.key("Escape", "Escape", 27)
    browser.wait_for(f"document.querySelector('#hl-{third['rank']} video').paused")
    assert browser.errors() == []
    fetched = [
        e["params"]["request"]["url"] for e in browser.dt.events if e.get("method") == "Network.requestWillBeSent"
    ]
    assert all(u.startswith(("file:", "data:", "about:")) for u in fetched), fetched


def test_without_a_video_a_card_opens_twitch_at_the_moment(built, browser, tmp_path):
    doc, _, _ = built
    html = render_report(
        built[2].parent.parent / "analysis" / f"{VOD}_integrated_analysis.json", tmp_path / "report.html"
    )
    browser.open(html.as_uri())
    assert browser.js("document.querySelectorAll('video').length") == 0
    top = doc["highlights"][0]
    # no network from tests: record what the page opens instead of letting the browser reach Twitch
    browser.js("window.open = (url, target) => { window.__opened = [url, target]; return null; }")
    browser.click(f"#hl-{top['rank']} h3")
    assert browser.wait_for("window.__opened") == [top["twitch_link"], "_blank"]
    assert "?t=" in top["twitch_link"]
