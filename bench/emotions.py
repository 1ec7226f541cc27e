"""Emotions benchmark: LLM throughput against the loopback stub, chat classification speed, model held-out scores,
and every chat scorer against the human-labelled chat dev set, side by side.

  PYTHONPATH=. .venv/bin/python bench/emotions.py [--windows 480] [--concurrency 16] [--latency 1.0]
      [--messages 200000] [--skip-llm] [--dev-only] [--update-model-card]

Targets (issues 5, 15): 480 windows at 1 s stub latency and concurrency 16 in <= 35 s; 200,000 chat messages in
<= 10 s on 2 cores (score_chat_frame exactly as chat_sentiment_score runs it). Chat text comes from
../shared/data/chat when present (repeated to the size asked), else a generated mix of emotes and words.
Dev set (bench/chat_sentiment_eval.py: majority, vader, offline, model, shipped): accuracy, macro-F1, per-class
precision/recall and confusion matrices for sentiment and emotion; --update-model-card stores them in
models/metrics.json ("devset") and models/MODEL_CARD.md. Skipped (with a line saying so) without ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from klipstream.emotions import chat as chat_mod  # noqa: E402
from klipstream.emotions import speech  # noqa: E402
from klipstream.emotions.chat_model import DEFAULT_MODELS_DIR, ChatModels  # noqa: E402
from klipstream.io import write_csv  # noqa: E402

log = logging.getLogger("bench.emotions")
DATA = ROOT.parent / "shared" / "data"


class external_stub:
    """The stub in its own process, so its CPU work does not share this process's GIL with the client."""

    def __init__(self, latency: float):
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.emotions_stub", "--latency", str(latency)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.base_url = self.proc.stdout.readline().strip()

    def _stats(self) -> dict:
        import urllib.request

        with urllib.request.urlopen(self.base_url.replace("/v1/", "/stats")) as resp:
            return json.load(resp)

    @property
    def calls(self) -> int:
        return self._stats()["calls"]

    @property
    def max_in_flight(self) -> int:
        return self._stats()["max_in_flight"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)


def bare_client_seconds(base_url: str, n: int, concurrency: int) -> float:
    """The floor on this machine: the bare openai client, same stub and concurrency, no cache/parse/fallback."""
    import asyncio

    import openai

    async def run() -> float:
        sem = asyncio.Semaphore(concurrency)
        client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0, timeout=30)

        async def one(i: int):
            async with sem:
                await client.chat.completions.create(model="bare", messages=[{"role": "user", "content": f"bare {i}"}])

        t0 = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(n)))
        await client.close()
        return time.monotonic() - t0

    return asyncio.run(run())


def bench_llm(windows: int, concurrency: int, latency: float) -> dict:
    import os

    os.environ.setdefault("NEBIUS_API_KEY", "bench-key")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n = windows
        seg = pd.DataFrame(
            {
                "window_id": range(n),
                "start_time": np.arange(n) * 30.0,
                "end_time": np.arange(n) * 30.0 + 60,
                "word_count": 120,
                "speech_rate": 2.0,
                "text": [f"window {i} that was insane lol we are so back" for i in range(n)],
            }
        )
        seg.to_csv(tmp / "seg.csv", index=False)
        pd.DataFrame({"time": np.arange(n * 30 + 60, dtype=float), "rms_db": -25.0}).to_csv(tmp / "f.csv", index=False)
        # warm-up outside the clock: imports (sklearn, scipy, VADER) cost seconds once per process, not per window
        from klipstream.emotions.offline import score_texts

        score_texts(["warm up KEKW"])
        with external_stub(latency) as stub:
            base = bare_client_seconds(stub.base_url, n, concurrency)
            calls0 = stub.calls
            t0 = time.monotonic()
            cpu0 = time.process_time()
            out = speech.score_windows(
                tmp / "seg.csv",
                tmp / "f.csv",
                tmp / "out.csv",
                backend="llm",
                base_url=stub.base_url,
                model="stub-llm",
                concurrency=concurrency,
                timeout=30,
                cache_dir=tmp / "cache",
            )
            first = time.monotonic() - t0
            cpu = time.process_time() - cpu0
            calls = stub.calls
            t0 = time.monotonic()
            speech.score_windows(
                tmp / "seg.csv",
                tmp / "f.csv",
                tmp / "out2.csv",
                backend="llm",
                base_url=stub.base_url,
                model="stub-llm",
                concurrency=concurrency,
                timeout=30,
                cache_dir=tmp / "cache",
            )
            rerun = time.monotonic() - t0
            return {
                "windows": n,
                "concurrency": concurrency,
                "latency_s": latency,
                "seconds": round(first, 2),
                "api_calls": calls - calls0,
                "client_cpu_seconds": round(cpu, 2),
                "bare_openai_client_seconds": round(base, 2),
                "max_in_flight_seen_by_stub": stub.max_in_flight,
                "llm_rows": int((out["model"] == "stub-llm").sum()),
                "cached_rerun_seconds": round(rerun, 2),
                "cached_rerun_calls": stub.calls - calls,
                "ideal_seconds": float(np.ceil(n / concurrency) * latency),
            }


