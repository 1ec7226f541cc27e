"""The audio score: robust z-scores of loudness, spectral flux, pitch variability and speech rate plus laughter
and shout indicators, boosted by the speech-emotion windows (VOD time, one value per second)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .params import ScoreParams


def robust_z(x: np.ndarray, window: float, floor: float = 1e-6) -> np.ndarray:
    """(x - rolling median) / (1.4826 * rolling MAD), centred window, scale floored at `floor`."""
    x = np.asarray(x, dtype=float)
    if len(x) == 0:
        return x
    w = int(max(3, min(len(x), round(window))))
    s = pd.Series(x)
    med = s.rolling(w, center=True, min_periods=1).median()
    mad = (s - med).abs().rolling(w, center=True, min_periods=1).median()
    scale = np.maximum(1.4826 * mad.to_numpy(), floor)
    return (x - med.to_numpy()) / scale


def clipped_z(df: pd.DataFrame, name: str, sp: ScoreParams, floor: float = 1e-6) -> np.ndarray:
    """The `<name>_z` column when the table has it, else a robust z computed here; clipped to [0, z_clip]."""
    if f"{name}_z" in df.columns:
        z = df[f"{name}_z"].to_numpy(dtype=float)
    elif name in df.columns:
        z = robust_z(df[name].to_numpy(dtype=float), sp.baseline_seconds, floor)
    else:
        return np.zeros(len(df))
    return np.clip(np.nan_to_num(z), 0.0, sp.z_clip)


def speech_per_second(speech: pd.DataFrame | None, n: int, column: str = "highlight_score") -> np.ndarray:
    """Max of a speech-window column over the windows covering each second (windows overlap by design)."""
    out = np.zeros(n)
    if speech is None or speech.empty or column not in speech.columns or n == 0:
        return out
    s = np.clip(np.floor(speech["start_time"].to_numpy(dtype=float)).astype(np.int64), 0, n)
    e = np.clip(np.ceil(speech["end_time"].to_numpy(dtype=float)).astype(np.int64), 0, n)
    v = np.nan_to_num(speech[column].to_numpy(dtype=float))
    lens = np.maximum(e - s, 0)
    idx = np.repeat(s, lens) + (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens))
    np.maximum.at(out, idx, np.repeat(v, lens))
    return out


def audio_score(features: pd.DataFrame, speech: pd.DataFrame | None, sp: ScoreParams) -> pd.DataFrame:
    """Per-second audio score in VOD time with its parts: loudness, flux, pitch, speech_rate, events, speech."""
    n = len(features)
    out = pd.DataFrame({"time": np.arange(n, dtype=float)})
    if n == 0:
        out["score"] = []
        return out
    loud = clipped_z(features, "loudness", sp) if "loudness_z" in features else clipped_z(features, "rms_db", sp, 0.5)
    flux = clipped_z(features, "flux", sp) if "flux_z" in features else clipped_z(features, "spectral_flux", sp)
    pitch = clipped_z(features, "pitch_variability", sp, 1e-3)
    rate = clipped_z(features, "speech_rate", sp, 0.25)
    events = sum(np.clip(features[c].to_numpy(dtype=float), 0, 1) for c in ("laughter", "shout") if c in features)
    events = np.zeros(n) + events
    base = (
        sp.audio_weight_loudness * loud
        + sp.audio_weight_flux * flux
        + sp.audio_weight_pitch * pitch
        + sp.audio_weight_speech_rate * rate
        + sp.audio_weight_events * events
    )
    h = speech_per_second(speech, n)
    speech_part = base * sp.speech_boost * h
    out["loudness"], out["flux"], out["pitch"], out["speech_rate"], out["events"] = loud, flux, pitch, rate, events
    out["speech_highlight"] = h
    out["speech"] = speech_part
    out["score"] = base + speech_part
    return out
