"""Per-second audio features of a 16 kHz mono WAV, computed in one streaming pass.

Output (`audio/{vod}_features.csv`), one row per second (`time` = second start, the last partial second kept):

- `rms_db`: RMS level of the second's samples in dBFS (a full-scale sine is -3.01 dB), floored at -100.
- `loudness_z`: robust z-score of rms_db against a centred rolling baseline (median/MAD, `baseline_seconds`).
- `spectral_flux`: mean over the second's STFT frames of the mean positive change, from the previous frame, of the
  log-compressed band magnitudes log1p(10 |X|) (48 linear bands of 167 Hz up to 8 kHz; onsets, not level: a sustained
  tone has ~0 flux).
- `flux_z`: robust z-score of spectral_flux, same baseline.
- `pitch_hz`: median F0 of the voiced frames (NaN when no frame is voiced).
- `pitch_variability`: standard deviation of voiced F0 in semitones (NaN with fewer than MIN_VOICED_FOR_STD voiced
frames).
- `voiced_share`: share of the second's 25 frames that are voiced.
- `speech_rate`: words per second from the words table, a word counted in the second of its midpoint
  (NaN for every second when no words table is given: unknown, not zero).
- `shout`: 1 when the second is loud for this VOD (loudness_z >= shout_loudness_z), mostly voiced and its pitch is
raised
  by >= shout_semitones above the VOD's rolling median pitch - raised F0 plus raised intensity is what distinguishes
  shouted from normal speech; else 0.
- `laughter`: 1 when the second is voiced bursts whose level envelope repeats regularly at 3-7 Hz (the "ha-ha-ha"
  rhythm): see `_laughter_flags` for the exact test; else 0. A heuristic: checked on synthetic laughter and on real
  speech (1 false positive in 93 s), not on recordings of real laughter.

Frames: 32 ms Hann windows every 40 ms (25 frames per second, frame j of second s centred at sample s*16000 + j*640;
they do not overlap: per-second statistics need no more, and it halves the cost against 20 ms hops),
zero-padded to a 768-point rFFT. The same spectrum gives the flux and, via the Wiener-Khinchin theorem, the pitch:
the power spectrum below 2 kHz is inverse-transformed into a low-passed autocorrelation sampled at 4 kHz, divided by
the window's own autocorrelation (Boersma 1993) so a periodic frame scores ~1 at its period. The first local maximum
within 75 % of the best one in 62.5-500 Hz is the period (avoids picking sub-harmonics), refined by parabolic
interpolation; a frame is voiced when that normalised peak is >= `voicing_threshold` and its level >= `silence_db`.

The pass keeps the partial second and the frame overlap from one block to the next (and the previous frame's
spectrum for the flux), so the result does not depend on the block size; memory is one block plus the per-second
arrays (a 10-hour VOD has 36,000 rows).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .. import config as _config
from ..errors import KlipError
from ..io import read_table, write_csv
from ..media import SAMPLE_RATE, iter_blocks, wav_info
from .robust import rolling_robust_z
from .spectral_pass import SpectralPass

# this module's settings defaults: the config schema's `audio_features` section, where they are written once
_FEATURES = _config.default("audio_features")

log = logging.getLogger(__name__)

COLUMNS = [
    "time",
    "rms_db",
    "loudness_z",
    "spectral_flux",
    "flux_z",
    "pitch_hz",
    "pitch_variability",
    "voiced_share",
    "speech_rate",
    "laughter",
    "shout",
]


def speech_rate_per_second(words_csv: str | os.PathLike | None, n_seconds: int) -> np.ndarray:
    """Words per second (a word counts in the second of its midpoint); NaN everywhere without a words table."""
    if words_csv is None:
        return np.full(n_seconds, np.nan)
    words = read_table(
        words_csv, "words table", ["start_time", "end_time"], usecols=lambda c: c in ("start_time", "end_time")
    )
    mid = (words["start_time"].to_numpy(float) + words["end_time"].to_numpy(float)) / 2.0
    sec = np.floor(mid[np.isfinite(mid) & (mid >= 0)]).astype(np.int64)
    sec = sec[sec < n_seconds]
    return np.bincount(sec, minlength=n_seconds).astype(np.float64)[:n_seconds]


def shout_flags(
    loudness_z: np.ndarray,
    pitch_hz: np.ndarray,
    voiced_share: np.ndarray,
    baseline_seconds: int,
    shout_loudness_z: float = _FEATURES["shout_loudness_z"],
    shout_semitones: float = _FEATURES["shout_semitones"],
    min_voiced_share: float = 0.3,
    step: int = 1,
) -> np.ndarray:
    """1 where the second is loud for this VOD, mostly voiced, and its pitch is raised against the rolling median
    pitch."""
    from .robust import rolling_median_mad

    med_pitch, _ = rolling_median_mad(np.asarray(pitch_hz, float), baseline_seconds, step)
    with np.errstate(divide="ignore", invalid="ignore"):
        raised = 12.0 * np.log2(pitch_hz / med_pitch)
    flags = (
        (loudness_z >= shout_loudness_z)
        & (voiced_share >= min_voiced_share)
        & (np.nan_to_num(raised) >= shout_semitones)
    )
    return flags.astype(np.int64)


def compute_audio_features(
    wav: str | os.PathLike,
    features_csv: str | os.PathLike,
    words_csv: str | os.PathLike | None = None,
    baseline_seconds: int = _FEATURES["baseline_seconds"],
    block_seconds: float = 60.0,
    voicing_threshold: float = _FEATURES["voicing_threshold"],
    silence_db: float = -50.0,
    shout_loudness_z: float = _FEATURES["shout_loudness_z"],
    shout_semitones: float = _FEATURES["shout_semitones"],
    threads: int = 1,
) -> pd.DataFrame:
    """Stream `wav` once and write the per-second features CSV (columns in COLUMNS); returns the frame.

    `baseline_seconds`: length of the centred rolling window of the z-scores. `threads`: worker threads for the
    blocks (give it the rule's threads; results do not depend on it)."""
    wav = Path(wav)
    if not wav.is_file():
        raise KlipError(f"audio file not found: {wav}")
    info = wav_info(wav)
    if info.sample_rate != SAMPLE_RATE:
        raise KlipError(
            f"{wav}: expected a {SAMPLE_RATE} Hz WAV (klipstream.media.extract_audio), got {info.sample_rate} Hz"
        )
    total = max(info.duration, 1e-9)
    state = SpectralPass(voicing_threshold, silence_db, threads)
    next_report = 0.0
    try:
        for start, samples in iter_blocks(wav, block_seconds):
            state.feed(samples)
            if start >= next_report:
                log.info("audio features %s: %.0f/%.0f s (%.0f%%)", wav.name, start, info.duration, 100 * start / total)
                next_report = start + max(600.0, info.duration / 10)
        state.finish()
    finally:
        if state.pool is not None:
            state.pool.shutdown(cancel_futures=True)

    cols = state.results()
    n = len(cols["rms_db"])
    step = max(1, baseline_seconds // 60)
    loudness_z = rolling_robust_z(cols["rms_db"], baseline_seconds, min_scale=1.0, step=step)
    # Flux floor: 1 % of the VOD's median flux, so a silent stretch does not turn a breath into a spike.
    flux_floor = max(1e-4, 0.01 * float(np.median(cols["spectral_flux"])) if n else 1e-4)
    flux_z = rolling_robust_z(cols["spectral_flux"], baseline_seconds, min_scale=flux_floor, step=step)
    shout = shout_flags(
        loudness_z,
        cols["pitch_hz"],
        cols["voiced_share"],
        baseline_seconds,
        shout_loudness_z,
        shout_semitones,
        step=step,
    )
    frame = pd.DataFrame(
        {
            "time": np.arange(n, dtype=np.float64),
            "rms_db": cols["rms_db"],
            "loudness_z": loudness_z,
            "spectral_flux": cols["spectral_flux"],
            "flux_z": flux_z,
            "pitch_hz": cols["pitch_hz"],
            "pitch_variability": cols["pitch_variability"],
            "voiced_share": cols["voiced_share"],
            "speech_rate": speech_rate_per_second(words_csv, n),
            "laughter": cols["laughter"].astype(np.int64),
            "shout": shout,
        },
        columns=COLUMNS,
    )
    write_csv(features_csv, frame.round(6), float_format=None)  # default repr: much faster than a float_format
    log.info("audio features %s: %d seconds -> %s", wav.name, n, features_csv)
    return frame
