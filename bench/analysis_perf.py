"""Analysis performance benchmark: a 4-hour VOD (4 h of 16 kHz audio, ~200,000 chat messages, a 40,000-word
transcript) through every analysis stage - audio features, waveform, plots, chat sentiment, chat timeline,
speech sentiment (offline backend), chat and audio highlights, integration, report - in one child process,
timed per stage; the child's peak RSS is read from getrusage(RUSAGE_CHILDREN).
Targets: all stages <= 60 s on 2 cores, peak memory <= 1 GB; audio features + waveform <= 10 s and 300 MB.

Stages whose functions have not landed are reported as "missing" and skipped (chat sentiment falls back to a
stand-in from the package's filter + lexicon scorer, and says so). Input generation is not timed.

    .venv/bin/python bench/analysis_perf.py [--hours 4] [--messages 200000] [--words 40000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # devtools (development generators) beside the package
log = logging.getLogger("bench")


def make_inputs(work: Path, hours: float, messages: int, words: int) -> dict:
    from devtools.synth import plan, write_audio, write_chat_json
    from klipstream.io import write_csv

    duration = hours * 3600
    n_events = int(hours * 10)
    truth = plan(7, duration, n_moments=n_events, n_spam=int(hours * 2), n_loud=int(hours * 2))
    t0 = time.perf_counter()
    write_audio(work / "perf.wav", truth)
    log.info("generated %.1f h of audio in %.0f s", hours, time.perf_counter() - t0)
    # the planted reactions add ~80 messages each; the background rate makes up the rest of the target
    base_rate = max(0.1, (messages - 80 * n_events - 150 * int(hours * 2)) / duration)
    t0 = time.perf_counter()
    count = write_chat_json(work / "perf_chat.json", truth, "perf", base_rate=base_rate, n_users=8000)
    log.info("generated %d chat messages in %.0f s", count, time.perf_counter() - t0)
    rng = np.random.default_rng(7)
    starts = np.sort(rng.uniform(0, duration - 1, words))
    vocab = np.array(
        "the a and so we go now this that what is it oh no yes okay let's chat look right here".split(), dtype=object
    )
    w = vocab[rng.integers(0, len(vocab), words)]
    write_csv(
        work / "perf_words.csv",
        pd.DataFrame(
            {"start_time": starts, "end_time": starts + 0.3, "word": w, "punctuated_word": w, "confidence": 0.9}
        ),
    )
    # 60 s windows every 30 s (the transcript stage's segments contract), words assigned by start time
    ws = np.arange(0, duration, 30.0)
    we = np.minimum(ws + 60, duration)
    lo, hi = np.searchsorted(starts, ws), np.searchsorted(starts, we)
    text = pd.Series(w).groupby(np.searchsorted(ws, starts, side="right") - 1).agg(" ".join)
    seg = pd.DataFrame(
        {
            "window_id": np.arange(len(ws)),
            "start_time": ws,
            "end_time": we,
            "word_count": hi - lo,
            "speech_rate": (hi - lo) / (we - ws),
            "text": text.reindex(np.arange(len(ws)), fill_value="").to_numpy(),
        }
    )
    write_csv(work / "perf_segments.csv", seg)
    return {"chat_messages": count, "duration": duration}


def child(work: Path) -> None:
    """Run every analysis stage once, in pipeline order, and print the timings as JSON."""
    import importlib

    from _stages import run_chat

    timings: dict = {}
    status: dict = {}

    def timed(name, fn, *a, **k):
        t0 = time.perf_counter()
        try:
            fn(*a, **k)
        except (ImportError, AttributeError) as exc:
            status[name] = f"missing ({exc})"
            return
        timings[name] = round(time.perf_counter() - t0, 2)

    def get(mod, name):
        def call(*a, **k):
            return getattr(importlib.import_module(mod), name)(*a, **k)

        return call

    wav, words = work / "perf.wav", work / "perf_words.csv"
    timed(
        "audio_features",
        get("klipstream.signals.audio_features", "compute_audio_features"),
        wav,
        work / "f.csv",
        words_csv=words,
    )
    timed(
        "waveform", get("klipstream.signals.waveform", "render_waveform"), wav, work / "peaks.json", work / "wave.png"
    )
    timed("audio_plot", get("klipstream.outputs.plots", "plot_audio_features"), work / "f.csv", work / "audio.png")
    chat = run_chat(work / "perf_chat.json", work, "perf", timings)
    status["chat_sentiment"] = timings.pop("chat_sentiment_impl")
    timings["chat_sentiment"] = round(timings["chat_sentiment"], 2)
    timings["chat_timeline"] = round(timings["chat_timeline"], 2)
    timed(
        "chat_plot", get("klipstream.outputs.plots", "plot_chat_timeline"), chat["chat_timeline_csv"], work / "chat.png"
    )
    speech = work / "speech.csv"
    timed(
        "speech_sentiment",
        get("klipstream.emotions.speech", "score_windows"),
        work / "perf_segments.csv",
        work / "f.csv",
        speech,
        backend="offline",
    )
    speech_csv = speech if speech.exists() else None
    timed(
        "chat_highlights",
        get("klipstream.highlights", "chat_highlights"),
        chat["chat_timeline_csv"],
        chat["chat_sentiment_csv"],
        work / "ch.csv",
    )
    timed(
        "audio_highlights",
        get("klipstream.highlights", "audio_highlights"),
        work / "f.csv",
        speech_csv,
        words,
        work / "ah.csv",
    )
    timed(
        "integrate",
        get("klipstream.highlights", "integrate"),
        "perf",
        work / "perf.json",
        title="perf",
        twitch_url="https://www.twitch.tv/videos/1",
        params={},
        chat_timeline_csv=chat["chat_timeline_csv"],
        chat_sentiment_csv=chat["chat_sentiment_csv"],
        chat_highlights_csv=work / "ch.csv",
        audio_features_csv=work / "f.csv",
        audio_sentiment_csv=speech_csv,
        audio_highlights_csv=work / "ah.csv",
        words_csv=words,
    )
    timed(
        "report",
        get("klipstream.outputs.report", "render_report"),
        work / "perf.json",
        work / "perf.html",
        waveform_json=work / "peaks.json",
    )
    print(json.dumps({"timings": timings, "status": status}))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--words", type=int, default=40_000)
    ap.add_argument("--keep", help="generate into / reuse this folder instead of a temp one")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    if a.child:
        logging.getLogger("klipstream").setLevel(logging.WARNING)
        child(Path(a.child))
        return 0
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="klip-perf-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if not (work / "perf.wav").exists():
            info = make_inputs(work, a.hours, a.messages, a.words)
            (work / "info.json").write_text(json.dumps(info))
        info = json.loads((work / "info.json").read_text())
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--child", str(work)], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            return proc.returncode
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        t = out["timings"]
        result = {
            "workload": {"hours": a.hours, "chat_messages": info["chat_messages"], "words": a.words},
            "stages_s": t,
            "stage_status": out["status"],
            "analysis_total_s": round(sum(t.values()), 1),
            "child_wall_s_including_imports": round(wall, 1),
            "peak_rss_mb": round(peak_mb),
            "audio_features_plus_waveform_s": round(t.get("audio_features", 0) + t.get("waveform", 0), 2),
            "targets": {"total_s": 60, "peak_mb": 1024, "audio_features_plus_waveform_s": 10},
        }
        print(json.dumps(result, indent=2))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
