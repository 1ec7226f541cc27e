"""The one streaming pass over a VOD's 16 kHz audio behind audio_{vod}_features.csv: STFT frames on a fixed 40 ms
grid, loudness, spectral flux, autocorrelation pitch and the level envelope laughter is judged from, per second.
Runs of whole seconds are independent, so they are computed in parallel threads and joined in order (see
klipstream.signals.audio_features for the columns and their definitions)."""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft as sfft

from ..media import SAMPLE_RATE

FRAME = 512  # 32 ms analysis window
HOP = 640  # 40 ms: 25 spectral frames per second (frames do not overlap; per-second statistics need no more)
FPS = SAMPLE_RATE // HOP
OFFSET = FRAME // 2  # frames are centred on their time: frame j of second s is centred at s + j/25
EXTRA = OFFSET  # samples needed beyond a run of whole seconds (the last frame's right half)
NFFT = 768  # zero padding: the autocorrelation is linear (not circular) up to a lag of 256 samples = 62.5 Hz
AC_BINS = 97  # rFFT bins 0..96 = 0..2000 Hz used for the pitch autocorrelation
AC_N = 192  # irfft size: the autocorrelation comes out sampled at 16000 * 192 / 768 = 4000 Hz
AC_RATE = SAMPLE_RATE * AC_N // NFFT
MIN_LAG, MAX_LAG = 8, 64  # 500 Hz .. 62.5 Hz at 4 kHz
FLUX_GAIN = 10.0
FLUX_BANDS, BAND_BINS = 48, 8  # flux over 48 linear bands of 8 bins (0-8 kHz)
ENV_BLOCK = 320  # 20 ms blocks of the level envelope (laughter rhythm): 50 per second
ENV_PS = SAMPLE_RATE // ENV_BLOCK
DB_FLOOR = -100.0
MIN_VOICED_FOR_STD = 5  # 0.2 s of voiced frames before a spread of F0 means anything

_WINDOW = np.hanning(FRAME + 2)[1:-1].astype(np.float32)  # no zero end points
_W_POWER = float(np.sum(_WINDOW.astype(np.float64) ** 2))


def _window_autocorr() -> np.ndarray:
    spec = np.fft.rfft(_WINDOW.astype(np.float64), n=NFFT)[:AC_BINS]
    rw = np.fft.irfft(np.abs(spec) ** 2, n=AC_N)
    return rw / rw[0]


_RW = _window_autocorr()


def _db(power: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(power), DB_FLOOR)


