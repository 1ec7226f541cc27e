"""Publishing to Cloud Storage for real, against `gcp-storage-emulator` on 127.0.0.1 started by this module,
with Convex URL/status pushes recorded by a stub: names, checksums, content types, reruns, injected failures."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
import time
from pathlib import Path

import google_crc32c
import pytest

from klipstream import status
from klipstream.errors import KlipError
from klipstream.publish import publish_vod
from klipstream.publish.gcs import GcsStore
from tests.helpers.publish_stubs import SECRET, ConvexStub, clean_env, emulator_command

pytestmark = pytest.mark.skipif(emulator_command() is None, reason="gcp-storage-emulator not installed")
VOD = "2434635255"


@pytest.fixture
def env(monkeypatch, tmp_path, emulator, request):
    clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.host)
    monkeypatch.setenv("USE_GCS", "true")
    prefix = "t" + hashlib.md5(request.node.name.encode()).hexdigest()[:10]
    return {
        "publish": {
            "buckets": {r: f"{prefix}-{r}" for r in ("raw", "transcripts", "chatlogs", "analysis")},
            "workers": 3,
            "attempts": 2,
            "backoff_s": 0.01,
            "timeout_s": 10,
            "chunk_size_mb": 0.25,
            "resumable_threshold_mb": 0.5,
        }
    }


def _write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def files(tmp_path):
    rnd = random.Random(7)
    raw, ana = tmp_path / "output" / "raw", tmp_path / "output" / "analysis"
    return {
        "video": _write(raw / "videos" / f"video_{VOD}.mp4", rnd.randbytes(1_300_000)),  # > threshold: resumable
        "audio": _write(raw / "audio" / f"audio_{VOD}.wav", rnd.randbytes(300_000)),
        "waveform_json": _write(raw / "waveforms" / f"audio_{VOD}_waveform.json", b'{"version": 2, "data": [0, 1]}'),
        "waveform_png": _write(
            raw / "waveforms" / f"audio_{VOD}_waveform.png", b"\x89PNG\r\n\x1a\n" + rnd.randbytes(500)
        ),
        "transcript_json": _write(raw / "transcripts" / f"audio_{VOD}_transcript.json", b'{"results": {}}'),
        "words_csv": _write(raw / "transcripts" / f"audio_{VOD}_words.csv", b"start_time,end_time,word\n0.1,0.4,hi\n"),
        "segments_csv": _write(raw / "transcripts" / f"audio_{VOD}_segments.csv", b"window_id,start_time\n0,0\n"),
        "chat_json": _write(raw / "chat" / f"{VOD}_chat.json", b'{"comments": []}'),
        "chat_sentiment_csv": _write(ana / "chat" / f"{VOD}_chat_sentiment.csv", b"time,sentiment_score\n1.0,0.5\n"),
        "audio_sentiment_csv": _write(ana / "audio" / f"{VOD}_sentiment.csv", b"window_id,highlight_score\n0,0.9\n"),
        "integrated_json": _write(ana / f"{VOD}_integrated_analysis.json", b'{"vod_id": "2434635255"}'),
        "report_html": _write(tmp_path / "output" / "report" / f"{VOD}.html", b"<html><body>r</body></html>"),
        "clips": [
            _write(tmp_path / "output" / "clips" / VOD / f"clip_{i}.mp4", rnd.randbytes(2000 + i)) for i in (1, 2)
        ],
        "paragraphs_csv": None,  # absent kinds are skipped
    }


EXPECTED_FIELDS = {
    "videoUrl",
    "audioUrl",
    "audiowaveUrl",
    "audiowaveImageUrl",
    "transcriptJsonUrl",
    "transcriptWordUrl",
    "transcriptUrl",
    "chatUrl",
    "chatSentimentUrl",
    "transcriptAnalysisUrl",
    "analysisUrl",
    "reportUrl",
}


def _expected_objects(files, cfg):
    b = cfg["publish"]["buckets"]
    role = {
        "video": "raw",
        "audio": "raw",
        "waveform_json": "raw",
        "waveform_png": "raw",
        "transcript_json": "transcripts",
        "words_csv": "transcripts",
        "segments_csv": "transcripts",
        "chat_json": "chatlogs",
    }
    out = {}
    for kind, path in files.items():
        if path is None:
            continue
        for p in path if isinstance(path, list) else [path]:
            name = f"{VOD}/clips/{Path(p).name}" if kind == "clips" else f"{VOD}/{Path(p).name}"
            out[(b[role.get(kind, "analysis")], name)] = p
    return out


def _client():
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project="test", credentials=AnonymousCredentials())


def _stored(cfg):
    client = _client()
    found = {}
    for bucket in cfg["publish"]["buckets"].values():
        if client.lookup_bucket(bucket) is None:
            continue
        for blob in client.list_blobs(bucket):
            found[(bucket, blob.name)] = blob
    return found


def _sums(path):
    data = Path(path).read_bytes()
    return (
        base64.b64encode(hashlib.md5(data).digest()).decode(),
        base64.b64encode(google_crc32c.Checksum(data).digest()).decode(),
        len(data),
    )


def _count_uploads(monkeypatch):
    calls = []
    original = GcsStore._upload

    def counting(self, bkt, name, *args, **kw):
        calls.append(name)
        return original(self, bkt, name, *args, **kw)

    monkeypatch.setattr(GcsStore, "_upload", counting)
    return calls


def test_full_publish_lands_every_object_and_pushes_every_url(env, files, tmp_path, monkeypatch, caplog, emulator):
    caplog.set_level(logging.DEBUG)
    cfg = env
    cfg["publish"]["workers"] = 1  # sequential uploads: the URL pushes must interleave with them
    upload_done = {}
    original = GcsStore.publish

    def timed(self, bucket, name, *args, **kw):
        result = original(self, bucket, name, *args, **kw)
        upload_done[name] = time.monotonic()
        return result

    monkeypatch.setattr(GcsStore, "publish", timed)
    manifest_path = tmp_path / "output" / "publish" / f"{VOD}_manifest.json"
    with ConvexStub() as stub:
        monkeypatch.setenv("CONVEX_URL", stub.url)
        monkeypatch.setenv("CONVEX_API_KEY", SECRET)
        manifest = publish_vod(VOD, files, manifest_path, config=cfg, status_dir=tmp_path / "status")

    expected = _expected_objects(files, cfg)
    stored = _stored(cfg)
    assert set(stored) == set(expected)
    for key, path in expected.items():
        md5, crc, size = _sums(path)
        blob = stored[key]
        assert (blob.md5_hash, blob.crc32c, blob.size) == (md5, crc, size), key
    assert stored[(cfg["publish"]["buckets"]["raw"], f"{VOD}/video_{VOD}.mp4")].content_type == "video/mp4"
    # (the emulator keeps only the media type of `text/csv; charset=utf-8`)
    assert stored[(cfg["publish"]["buckets"]["transcripts"], f"{VOD}/audio_{VOD}_words.csv")].content_type.startswith(
        "text/csv"
    )

    # manifest: every object with its checksums and gs:// URI, written atomically at the end
    on_disk = json.loads(manifest_path.read_text())
    assert on_disk == manifest and on_disk["backend"] == "gcs"
    by_key = {(o["bucket"], o["name"]): o for o in on_disk["objects"]}
    assert set(by_key) == set(expected)
    for key, obj in by_key.items():
        md5, crc, size = _sums(expected[key])
        assert (obj["md5"], obj["crc32c"], obj["size"]) == (md5, crc, size)
        assert obj["uri"] == f"gs://{key[0]}/{key[1]}"
        assert obj["url"] == f"{emulator.host}/{key[0]}/{key[1]}"
    assert on_disk["run"]["uploaded"] == len(expected) and on_disk["run"]["skipped"] == 0

    # Convex: one updateUrls per URL field, each right after its object, then Completed; all with the key
    pushes = [r for r in stub.requests if r["body"]["path"] == "video:updateUrls"]
    pushed = {}
    for r in pushes:
        ((field, url),) = r["body"]["args"]["urls"].items()
        assert r["body"]["args"]["twitchId"] == VOD
        name = url.split("/", 4)[4]
        assert r["at"] >= upload_done[name]  # never before its object is stored
        pushed[field] = url
    assert set(pushed) == EXPECTED_FIELDS and pushed == manifest["urls"]
    assert min(r["at"] for r in pushes) < max(upload_done.values())  # incremental, not all at the end
    assert pushed["transcriptWordUrl"].endswith(f"/{VOD}/audio_{VOD}_words.csv")
    assert stub.requests[-1]["body"]["args"] == {"twitchId": VOD, "status": "Completed"}
    assert {r["auth"] for r in stub.requests} == {f"Convex {SECRET}"}

    doc = status.read(VOD, tmp_path / "status")
    assert doc["status"] == "Completed" and doc["urls"] == manifest["urls"]
    outputs = manifest_path.read_text() + (tmp_path / "status" / f"{VOD}.json").read_text() + caplog.text
    assert "s3cr3tTok3nValue" not in outputs
    assert f"[{len(expected)}/{len(expected)}] uploaded" in caplog.text  # progress lines
    video = f"upload gs://{cfg['publish']['buckets']['raw']}/{VOD}/video_{VOD}.mp4: 100% (1 of 1 MB"
    assert video in caplog.text  # the resumable (chunked) upload reports its own progress


def test_rerun_uploads_nothing(env, files, tmp_path, monkeypatch):
    manifest_path = tmp_path / "m.json"
    publish_vod(VOD, files, manifest_path, config=env, status_dir=tmp_path / "st")
    generations = {k: b.generation for k, b in _stored(env).items()}
    calls = _count_uploads(monkeypatch)
    manifest = publish_vod(VOD, files, manifest_path, config=env, status_dir=tmp_path / "st")
    assert calls == []
    assert {k: b.generation for k, b in _stored(env).items()} == generations
    assert manifest["run"] == {**manifest["run"], "uploaded": 0, "skipped": len(generations), "bytes_uploaded": 0}


def test_changed_file_is_uploaded_again(env, files, tmp_path, monkeypatch):
    publish_vod(VOD, files, tmp_path / "m.json", config=env, status_dir=tmp_path / "st")
    Path(files["words_csv"]).write_bytes(b"start_time,end_time,word\n0.1,0.4,hello\n")
    calls = _count_uploads(monkeypatch)
    publish_vod(VOD, files, tmp_path / "m.json", config=env, status_dir=tmp_path / "st")
    assert calls == [f"{VOD}/audio_{VOD}_words.csv"]
    blob = _stored(env)[(env["publish"]["buckets"]["transcripts"], f"{VOD}/audio_{VOD}_words.csv")]
    assert blob.md5_hash == _sums(files["words_csv"])[0]


def test_injected_failure_leaves_no_manifest_and_rerun_completes(env, files, tmp_path, monkeypatch):
    manifest_path = tmp_path / "output" / "publish" / f"{VOD}_manifest.json"
    original = GcsStore._upload
    doomed = []

    def failing(self, bkt, name, *args, **kw):
        if len(doomed) == 0 and failing.calls == 2:
            doomed.append(name)  # the 3rd object ever started keeps failing, every attempt
        failing.calls += 1
        if name in doomed:
            raise ConnectionError("injected: connection reset mid-upload")
        return original(self, bkt, name, *args, **kw)

    failing.calls = 0
    monkeypatch.setattr(GcsStore, "_upload", failing)
    with pytest.raises(KlipError, match=r"1 of 14 objects failed, manifest not written.*injected"):
        publish_vod(VOD, files, manifest_path, config=env, status_dir=tmp_path / "st")
    assert not manifest_path.exists() and not list(manifest_path.parent.glob("*"))
    assert len(_stored(env)) == 13 and doomed[0] not in {n for _, n in _stored(env)}
    assert failing.calls == 14 + 1  # the doomed object was retried once (attempts=2), the others went on
    assert status.read(VOD, tmp_path / "st")["status"] is None  # the job, not publish, reports Failed

    monkeypatch.setattr(GcsStore, "_upload", original)
    calls = _count_uploads(monkeypatch)
    manifest = publish_vod(VOD, files, manifest_path, config=env, status_dir=tmp_path / "st")
    assert calls == doomed
    assert manifest_path.exists() and len(manifest["objects"]) == 14 == len(_stored(env))
    assert manifest["run"]["uploaded"] == 1 and manifest["run"]["skipped"] == 13


def test_file_that_disappears_fails_only_its_object(env, files, tmp_path):
    gone = Path(files["chat_json"])
    data = gone.read_bytes()
    gone.unlink()
    with pytest.raises(KlipError, match=rf"file not found: {gone}"):
        publish_vod(VOD, files, tmp_path / "m.json", config=env, status_dir=tmp_path / "st")
    assert not (tmp_path / "m.json").exists() and len(_stored(env)) == 13
    gone.write_bytes(data)
    manifest = publish_vod(VOD, files, tmp_path / "m.json", config=env, status_dir=tmp_path / "st")
    assert manifest["run"]["uploaded"] == 1 and len(_stored(env)) == 14


def test_corrupted_upload_is_caught_by_verification_and_retried(env, files, tmp_path, monkeypatch, caplog):
    original = GcsStore._upload
    corrupted = []

    def corrupting(self, bkt, name, path, content_type, local):
        if name.endswith("_chat.json") and not corrupted:
            corrupted.append(name)
            bkt.blob(name).upload_from_string(b'{"comments": [}', content_type=content_type)  # wrong bytes
            return
        return original(self, bkt, name, path, content_type, local)

    monkeypatch.setattr(GcsStore, "_upload", corrupting)
    caplog.set_level(logging.WARNING)
    publish_vod(VOD, files, tmp_path / "m.json", config=env, status_dir=tmp_path / "st")
    assert corrupted and "ChecksumMismatch" in caplog.text and "retry 1/1" in caplog.text
    blob = _stored(env)[(env["publish"]["buckets"]["chatlogs"], f"{VOD}/{VOD}_chat.json")]
    assert blob.md5_hash == _sums(files["chat_json"])[0]


def test_convex_hanging_does_not_fail_publish(env, files, tmp_path, monkeypatch):
    with ConvexStub(mode="hang", hang_s=5) as stub:
        monkeypatch.setenv("CONVEX_URL", stub.url)
        env["convex"] = {"timeout": 0.3, "attempts": 1}  # config keys (no environment variables)
        t0 = time.monotonic()
        manifest = publish_vod(VOD, files, tmp_path / "m.json", config=env, status_dir=tmp_path / "st")
        elapsed = time.monotonic() - t0
    assert (tmp_path / "m.json").exists() and len(manifest["objects"]) == 14
    doc = status.read(VOD, tmp_path / "st")
    assert doc["status"] == "Completed" and set(doc["urls"]) == EXPECTED_FIELDS
    assert len(doc["convex_errors"]) == len(EXPECTED_FIELDS) + 1  # every URL push and the Completed push
    assert len(stub.requests) == 2 and elapsed < 5


def test_missing_bucket_is_a_clear_error(env, files, tmp_path):
    env["publish"]["create_buckets"] = False
    with pytest.raises(KlipError, match=r"Cloud Storage bucket t[0-9a-f]+-\w+ does not exist"):
        publish_vod(VOD, files, tmp_path / "m.json", config=env, status_dir=tmp_path / "st")


def test_a_published_clips_folder_mirrors_the_folder(env, files, tmp_path):
    """Five clips, then two: the other three objects are deleted; another VOD's clips stay."""
    folder = tmp_path / "clips_folder" / VOD
    folder.mkdir(parents=True)
    for i in range(1, 6):
        (folder / f"{VOD}_{i:02d}.mp4").write_bytes(bytes([i]) * 100)
    (folder / "clips.json").write_text("[]")
    files = {**files, "clips": None, "clips_dir": str(folder)}
    publish_vod(VOD, files, tmp_path / "m.json", config=env, status_dir=tmp_path / "st")
    analysis = env["publish"]["buckets"]["analysis"]
    _client().bucket(analysis).blob("999/clips/999_03.mp4").upload_from_string(b"other")

    for i in range(3, 6):
        (folder / f"{VOD}_{i:02d}.mp4").unlink()
    manifest = publish_vod(VOD, files, tmp_path / "m.json", config=env, status_dir=tmp_path / "st")
    clips = sorted(name for bucket, name in _stored(env) if bucket == analysis and "/clips/" in name)
    assert clips == [
        f"{VOD}/clips/{VOD}_01.mp4",
        f"{VOD}/clips/{VOD}_02.mp4",
        f"{VOD}/clips/clips.json",
        "999/clips/999_03.mp4",
    ]
    assert manifest["run"]["removed"] == 3 and manifest["run"]["uploaded"] == 0
    assert (analysis, f"{VOD}/{VOD}_integrated_analysis.json") in _stored(env)
