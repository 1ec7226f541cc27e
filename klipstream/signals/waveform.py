"""Waveform peaks (audiowaveform / peaks.js JSON) and a PNG of them, streamed from the 16 kHz WAV.

JSON: `{"version": 2, "channels": 1, "sample_rate": 16000, "samples_per_pixel": N, "bits": 8, "length": L,
"data": [min0, max0, min1, max1, ...]}`: pixel i covers samples [i*N, (i+1)*N) (the last pixel may be partial),
min/max are the 16-bit sample extremes scaled to 8 bits as floor(s / 256) (an arithmetic shift), in [-128, 127].
The default N = 1600 gives 10 pixels per second: a 10-hour VOD has 360,000 pixels, about 3 MB of JSON.
The PNG is drawn from these peaks (never from the audio), reduced to at most `width` columns.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from .. import config
from ..errors import KlipError
from ..io import atomic_open, atomic_path
from ..media import iter_blocks, wav_info

log = logging.getLogger(__name__)

# the waveform section's default, written once in the config schema
DEFAULT_SAMPLES_PER_PIXEL = config.default("waveform")["samples_per_pixel"]


def compute_peaks(
    wav: str | os.PathLike, samples_per_pixel: int = DEFAULT_SAMPLES_PER_PIXEL, block_seconds: float = 60.0
) -> dict:
    """One streaming pass: per pixel the min and max 8-bit sample. Samples left over at a block's end are carried
    into the next block, so pixels never depend on the block size."""
    spp = int(samples_per_pixel)
    if spp < 1:
        raise KlipError(f"waveform samples_per_pixel must be >= 1, got {samples_per_pixel}")
    wav = Path(wav)
    if not wav.is_file():
        raise KlipError(f"audio file not found: {wav}")
    info = wav_info(wav)
    mins: list[np.ndarray] = []
    maxs: list[np.ndarray] = []
    carry = np.zeros(0, dtype=np.float32)
    for _, block in iter_blocks(wav, block_seconds):
        x = np.concatenate([carry, block]) if len(carry) else block
        n_full = len(x) // spp
        if n_full:
            px = x[: n_full * spp].reshape(n_full, spp)
            mins.append(px.min(axis=1))
            maxs.append(px.max(axis=1))
        carry = x[n_full * spp :]
    if len(carry):
        mins.append(carry.min(keepdims=True))
        maxs.append(carry.max(keepdims=True))
    # Samples are int16 / 32768 exactly, so floor(x * 128) is exactly the 16-bit value >> 8.
    lo = np.floor(np.concatenate(mins) * 128.0).astype(np.int64) if mins else np.zeros(0, dtype=np.int64)
    hi = np.floor(np.concatenate(maxs) * 128.0).astype(np.int64) if maxs else np.zeros(0, dtype=np.int64)
    data = np.empty(2 * len(lo), dtype=np.int64)
    data[0::2], data[1::2] = lo, hi
    return {
        "version": 2,
        "channels": 1,
        "sample_rate": int(info.sample_rate),
        "samples_per_pixel": spp,
        "bits": 8,
        "length": int(len(lo)),
        "data": data.tolist(),
    }


def plot_peaks(
    peaks: dict, png_out: str | os.PathLike, width: int = 1800, height: int = 240, title: str | None = None
) -> None:
    """Draw the peaks as a filled min/max envelope over time (matplotlib Agg, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = np.asarray(peaks["data"], dtype=np.float64)
    lo, hi = data[0::2] / 128.0, data[1::2] / 128.0
    seconds_per_px = peaks["samples_per_pixel"] / peaks["sample_rate"]
    n = len(lo)
    group = max(1, -(-n // width))  # reduce to at most `width` columns, keeping the extremes
    if group > 1 and n:
        edges = np.arange(0, n, group)
        lo, hi = np.minimum.reduceat(lo, edges), np.maximum.reduceat(hi, edges)
    t = np.arange(len(lo)) * group * seconds_per_px
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if len(t):
        ax.fill_between(t, lo, hi, step="post", color="#6441a5", linewidth=0)
        ax.set_xlim(0, max(t[-1] + group * seconds_per_px, 1e-9))
    ax.set_ylim(-1, 1)
    ax.set_xlabel("time (s)")
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    fig.tight_layout()
    with atomic_path(png_out) as tmp:
        fig.savefig(tmp, format="png")


def render_waveform(
    wav: str | os.PathLike,
    json_out: str | os.PathLike,
    png_out: str | os.PathLike,
    samples_per_pixel: int = DEFAULT_SAMPLES_PER_PIXEL,
    block_seconds: float = 60.0,
    png_width: int = 1800,
    png_height: int = 240,
) -> dict:
    """Write the peaks JSON and its PNG; returns the peaks document."""
    peaks = compute_peaks(wav, samples_per_pixel, block_seconds)
    text = json.dumps(peaks, separators=(",", ":"))  # one C-encoder call: json.dump to a file is 20x slower
    with atomic_open(json_out) as fh:
        fh.write(text + "\n")
    plot_peaks(peaks, png_out, png_width, png_height, title=Path(wav).stem)
    log.info(
        "waveform %s: %d pixels of %d samples -> %s, %s",
        Path(wav).name,
        peaks["length"],
        peaks["samples_per_pixel"],
        json_out,
        png_out,
    )
    return peaks
