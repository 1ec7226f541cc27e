"""Benchmark of the signal stages on a 4-hour workload: audio features + waveform over 4 h of 16 kHz audio
(target: <= 10 s and <= 300 MB together) and the chat timeline over 200,000 messages (target: well under 5 s).

Usage: .venv/bin/python bench/signals.py [--hours 4] [--messages 200000] [--threads 2] [--repeat 3]
                                        [--workdir /tmp/klip-bench-signals] [--keep]

Inputs are generated (streamed, so generating needs no memory either): speech-like audio (harmonic voiced
bursts of irregular syllable lengths with drifting pitch over a noise floor, plus loud events), a words table at ~2.8
words/s,
and a chat sentiment table. Each stage then runs in its own fresh Python process; wall time and the process's
peak RSS (from wait4) are printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pandas as pd

SR = 16_000
_CPU_SEEN = [0.0]  # children's CPU seconds already attributed to earlier stages


def make_wav(path: Path, hours: float, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    total = int(hours * 3600)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        for start in range(0, total, 60):
            n = min(60, total - start) * SR
            t = np.arange(n) / SR
            f0 = 140 + 40 * np.sin(2 * np.pi * t / 7.0 + rng.uniform(0, 6))
            phase = 2 * np.pi * np.cumsum(f0) / SR
            voice = sum(np.sin(k * phase) / k for k in range(1, 6))
            # Irregular syllables like speech: 80-350 ms voiced, 30-200 ms gaps, a Hann-shaped level each.
            lengths = rng.integers(int(0.08 * SR), int(0.35 * SR), 400)
            gaps = rng.integers(int(0.03 * SR), int(0.2 * SR), 400)
            onsets = np.cumsum(np.concatenate([[0], (lengths + gaps)[:-1]]))
            idx = np.searchsorted(onsets, np.arange(n), side="right") - 1
            pos = np.arange(n) - onsets[idx]
            syllables = np.where(pos < lengths[idx], np.sin(np.pi * np.minimum(pos / lengths[idx], 1.0)), 0.0)
            x = 0.08 * voice * syllables + 0.005 * rng.standard_normal(n)
            if rng.random() < 0.2:  # a loud event somewhere in this minute
                a = rng.integers(0, max(1, n - 3 * SR))
                x[a : a + 3 * SR] *= 6
            w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def make_words(path: Path, hours: float, seed: int = 2) -> None:
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 * 2.8)
    start = np.sort(rng.uniform(0, hours * 3600, n))
    pd.DataFrame(
        {"start_time": start, "end_time": start + 0.3, "word": "word", "punctuated_word": "word", "confidence": 0.9}
    ).to_csv(path, index=False)


def make_chat(path: Path, hours: float, messages: int, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, hours * 3600, messages))
    pool = np.array(
        [
            "KEKW",
            "LUL LUL LUL",
            "what a play",
            "PogChamp",
            "gg",
            "no way!!",
            "hello chat",
            "W",
            "OMEGALUL",
            "that was insane",
            "lol",
            "Kappa",
            "HYPE HYPE HYPE",
            "first time here, love the stream",
        ]
    )
    msg = pool[rng.integers(0, len(pool), messages)].astype(object)
    # Most real chat lines are distinct: give 60 % of them a random tail from a 2,000-word vocabulary.
    vocab = np.array([f"w{i}" for i in range(2000)], dtype=object)
    tail = rng.random(messages) < 0.6
    msg[tail] = (
        msg[tail] + " " + vocab[rng.integers(0, 2000, tail.sum())] + " " + vocab[rng.integers(0, 2000, tail.sum())]
    )
    emo = rng.dirichlet(np.ones(6), messages)
    pd.DataFrame(
        {
            "time": t,
            "comment_id": np.arange(messages).astype(str),
            "user": "user" + pd.Series(rng.integers(0, 20000, messages)).astype(str),
            "message": msg,
            "emotes": "",
            "emote_count": rng.integers(0, 3, messages),
            "emoji_count": 0,
            "is_filtered": rng.random(messages) < 0.02,
            "filter_reason": "",
            "sentiment_score": rng.uniform(-1, 1, messages),
            "excitement": emo[:, 0],
            "funny": emo[:, 1],
            "happiness": emo[:, 2],
            "anger": emo[:, 3],
            "sadness": emo[:, 4],
            "neutral": emo[:, 5],
        }
    ).to_csv(path, index=False)


def run_stage(name: str, code: str) -> tuple[float, float]:
    """Run `code` in a fresh interpreter; return (wall seconds, peak RSS MB) of that process alone.

    Peak RSS is the child's own VmHWM (ru_maxrss would include the parent's high-water mark inherited at fork).
    CPU seconds (user + sys) are printed too: on a shared machine they say more than the wall time."""
    hwm = (
        "import atexit\ndef _hwm():\n    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM'):\n            print('HWM', line.split()[1], flush=True)\n"
        "atexit.register(_hwm)\n"
    )
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", hwm + code], stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"stage {name} failed (exit {proc.returncode})")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - _CPU_SEEN[0]
    _CPU_SEEN[0] += cpu
    rss_mb = max(int(line.split()[1]) for line in out.splitlines() if line.startswith("HWM")) / 1024
    print(f"{name:28s} {wall:7.2f} s wall {cpu:7.2f} s CPU {rss_mb:7.1f} MB peak RSS", flush=True)
    return wall, rss_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/klip-bench-signals"))
    ap.add_argument("--threads", type=int, default=2, help="worker threads of the audio features")
    ap.add_argument("--repeat", type=int, default=1, help="runs of the audio stages (best and median reported)")
    ap.add_argument("--keep", action="store_true", help="keep the generated inputs for a rerun")
    args = ap.parse_args()
    wd = args.workdir
    wd.mkdir(parents=True, exist_ok=True)
    wav, words, chat = wd / "audio.wav", wd / "words.csv", wd / "chat_sentiment.csv"
    if not wav.exists():
        print(f"generating {args.hours} h of audio ...", flush=True)
        make_wav(wav, args.hours)
    if not words.exists():
        make_words(words, args.hours)
    if not chat.exists():
        make_chat(chat, args.hours, args.messages)
    print(f"inputs: {wav.stat().st_size / 1e6:.0f} MB WAV, {args.messages} messages; cores: {os.cpu_count()}")
    run_stage("python + numpy import", "import numpy, pandas, scipy.fft")
    # Calibration: the reference pass (numpy over 60 s blocks, RMS per second + STFT flux; measured at 7.2 s
    # for 4 h on a quiet machine of this kind), run here under the same conditions as ours.
    run_stage(
        "reference numpy pass",
        "import numpy as np, scipy.fft as sf\nfrom klipstream.media import iter_blocks\n"
        "w = np.hanning(2048).astype(np.float32)\n"
        f"for _, x in iter_blocks({str(wav)!r}, 60):\n"
        "    r = np.square(x[: len(x) // 16000 * 16000].reshape(-1, 16000)).sum(1)\n"
        "    m = np.abs(sf.rfft(np.lib.stride_tricks.sliding_window_view(x, 2048)[::512] * w, axis=1))\n"
        "    f = np.maximum(np.diff(m, axis=0), 0).mean(1)\n",
    )
    totals, peaks = [], []
    for _ in range(args.repeat):  # the machine is shared: repeat and keep the best pair
        wall_f, rss_f = run_stage(
            "audio features",
            f"from klipstream.signals.audio_features import compute_audio_features as f; "
            f"f({str(wav)!r}, {str(wd / 'features.csv')!r}, words_csv={str(words)!r}, threads={args.threads})",
        )
        wall_w, rss_w = run_stage(
            "waveform json + png",
            f"from klipstream.signals.waveform import render_waveform as f; "
            f"f({str(wav)!r}, {str(wd / 'waveform.json')!r}, {str(wd / 'waveform.png')!r})",
        )
        totals.append(wall_f + wall_w)
        peaks.append(max(rss_f, rss_w))
    run_stage(
        "chat timeline",
        f"from klipstream.signals.chat_timeline import build_chat_timeline as f; "
        f"f({str(chat)!r}, {str(wd / 'timeline.csv')!r}, duration={args.hours * 3600})",
    )
    run_stage(
        "plots (audio + chat)",
        f"from klipstream.outputs.plots import plot_audio_features as a, plot_chat_timeline as c; "
        f"a({str(wd / 'features.csv')!r}, {str(wd / 'loudness.png')!r}); "
        f"c({str(wd / 'timeline.csv')!r}, {str(wd / 'chat.png')!r})",
    )
    print(
        f"audio features + waveform: best {min(totals):.2f} s, median {sorted(totals)[len(totals) // 2]:.2f} s "
        f"of {len(totals)}, peak {max(peaks):.0f} MB (target <= 10 s, <= 300 MB); load average now "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    if not args.keep:
        shutil.rmtree(wd)


if __name__ == "__main__":
    main()
