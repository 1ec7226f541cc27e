"""Small test videos made by ffmpeg's own sources: a moving test pattern with a frame counter and a sine tone."""

from __future__ import annotations

import subprocess
from pathlib import Path

from klipstream.media import ffmpeg_exe


def pattern_video(
    path: Path,
    seconds: float,
    *,
    pattern: str = "testsrc=size=160x90:rate=10",
    tone: str = "sine=f=330:sample_rate=16000",
    vcodec: str = "libx264",
    acodec: str = "aac",
    extra: tuple[str, ...] = ("-preset", "ultrafast", "-pix_fmt", "yuv420p"),
) -> Path:
    """`path`: `seconds` of `pattern` (a lavfi video source) with `tone` (a lavfi audio source); `extra` goes
    before the output (codec options, -g for the keyframe interval, -movflags)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            pattern,
            "-f",
            "lavfi",
            "-i",
            tone,
            "-t",
            str(seconds),
            "-c:v",
            vcodec,
            "-c:a",
            acodec,
            *extra,
            "-shortest",
            str(path),
        ],
        check=True,
    )
    return path


def looped_demo(path: Path, hours: float) -> Path:
    """`path`: the demo VOD's video looped to `hours` (stream copy: seconds of work for a long test VOD)."""
    demo = Path(__file__).resolve().parents[2] / "data" / "demo" / "demo.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1", "-i", str(demo), "-t", str(int(hours * 3600))]
        + ["-c", "copy", str(path)],
        check=True,
    )
    return path
