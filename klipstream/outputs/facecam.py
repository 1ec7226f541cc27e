"""Find a stream's facecam in a clip: a face that stays in one region of the frame, and the overlay around it.

Frames are sampled evenly over the clip (`vertical.sample_frames`, decoded small and grey by ffmpeg) and searched
with OpenCV's frontal-face Haar cascade, the model file that ships inside the `opencv-python-headless` wheel
(`cv2.data.haarcascades`: nothing is downloaded at run time). A face is *stable* when a detection of about the same
place and size is in at least `vertical.min_face_share` of the sampled frames; its box is the median of those.

The facecam region is the overlay around a stable face: on each side of the face the straight, persistent edge
(the median over the frames of the Sobel gradient, averaged along a segment as long as the face) that is strongest
within reach, where an overlay's border is (the gameplay under it changes, the border stays); a side with no such
edge reaches to the frame's border when that is close, else a margin of the face's size. A face wider than
TALKING_HEAD_SHARE of the frame is the picture itself (a talking-head stream), not an overlay.

All boxes are (x, y, w, h) in fractions of the frame's width and height."""

from __future__ import annotations

import logging
import math
import os
import re
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..errors import KlipError
from ..media import ffmpeg_exe
from ..video import probe_duration

log = logging.getLogger(__name__)

ANALYSIS_WIDTH = 480  # frames are searched at most this wide
TALKING_HEAD_SHARE = 0.18  # a face wider than this share of the frame is a talking head, not a facecam
CASCADE = "haarcascade_frontalface_default.xml"


@dataclass
class Facecam:
    frames: int  # frames sampled
    frames_with_face: int  # frames where the stable face was found
    face: tuple[float, float, float, float] | None = None  # the stable face (fractions of the frame)
    region: tuple[float, float, float, float] | None = None  # the facecam overlay around it
    kind: str = "none"  # facecam, talking_head or none
    size: tuple[int, int] = (0, 0)  # the clip's frame size in pixels
    edges: dict = field(default_factory=dict)  # per side of the region: edge (found) or guess

    def as_json(self) -> dict:
        def box(b):
            return None if b is None else {k: round(float(v), 4) for k, v in zip(("x", "y", "w", "h"), b)}

        return {
            "kind": self.kind,
            "frames": self.frames,
            "frames_with_face": self.frames_with_face,
            "face": box(self.face),
            "region": box(self.region),
            "edges": self.edges,
        }


@lru_cache(maxsize=1)
def detector():
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise KlipError(f"vertical.mode auto/stack needs OpenCV (pip install opencv-python-headless): {exc}") from None
    path = os.path.join(cv2.data.haarcascades, CASCADE)
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise KlipError(f"OpenCV's face model {path} is missing or unreadable (opencv-python-headless < 5 ships it)")
    return cascade


def frame_size(path: str | os.PathLike) -> tuple[int, int]:
    text = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, text=True
    ).stderr
    m = re.search(r"Stream #\S+.*?: Video: .*?, (\d{2,5})x(\d{2,5})", text)
    if not m:
        raise KlipError(f"no video stream in {path}")
    return int(m.group(1)), int(m.group(2))


def sample_frames(path: str | os.PathLike, count: int) -> tuple[np.ndarray, tuple[int, int]]:
    """`count` grey frames evenly spread over the video, at most ANALYSIS_WIDTH wide: (frames, (src w, src h))."""
    width, height = frame_size(path)
    aw = min(ANALYSIS_WIDTH, width) // 2 * 2
    ah = max(2, round(height * aw / width / 2) * 2)
    duration = probe_duration(path) or 1.0
    rate = max(count, 1) / max(duration, 0.1)
    raw = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-nostdin",
            "-i",
            str(path),
            "-an",
            "-vf",
            f"fps={rate:.6f}:start_time=0,scale={aw}:{ah},format=gray",
            "-frames:v",
            str(count),
            "-f",
            "rawvideo",
            "-",
        ],
        capture_output=True,
    )
    if raw.returncode != 0:
        raise KlipError(f"ffmpeg could not sample frames of {path}: {raw.stderr.decode(errors='replace')[-200:]}")
    n = len(raw.stdout) // (aw * ah)
    return np.frombuffer(raw.stdout[: n * aw * ah], np.uint8).reshape(n, ah, aw), (width, height)


