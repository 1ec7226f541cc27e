"""Robust z-scores against a rolling, centred baseline (median / MAD), shared by the audio and chat signals.

Median and MAD ignore the very spikes we want to find, so a burst does not raise its own baseline much, and
each stream is judged against its own typical level: a quiet stream and a 50,000-viewer stream both peak near
the same z. The baseline of point i is the window of `window` points centred on i, shifted inwards at the edges
so every baseline has the same length (the first and last window//2 points share the edge windows).
"""

from __future__ import annotations

import numpy as np

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation
_CHUNK_ELEMENTS = 1_000_000  # bounds the temporary window matrix (about 8 MB of float64)


def _nan_median_rows(rows: np.ndarray) -> np.ndarray:
    """Median of each row ignoring NaN (sort puts NaN last); NaN where a row has no finite value."""
    srt = np.sort(rows, axis=1)
    k = np.isfinite(srt).sum(axis=1)
    lo = np.clip((k - 1) // 2, 0, None)
    hi = np.clip(k // 2, 0, rows.shape[1] - 1)
    idx = np.arange(len(rows))
    med = 0.5 * (srt[idx, lo] + srt[idx, hi])
    med[k == 0] = np.nan
    return med


def rolling_median_mad(values, window: int, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per point, the median and MAD of its centred window (NaN values ignored).

    The baseline is evaluated at every `step`-th point and each point uses its nearest evaluated
    baseline: with a window of hundreds of points the baseline moves slowly, and this keeps the cost low."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    w = int(max(1, min(window, n)))
    step = int(max(1, step))
    centres = np.arange(0, n, step)
    starts = np.clip(centres - w // 2, 0, n - w)
    view = np.lib.stride_tricks.sliding_window_view(x, w)
    med = np.empty(len(centres))
    mad = np.empty(len(centres))
    chunk = max(1, _CHUNK_ELEMENTS // w)
    for a in range(0, len(centres), chunk):
        rows = view[starts[a : a + chunk]]
        m = _nan_median_rows(rows)
        med[a : a + chunk] = m
        mad[a : a + chunk] = _nan_median_rows(np.abs(rows - m[:, None]))
    nearest = np.clip(np.rint(np.arange(n) / step).astype(np.int64), 0, len(centres) - 1)
    return med[nearest], mad[nearest]


def rolling_robust_z(values, window: int, min_scale: float, valid=None, step: int = 1) -> np.ndarray:
    """(x - rolling median) / max(1.4826 * rolling MAD, min_scale); 0 where x is invalid or has no baseline.

    `valid` (bool mask) excludes points from both the baselines and the result, e.g. the per-message means of
    seconds without messages. `min_scale` keeps a flat baseline (silence, an empty chat) from making every
    small change look enormous; it is in the unit of the values."""
    x = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(x)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    masked = np.where(ok, x, np.nan)
    med, mad = rolling_median_mad(masked, window, step)
    scale = np.maximum(MAD_TO_SIGMA * np.nan_to_num(mad, nan=0.0), float(min_scale))
    z = np.zeros(len(x))
    good = ok & np.isfinite(med)
    z[good] = (x[good] - med[good]) / scale[good]
    return z
