"""Benchmark of live mode's per-message work: CPU at 20, 100 and 500 messages/s, RSS over a long simulated stream,
and the announce-latency distribution on planted bursts.

Usage: .venv/bin/python bench/live.py [--rates 20 100 500] [--minutes 20] [--rss-hours 12 --rss-rate 20]
       .venv/bin/python bench/live.py --labels ../shared/data/esports/labels.csv CHAT ...   (live vs VOD, labelled)

A chat is generated second by second (users from a pool of 5,000, talk, emotes and greetings, a burst of
laughter from many chatters every 5 minutes: 3x the rate for 12 s). Every message goes through what
`klipstream live` does with it, minus the socket: the IRC line is built and parsed (klipstream.live.irc), turned
into a chat-JSON comment and written to a journal file, and fed to the detector (klipstream.live.detector). CPU is
the process's CPU time over the simulated stream time: the share of one core the live process needs in real time.
RSS is read from /proc/self/status once per simulated hour. Latency is announced-at minus peak (stream seconds)
of every announcement; a burst counts as found when a moment's (last revision's) peak lies within 10 s of it (a
saturated burst's score is a plateau, whose peak the engine puts anywhere on it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from klipstream.live.detector import LiveDetector  # noqa: E402
from klipstream.live.irc import chat_line, parse_line  # noqa: E402
from klipstream.live.session import comment_of  # noqa: E402

TALK = [
    "anyone know the song",
    "what rank is he",
    "this game looks fun",
    "first time here",
    "he should go left",
    "is this ranked",
    "nice",
    "ok",
    "lets see",
    "hmm",
    "true",
    "wait for it",
    "he is cooking",
    "no way he misses",
]
REACT = ["KEKW", "LUL", "OMEGALUL", "LMAO", "KEKW KEKW", "PogChamp", "Pog", "LOL"]
GREET = ["hi chat", "hello", "gn chat", "hey everyone"]
START_MS = 1_700_000_000_000
BURST_EVERY, BURST_LEN = 300, 12


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def seconds(rate: float, duration: int, seed: int = 1):
    """Yield (second, [(offset, login, text)]) for `duration` seconds at `rate` msg/s with planted bursts."""
    rng = np.random.default_rng(seed)
    for s in range(duration):
        burst = s >= BURST_EVERY and s % BURST_EVERY < BURST_LEN
        n = rng.poisson(rate * (3 if burst else 1))
        offs = np.sort(s + rng.random(n))
        users = rng.integers(0, 5000, n)
        out = []
        for off, u in zip(offs, users):
            r = rng.random()
            if burst and r < 0.8:
                text = REACT[rng.integers(len(REACT))]
            elif r < 0.05:
                text = GREET[rng.integers(len(GREET))]
            elif r < 0.12:
                text = REACT[rng.integers(len(REACT))]
            else:
                text = TALK[rng.integers(len(TALK))]
            out.append((float(off), f"user{u}", text))
        yield s, out


def irc_line(i: int, off: float, login: str, text: str) -> str:
    ts = START_MS + int(off * 1000)
    return (
        f"@badge-info=;badges=;color=#1E90FF;display-name={login};emotes=;id=m{i};mod=0;room-id=1;subscriber=0;"
        f"tmi-sent-ts={ts};turbo=0;user-id={i % 5000};user-type= :{login}!{login}@{login}.tmi.twitch.tv "
        f"PRIVMSG #bench :{text}"
    )


def run(rate: float, duration: int, journal: Path, rss_every: int = 3600) -> dict:
    det = LiveDetector()
    ann, rss = [], []
    i = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with open(journal, "w", encoding="utf-8") as fh:
        for s, msgs in seconds(rate, duration):
            for off, login, text in msgs:
                i += 1
                line = chat_line(parse_line(irc_line(i, off, login, text)), START_MS)
                fh.write(json.dumps(comment_of(line, (line.sent_ms - START_MS) / 1000, "1", "1")) + "\n")
                ann += det.add((line.sent_ms - START_MS) / 1000, line.display_name, line.body, line.emote_names)
            ann += det.advance(s + 1.0)
            if s % rss_every == 0:
                rss.append((s // 3600, round(rss_mb(), 1)))
                fh.truncate(0)  # the journal's size is the disk's business, not memory's
                fh.seek(0)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    bursts = np.arange(BURST_EVERY, duration, BURST_EVERY)
    final = {}
    for a in ann:
        final[a["id"]] = a
    peaks = np.array([a["peak"] for a in final.values()])
    lo, hi = bursts - 10, bursts + BURST_LEN + 10
    found = [bool(((peaks >= a) & (peaks <= b)).any()) for a, b in zip(lo, hi)]
    false = sum(1 for p in peaks if not ((p >= lo) & (p <= hi)).any())
    first = {}
    for a in ann:
        first.setdefault(a["id"], a)
    lat = np.array([a["latency"] for a in ann]) if ann else np.zeros(1)
    return {
        "rate": rate,
        "stream_s": duration,
        "messages": i,
        "cpu_s": round(cpu, 2),
        "core_share": round(cpu / duration, 4),
        "wall_s": round(wall, 2),
        "ticks": det.ticks,
        "bursts": len(bursts),
        "bursts_found": int(sum(found)),
        "moments_elsewhere": false,
        "announcements": len(ann),
        "latency_p50": float(np.percentile(lat, 50)),
        "latency_p95": float(np.percentile(lat, 95)),
        "latency_max": float(lat.max()),
        "first_revision_latency_max": max((a["latency"] for a in first.values()), default=None),
        "rss_mb_by_hour": rss + [(duration // 3600, round(rss_mb(), 1))],
    }


def labelled(paths: list[str], labels_csv: str) -> None:
    """Live vs VOD on labelled chats: P@K and recall@K (bench/highlight_eval.py's metric, K = the game's labels) of
    the VOD run's chat moments (klipstream.highlights.chat_highlights) and of the live moments (last revisions,
    ranked by score), both moved back by the engine's default_lag_seconds (chat reacts after the event); and how
    many of the VOD run's top 10 were announced live (a live peak inside the moment's span)."""
    from bench.highlight_eval import read_labels, score
    from klipstream.chat.importers import import_chat
    from klipstream.chat.io import read_chat_frame
    from klipstream.emotions.chat import score_chat
    from klipstream.highlights import chat_highlights
    from klipstream.highlights.params import FusionParams
    from klipstream.signals.chat_timeline import build_chat_timeline

    lag = FusionParams().default_lag_seconds
    labels = read_labels(labels_csv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            vod = Path(path).stem
            lab = labels[labels["vod_id"] == vod]
            d = Path(tmp)
            import_chat(path, d / "c.json", vod)
            score_chat(d / "c.json", d / "s.csv")
            build_chat_timeline(d / "s.csv", d / "t.csv")
            hl = chat_highlights(d / "t.csv", d / "s.csv", d / "h.csv")
            frame = read_chat_frame(d / "c.json")
            det, ann = LiveDetector(), []
            cpu0 = time.process_time()
            for t, u, m, e in zip(frame["time"].to_numpy(), frame["user"], frame["message"], frame["emotes"]):
                ann += det.add(t, u, m, e)
            ann += det.flush(float(frame["time"].max()))
            cpu = time.process_time() - cpu0
            final = sorted({a["id"]: a for a in ann}.values(), key=lambda a: -a["score"])
            peaks = np.array([a["peak"] for a in final])
            top = hl.head(10)
            covered = sum(bool(((peaks >= r.start_time) & (peaks <= r.end_time)).any()) for r in top.itertuples())
            vod_s = score((hl["peak_time"] - lag).tolist(), lab)
            live_s = score([a["peak"] - lag for a in final], lab)
            row = {
                "vod": vod,
                "messages": len(frame),
                "labels": len(lab),
                "vod_p_at_k": round(vod_s["precision_at_k"], 3),
                "live_p_at_k": round(live_s["precision_at_k"], 3),
                "vod_recall": round(vod_s["recall_at_k"], 3),
                "live_recall": round(live_s["recall_at_k"], 3),
                "live_moments": len(final),
                "top10_announced_live": covered,
                "top10": len(top),
                "max_latency": max((a["latency"] for a in ann), default=None),
                "detector_cpu_s": round(cpu, 1),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    mean = {
        k: round(float(np.mean([r[k] for r in rows])), 3)
        for k in ("vod_p_at_k", "live_p_at_k", "vod_recall", "live_recall")
    }
    share = sum(r["top10_announced_live"] for r in rows) / max(1, sum(r["top10"] for r in rows))
    print(json.dumps({"games": len(rows), **mean, "top10_announced_live_share": round(share, 3)}))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", type=float, nargs="*", default=[20, 100, 500])
    ap.add_argument("--minutes", type=float, default=20, help="simulated stream per rate for CPU and latency")
    ap.add_argument("--rss-hours", type=float, default=0, help="also simulate this many hours for RSS")
    ap.add_argument("--rss-rate", type=float, default=20)
    ap.add_argument("--labels", help="labels CSV (vod_id,start,end): evaluate the chats given instead")
    ap.add_argument("chats", nargs="*", help="with --labels: chat logs named by their vod_id")
    args = ap.parse_args(argv)
    print(f"load average: {os.getloadavg()}")
    if args.labels:
        labelled(args.chats, args.labels)
        print(f"load average: {os.getloadavg()}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for rate in args.rates:
            r = run(rate, int(args.minutes * 60), Path(tmp) / "j.jsonl", rss_every=600)
            print(json.dumps(r))
        if args.rss_hours:
            r = run(args.rss_rate, int(args.rss_hours * 3600), Path(tmp) / "j.jsonl")
            print(json.dumps({"rss_run": True, **r}))
    print(f"load average: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
