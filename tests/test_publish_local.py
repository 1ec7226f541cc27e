"""Publishing to the embedded default store: a local folder laid out like the buckets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from klipstream import status
from klipstream.errors import KlipError
from klipstream.publish import content_type, plan, publish_vod
from klipstream.publish.checksums import file_checksums, matches
from klipstream.settings import DEFAULT_BUCKETS
from tests.helpers.publish_stubs import SECRET, ConvexStub, clean_env

VOD = "1087079172"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    clean_env(monkeypatch, tmp_path)


@pytest.fixture
def chat_only(tmp_path):
    """A chat-only VOD: no video, audio or transcript kinds at all."""
    d = tmp_path / "work"
    d.mkdir()
    (d / f"{VOD}_chat.json").write_text('{"comments": [{"content_offset_seconds": 1.5}]}\n')
    (d / f"{VOD}_chat_timeline.csv").write_text("time,messages\n0,3\n1,5\n")
    (d / f"{VOD}_highlight_analysis.csv").write_text("rank,start_time\n1,12.0\n")
    return {
        "chat_json": str(d / f"{VOD}_chat.json"),
        "chat_timeline_csv": str(d / f"{VOD}_chat_timeline.csv"),
        "chat_highlights_csv": str(d / f"{VOD}_highlight_analysis.csv"),
        "video": None,
        "audio": None,
    }


def _md5(path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def test_layout_manifest_and_status(chat_only, tmp_path):
    manifest = publish_vod(VOD, chat_only, "output/publish/m.json", status_dir="output/status")
    root = tmp_path / "output" / "buckets"
    expected = {
        root / "klipstream-chatlogs" / VOD / f"{VOD}_chat.json": chat_only["chat_json"],
        root / "klipstream-analysis" / VOD / f"{VOD}_chat_timeline.csv": chat_only["chat_timeline_csv"],
        root / "klipstream-analysis" / VOD / f"{VOD}_highlight_analysis.csv": chat_only["chat_highlights_csv"],
    }
    assert {p for p in root.rglob("*") if p.is_file()} == set(expected)
    for dst, src in expected.items():
        assert dst.read_bytes() == Path(src).read_bytes()
    on_disk = json.loads((tmp_path / "output" / "publish" / "m.json").read_text())
    assert on_disk == manifest and on_disk["backend"] == "local" and on_disk["root"] == str(root)
    obj = {o["kind"]: o for o in on_disk["objects"]}
    assert obj["chat_json"]["md5_hex"] == _md5(chat_only["chat_json"])
    assert obj["chat_json"]["size"] == Path(chat_only["chat_json"]).stat().st_size
    assert obj["chat_json"]["uri"] == (root / "klipstream-chatlogs" / VOD / f"{VOD}_chat.json").as_uri()
    assert set(on_disk["urls"]) == {"chatUrl", "chatTimelineUrl", "chatHighlightsUrl"}
    doc = status.read(VOD, tmp_path / "output" / "status")
    assert doc["status"] == "Completed" and doc["urls"] == on_disk["urls"]
    assert doc["publish"]["objects"] == 3


def test_rerun_skips_and_changed_file_is_copied_again(chat_only, tmp_path):
    first = publish_vod(VOD, chat_only, "m.json")
    assert first["run"]["uploaded"] == 3
    again = publish_vod(VOD, chat_only, "m.json")
    assert (again["run"]["uploaded"], again["run"]["skipped"]) == (0, 3)
    Path(chat_only["chat_timeline_csv"]).write_text("time,messages\n0,4\n1,5\n")  # same size, new bytes
    third = publish_vod(VOD, chat_only, "m.json")
    assert (third["run"]["uploaded"], third["run"]["skipped"]) == (1, 2)
    dst = tmp_path / "output/buckets/klipstream-analysis" / VOD / f"{VOD}_chat_timeline.csv"
    assert dst.read_text() == "time,messages\n0,4\n1,5\n"


def test_missing_file_fails_with_its_name_and_no_manifest(chat_only, tmp_path):
    missing = Path(chat_only["chat_timeline_csv"])
    text = missing.read_text()
    missing.unlink()
    with pytest.raises(KlipError) as info:
        publish_vod(VOD, chat_only, "m.json")
    assert str(info.value) == (
        f"publish {VOD}: 1 of 3 objects failed, manifest not written; first: chat_timeline_csv "
        f"{missing} -> klipstream-analysis/{VOD}/{VOD}_chat_timeline.csv: file not found: {missing}"
    )
    assert not (tmp_path / "m.json").exists()
    assert len([p for p in (tmp_path / "output/buckets").rglob("*") if p.is_file()]) == 2
    assert not list((tmp_path / "output/buckets").rglob(".*"))  # no temp files left behind
    missing.write_text(text)
    assert publish_vod(VOD, chat_only, "m.json")["run"]["uploaded"] == 1


def test_plan_names_buckets_and_rejects_bad_input(tmp_path):
    items = plan(
        "9",
        {
            "video": "x/video_9.mp4",
            "segments_csv": "t/audio_9_segments.csv",
            "clips": ["c/clip_1.mp4", "c/clip_2.mp4"],
            "plots": "a/9_loudness.png",
            "audio_sentiment_csv": "a/9_sentiment.csv",
        },
        DEFAULT_BUCKETS,
    )
    got = {(i.kind, i.bucket, i.name, i.url_field) for i in items}
    assert got == {
        ("video", "klipstream-vods-raw", "9/video_9.mp4", "videoUrl"),
        ("segments_csv", "klipstream-transcripts", "9/audio_9_segments.csv", "transcriptUrl"),
        ("clips", "klipstream-analysis", "9/clips/clip_1.mp4", None),
        ("clips", "klipstream-analysis", "9/clips/clip_2.mp4", None),
        ("plots", "klipstream-analysis", "9/9_loudness.png", None),
        ("audio_sentiment_csv", "klipstream-analysis", "9/9_sentiment.csv", "transcriptAnalysisUrl"),
    }
    with pytest.raises(KlipError, match="unknown file kind 'subtitles'"):
        plan("9", {"subtitles": "s.vtt"}, DEFAULT_BUCKETS)
    with pytest.raises(KlipError, match="both map to gs://klipstream-analysis/9/x.csv"):
        plan("9", {"chat_timeline_csv": "a/x.csv", "audio_features_csv": "b/x.csv"}, DEFAULT_BUCKETS)
    with pytest.raises(KlipError, match="invalid VOD id"):
        plan("../9", {"video": "v.mp4"}, DEFAULT_BUCKETS)
    with pytest.raises(KlipError, match="no files to publish"):
        publish_vod("9", {"video": None}, tmp_path / "m.json")


def test_content_types():
    assert [content_type(n) for n in ("a.mp4", "a.WAV", "a.json", "a.csv", "a.html", "a.png", "a.bin")] == [
        "video/mp4",
        "audio/wav",
        "application/json",
        "text/csv; charset=utf-8",
        "text/html; charset=utf-8",
        "image/png",
        "application/octet-stream",
    ]


def test_checksums_match_hand_computed(tmp_path):
    p = tmp_path / "hello.txt"
    p.write_bytes(b"hello")
    sums = file_checksums(p)
    # md5("hello") and crc32c("hello") = 0x9a71bb4c, base64 as Cloud Storage reports them
    assert (sums.size, sums.md5, sums.crc32c) == (5, "XUFAKrxLKna5cZ2REBfFkg==", "mnG7TA==")
    assert sums.md5_hex == "5d41402abc4b2a76b9719d911017c592"
    assert matches(sums, 5, None, "mnG7TA==")  # composite objects: CRC32C alone decides
    assert not matches(sums, 5, "XUFAKrxLKna5cZ2REBfFkg==", "AAAAAA==")
    assert not matches(sums, 6, sums.md5, sums.crc32c)
    assert not matches(sums, 5, None, None)


def test_base_dir_and_public_base_url_make_pushable_urls(chat_only, tmp_path, monkeypatch):
    monkeypatch.setenv("BASE_DIR", str(tmp_path / "base"))
    cfg = {"publish": {"public_base_url": "https://files.example.org/klip"}}
    with ConvexStub() as stub:
        monkeypatch.setenv("CONVEX_URL", stub.url)
        monkeypatch.setenv("CONVEX_API_KEY", SECRET)
        manifest = publish_vod(VOD, chat_only, tmp_path / "m.json", config=cfg, status_dir=tmp_path / "st")
    assert (tmp_path / "base/output/buckets/klipstream-chatlogs" / VOD / f"{VOD}_chat.json").is_file()
    assert manifest["urls"]["chatUrl"] == f"https://files.example.org/klip/klipstream-chatlogs/{VOD}/{VOD}_chat.json"
    pushed = {k: v for b in stub.calls("video:updateUrls") for k, v in b["args"]["urls"].items()}
    assert pushed == manifest["urls"]


def test_file_urls_are_recorded_but_not_pushed(chat_only, tmp_path, monkeypatch):
    with ConvexStub() as stub:
        monkeypatch.setenv("CONVEX_URL", stub.url)
        manifest = publish_vod(VOD, chat_only, tmp_path / "m.json", status_dir=tmp_path / "st")
    assert stub.calls("video:updateUrls") == []
    assert [b["args"]["status"] for b in stub.calls()] == ["Completed"]
    assert status.read(VOD, tmp_path / "st")["urls"] == manifest["urls"]
    assert all(u.startswith("file://") for u in manifest["urls"].values())


def test_env_bucket_names_fill_what_the_config_lacks(chat_only, tmp_path, monkeypatch):
    """The config a library caller gives is the resolved one (the workflow folds the environment in where it
    starts); a deployment override fills only keys it lacks."""
    monkeypatch.setenv("GCS_CHATLOG_BUCKET", "my-chat")
    cfg = {"publish": {"buckets": {"analysis": "cfg-analysis"}}}
    manifest = publish_vod(VOD, chat_only, tmp_path / "m.json", config=cfg, status_dir=tmp_path / "st")
    assert sorted({o["bucket"] for o in manifest["objects"]}) == ["cfg-analysis", "my-chat"]
    cfg["publish"]["buckets"]["chatlogs"] = "cfg-chat"
    manifest = publish_vod(VOD, chat_only, tmp_path / "m2.json", config=cfg, status_dir=tmp_path / "st")
    assert sorted({o["bucket"] for o in manifest["objects"]}) == ["cfg-analysis", "cfg-chat"]


def test_called_like_the_rule_script_with_a_clips_folder(chat_only, tmp_path):
    """scripts/publish_upload.py passes config["publish"] as keyword options and the clips folder."""
    clips = tmp_path / "output" / "clips" / VOD
    clips.mkdir(parents=True)
    (clips / "clip_01.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100))
    (clips / f"{VOD}_clips.json").write_text('[{"rank": 1, "file": "clip_01.mp4"}]')
    (clips / ".partial.mp4").write_bytes(b"x")  # hidden temp files are not published
    files = {**chat_only, "clips_dir": str(clips)}
    manifest = publish_vod(
        VOD,
        files,
        tmp_path / "m.json",
        status_dir=str(tmp_path / "st"),
        backend="auto",
        local_root="pub",
        workers=2,
        buckets={"raw": "r", "transcripts": "t", "chatlogs": "c", "analysis": "a"},
    )
    names = sorted((o["bucket"], o["name"]) for o in manifest["objects"])
    assert names == [
        ("a", f"{VOD}/{VOD}_chat_timeline.csv"),
        ("a", f"{VOD}/{VOD}_highlight_analysis.csv"),
        ("a", f"{VOD}/clips/{VOD}_clips.json"),
        ("a", f"{VOD}/clips/clip_01.mp4"),
        ("c", f"{VOD}/{VOD}_chat.json"),
    ]
    assert (tmp_path / "pub" / "a" / VOD / "clips" / "clip_01.mp4").is_file()
    assert manifest["urls"]["clipsUrl"].endswith(f"/pub/a/{VOD}/clips/{VOD}_clips.json")


def _folder(path: Path, names: list[str]) -> str:
    path.mkdir(parents=True, exist_ok=True)
    for old in path.iterdir():
        old.unlink()
    for name in names:
        (path / name).write_bytes(name.encode())
    return str(path)


def test_a_published_folder_mirrors_the_folder_after_top_k_is_lowered(chat_only, tmp_path):
    """clips.top_k 5 -> 2: the bucket's clips/ and vertical/ keep 01 and 02 only; other VODs, other folders and
    single-file objects are left alone."""
    work = tmp_path / "output"
    five = [f"{VOD}_{i:02d}.mp4" for i in range(1, 6)]
    files = {
        **chat_only,
        "clips_dir": _folder(work / "clips" / VOD, ["clips.json", *five]),
        "vertical_dir": _folder(work / "exports" / VOD / "vertical", ["vertical.json", *five]),
        "clip_captions_dir": _folder(work / "exports" / VOD / "captions", ["captions.json", f"{VOD}_01.srt"]),
    }
    first = publish_vod(VOD, files, "m.json")
    assert first["run"]["removed"] == 0
    root = tmp_path / "output" / "buckets" / "klipstream-analysis"
    other = root / "999" / "clips" / "999_03.mp4"  # another VOD's clip, published before
    other.parent.mkdir(parents=True)
    other.write_bytes(b"other")

    _folder(work / "clips" / VOD, ["clips.json", *five[:2]])
    _folder(work / "exports" / VOD / "vertical", ["vertical.json", *five[:2]])
    second = publish_vod(VOD, files, "m.json")

    def stored(folder):
        return sorted(p.name for p in (root / VOD / folder).iterdir())

    assert stored("clips") == sorted([*five[:2], "clips.json"])
    assert stored("vertical") == sorted([*five[:2], "vertical.json"])
    assert stored("captions") == [f"{VOD}_01.srt", "captions.json"]
    assert other.read_bytes() == b"other"
    assert (root / VOD / f"{VOD}_chat_timeline.csv").is_file()
    assert second["run"]["removed"] == 6 and second["run"]["uploaded"] == 0
    listed = {o["name"] for o in second["objects"]}
    assert {n for n in listed if "/clips/" in n} == {f"{VOD}/clips/{n}" for n in ["clips.json", *five[:2]]}

    # A folder not given this run (its export turned off) is not touched.
    del files["vertical_dir"]
    assert publish_vod(VOD, files, "m.json")["run"]["removed"] == 0
    assert stored("vertical") == sorted([*five[:2], "vertical.json"])
