"""Generated streams with a facecam overlay, for the vertical-clip layout tests and the demo.

The face is the astronaut photograph that ships inside scikit-image (`skimage.data.astronaut()`, public domain,
NASA); it moves a few pixels inside its box (a head that moves, a webcam box that stays) and sits over
gameplay-like video (ffmpeg's animated `mandelbrot`, or any video given). Without a face the same background is
written alone.

Run: `.venv/bin/python -m devtools.facecam --out stream.mp4 [--corner bottom-left] [--seconds 20]`, or
`--over data/demo/demo.mp4` to add the facecam to an existing video (its audio copied untouched).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from klipstream.io import atomic_path
from klipstream.media import run_ffmpeg

FACE_CROP = (120, 10, 340, 250)  # x0, y0, x1, y1 of the astronaut image around her face, hair and shoulders
MOTION = 8  # pixels (of the crop) the face drifts inside its box


def h264_args(preset: str, crf: int, tune: str | None = None) -> list[str]:
    """The demo's video encoding: x264, a keyframe every 50 frames, yuv420p, one thread (the same bytes on any
    machine)."""
    return [
        "-c:v",
        "libx264",
        "-preset",
        preset,
        "-crf",
        str(crf),
        *(["-tune", tune] if tune else []),
        "-g",
        "50",
        "-pix_fmt",
        "yuv420p",
        "-threads",
        "1",
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
    ]


def face_png(path: Path) -> Path:
    """The astronaut's head and shoulders as a PNG, MOTION pixels larger on each side than what is shown."""
    import cv2
    from skimage import data

    x0, y0, x1, y1 = FACE_CROP
    img = np.asarray(data.astronaut())[max(0, y0 - MOTION) : y1 + MOTION, max(0, x0 - MOTION) : x1 + MOTION]
    if not cv2.imwrite(str(path), np.ascontiguousarray(img[:, :, ::-1])):  # OpenCV writes BGR
        raise OSError(f"cannot write {path}")
    return path


def facecam_box(width: int, height: int, corner: str = "bottom-left", share: float = 0.25) -> tuple[int, int, int, int]:
    """(x, y, w, h) of a facecam `share` of the frame wide (4:3.6, as webcam overlays are) in a corner, 2% in."""
    w = int(width * share) // 2 * 2
    h = int(w * 0.9) // 2 * 2
    mx, my = int(width * 0.02), int(height * 0.02)
    x = mx if "left" in corner else width - w - mx
    y = my if "top" in corner else height - h - my
    return x, y, w, h


def overlay_args(
    box: tuple[int, int, int, int], fps: float, face: Path, border: int = 3, base: str = "[0:v]", face_input: int = 1
) -> tuple[list, str]:
    """Extra ffmpeg inputs (the face, input number `face_input`) and the filter that puts the moving face in `box`
    over the video `base` ([v])."""
    x, y, w, h = box
    cw, ch = FACE_CROP[2] - FACE_CROP[0], FACE_CROP[3] - FACE_CROP[1]
    inner_w, inner_h = w - 2 * border, h - 2 * border
    graph = (
        f"[{face_input}:v]crop=w={cw}:h={ch}:x='{MOTION}+{MOTION - 1}*sin(t*1.9)':y='{MOTION}+{MOTION - 1}*sin(t*1.3)',"
        f"scale={inner_w}:{inner_h},setsar=1,"
        f"pad={w}:{h}:{border}:{border}:color=0x202020[cam];"
        f"{base}[cam]overlay={x}:{y}:shortest=1,format=yuv420p[v]"
    )
    return ["-loop", "1", "-framerate", f"{fps:g}", "-i", str(face)], graph


def make_stream(
    out: str | Path,
    seconds: float = 20.0,
    size: tuple[int, int] = (640, 360),
    fps: float = 15.0,
    corner: str | None = "bottom-left",
    share: float = 0.25,
) -> dict:
    """Write a gameplay-like video with a tone, and a facecam `share` of the frame wide in `corner` (None: no
    face); returns where it is."""
    width, height = size
    box = facecam_box(width, height, corner, share) if corner else None
    with tempfile.TemporaryDirectory() as tmp, atomic_path(out) as target:
        inputs = ["-f", "lavfi", "-i", f"mandelbrot=s={width}x{height}:rate={fps:g}:end_scale=0.05"]
        if box:
            extra, graph = overlay_args(box, fps, face_png(Path(tmp) / "face.png"))
            inputs += extra
        else:
            graph = "[0:v]format=yuv420p[v]"
        run_ffmpeg(
            [
                *inputs,
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency=330:duration={seconds}",
                "-filter_complex",
                graph,
                "-map",
                "[v]",
                "-map",
                f"{2 if box else 1}:a",
                "-t",
                f"{seconds}",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-crf",
                "28",
                "-c:a",
                "aac",
                "-b:a",
                "64k",
                str(target),
            ],
            what=f"facecam stream {out}",
        )
    return {"size": [width, height], "facecam": list(box) if box else None}


def add_facecam(video: str | Path, out: str | Path, corner: str = "bottom-left", share: float = 0.25) -> dict:
    """Copy of `video` with the facecam in `corner` (audio copied untouched); returns the box."""
    from klipstream.outputs.facecam import frame_size
    from klipstream.outputs.timeline import probe_video

    width, height = frame_size(video)
    fps = probe_video(video)["fps"] or 30.0
    box = facecam_box(width, height, corner, share)
    with tempfile.TemporaryDirectory() as tmp, atomic_path(out) as target:
        extra, graph = overlay_args(box, fps, face_png(Path(tmp) / "face.png"))
        run_ffmpeg(
            [
                "-i",
                str(video),
                *extra,
                "-filter_complex",
                graph,
                "-map",
                "[v]",
                "-map",
                "0:a?",
                *h264_args("veryslow", 30),
                "-c:a",
                "copy",
                "-movflags",
                "+faststart",
                str(target),
            ],
            what=f"facecam over {video}",
        )
    return {"size": [width, height], "facecam": list(box)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--over", help="add the facecam to this video instead of generating one")
    ap.add_argument("--corner", default="bottom-left", help="top-left, top-right, bottom-left, bottom-right, none")
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args(argv)
    corner = None if args.corner == "none" else args.corner
    if args.over:
        print(add_facecam(args.over, args.out, corner or "bottom-left"))
    else:
        print(make_stream(args.out, args.seconds, corner=corner))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
