"""ffmpeg discovery, audio extraction and streamed reading of 16 kHz mono PCM WAV files."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

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


def run_ffmpeg(args: list[str], what: str, cwd: str | os.PathLike | None = None) -> None:
    """Run ffmpeg quietly (in `cwd` when given: filter arguments can then name files without path escaping);
    on failure raise a one-line error naming `what` with ffmpeg's last message."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {proc.returncode}"
        raise KlipError(f"ffmpeg failed on {what}: {reason}")


# The WAV must not depend on which ffmpeg made it: resampling and downmix are spelled out (not one build's
# defaults), and `-cpuflags 0` turns off the CPU-specific (SIMD) code paths, whose float rounding differs between
# builds. With both, ffmpeg 5.1 (Debian) and 9.0 (the imageio-ffmpeg wheel) give bit-identical WAVs; decoding
# costs ~1.6x the time (2 h of AAC: 9 s instead of 6 s), small next to transcription.
RESAMPLE_FILTER = (
    f"aresample={SAMPLE_RATE}:resampler=swr:filter_size=32:phase_shift=10:cutoff=0.97:dither_method=none:ochl=mono"
)
DECODE_FLAGS = ["-cpuflags", "0"]


def extract_audio(video: str | os.PathLike, wav: str | os.PathLike) -> bool:
    """Decode the first audio stream of `video` to 16 kHz mono signed 16-bit PCM WAV (streamed by ffmpeg).

    A video without an audio stream gets a valid WAV with no samples (and a one-line warning): the steps after it
    then find no audio, and the VOD goes on with its chat. Returns whether the video had audio."""
    from .video import probe

    video = Path(video)
    if not video.is_file():
        raise KlipError(f"video file not found: {video}")
    probed = probe(video)
    if probed["audio"] is None:
        log.warning("video %s has no audio stream: its audio is empty and the VOD goes on with its chat only", video)
        write_empty_wav(wav)
        return False
    with atomic_path(wav) as tmp:
        run_ffmpeg(
            [
                *DECODE_FLAGS,
                "-i",
                str(video),
                "-vn",
                "-map",
                "0:a:0",
                "-af",
                RESAMPLE_FILTER,
                "-c:a",
                "pcm_s16le",
                "-f",
                "wav",
                str(tmp),
            ],
            what=str(video),
        )
    info = wav_info(wav)
    log.info("extracted %.1f s of audio from %s", info.duration, video)
    check_complete(video, info.duration, probed["duration"])
    return True


# How much shorter than its container the decoded audio of a whole video may be: an audio track ends within a
# frame or two of the video (Twitch, OBS, ffmpeg); a cut-off download or copy decodes to a fraction of it.
TRUNCATION_SECONDS = 5.0
TRUNCATION_SHARE = 0.001


def check_complete(video: str | os.PathLike, decoded: float, container: float) -> None:
    """A one-line error when the audio decoded from `video` is much shorter than its container says: the file was
    cut off (an interrupted download or copy), and analysing the part that decodes would publish a VOD that looks
    finished but is not. A container that states no duration is not checked."""
    if container > 0 and decoded < container - max(TRUNCATION_SECONDS, TRUNCATION_SHARE * container):
        raise KlipError(
            f"video {video} is truncated or damaged: its audio decodes to {decoded:.1f} s but the file says "
            f"{container:.1f} s (fetch or copy it again)"
        )


def write_empty_wav(path: str | os.PathLike) -> None:
    """A 16 kHz mono 16-bit PCM WAV holding no samples (written atomically)."""
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)


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


def iter_blocks(
    path: str | os.PathLike, block_seconds: float = 60.0, start_sample: int = 0
) -> Iterator[tuple[float, np.ndarray]]:
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