def detect_faces(gray: np.ndarray) -> np.ndarray:
    """Face boxes (x, y, w, h) in pixels of one grey frame."""
    h = gray.shape[0]
    low, high = max(16, h // 16), max(24, int(h * 0.7))
    found = detector().detectMultiScale(
        gray, scaleFactor=1.15, minNeighbors=5, minSize=(low, low), maxSize=(high, high)
    )
    return np.asarray(found, dtype=float).reshape(-1, 4)


def stable_face(per_frame: list[np.ndarray], min_share: float) -> tuple[np.ndarray | None, int]:
    """The median box of the face found in about the same place in most frames, and in how many frames."""
    best, best_members = None, []
    for boxes in per_frame:
        for d in boxes:
            c = d[:2] + d[2:] / 2
            members = []
            for other in per_frame:
                if len(other) == 0:
                    continue
                oc = other[:, :2] + other[:, 2:] / 2
                dist = np.hypot(*(oc - c).T)
                ratio = other[:, 2] / d[2]
                ok = (dist <= 0.5 * np.maximum(d[2], other[:, 2])) & (ratio > 0.6) & (ratio < 1 / 0.6)
                if ok.any():
                    members.append(other[np.flatnonzero(ok)[np.argmin(dist[ok])]])
            if len(members) > len(best_members) or (
                len(members) == len(best_members) and best is not None and d[2] > best[2]
            ):
                best, best_members = d, members
    need = max(2, math.ceil(min_share * len(per_frame))) if len(per_frame) > 1 else 1
    if len(best_members) < need:
        return None, len(best_members)
    return np.median(np.array(best_members), axis=0), len(best_members)


def _edge(profile: np.ndarray, lo: int, hi: int, floor: float, outward: int) -> int | None:
    """Index in [lo, hi) of the strongest edge above `floor` (the outermost of near-equal ones), else None."""
    lo, hi = max(lo, 0), min(hi, len(profile))
    if hi <= lo:
        return None
    seg = profile[lo:hi]
    top = float(seg.max())
    if top < floor:
        return None
    strong = np.flatnonzero(seg >= 0.8 * top) + lo
    return int(strong.min() if outward < 0 else strong.max())


def overlay_region(frames: np.ndarray, face: np.ndarray) -> tuple[np.ndarray, dict]:
    """(x0, y0, x1, y1) in analysis pixels of the overlay around `face`, and how each side was found."""
    import cv2

    n, H, W = frames.shape
    gx = np.median([np.abs(cv2.Sobel(f.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3)) for f in frames], axis=0)
    gy = np.median([np.abs(cv2.Sobel(f.astype(np.float32), cv2.CV_32F, 0, 1, ksize=3)) for f in frames], axis=0)
    x, y, w, h = face
    rows = slice(int(max(0, y - 0.1 * h)), int(min(H, y + 1.1 * h)))
    cols = slice(int(max(0, x - 0.1 * w)), int(min(W, x + 1.1 * w)))
    col_profile = gx[rows].mean(axis=0)  # a vertical border: high along the face's rows
    row_profile = gy[:, cols].mean(axis=1)
    floor_x = max(12.0, 4 * float(np.median(gx)))
    floor_y = max(12.0, 4 * float(np.median(gy)))
    reach_x, reach_y = 2.5 * w, 2.5 * h
    found = {
        "left": _edge(col_profile, int(x - reach_x), int(x - 0.15 * w), floor_x, -1),
        "right": _edge(col_profile, int(x + 1.15 * w), int(x + w + reach_x), floor_x, 1),
        "top": _edge(row_profile, int(y - reach_y), int(y - 0.15 * h), floor_y, -1),
        "bottom": _edge(row_profile, int(y + 1.15 * h), int(y + h + reach_y), floor_y, 1),
    }
    guess = {  # no border found: the frame's edge when it is within reach, else a margin of the face's size
        "left": 0 if x - reach_x <= 0 else x - 0.75 * w,
        "right": W if x + w + reach_x >= W else x + 1.75 * w,
        "top": 0 if y - reach_y <= 0 else y - 0.6 * h,
        "bottom": H if y + h + reach_y >= H else y + 2.0 * h,
    }
    how = {side: "edge" if found[side] is not None else "guess" for side in found}
    box = np.array([found[s] if found[s] is not None else guess[s] for s in ("left", "top", "right", "bottom")], float)
    return np.clip(box, 0, [W, H, W, H]), how


def find_facecam(path: str | os.PathLike, sample: int = 8, min_share: float = 0.5) -> Facecam:
    """The facecam (or talking head) of a video, from `sample` frames."""
    frames, (width, height) = sample_frames(path, sample)
    if len(frames) == 0:
        return Facecam(0, 0, size=(width, height))
    per_frame = [detect_faces(f) for f in frames]
    face, seen = stable_face(per_frame, min_share)
    n, H, W = frames.shape
    result = Facecam(n, seen, size=(width, height))
    if face is None:
        return result
    result.face = (face[0] / W, face[1] / H, face[2] / W, face[3] / H)
    if face[2] / W >= TALKING_HEAD_SHARE:
        result.kind = "talking_head"
        return result
    (x0, y0, x1, y1), result.edges = overlay_region(frames, face)
    result.region = (x0 / W, y0 / H, (x1 - x0) / W, (y1 - y0) / H)
    result.kind = "facecam"
    return result
