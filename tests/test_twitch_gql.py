"""Chat download through the real GQL client code against a loopback Twitch GQL stub."""

from __future__ import annotations

import json
import logging
import stat
from collections import deque
from pathlib import Path

import pytest

from klipstream.chat.io import read_chat_frame, read_chat_meta  # noqa: E402
from klipstream.errors import KlipError  # noqa: E402
from klipstream.twitch import comments as twitch_comments  # noqa: E402
from klipstream.twitch.chat import download_chat, split_ranges  # noqa: E402
from tests.helpers.twitch_stub import GOOD_CLIENT_ID, Stub  # noqa: E402

VOD = "123456789"


@pytest.fixture
def stub():
    s = Stub(vod_id=VOD, messages=1000, duration=600, page_size=37)
    url = s.start()
    s.url = url + "/gql"
    yield s
    s.stop()


def _get(stub, dst, **kw):
    kw.setdefault("backoff", 0.01)
    kw.setdefault("bin_dir", None)
    return download_chat(VOD, dst, gql_url=stub.url, **kw)


def _expected_ids(n):
    return [f"c{i:08d}" for i in range(n)]


def test_parallel_ranges_complete_ordered_with_emotes(stub, tmp_path):
    stub.latency = 0.01  # keep requests in flight long enough to overlap
    dst = tmp_path / "chat.json"
    res = _get(stub, dst, workers=4)
    assert res["comments"] == 1000 and res["backend"] == "gql"
    frame = read_chat_frame(dst)
    assert frame["comment_id"].tolist() == _expected_ids(1000)
    assert frame["time"].is_monotonic_increasing
    assert frame.loc[5, ["user", "message", "emotes"]].tolist() == ["User5", "message 5 LUL", "LUL"]
    assert frame.loc[6, "emotes"] == ""
    doc = json.loads(dst.read_text())
    c5 = doc["comments"][5]
    assert c5["message"]["fragments"][1] == {"text": "LUL", "emoticon": {"emoticon_id": "27"}}
    assert c5["message"]["emoticons"] == [{"_id": "27", "begin": 10, "end": 12}]
    assert c5["channel_id"] == "4242" and c5["commenter"]["name"] == "user5"
    meta = read_chat_meta(dst)
    assert meta["streamer"] == {"name": "StubStreamer", "id": 4242} and meta["video"]["length"] == 600
    comment_reqs = [r for r in stub.requests if isinstance(r["payload"], list)]
    assert {r["client_id"] for r in stub.requests} == {GOOD_CLIENT_ID}
    op = comment_reqs[0]["payload"][0]
    assert op["extensions"]["persistedQuery"]["sha256Hash"] == twitch_comments.COMMENTS_HASH
    # 16 ranges started by offset, the rest followed by cursor; more than one request in flight
    starts = sorted(r["payload"][0]["variables"].get("contentOffsetSeconds", -1) for r in comment_reqs)
    assert [s for s in starts if s >= 0] == [int(a) for a, _ in split_ranges(0, 600, 16)]
    assert stub.max_active > 1


def test_integrity_on_cursor_falls_back_to_offset_paging(stub, tmp_path, caplog):
    stub.integrity_on_cursor = True
    dst = tmp_path / "chat.json"
    with caplog.at_level(logging.WARNING):
        res = _get(stub, dst, workers=2)
    assert res["comments"] == 1000
    assert read_chat_frame(dst)["comment_id"].tolist() == _expected_ids(1000)
    assert "continuing with offset paging" in caplog.text


def test_offset_paging_only(stub, tmp_path):
    dst = tmp_path / "chat.json"
    _get(stub, dst, workers=1, paging="offset")
    assert read_chat_frame(dst)["comment_id"].tolist() == _expected_ids(1000)
    assert not any("cursor" in r["payload"][0]["variables"] for r in stub.requests if isinstance(r["payload"], list))


def test_429_and_5xx_are_retried(stub, tmp_path):
    stub.faults = deque([429, 503, 500])
    dst = tmp_path / "chat.json"
    res = _get(stub, dst, workers=1)
    assert res["comments"] == 1000
    # 1 info request + 28 pages of 37 (1000 = 27*37 + 1) + 3 failed attempts
    assert res["requests"] == 1 + 28 + 3


