"""ffmpeg discovery, audio extraction and streamed reading of 16 kHz mono PCM WAV files."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import KlipError
from .io import atomic_path

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000


def ffmpeg_exe() -> str:
    """ffmpeg from PATH (bin/ first), else the binary shipped in the imageio-ffmpeg wheel."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise KlipError("ffmpeg not found: install it or `pip install imageio-ffmpeg`") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: list[str], what: str) -> None:
    """Run ffmpeg quietly; on failure raise a one-line error naming `what` with ffmpeg's last message."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {proc.returncode}"
        raise KlipError(f"ffmpeg failed on {what}: {reason}")


def extract_audio(video: str | os.PathLike, wav: str | os.PathLike) -> None:
    """Decode the first audio stream of `video` to 16 kHz mono signed 16-bit PCM WAV (streamed by ffmpeg)."""
    video = Path(video)
    if not video.is_file():
        raise KlipError(f"video file not found: {video}")
    with atomic_path(wav) as tmp:
        run_ffmpeg(["-i", str(video), "-vn", "-map", "0:a:0", "-ac", "1", "-ar", str(SAMPLE_RATE),
                    "-c:a", "pcm_s16le", "-f", "wav", str(tmp)], what=str(video))
    info = wav_info(wav)
    log.info("extracted %.1f s of audio from %s", info.duration, video)


class WavInfo:
    def __init__(self, sample_rate: int, channels: int, frames: int):
        self.sample_rate, self.channels, self.frames = sample_rate, channels, frames

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def wav_info(path: str | os.PathLike) -> WavInfo:
    try:
        with wave.open(str(path), "rb") as w:
            return WavInfo(w.getframerate(), w.getnchannels(), w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise KlipError(f"not a PCM WAV file: {path} ({exc})") from exc


def iter_blocks(path: str | os.PathLike, block_seconds: float = 60.0,
                start_sample: int = 0) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (start_seconds, float32 samples in [-1, 1]) blocks of a 16-bit WAV, mixing channels to mono, from
    sample `start_sample` on (a seek: the samples before it are not read).

    Only one block is in memory at a time, so a 10-hour file costs the same memory as a short one."""
    try:
        w = wave.open(str(path), "rb")
    except (wave.Error, EOFError, FileNotFoundError) as exc:
        raise KlipError(f"cannot read WAV file {path}: {exc}") from exc
    with w:
        if w.getsampwidth() != 2:
            raise KlipError(f"{path}: expected 16-bit PCM, got {8 * w.getsampwidth()}-bit")
        rate, channels = w.getframerate(), w.getnchannels()
        block = max(1, int(block_seconds * rate))
        start = min(max(0, int(start_sample)), w.getnframes())
        if start:
            w.setpos(start)
        while True:
            raw = w.readframes(block)
            if not raw:
                break
            samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
            if channels > 1:
                samples = samples.reshape(-1, channels).mean(axis=1)
            yield start / rate, samples
            start += len(samples)
