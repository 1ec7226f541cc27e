"""PNG plots of the per-second signals (matplotlib's Agg canvas directly: no display, no pyplot global state)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_path, read_table

EMOTION_COLORS = {
    "excitement_mean": "#e4572e",
    "funny_mean": "#f3a712",
    "happiness_mean": "#29bf12",
    "anger_mean": "#a4031f",
    "sadness_mean": "#3f88c5",
    "neutral_mean": "#999999",
}


def _read(csv: str | os.PathLike, columns: list[str]) -> pd.DataFrame:
    return read_table(csv, "table to plot", columns)


def _smooth(values: np.ndarray, n: int) -> np.ndarray:
    """Centred moving average, so a 4-hour series of 1-second values stays readable."""
    if n <= 1 or len(values) == 0:
        return values
    kernel = np.ones(n) / n
    return np.convolve(np.nan_to_num(values), kernel, mode="same")


def _figure(rows: int, width: float = 16.0, height_per_row: float = 2.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height_per_row * rows), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, axes


def _save(fig, png: str | os.PathLike) -> None:
    fig.tight_layout()
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png")


def plot_audio_features(features_csv: str | os.PathLike, png: str | os.PathLike) -> None:
    """Loudness (rms_db) and its robust z-score over time."""
    frame = _read(features_csv, ["time", "rms_db", "loudness_z"])
    t = frame["time"].to_numpy(float)
    smooth = max(1, len(t) // 2000)
    fig, (ax1, ax2) = _figure(2)
    ax1.plot(t, frame["rms_db"].to_numpy(float), color="#6441a5", linewidth=0.6)
    ax1.set_ylabel("RMS (dBFS)")
    ax1.set_title(f"Loudness - {Path(features_csv).stem}")
    z = frame["loudness_z"].to_numpy(float)
    ax2.plot(t, _smooth(z, smooth), color="#e4572e", linewidth=0.6)
    ax2.axhline(0, color="#999999", linewidth=0.5)
    ax2.set_ylabel("loudness z" + (f" ({smooth} s mean)" if smooth > 1 else ""))
    ax2.set_xlabel("time (s)")
    _save(fig, png)


def plot_chat_timeline(timeline_csv: str | os.PathLike, png: str | os.PathLike) -> None:
    """Messages per bin and the per-bin emotion means over time."""
    frame = _read(timeline_csv, ["time", "messages", *EMOTION_COLORS])
    t = frame["time"].to_numpy(float)
    smooth = max(1, len(t) // 2000)
    fig, (ax1, ax2) = _figure(2)
    ax1.fill_between(t, 0, _smooth(frame["messages"].to_numpy(float), smooth), color="#6441a5", linewidth=0)
    ax1.set_ylabel("messages / bin" + (f" ({smooth}-bin mean)" if smooth > 1 else ""))
    ax1.set_title(f"Chat activity - {Path(timeline_csv).stem}")
    for col, color in EMOTION_COLORS.items():
        ax2.plot(
            t,
            _smooth(frame[col].to_numpy(float), max(smooth, 5)),
            color=color,
            linewidth=0.8,
            label=col.removesuffix("_mean"),
        )
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("emotion mean")
    ax2.set_xlabel("time (s)")
    ax2.legend(loc="upper right", ncol=6, fontsize=8)
    _save(fig, png)