def chat_frame(n: int) -> pd.DataFrame:
    texts: list[str] = []
    txt = DATA / "chat" / "fuslie_4h.txt"
    if txt.is_file():
        texts = pd.Series(txt.read_text(encoding="utf-8").splitlines()).str.split(" ", n=1).str[1].fillna("").tolist()
    if not texts:
        rng = np.random.default_rng(0)
        vocab = [
            "KEKW",
            "Pog",
            "Sadge",
            "LUL",
            "the",
            "run",
            "is",
            "so",
            "good",
            "bad",
            "lol",
            "why",
            "!drop",
            "😂",
            "gg",
        ]
        texts = [" ".join(rng.choice(vocab, size=rng.integers(1, 8))) for _ in range(20000)]
    reps = int(np.ceil(n / len(texts)))
    msg = pd.Series(texts * reps, dtype=object)[:n].reset_index(drop=True)
    return pd.DataFrame(
        {
            "comment_id": [f"c{i}" for i in range(n)],
            "time": np.linspace(0, 36000, n),
            "user": np.where(np.arange(n) % 97 == 0, "Nightbot", "viewer"),
            "message": msg,
            "emotes": "",
        }
    )


def bench_chat(n: int) -> dict:
    # as chat_sentiment_score runs it: the models are loaded only when the shipped blend uses them
    models = ChatModels.load() if chat_mod.BLEND.model_weight > 0 else None
    frame = chat_frame(n)
    chat_mod.score_chat_frame(frame.head(1000), models)  # warm-up: imports, regex compilation
    t0 = time.monotonic()
    cpu0 = time.process_time()
    out = chat_mod.score_chat_frame(frame, models)
    score_s = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    # the scorer reads each distinct text once and the repeated log is only ~8 % distinct texts: also time the
    # worst case, every repetition made distinct by one extra token
    distinct = frame.assign(message=frame["message"] + " r" + (frame.index // 40_000).astype(str))
    t2 = time.monotonic()
    chat_mod.score_chat_frame(distinct, models)
    distinct_s = time.monotonic() - t2
    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.monotonic()
        write_csv(Path(tmp) / "chat_sentiment.csv", out.round(6), float_format=None)  # as score_chat does
        write_s = time.monotonic() - t1
    return {
        "messages": n,
        "classify_seconds": round(score_s, 2),
        "classify_cpu_seconds": round(cpu, 2),
        "distinct_texts": int(frame["message"].nunique()),
        "classify_seconds_all_distinct": round(distinct_s, 2),
        "distinct_texts_all_distinct": int(distinct["message"].nunique()),
        "messages_per_second": int(n / score_s),
        "csv_write_seconds": round(write_s, 2),
        "filtered": int(out["is_filtered"].sum()),
        "blend": str(chat_mod.BLEND),
    }


def devset(update_card: bool) -> dict | None:
    """Every chat scorer on the labelled dev set (printed side by side); optionally recorded in the model card."""
    import datetime as dt

    from chat_sentiment_eval import default_scorers, evaluate, report
    from devsets.chat_source import DataMissing, load_devset

    try:
        dev = load_devset()
    except DataMissing as exc:
        print(f"dev set skipped: {exc}")
        return None
    result = evaluate(default_scorers(), dev)
    print(report(result))
    if update_card:
        from klipstream.emotions.chat import BLEND
        from klipstream.emotions.model_card import record_devset

        keep = ("accuracy", "macro_f1", "per_class", "confusion")
        summary = {
            "n": result["n"],
            "date": dt.date.today().isoformat(),
            "command": "PYTHONPATH=. .venv/bin/python bench/emotions.py --dev-only --update-model-card",
            "model_weight": BLEND.model_weight,
            "classes": result["classes"],
            "agreement": result.get("agreement"),
            "scorers": {
                n: {t: {k: r[t][k] for k in keep} for t in ("sentiment", "emotion")}
                | {"neutral_calibration": r["neutral_calibration"]}
                for n, r in result["scorers"].items()
            },
        }
        record_devset(DEFAULT_MODELS_DIR, summary)
        log.info("dev-set numbers written to %s", DEFAULT_MODELS_DIR / "MODEL_CARD.md")
    return result


def held_out() -> dict:
    path = DEFAULT_MODELS_DIR / "metrics.json"
    m = json.loads(path.read_text())
    return {
        k: {x: m[k][x] for x in ("n", "accuracy", "macro_f1", "baseline_accuracy", "baseline_macro_f1")}
        for k in ("emotion", "sentiment")
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=480)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--latency", type=float, default=1.0)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--skip-llm", action="store_true")
    ap.add_argument("--dev-only", action="store_true", help="only the dev-set comparison (no timing runs)")
    ap.add_argument("--update-model-card", action="store_true", help="record the dev-set numbers in models/")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("klipstream").setLevel(logging.WARNING)
    results = {}
    dev = devset(args.update_model_card)
    if dev is not None:
        results["devset_macro_f1"] = {
            n: {t: round(r[t]["macro_f1"], 3) for t in ("sentiment", "emotion")} for n, r in dev["scorers"].items()
        }
    if args.dev_only:
        print(json.dumps(results, indent=2))
        return 0
    if not args.skip_llm:
        results["llm"] = bench_llm(args.windows, args.concurrency, args.latency)
        log.info("LLM: %s", results["llm"])
    results["chat"] = bench_chat(args.messages)
    log.info("chat: %s", results["chat"])
    results["held_out"] = held_out()
    log.info("held-out: %s", results["held_out"])
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
