"""The audio Deepgram receives: the 16 kHz WAV encoded once by ffmpeg into a compressed format.

Deepgram decodes FLAC and Opus (in Ogg) itself, so sending them instead of PCM costs no accuracy worth measuring
(docs/performance.md: the offline recogniser's WER on the decoded audio of ../shared/data/audio) and a fraction of
the upload: PCM at 16 kHz is 256 kbit/s, Opus at 24 kbit/s a tenth of that, FLAC about half."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..artifacts import UPLOAD_FORMATS, content_type, target, upload_key
from ..errors import KlipError
from ..io import atomic_path
from ..media import SAMPLE_RATE, run_ffmpeg, wav_info

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UploadFormat:
    name: str
    suffix: str  # the file's extension: that of the artifact registry's upload_<name> path
    lossy: bool

    def codec_args(self, bitrate_kbps: float, opus: dict | None = None) -> list[str]:
        if self.name == "flac":
            return ["-c:a", "flac", "-compression_level", "5", "-f", "flac"]
        opus = {**OPUS_OPTIONS, **(opus or {})}
        return [
            "-c:a",
            "libopus",
            "-b:a",
            f"{bitrate_kbps:g}k",
            "-application",
            opus["application"],
            "-compression_level",
            str(opus["compression_level"]),
            "-frame_duration",
            str(opus["frame_duration"]),
            "-vbr",
            "on",
            "-f",
            "ogg",
        ]


# libopus's `audio` mode at complexity 0 with 60 ms frames encodes 4 h of 16 kHz speech in about 16 CPU seconds;
# `voip` at the default complexity 10 takes ~180 s for the same bytes and no better WER (docs/performance.md,
# bench/deepgram_upload.py).
OPUS_OPTIONS = {"application": "audio", "compression_level": 0, "frame_duration": 60}


# The names are artifacts.UPLOAD_FORMATS and the suffixes those upload files' own; this adds what the codec is.
_LOSSY = {"opus": True, "flac": False}
FORMATS = {
    name: UploadFormat(name, PurePosixPath(target(upload_key(name))).suffix, _LOSSY[name]) for name in UPLOAD_FORMATS
}


def get_format(name: str) -> UploadFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise KlipError(f"transcription.upload.format must be one of {', '.join(FORMATS)}, got {name!r}") from None


def encode_for_upload(
    wav: str | os.PathLike,
    out: str | os.PathLike,
    *,
    format: str = "opus",
    bitrate_kbps: float = 24,
    opus: dict | None = None,
) -> dict:
    """Encode the 16 kHz mono WAV `wav` into `out` (written atomically) as `format` (the `transcription.upload`
    settings: format, bitrate_kbps for Opus); return a summary. `opus` overrides OPUS_OPTIONS (benchmarks)."""
    fmt = get_format(format)
    wav, out = Path(wav), Path(out)
    if not wav.is_file():
        raise KlipError(f"audio file not found: {wav}")
    if out.suffix != fmt.suffix:
        raise KlipError(f"{out}: a {fmt.name} upload file must end with {fmt.suffix}")
    info = wav_info(wav)
    t0 = time.monotonic()
    with atomic_path(out) as tmp:
        run_ffmpeg(
            [
                "-i",
                str(wav),
                "-map",
                "0:a:0",
                "-ac",
                "1",
                "-ar",
                str(SAMPLE_RATE),
                "-map_metadata",
                "-1",
                *fmt.codec_args(bitrate_kbps, opus),
                str(tmp),
            ],
            what=str(wav),
        )
    size, original = out.stat().st_size, wav.stat().st_size
    summary = {
        "format": fmt.name,
        "bitrate_kbps": bitrate_kbps if fmt.lossy else None,
        "bytes": size,
        "wav_bytes": original,
        "ratio": round(original / size, 2) if size else None,
        "seconds": round(time.monotonic() - t0, 2),
        "duration": info.duration,
        "content_type": content_type(str(out)),
    }
    log.info(
        "encoded %s (%.1f s, %.1f MB) as %s%s: %.2f MB, %.1fx smaller, in %.1f s",
        wav,
        info.duration,
        original / 1e6,
        fmt.name,
        f" at {bitrate_kbps:g} kbit/s" if fmt.lossy else "",
        size / 1e6,
        summary["ratio"] or 0,
        summary["seconds"],
    )
    return summary