class SpectralPass:
    """The streaming pass: carries unprocessed samples (from OFFSET before a second boundary) across blocks, and
    hands runs of whole seconds to `threads` worker threads (numpy and the FFT release the GIL). Each run is
    independent except for the flux of its first frame, which needs the previous run's last spectrum: runs return
    their first and last band magnitudes and `results()` adds that one term in order, so the output is identical
    whatever the block size or thread count."""

    def __init__(self, voicing_threshold: float, silence_db: float, threads: int = 1):
        self.buf = np.zeros(OFFSET, dtype=np.float32)  # zeros before the file start
        self.n_buffered = 0  # real samples in buf after the OFFSET lead-in
        self.voicing_threshold = voicing_threshold
        self.silence_db = silence_db
        self.threads = max(1, int(threads))
        self.pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        self.pending: deque = deque()
        self.parts: list[dict[str, np.ndarray]] = []

    def _submit(self, x: np.ndarray, n_sec: int, n_valid: int) -> None:
        if self.pool is None:
            self.parts.append(self._process(x, n_sec, n_valid))
            return
        self.pending.append(self.pool.submit(self._process, x, n_sec, n_valid))
        while len(self.pending) > self.threads:  # bound the blocks in flight (memory)
            self.parts.append(self.pending.popleft().result())

    def feed(self, samples: np.ndarray) -> None:
        self.buf = np.concatenate([self.buf, samples])
        self.n_buffered += len(samples)
        n_sec = (len(self.buf) - OFFSET - EXTRA) // SAMPLE_RATE
        if n_sec > 0:
            self._submit(self.buf[: OFFSET + n_sec * SAMPLE_RATE + EXTRA], n_sec, n_sec * SAMPLE_RATE)
            self.buf = self.buf[n_sec * SAMPLE_RATE :].copy()
            self.n_buffered -= n_sec * SAMPLE_RATE

    def finish(self) -> None:
        n_valid = self.n_buffered
        if n_valid > 0:
            n_sec = -(-n_valid // SAMPLE_RATE)
            padded = np.zeros(OFFSET + n_sec * SAMPLE_RATE + EXTRA, dtype=np.float32)
            padded[: len(self.buf)] = self.buf
            self._submit(padded, n_sec, n_valid)
            self.n_buffered = 0
        while self.pending:
            self.parts.append(self.pending.popleft().result())
        if self.pool is not None:
            self.pool.shutdown()

    def results(self) -> dict[str, np.ndarray]:
        """Concatenated per-second columns, with each run's first-frame flux joined to the previous run."""
        for prev, part in zip(self.parts, self.parts[1:]):
            first_flux = float(np.maximum(part["logmag_first"] - prev["logmag_last"], 0.0).mean())
            part["spectral_flux"][0] += first_flux / part["frames_first_second"]
        keys = ["rms_db", "spectral_flux", "pitch_hz", "pitch_variability", "voiced_share", "laughter"]
        return {k: np.concatenate([p[k] for p in self.parts]) if self.parts else np.zeros(0) for k in keys}

    def _process(self, x: np.ndarray, n_sec: int, n_valid: int) -> dict[str, np.ndarray]:
        """Features of n_sec whole seconds: x[OFFSET:OFFSET + n_sec*16000] are their samples, of which the first
        n_valid are real (the rest is zero padding at the end of the file), with OFFSET / EXTRA samples around."""
        # Level per second over the real samples only, and the 20 ms level envelope.
        secs = x[OFFSET : OFFSET + n_sec * SAMPLE_RATE]
        blocks = secs.reshape(n_sec * ENV_PS, ENV_BLOCK)
        env_sums = np.einsum("ij,ij->i", blocks, blocks).astype(np.float64)  # float32 sums of 320 squares
        sumsq = env_sums.reshape(n_sec, ENV_PS).sum(axis=1)  # padding is zeros: adds nothing
        counts = np.clip(n_valid - np.arange(n_sec) * SAMPLE_RATE, 1, SAMPLE_RATE)
        rms_db = _db(sumsq / counts)
        env_valid = np.arange(n_sec * ENV_PS) * ENV_BLOCK < n_valid
        env_db = _db(env_sums / ENV_BLOCK).reshape(n_sec, ENV_PS)

        # STFT frames on a fixed global grid (frame j starts at x[j * HOP]), windowed into a zero-padded buffer.
        n_fr = n_sec * FPS
        frames = x[: n_fr * HOP].reshape(n_fr, HOP)[:, :FRAME]
        fw = np.zeros((n_fr, NFFT), dtype=np.float32)
        np.multiply(frames, _WINDOW, out=fw[:, :FRAME])
        frame_valid = np.arange(n_fr) * HOP < n_valid
        spec = sfft.rfft(fw, axis=1)
        power = np.square(np.abs(spec))

        # Spectral flux of log-compressed band magnitudes (48 bands of 167 Hz: the log of 385 bins per frame would
        # dominate the run time). The first frame's flux is added in results() from the previous run's last frame.
        # (sum of 8 strided slices: faster than a reduction over a short last axis, and no BLAS threads)
        bands = power[:, 0 : FLUX_BANDS * BAND_BINS : BAND_BINS].copy()
        for j in range(1, BAND_BINS):
            bands += power[:, j : FLUX_BANDS * BAND_BINS : BAND_BINS]
        bands *= 1.0 / BAND_BINS
        logmag = np.log1p(FLUX_GAIN * np.sqrt(bands))
        flux_frames = np.zeros(n_fr)
        flux_frames[1:] = np.maximum(np.diff(logmag, axis=0), 0.0).mean(axis=1)

        # Frame level by Parseval from the power spectrum (DC and Nyquist bins once, the others twice).
        frame_db = _db((2.0 * power.sum(axis=1).astype(np.float64) - power[:, 0] - power[:, -1]) / NFFT / _W_POWER)

        # Pitch from the low-passed autocorrelation (Wiener-Khinchin), normalised by the window's own.
        ac = sfft.irfft(power[:, :AC_BINS], n=AC_N, axis=1)[:, : MAX_LAG + 2]
        r0 = ac[:, :1]
        with np.errstate(divide="ignore", invalid="ignore"):
            rn = np.where(r0 > 0, ac / np.where(r0 > 0, r0, 1.0), 0.0) / _RW[: MAX_LAG + 2]
        cand = rn[:, MIN_LAG : MAX_LAG + 1]
        left, right = rn[:, MIN_LAG - 1 : MAX_LAG], rn[:, MIN_LAG + 1 : MAX_LAG + 2]
        peak_ok = (cand >= left) & (cand >= right)
        best = np.where(peak_ok, cand, -np.inf).max(axis=1)
        chosen = peak_ok & (cand >= 0.75 * best[:, None])
        has_peak = chosen.any(axis=1)
        k = np.argmax(chosen, axis=1)
        rows = np.arange(len(k))
        a, b, c = left[rows, k], cand[rows, k], right[rows, k]
        denom = a - 2.0 * b + c
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = np.where(denom < 0, 0.5 * (a - c) / denom, 0.0)
        lag = MIN_LAG + k + np.clip(shift, -0.5, 0.5)
        # A peak near the short-lag end whose half lag correlates as well is the 2nd period of a pitch above 500 Hz.
        above_range = (MIN_LAG + k < 2 * MIN_LAG) & (rn[rows, np.rint((MIN_LAG + k) / 2).astype(np.int64)] >= 0.85 * b)
        voiced = has_peak & ~above_range & (b >= self.voicing_threshold) & (frame_db >= self.silence_db)
        voiced &= frame_valid
        f0 = np.where(voiced, AC_RATE / lag, np.nan)

        # Per-second aggregates over the 25 frames of each second.
        fv = frame_valid.reshape(n_sec, FPS)
        n_frames = np.maximum(fv.sum(axis=1), 1)
        flux = np.where(fv, flux_frames.reshape(n_sec, FPS), 0.0).sum(axis=1) / n_frames
        voiced2 = voiced.reshape(n_sec, FPS)
        n_voiced = voiced2.sum(axis=1)
        f0_2 = f0.reshape(n_sec, FPS)
        srt = np.sort(f0_2, axis=1)  # NaN last
        lo, hi = np.clip((n_voiced - 1) // 2, 0, FPS - 1), np.clip(n_voiced // 2, 0, FPS - 1)
        sidx = np.arange(n_sec)
        pitch = np.where(n_voiced > 0, 0.5 * (srt[sidx, lo] + srt[sidx, hi]), np.nan)
        semis = 12.0 * np.log2(np.where(voiced2, f0_2, 1.0))
        nv = np.maximum(n_voiced, 1)
        mean_st = np.where(voiced2, semis, 0.0).sum(axis=1) / nv
        var_st = np.where(voiced2, (semis - mean_st[:, None]) ** 2, 0.0).sum(axis=1) / nv
        pitch_var = np.where(n_voiced >= MIN_VOICED_FOR_STD, np.sqrt(var_st), np.nan)
        voiced_share = n_voiced / n_frames
        return {
            "logmag_first": logmag[0].copy(),
            "logmag_last": logmag[-1].copy(),
            "frames_first_second": n_frames[0],
            "rms_db": rms_db,
            "spectral_flux": flux,
            "pitch_hz": pitch,
            "pitch_variability": pitch_var,
            "voiced_share": voiced_share,
            "laughter": _laughter_flags(env_db, voiced_share, env_valid.reshape(n_sec, ENV_PS)),
        }


def _laughter_flags(frame_db: np.ndarray, voiced_share: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """1 for seconds whose level envelope is a regular 3-7 Hz train of voiced bursts ("ha-ha-ha").

    Laughter is a train of short voiced pulses at 4-6 per second with deep level dips between them, far more
    regular than the syllables of speech (which also sit at 3-7 Hz). Per second, on the dB envelope of 50 blocks of
    20 ms
    (floored 40 dB below its peak): 15-80 % of the pitch frames voiced (bursts, neither a sustained vowel nor noise),
    90th - 10th percentile depth >= 15 dB, and the envelope's unbiased normalised autocorrelation >= 0.6 at some
    lag of 7-16 blocks of 20 ms (3.1-7.1 Hz) and still >= 0.4 at twice that lag (the rhythm repeats). On the 93 s of
    real
    speech in ../shared/data/audio this fires on 1 second (tests/test_audio_features.py)."""
    env = np.where(valid, frame_db, DB_FLOOR)
    env = np.maximum(env, env.max(axis=1, keepdims=True) - 40.0)
    depth = np.percentile(env, 90, axis=1) - np.percentile(env, 10, axis=1)
    centred = env - env.mean(axis=1, keepdims=True)
    n = centred.shape[1]
    spec = np.fft.rfft(centred, n=128, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, n=128, axis=1)[:, :n]
    ac = ac / np.maximum(ac[:, :1], 1e-12) / ((n - np.arange(n)) / n)
    lag1 = 7 + ac[:, 7:17].argmax(axis=1)
    rows = np.arange(len(lag1))
    first = ac[rows, lag1]
    second = ac[rows, np.minimum(2 * lag1, n - 1)]
    bursty = (voiced_share >= 0.15) & (voiced_share <= 0.8)
    return (bursty & (depth >= 15.0) & (first >= 0.6) & (second >= 0.4)).astype(np.int64)
