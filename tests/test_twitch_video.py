"""Video: local import with ffmpeg, and yt-dlp's real Twitch extractor against a loopback GQL + usher + HLS stub,
reached through the configurable Twitch endpoints (klipstream.twitch.endpoints), as a workflow run would."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from klipstream.errors import KlipError  # noqa: E402
from klipstream.media import ffmpeg_exe  # noqa: E402
from klipstream.twitch import video as twitch_video  # noqa: E402
from klipstream.twitch.endpoints import TwitchEndpoints  # noqa: E402
from klipstream.twitch.video import download_audio_only, download_twitch_video, format_selector  # noqa: E402
from klipstream.video import import_local_video, probe_codecs  # noqa: E402
from tests.helpers.media import pattern_video
from tests.helpers.twitch_stub import Stub, make_hls  # noqa: E402

VOD = "123456789"
SIZES = {
    "1080p60": (1920, 1080),
    "720p60": (1280, 720),
    "480p30": (852, 480),
    "160p30": (284, 160),
    "audio_only": (0, 0),
}


@pytest.fixture(scope="module")
def hls(tmp_path_factory):
    return make_hls(tmp_path_factory.mktemp("hls"), ffmpeg_exe(), SIZES, seconds=2.0)


@pytest.fixture
def twitch(hls):
    stub = Stub(vod_id=VOD, duration=2, hls_dir=hls)
    base = stub.start()
    stub.server_url = base
    stub.endpoints = TwitchEndpoints(gql_url=base + "/gql", usher_url=base)
    yield stub
    stub.stop()


def _fetched(stub):
    return sorted({r["path"].split("/")[2] for r in stub.requests if r["path"].startswith("/hls/")})


def test_download_720p_with_metadata(twitch, tmp_path):
    dst, meta = tmp_path / "videos" / f"video_{VOD}.mp4", tmp_path / f"{VOD}_metadata.json"
    res = download_twitch_video(
        f"https://www.twitch.tv/videos/{VOD}?t=5s", dst, meta, quality="720p", bin_dir=None, endpoints=twitch.endpoints
    )
    assert probe_codecs(dst) == {"video": "h264", "audio": "aac", "height": 720}
    assert _fetched(twitch) == ["720p60"]
    doc = json.loads(meta.read_text())
    assert doc == res
    assert {k: doc[k] for k in ("vod_id", "title", "streamer", "duration", "created_at", "backend", "format")} == {
        "vod_id": VOD,
        "title": "Stub stream",
        "streamer": "StubStreamer",
        "duration": 2.0,
        "created_at": "2024-01-01T00:00:00Z",
        "backend": "yt-dlp",
        "format": "720p60",
    }
    # the playback token was requested and passed to usher
    usher = [r for r in twitch.requests if r["path"] == f"/vod/{VOD}.m3u8"]
    assert usher and usher[0]["query"]["sig"] == ["0" * 40]
    assert sorted(p.name for p in dst.parent.iterdir()) == [dst.name]  # partial folder removed


def test_falls_back_to_nearest_lower_rendition(twitch, tmp_path):
    twitch.renditions = ["1080p60", "480p30", "160p30", "audio_only"]
    dst = tmp_path / "v.mp4"
    res = download_twitch_video(VOD, dst, None, quality="720p", bin_dir=None, endpoints=twitch.endpoints)
    assert res["height"] == 480 and probe_codecs(dst)["height"] == 480 and _fetched(twitch) == ["480p30"]


def test_nothing_lower_takes_the_smallest_above(twitch, tmp_path):
    twitch.renditions = ["1080p60", "720p60", "audio_only"]
    res = download_twitch_video(VOD, tmp_path / "v.mp4", None, quality="360p", bin_dir=None, endpoints=twitch.endpoints)
    assert res["height"] == 720


def test_audio_only_fast_path(twitch, tmp_path):
    wav = tmp_path / "audio.wav"
    download_audio_only(VOD, wav, tmp_path / "m.json", endpoints=twitch.endpoints)
    assert _fetched(twitch) == ["audio_only"]
    with wave.open(str(wav)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1
        assert abs(w.getnframes() / 16000 - 2.0) < 0.2


def test_sub_only_missing_and_non_twitch(twitch, tmp_path):
    twitch.sub_only = True
    with pytest.raises(KlipError, match=rf"Twitch VOD {VOD} is sub-only") as e:
        download_twitch_video(
            VOD, tmp_path / "v.mp4", tmp_path / "m.json", bin_dir=None, retries=0, endpoints=twitch.endpoints
        )
    assert "\n" not in str(e.value) and not (tmp_path / "v.mp4").exists() and not (tmp_path / "m.json").exists()
    twitch.sub_only, twitch.missing = False, True
    with pytest.raises(KlipError, match=rf"Twitch VOD {VOD} not found"):
        download_twitch_video(VOD, tmp_path / "v.mp4", None, bin_dir=None, retries=0, endpoints=twitch.endpoints)
    with pytest.raises(KlipError, match="not a Twitch VOD URL"):
        download_twitch_video(
            "https://www.youtube.com/watch?v=abc", tmp_path / "v.mp4", None, endpoints=twitch.endpoints
        )


def test_format_selector():
    assert format_selector("720p").startswith("best[height<=720][vcodec!=none]")
    assert format_selector("480p30").startswith("best[height<=480]")
    assert format_selector("source") == "best[vcodec!=none]/best"
    with pytest.raises(KlipError, match="download.quality"):
        format_selector("ultra")


def _make(path: Path, vcodec: str, acodec: str) -> Path:
    return pattern_video(
        path,
        1,
        pattern="testsrc=size=160x120:rate=10",
        tone="sine=frequency=300:sample_rate=22050",
        vcodec=vcodec,
        acodec=acodec,
        extra=(),
    )


def test_import_local_copy_remux_transcode(tmp_path):
    mp4 = _make(tmp_path / "a.mp4", "libx264", "aac")
    assert import_local_video(mp4, tmp_path / "o1.mp4") == {"mode": "copy"}
    assert (tmp_path / "o1.mp4").read_bytes() == mp4.read_bytes()
    mkv = _make(tmp_path / "b.mkv", "libx264", "aac")
    assert import_local_video(mkv, tmp_path / "o2.mp4", tmp_path / "m.json", vod_id="demo1", title="Demo") == {
        "mode": "remux"
    }
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["vod_id"] == "demo1" and meta["title"] == "Demo" and meta["backend"] == "local"
    assert meta["height"] == 120 and abs(meta["duration"] - 1.0) < 0.1 and meta["url"] is None
    assert probe_codecs(tmp_path / "o2.mp4") == {"video": "h264", "audio": "aac", "height": 120}
    avi = _make(tmp_path / "c.avi", "mpeg4", "libmp3lame")
    assert import_local_video(avi, tmp_path / "o3.mp4") == {"mode": "transcode"}
    assert probe_codecs(tmp_path / "o3.mp4") == {"video": "h264", "audio": "aac", "height": 120}


def test_import_local_errors(tmp_path):
    with pytest.raises(KlipError, match="video file not found: .*nope.mp4"):
        import_local_video(tmp_path / "nope.mp4", tmp_path / "o.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(KlipError, match="not a readable video file: .*junk.mp4"):
        import_local_video(junk, tmp_path / "o.mp4")
    assert not (tmp_path / "o.mp4").exists()


def test_interrupted_download_resumes(twitch, tmp_path):
    hls_dir = twitch.hls_dir / "720p60"
    segments = sorted(p.name for p in hls_dir.glob("*.ts"))
    assert len(segments) >= 2
    twitch.broken_paths = {f"/hls/720p60/{segments[1]}"}
    dst = tmp_path / "v.mp4"
    with pytest.raises(KlipError, match=f"Twitch VOD {VOD}"):
        download_twitch_video(VOD, dst, None, bin_dir=None, retries=0, endpoints=twitch.endpoints)
    assert not dst.exists() and (tmp_path / ".v.mp4.partial").is_dir()
    twitch.broken_paths = set()
    download_twitch_video(VOD, dst, None, bin_dir=None, retries=0, endpoints=twitch.endpoints)
    first = [r for r in twitch.requests if r["path"] == f"/hls/720p60/{segments[0]}"]
    assert len(first) == 1  # the second run resumed after the fragment it already had
    assert probe_codecs(dst)["height"] == 720 and not (tmp_path / ".v.mp4.partial").exists()


def test_twitchdownloader_backend(twitch, tmp_path, monkeypatch):
    """backend=auto picks TwitchDownloaderCLI from bin/; metadata then comes from the GQL info query."""
    src = _make(tmp_path / "src.mp4", "libx264", "aac")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "TwitchDownloaderCLI"
    exe.write_text(
        '#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\nwhile [ "$1" != "-o" ]; do shift; done\n'
        f'echo "[STATUS] - Downloading 50%"\ncp "{src}" "$2"\n'
    )
    exe.chmod(0o755)
    dst, meta = tmp_path / "v.mp4", tmp_path / "m.json"
    # The CLI only ever talks to Twitch's own hosts, so it runs with the default endpoints; the metadata request
    # it is preceded by is answered by the stand-in.
    monkeypatch.setattr(twitch_video, "vod_info", lambda vod_id, endpoints, timeout: fetch_info(twitch))
    res = download_twitch_video(VOD, dst, meta, quality="source", bin_dir=bin_dir)
    assert (bin_dir / "args").read_text().split()[:7] == [
        "videodownload",
        "--id",
        VOD,
        "-o",
        str(tmp_path / ".v.mp4.partial" / "download.mp4"),
        "-q",
        "Source",
    ]
    assert dst.read_bytes() == src.read_bytes()
    assert res["backend"] == "twitchdownloader" and res["streamer"] == "StubStreamer" and res["duration"] == 2.0
    assert json.loads(meta.read_text())["title"] == "Stub stream"
    with pytest.raises(KlipError, match="TwitchDownloaderCLI is not in"):
        download_twitch_video(VOD, dst, meta, backend="twitchdownloader", bin_dir=tmp_path / "none")
    with pytest.raises(KlipError, match="TwitchDownloaderCLI cannot be pointed at the Twitch endpoints"):
        download_twitch_video(VOD, dst, meta, backend="twitchdownloader", bin_dir=bin_dir, endpoints=twitch.endpoints)
    # auto does not pick the CLI while the endpoints are redirected: yt-dlp downloads from the stand-in
    assert download_twitch_video(VOD, dst, meta, bin_dir=bin_dir, endpoints=twitch.endpoints)["backend"] == "yt-dlp"


def fetch_info(stub):
    from klipstream.twitch.gql import GqlClient, fetch_video_info

    with GqlClient(stub.endpoints.gql_url) as client:
        return fetch_video_info(client, VOD)