def test_persistent_5xx_gives_one_line_error(stub, tmp_path):
    stub.faults = deque([503] * 20)
    dst = tmp_path / "chat.json"
    with pytest.raises(KlipError, match=rf"VOD {VOD} chat at 0s after 3 attempts: HTTP 503") as e:
        _get(stub, dst, workers=1, max_retries=2)
    assert "\n" not in str(e.value) and not dst.exists()


def test_integrity_refusal_suggests_cli(stub, tmp_path):
    stub.integrity_always = True
    dst = tmp_path / "chat.json"
    with pytest.raises(KlipError, match=r"refused the chat request for VOD 123456789 .*TwitchDownloaderCLI"):
        _get(stub, dst, workers=3)
    assert not dst.exists() and [p for p in tmp_path.iterdir()] == []


def test_wrong_client_id_is_refused_on_cursor_but_offset_paging_still_works(stub, tmp_path):
    dst = tmp_path / "chat.json"
    res = _get(stub, dst, workers=2, client_id="kimne78kx3ncx6brgo4mv6wki5h1ko")
    assert res["comments"] == 1000


def test_empty_chat_and_missing_vod(tmp_path):
    s = Stub(vod_id=VOD, messages=0, duration=120)
    url = s.start() + "/gql"
    try:
        dst = tmp_path / "chat.json"
        assert download_chat(VOD, dst, gql_url=url, workers=4, bin_dir=None)["comments"] == 0
        assert json.loads(dst.read_text())["comments"] == [] and read_chat_frame(dst).empty
        s.missing = True
        with pytest.raises(KlipError, match=r"Twitch VOD 123456789 not found"):
            download_chat(VOD, tmp_path / "x.json", gql_url=url, bin_dir=None)
    finally:
        s.stop()


def test_metadata_json_saves_the_info_request(stub, tmp_path):
    meta = tmp_path / "m.json"
    meta.write_text(json.dumps({"title": "From video", "streamer": "S", "duration": 600, "created_at": "2024"}))
    dst = tmp_path / "chat.json"
    _get(stub, dst, workers=2, metadata_json=meta)
    assert not any(isinstance(r["payload"], dict) for r in stub.requests)
    assert read_chat_meta(dst)["video"]["title"] == "From video"


def test_split_ranges():
    assert split_ranges(0, 100, 4, min_length=10) == [(0, 25), (25, 50), (50, 75), (75, 100)]
    assert split_ranges(0, 100, 8, min_length=60) == [(0, 100)]
    assert split_ranges(0, 0, 8) == [(0, float("inf"))]


def _fake_cli(bin_dir: Path) -> Path:
    """A stand-in TwitchDownloaderCLI: writes a TwitchDownloader JSON with two comments to its -o path."""
    exe = bin_dir / "TwitchDownloaderCLI"
    doc = {
        "FileInfo": {"Version": {"Major": 1, "Minor": 4, "Patch": 0}},
        "streamer": {"name": "Cli", "id": 1},
        "video": {"title": "t", "length": 10},
        "comments": [
            {
                "_id": i,
                "content_offset_seconds": t,
                "commenter": {"display_name": "U"},
                "message": {"body": "hi", "fragments": [{"text": "hi", "emoticon": None}]},
            }
            for i, t in (("b", 5.0), ("a", 1.0))
        ],
    }
    exe.write_text(
        '#!/bin/sh\nwhile [ "$1" != "-o" ]; do shift; done\ncat > "$2" <<\'EOF\'\n' + json.dumps(doc) + "\nEOF\n"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


def test_cli_backend_and_auto_fallback(stub, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_cli(bin_dir)
    dst = tmp_path / "out" / "chat.json"
    res = download_chat(VOD, dst, backend="twitchdownloader", bin_dir=bin_dir, gql_url=stub.url)
    assert res == {"comments": 2, "backend": "twitchdownloader"}
    assert read_chat_frame(dst)["comment_id"].tolist() == ["a", "b"]
    stub.integrity_always = True
    res = download_chat(VOD, dst, backend="auto", bin_dir=bin_dir, gql_url=stub.url, backoff=0.01)
    assert res["backend"] == "twitchdownloader"
    with pytest.raises(KlipError, match="TwitchDownloaderCLI is not in"):
        download_chat(VOD, dst, backend="twitchdownloader", bin_dir=tmp_path / "none")
