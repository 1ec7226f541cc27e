"""What the audio-only fast path (`download.video: false`) saves: bytes and time to get a VOD's 16 kHz WAV from
Twitch's `audio_only` rendition versus downloading the 720p video and extracting its audio, on the loopback
Twitch stub of tests/helpers/twitch_stub.py (GQL + usher + HLS on 127.0.0.1, yt-dlp's real Twitch extractor).

The stub's renditions are encoded here at Twitch-like bitrates (720p30 H.264 at --video-kbps, AAC at 160 kb/s,
Twitch's audio_only bandwidth) so the byte ratio is meaningful; times are loopback times (no network limit), so on
a real link the saving grows with the bytes.

    .venv/bin/python bench/audio_only.py [--seconds 300] [--video-kbps 3000]
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers: the loopback stand-ins
log = logging.getLogger("audio_only")
VOD = "123456789"


def make_renditions(root: Path, ffmpeg: str, seconds: int, video_kbps: int) -> None:
    """720p60 (named as the stub lists it) and audio_only HLS streams, 2 s segments."""
    common = ["-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"]
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    for name, args in {
        "720p60": [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30",
            *tone,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            f"{video_kbps}k",
            "-maxrate",
            f"{video_kbps}k",
            "-bufsize",
            f"{2 * video_kbps}k",
            "-g",
            "60",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "160k",
        ],
        "audio_only": [*tone, "-c:a", "aac", "-b:a", "160k"],
    }.items():
        out = root / name
        out.mkdir(parents=True)
        subprocess.run(
            [
                ffmpeg,
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                *args,
                "-t",
                str(seconds),
                *common,
                "-hls_segment_filename",
                str(out / "seg%04d.ts"),
                str(out / "index.m3u8"),
            ],
            check=True,
        )


def served_bytes(stub, hls: Path, rendition: str) -> int:
    return sum(
        (hls / r["path"].split("/", 2)[2]).stat().st_size
        for r in stub.requests
        if r["path"].startswith(f"/hls/{rendition}/")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300, help="VOD length on the stub")
    parser.add_argument("--video-kbps", type=int, default=3000, help="720p video bitrate (Twitch 720p30: ~3000)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from yt_dlp.extractor import twitch as ytw

    from klipstream.media import extract_audio, ffmpeg_exe, wav_info
    from klipstream.video import download_audio_only, download_twitch_video
    from tests.helpers.twitch_stub import Stub

    with tempfile.TemporaryDirectory(prefix="klip-audio-only-") as tmp:
        tmp = Path(tmp)
        hls = tmp / "hls"
        log.info("encoding %d s of 720p at %d kb/s and audio_only at 160 kb/s", args.seconds, args.video_kbps)
        make_renditions(hls, ffmpeg_exe(), args.seconds, args.video_kbps)
        stub = Stub(vod_id=VOD, duration=args.seconds, hls_dir=hls)
        stub.renditions = ["720p60", "audio_only"]
        base = stub.start()
        original = ytw.TwitchBaseIE._download_json

        def to_stub(self, url_or_request, *a, **kw):  # send yt-dlp's GQL calls to the stub
            if isinstance(url_or_request, str) and url_or_request.startswith("https://gql.twitch.tv/"):
                url_or_request = base + "/gql"
            return original(self, url_or_request, *a, **kw)

        ytw.TwitchBaseIE._download_json = to_stub
        ytw.TwitchBaseIE._USHER_BASE = base
        try:
            t0 = time.perf_counter()
            download_twitch_video(VOD, tmp / "video.mp4", None, quality="720p", bin_dir=None)
            t_dl = time.perf_counter() - t0
            extract_audio(tmp / "video.mp4", tmp / "from_video.wav")
            t_video = time.perf_counter() - t0
            video_bytes = served_bytes(stub, hls, "720p60")
            stub.requests.clear()

            t0 = time.perf_counter()
            download_audio_only(VOD, tmp / "audio_only.wav")
            t_audio = time.perf_counter() - t0
            audio_bytes = served_bytes(stub, hls, "audio_only")
            wav_a, wav_b = wav_info(tmp / "from_video.wav"), wav_info(tmp / "audio_only.wav")
        finally:
            stub.stop()

    print(f"\nVOD of {args.seconds} s on the loopback stub (720p video at {args.video_kbps} kb/s + AAC 160 kb/s)")
    print("| path | bytes downloaded | time to 16 kHz WAV (s) |")
    print("|---|---:|---:|")
    print(f"| video (720p) + extract_audio | {video_bytes:,} | {t_video:.1f} (download {t_dl:.1f}) |")
    print(f"| audio_only rendition | {audio_bytes:,} | {t_audio:.1f} |")
    print(
        f"saved: {video_bytes - audio_bytes:,} bytes ({100 * (1 - audio_bytes / video_bytes):.1f} %), "
        f"{t_video - t_audio:.1f} s ({100 * (1 - t_audio / t_video):.1f} %); "
        f"per hour of VOD: {(video_bytes - audio_bytes) * 3600 / args.seconds / 1e9:.2f} GB"
    )
    print(
        "both WAVs: "
        + ", ".join(f"{w.sample_rate} Hz x {w.channels} ch, {w.frames / w.sample_rate:.1f} s" for w in (wav_a, wav_b))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
