"""Audio features per second on generated WAVs with hand-computed answers, plus the robust z-score helper."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from klipstream.errors import KlipError
from klipstream.outputs.plots import plot_audio_features
from klipstream.signals.audio_features import COLUMNS, compute_audio_features, speech_rate_per_second
from klipstream.signals.robust import rolling_median_mad, rolling_robust_z

SR = 16_000
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def write_wav(path: Path, x: np.ndarray, rate: int = SR) -> Path:
    pcm = np.clip(np.round(np.asarray(x) * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def harmonic(t: np.ndarray, f0, amp: float, n: int = 5) -> np.ndarray:
    """A voiced-like tone: f0 plus harmonics with 1/k amplitudes (f0 may vary with t)."""
    phase = 2 * np.pi * np.cumsum(np.broadcast_to(f0, t.shape)) / SR
    return amp * sum(np.sin(k * phase) / k for k in range(1, n + 1))


def features(tmp_path: Path, x: np.ndarray, **kw) -> pd.DataFrame:
    wav = write_wav(tmp_path / "a.wav", x)
    return compute_audio_features(wav, tmp_path / "f.csv", **kw)


def test_tone_level_in_dbfs_and_silence_floor(tmp_path):
    t = np.arange(30 * SR) / SR
    amp = 0.5
    x = np.where((t >= 10) & (t < 13), amp * np.sin(2 * np.pi * 1000 * t), 0.0)
    f = features(tmp_path, x)
    assert len(f) == 30 and list(f.columns) == COLUMNS
    expected = 20 * np.log10(amp / np.sqrt(2))  # -9.03 dBFS
    assert np.allclose(f.loc[10:12, "rms_db"], expected, atol=0.1)
    assert (f.loc[:9, "rms_db"] == -100).all() and (f.loc[13:, "rms_db"] == -100).all()
    # Against a silent baseline (median -100, MAD 0, floor 1 dB) the tone is (expected + 100) / 1 above it.
    assert np.allclose(f.loc[10:12, "loudness_z"], expected + 100, atol=0.1)
    assert (f.loc[:9, "loudness_z"] == 0).all()
    # The CSV on disk holds the same table.
    disk = pd.read_csv(tmp_path / "f.csv")
    assert list(disk.columns) == COLUMNS and np.allclose(disk["rms_db"], f["rms_db"], atol=1e-4)


def test_sudden_onset_gives_flux_peak_in_its_second(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(40 * SR) / SR
    x = 0.002 * rng.standard_normal(len(t))
    x = x + np.where(t >= 17.0, harmonic(t, 220.0, 0.3), 0.0)  # onset at exactly 17.0 s, sustained after
    f = features(tmp_path, x)
    assert int(f["spectral_flux"].idxmax()) == 17
    assert int(f["flux_z"].idxmax()) == 17
    assert f.loc[17, "flux_z"] > 5
    # A sustained tone has no onsets: flux after the onset falls back to (at most) the noise floor's.
    assert f.loc[19:, "spectral_flux"].max() < 1.1 * f.loc[:15, "spectral_flux"].median()


@pytest.mark.parametrize("f0", [200.0, 120.0])
def test_harmonic_tone_pitch(tmp_path, f0):
    t = np.arange(6 * SR) / SR
    f = features(tmp_path, harmonic(t, f0, 0.3))
    inner = f.loc[1:4]
    assert np.allclose(inner["pitch_hz"], f0, rtol=0.01)
    assert (inner["voiced_share"] == 1.0).all()
    assert (inner["pitch_variability"] < 0.05).all()


def test_pitch_variability_in_semitones(tmp_path):
    # Each second: 200 Hz for the first half, two semitones higher for the second: std of {0, 2} st = 1 st.
    t = np.arange(6 * SR) / SR
    f0 = np.where((t % 1.0) < 0.5, 200.0, 200.0 * 2 ** (2 / 12))
    f = features(tmp_path, harmonic(t, f0, 0.3))
    assert np.allclose(f.loc[1:4, "pitch_variability"], 1.0, atol=0.05)
    assert np.allclose(f.loc[1:4, "pitch_hz"], [200.0] * 4, rtol=0.13)


def test_noise_and_silence_are_unvoiced(tmp_path):
    rng = np.random.default_rng(1)
    x = np.concatenate([np.zeros(3 * SR), 0.2 * rng.standard_normal(3 * SR)])
    f = features(tmp_path, x)
    assert (f["voiced_share"] <= 0.1).all()
    assert f.loc[:2, "pitch_hz"].isna().all() and f.loc[:2, "pitch_variability"].isna().all()


def test_results_do_not_depend_on_block_size_or_threads(tmp_path):
    rng = np.random.default_rng(2)
    n = int(25.3 * SR)  # a partial last second too
    t = np.arange(n) / SR
    x = 0.01 * rng.standard_normal(n) + harmonic(t, 150 + 30 * np.sin(t), 0.2) * (np.sin(2 * np.pi * 0.3 * t) > 0)
    wav = write_wav(tmp_path / "b.wav", x)
    runs = [
        compute_audio_features(wav, tmp_path / f"f{b}{th}.csv", block_seconds=b, threads=th)
        for b, th in [(7, 1), (60, 1), (1.37, 1), (7, 2), (3, 3)]
    ]
    assert len(runs[0]) == 26
    for other in runs[1:]:
        for col in COLUMNS:
            np.testing.assert_allclose(other[col], runs[0][col], rtol=1e-4, atol=1e-5, equal_nan=True, err_msg=col)


def test_partial_last_second_level_uses_its_real_samples(tmp_path):
    x = np.full(int(2.5 * SR), 0.25)  # DC: RMS = 0.25 exactly
    f = features(tmp_path, x)
    assert len(f) == 3
    assert np.allclose(f["rms_db"], 20 * np.log10(0.25), atol=0.01)


def test_speech_rate_counts_words_by_midpoint(tmp_path):
    words = pd.DataFrame(
        {
            "start_time": [0.1, 0.8, 1.2, 1.5, 2.9, 9.0],
            "end_time": [0.4, 1.4, 1.4, 1.9, 3.3, 9.5],
            "word": list("abcdef"),
            "punctuated_word": list("abcdef"),
            "confidence": 1.0,
        }
    )
    words.to_csv(tmp_path / "w.csv", index=False)
    # midpoints 0.25, 1.1, 1.3, 1.7, 3.1, 9.25 -> second 0: 1, 1: 3, 3: 1 (9.25 is past the 5-s audio)
    assert speech_rate_per_second(tmp_path / "w.csv", 5).tolist() == [1, 3, 0, 1, 0]
    assert np.isnan(speech_rate_per_second(None, 3)).all()
    f = features(tmp_path, np.zeros(5 * SR), words_csv=tmp_path / "w.csv")
    assert f["speech_rate"].tolist() == [1, 3, 0, 1, 0]
    (tmp_path / "bad.csv").write_text("start,end\n1,2\n")
    with pytest.raises(KlipError, match="bad.csv"):
        speech_rate_per_second(tmp_path / "bad.csv", 3)


def test_shout_needs_loud_and_raised_pitch(tmp_path):
    rng = np.random.default_rng(3)
    t = np.arange(90 * SR) / SR
    x = harmonic(t, 150.0, 0.03) + 0.001 * rng.standard_normal(len(t))  # calm talking-level voice
    shout = (t >= 30) & (t < 32)
    loud_same_pitch = (t >= 50) & (t < 52)
    quiet_high = (t >= 70) & (t < 72)
    x = np.where(shout, harmonic(t, 250.0, 0.3), x)
    x = np.where(loud_same_pitch, harmonic(t, 150.0, 0.3), x)
    x = np.where(quiet_high, harmonic(t, 250.0, 0.03), x)
    f = features(tmp_path, x)
    assert f.index[f["shout"] == 1].tolist() == [30, 31]
    assert f.loc[50:51, "loudness_z"].min() > 2.5  # loud, but not raised: no shout


def _laughter_signal(seconds: float, start: float, stop: float, rate: float, rng) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    x = 0.003 * rng.standard_normal(len(t))
    k, burst = 0, int(0.09 * SR)
    while start + k / rate < stop:
        s = int((start + k / rate + rng.uniform(-0.02, 0.02)) * SR)
        f0 = 260.0 * (1 - 0.1 * k / (rate * (stop - start)))
        seg = t[s : s + burst]
        x[s : s + burst] += harmonic(seg, f0, 0.3, n=4) * np.hanning(len(seg))
        k += 1
    return x


@pytest.mark.parametrize("rate", [4.0, 5.0, 6.0])
def test_laughter_bursts_are_flagged_steady_voice_is_not(tmp_path, rate):
    rng = np.random.default_rng(4)
    x = _laughter_signal(20, 5.0, 9.0, rate, rng)
    t = np.arange(len(x)) / SR
    x = np.where((t >= 13) & (t < 16), harmonic(t, 260.0, 0.3), x)  # a sustained vowel
    f = features(tmp_path, x)
    assert f.index[f["laughter"] == 1].tolist() == [5, 6, 7, 8]


def test_real_read_speech_is_not_laughter(tmp_path):
    wavs = sorted(SHARED.glob("audio/*/*.wav"))
    if not wavs:
        pytest.skip("shared real audio not available")
    flagged, seconds = 0, 0
    for wav in wavs:
        f = compute_audio_features(wav, tmp_path / "real.csv")
        flagged += int(f["laughter"].sum())
        seconds += len(f)
        assert f["voiced_share"].mean() > 0.3  # it is speech, and the pitch tracker hears voicing
        assert 60 <= f["pitch_hz"].median() <= 300
    assert seconds > 80 and flagged <= 1  # measured: 1 of 93 s (a heuristic; see README, "Audio features")


def test_errors_are_one_line_and_name_the_file(tmp_path):
    with pytest.raises(KlipError, match="missing.wav"):
        compute_audio_features(tmp_path / "missing.wav", tmp_path / "f.csv")
    wav8 = write_wav(tmp_path / "eight.wav", np.zeros(8000), rate=8000)
    with pytest.raises(KlipError, match="16000 Hz"):
        compute_audio_features(wav8, tmp_path / "f.csv")
    assert not (tmp_path / "f.csv").exists()


def test_empty_wav_gives_header_only_table(tmp_path):
    f = features(tmp_path, np.zeros(0))
    assert len(f) == 0
    assert (tmp_path / "f.csv").read_text().strip() == ",".join(COLUMNS)


def test_robust_z_hand_computed():
    # window covers all 5 points: median 3, |dev| = 2,1,0,1,97 -> MAD 1 -> scale 1.4826
    z = rolling_robust_z([1, 2, 3, 4, 100], window=5, min_scale=0.1)
    assert np.allclose(z, np.array([-2, -1, 0, 1, 97]) / 1.4826)
    # flat baseline: MAD 0, the floor decides
    assert np.allclose(rolling_robust_z([5, 5, 5, 5, 9], 5, min_scale=2.0), [0, 0, 0, 0, 2])
    # centred window of 3, shifted inwards at the edges
    med, mad = rolling_median_mad([1, 9, 2, 8, 3], window=3)
    assert med.tolist() == [2, 2, 8, 3, 3]
    assert mad.tolist() == [1, 1, 1, 1, 1]
    # invalid points are ignored by the baseline and get z = 0
    z = rolling_robust_z([1, 100, 3], window=3, min_scale=1.0, valid=[True, False, True])
    assert np.allclose(z, np.array([-1, 0, 1]) / 1.4826)


def test_plot_audio_features(tmp_path):
    t = np.arange(5 * SR) / SR
    features(tmp_path, harmonic(t, 200.0, 0.2))
    plot_audio_features(tmp_path / "f.csv", tmp_path / "loud.png")
    assert (tmp_path / "loud.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "bad.csv").write_text("time,x\n0,1\n")
    with pytest.raises(KlipError, match="rms_db"):
        plot_audio_features(tmp_path / "bad.csv", tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
