"""Waveform peaks JSON (audiowaveform format) and PNG from known samples."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from klipstream.errors import KlipError
from klipstream.signals.waveform import compute_peaks, render_waveform

SR = 16_000


def write_pcm(path: Path, samples) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return path


def test_peaks_of_known_samples(tmp_path):
    wav = write_pcm(tmp_path / "k.wav", [0, 256, -256, 512, 32767, -32768, 100, -100, 255, -1])
    peaks = compute_peaks(wav, samples_per_pixel=4)
    # pixel 0: min -256 -> -1, max 512 -> 2; pixel 1: full scale -> -128, 127;
    # pixel 2 (partial, 2 samples): min -1 -> floor(-1/256) = -1, max 255 -> 0
    assert peaks == {
        "version": 2,
        "channels": 1,
        "sample_rate": SR,
        "samples_per_pixel": 4,
        "bits": 8,
        "length": 3,
        "data": [-1, 2, -128, 127, -1, 0],
    }


def test_peaks_do_not_depend_on_block_size(tmp_path):
    rng = np.random.default_rng(0)
    wav = write_pcm(tmp_path / "r.wav", rng.integers(-32768, 32767, 3 * SR + 123))
    a = compute_peaks(wav, samples_per_pixel=1600, block_seconds=60)
    b = compute_peaks(wav, samples_per_pixel=1600, block_seconds=0.37)  # blocks not aligned to pixels
    assert a == b
    assert a["length"] == 31  # 30 full pixels of 0.1 s + one partial


def test_render_writes_json_and_png(tmp_path):
    t = np.arange(5 * SR) / SR
    x = np.round(16384 * np.sin(2 * np.pi * 440 * t) * (t >= 2)).astype(int)  # silence, then a half-scale tone
    wav = write_pcm(tmp_path / "audio_demo.wav", x)
    peaks = render_waveform(wav, tmp_path / "w.json", tmp_path / "w.png")
    on_disk = json.loads((tmp_path / "w.json").read_text())
    assert on_disk == peaks
    assert peaks["samples_per_pixel"] == 1600 and peaks["length"] == 50  # default: 10 pixels per second
    data = np.array(peaks["data"]).reshape(-1, 2)
    assert (data[:20] == 0).all()  # the silent first 2 s
    # 440 Hz at 16 kHz repeats every 400 samples and hits the crest exactly: +-16384 >> 8 = +-64
    assert (data[20:, 0] == -64).all() and (data[20:, 1] == 64).all()
    png = (tmp_path / "w.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1800, 240)


def test_empty_and_missing_audio(tmp_path):
    wav = write_pcm(tmp_path / "e.wav", [])
    peaks = render_waveform(wav, tmp_path / "e.json", tmp_path / "e.png")
    assert peaks["length"] == 0 and peaks["data"] == []
    assert (tmp_path / "e.png").exists()
    with pytest.raises(KlipError, match="nope.wav"):
        render_waveform(tmp_path / "nope.wav", tmp_path / "n.json", tmp_path / "n.png")
    assert not (tmp_path / "n.json").exists()
    with pytest.raises(KlipError, match="samples_per_pixel"):
        compute_peaks(wav, samples_per_pixel=0)
