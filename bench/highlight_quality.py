"""Highlight quality benchmark: synthetic VODs with planted moments at known times (devtools.synth).

For each seed: generate audio + chat (5 planted moments with 5-15 s chat lag, 2 spam bursts, 2 loud
noise bursts with no chat), run the analysis stages and the integration, and score the ranked highlights:
- precision@K (K = number of planted moments): share of the top K whose peak is within 10 s of a planted moment
  (a highlight counts as a hit when its peak lies within `--tolerance` of the planted span);
- recall@K: share of planted moments hit by some top-K highlight;
- boundary error: |start - planted start| and |end - planted end| of the matched highlights (s), and the
  same with the pre/post-roll removed (the rolls add context on purpose);
- distractors in the top K, and the lag estimate error.
Modes: full (audio+chat), chat-only, audio-only.
Also runs chat-only on the real chat logs in ../shared/data/chat and prints the top moments with their chat.

    .venv/bin/python bench/highlight_quality.py [--seeds 20] [--duration 1200] [--real]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # devtools beside the package
from _stages import run_audio, run_chat  # noqa: E402

from devtools.synth import generate  # noqa: E402
from klipstream.highlights import FusionParams, integrate  # noqa: E402

log = logging.getLogger("bench")
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def near(peak: float, ev: dict, tol: float) -> bool:
    return ev["start"] - tol <= peak <= ev["end"] + tol


def score_vod(doc: dict, truth: dict, tol: float) -> dict:
    planted = [e for e in truth["events"] if e["kind"] == "planted"]
    distract = [e for e in truth["events"] if e["kind"] != "planted"]
    k = len(planted)
    top = doc["highlights"][:k]
    hits = [h for h in top if any(near(h["peak"], e, tol) for e in planted)]
    found = [e for e in planted if any(near(h["peak"], e, tol) for h in top)]
    bad = [h for h in top if any(near(h["peak"], e, tol) for e in distract) and h not in hits]
    fp = FusionParams(**{k2: v for k2, v in doc["params"].items() if k2 in FusionParams.__dataclass_fields__})
    starts, ends, starts_core, ends_core = [], [], [], []
    for e in found:
        h = next(h for h in top if near(h["peak"], e, tol))
        starts.append(abs(h["start"] - e["start"]))
        ends.append(abs(h["end"] - e["end"]))
        starts_core.append(abs(h["start"] + fp.pre_roll_seconds - e["start"]))
        ends_core.append(abs(h["end"] - fp.post_roll_seconds - e["end"]))
    # worst planted rank vs best distractor rank over the whole list
    ranks_p = [min((h["rank"] for h in doc["highlights"] if near(h["peak"], e, tol)), default=None) for e in planted]
    ranks_d = [min((h["rank"] for h in doc["highlights"] if near(h["peak"], e, tol)), default=None) for e in distract]
    lags = [e["lag"] for e in planted]
    return {
        "precision_at_k": len(hits) / k,
        "recall_at_k": len(found) / k,
        "distractors_in_top_k": len(bad),
        "start_err": starts,
        "end_err": ends,
        "start_err_core": starts_core,
        "end_err_core": ends_core,
        "planted_ranks": ranks_p,
        "distractor_ranks": ranks_d,
        "lag": doc["reaction_lag"]["seconds"],
        "lag_method": doc["reaction_lag"]["method"],
        "true_lag_mean": statistics.mean(lags),
    }


def run_synthetic(seeds: int, duration: float, tol: float, work: Path) -> dict:
    modes = {
        "full": {"audio": True, "chat": True},
        "chat_only": {"audio": False, "chat": True},
        "audio_only": {"audio": True, "chat": False},
    }
    res = {m: [] for m in modes}
    for seed in range(seeds):
        g = generate(work, seed, duration=duration)
        truth = g["truth"]
        timings: dict = {}
        chat = run_chat(g["chat"], work, g["vod_id"], timings, duration=duration)
        audio = run_audio(g["wav"], work, g["vod_id"], timings)
        for mode, use in modes.items():
            inputs = {**(chat if use["chat"] else {}), **(audio if use["audio"] else {})}
            doc = integrate(
                g["vod_id"],
                work / f"{g['vod_id']}_{mode}.json",
                title=g["vod_id"],
                twitch_url=None,
                params={},
                **inputs,
            )
            r = score_vod(doc, truth, tol)
            res[mode].append(r)
        f = res["full"][-1]
        log.info(
            "seed %d: full P@K %.2f R@K %.2f lag %.0f (%s, true mean %.1f) | chat-only P@K %.2f | audio-only P@K %.2f",
            seed,
            f["precision_at_k"],
            f["recall_at_k"],
            f["lag"],
            f["lag_method"],
            f["true_lag_mean"],
            res["chat_only"][-1]["precision_at_k"],
            res["audio_only"][-1]["precision_at_k"],
        )
        for p in Path(work).glob(f"{g['vod_id']}*"):
            p.unlink()
    summary = {}
    for mode, rows in res.items():

        def flat(key, rows=rows):
            return [x for r in rows for x in r[key]]

        summary[mode] = {
            "vods": len(rows),
            "precision_at_k": round(statistics.mean(r["precision_at_k"] for r in rows), 3),
            "recall_at_k": round(statistics.mean(r["recall_at_k"] for r in rows), 3),
            "distractors_in_top_k": sum(r["distractors_in_top_k"] for r in rows),
            "start_error_median_s": round(statistics.median(flat("start_err")), 1) if flat("start_err") else None,
            "end_error_median_s": round(statistics.median(flat("end_err")), 1) if flat("end_err") else None,
            "start_error_without_roll_median_s": round(statistics.median(flat("start_err_core")), 1)
            if flat("start_err")
            else None,
            "end_error_without_roll_median_s": round(statistics.median(flat("end_err_core")), 1)
            if flat("end_err")
            else None,
            "lag_abs_error_mean_s": round(statistics.mean(abs(r["lag"] - r["true_lag_mean"]) for r in rows), 2),
        }
    return summary


def run_real(work: Path, top: int = 5) -> dict:
    """Chat-only on the real logs: import with the package's importer, then sentiment, timeline, integration."""
    from klipstream.chat.importers import import_chat

    out = {}
    for name in ("twitch_v5_1087079172.json", "fuslie_4h.txt"):
        src = SHARED / "chat" / name
        if not src.is_file():
            log.warning("real chat %s absent, skipped", src)
            continue
        vod = Path(name).stem.replace(".", "_")
        chat_json = work / f"{vod}_chat.json"
        t0 = time.perf_counter()
        import_chat(src, chat_json, vod)
        timings: dict = {}
        inputs = run_chat(chat_json, work, vod, timings)
        doc = integrate(
            vod,
            work / f"{vod}.json",
            title=name,
            twitch_url="https://www.twitch.tv/videos/1087079172" if "1087079172" in name else None,
            params={},
            **inputs,
        )
        took = time.perf_counter() - t0
        rows = []
        for h in doc["highlights"][:top]:
            rows.append(
                {
                    "rank": h["rank"],
                    "start": h["start"],
                    "end": h["end"],
                    "score": h["score"],
                    "messages": h["chat"]["messages"],
                    "chatters": h["chat"]["unique_chatters"],
                    "emotion": h["dominant_emotion"],
                    "top_chat": [
                        f"{m['message']} (x{m['count']}" + (f", {m['users']} users)" if m["users"] else ")")
                        for m in h["chat"]["top_messages"][:3]
                    ],
                    "top_emotes": [f"{e['emote']} x{e['count']}" for e in h["chat"]["top_emotes"][:3]],
                    "link": h["twitch_link"],
                }
            )
        out[name] = {
            "messages": doc["summary"]["chat_messages"],
            "duration_s": doc["duration"],
            "lag": doc["reaction_lag"],
            "seconds": round(took, 2),
            "top": rows,
        }
        out[name]["lag"] = {k: v for k, v in doc["reaction_lag"].items() if k != "curve"}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--duration", type=float, default=1200.0)
    ap.add_argument("--tolerance", type=float, default=10.0)
    ap.add_argument("--real", action="store_true", help="also run the real chat logs (chat-only)")
    ap.add_argument("--real-only", action="store_true")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("klipstream",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    result = {}
    with tempfile.TemporaryDirectory(prefix="klip-hq-") as tmp:
        if not a.real_only:
            result["synthetic"] = run_synthetic(a.seeds, a.duration, a.tolerance, Path(tmp))
        if a.real or a.real_only:
            result["real_chat"] = run_real(Path(tmp))
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if a.json:
        Path(a.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
