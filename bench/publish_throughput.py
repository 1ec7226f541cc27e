"""Publish throughput: local bucket folder and Cloud Storage (gcp-storage-emulator on 127.0.0.1, in memory).

Usage: .venv/bin/python bench/publish_throughput.py [--mb 200]
Prints seconds and MB/s for a first publish (one big resumable video + 12 small files) and for the rerun
(everything skipped: the cost is hashing the local files and one metadata GET per object)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.helpers

from klipstream.publish import publish_vod  # noqa: E402
from klipstream.publish.checksums import file_checksums  # noqa: E402
from tests.helpers.publish_stubs import Emulator  # noqa: E402


def make_files(root: Path, mb: int) -> dict:
    vod = "999"
    video = root / f"video_{vod}.mp4"
    with open(video, "wb") as fh:
        block = os.urandom(1 << 20)
        for i in range(mb):
            fh.write(block[i % 7 :] + block[: i % 7])  # distinct-ish blocks, no 200 MB of urandom needed
    files = {"video": str(video)}
    for kind in (
        "audio",
        "waveform_json",
        "words_csv",
        "segments_csv",
        "chat_json",
        "chat_sentiment_csv",
        "chat_timeline_csv",
        "audio_features_csv",
        "audio_sentiment_csv",
        "integrated_json",
        "report_html",
    ):
        p = root / f"{vod}_{kind}.{kind.rsplit('_', 1)[-1] if '_' in kind else 'wav'}"
        p.write_bytes(os.urandom(200_000))
        files[kind] = str(p)
    return files


def run(label: str, files: dict, cfg: dict, tmp: Path, mb: float) -> None:
    for attempt in ("first", "rerun"):
        t0 = time.perf_counter()
        m = publish_vod(
            "999",
            files,
            tmp / f"{label}_manifest.json",
            config=cfg,
            status_dir=tmp / "status",
            local_root=tmp / "buckets",
            convex=None,
        )
        dt = time.perf_counter() - t0
        print(
            f"{label:6s} {attempt:5s}: {dt:6.2f} s  uploaded {m['run']['uploaded']:2d}  skipped "
            f"{m['run']['skipped']:2d}  {m['run']['bytes_uploaded'] / 1e6 / dt if attempt == 'first' else mb / dt:7.1f} MB/s"  # noqa: E501
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        files = make_files(tmp, args.mb)
        total_mb = sum(Path(p).stat().st_size for p in files.values()) / 1e6
        t0 = time.perf_counter()
        file_checksums(files["video"])
        print(f"hash md5+crc32c of {args.mb} MB: {time.perf_counter() - t0:.2f} s")
        run("local", files, {"publish": {"backend": "local"}}, tmp, total_mb)
        emu = Emulator()
        try:
            os.environ["STORAGE_EMULATOR_HOST"] = emu.host
            cfg = {"publish": {"backend": "gcs", "workers": 4, "chunk_size_mb": 16}}
            run("gcs", files, cfg, tmp, total_mb)
        finally:
            emu.stop()


if __name__ == "__main__":
    main()
