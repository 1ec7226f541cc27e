"""Would librosa replace klipstream's own pitch and spectral-flux code inside the audio-features budget?

The budget (issue 17): 4 hours of 16 kHz audio in <= 10 s and <= 300 MB for the whole audio-features pass, which
klipstream meets with one shared-spectrum pass (pitch by normalised autocorrelation, flux from the same frames).
This times the librosa candidates on the same frame grid (40 ms hop) over N minutes of speech-like audio and
extrapolates to 4 hours, beside klipstream's own pass on the same audio.

    .venv/bin/python bench/librosa_check.py --minutes 5
"""

from __future__ import annotations

import argparse
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

SR, HOP = 16_000, 640  # klipstream's frame grid: 25 frames per second


def speechlike(seconds: float, seed: int = 3) -> np.ndarray:
    """A gliding harmonic voice (100-300 Hz) with syllable-rate amplitude, plus noise: pitch trackers work for it."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 180 + 80 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    return (0.2 * voice * envelope + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    args = ap.parse_args()
    import librosa

    from klipstream.signals.audio_features import compute_audio_features

    y = speechlike(args.minutes * 60)
    scale = 240.0 / args.minutes  # to 4 hours
    rows = {
        "librosa.yin (F0 per 40 ms frame)": timed(
            lambda: librosa.yin(y, fmin=65, fmax=600, sr=SR, frame_length=1024, hop_length=HOP)
        ),
        "librosa.onset.onset_strength (flux)": timed(
            lambda: librosa.onset.onset_strength(y=y, sr=SR, hop_length=HOP, n_fft=512)
        ),
    }
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "a.wav"
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(SR)
            w.writeframes((np.clip(y, -1, 1) * 32767).astype("<i2").tobytes())
        rows["klipstream audio features (pitch + flux + loudness, all columns)"] = timed(
            lambda: compute_audio_features(wav, Path(tmp) / "f.csv", threads=1)
        )
    print(f"{args.minutes:g} min of audio, extrapolated to 4 h (budget for the whole pass: 10 s)")
    for name, seconds in rows.items():
        print(f"  {name:<66} {seconds:7.2f} s  -> 4 h: {seconds * scale:8.1f} s")


if __name__ == "__main__":
    main()
