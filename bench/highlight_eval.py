"""Highlight evaluation on labelled real chats: the shipped engine vs a message-rate baseline vs random.

For each chat file the real workflow runs on a temporary work directory (a one-row VOD table with only the
chat column, then `snakemake output/analysis/<id>_integrated_analysis.json`), and the ranked highlights are
read back from that document. In the same run, from the chat the workflow imported
(`output/raw/chat/<id>_chat.json`), two reference methods are scored:

- baseline: message counts in a 25 s window centred on each second; peaks picked greedily by count (a flat top
  counts once, at its centre), each at least 60 s from every peak already picked; each peak moved back 15 s
  (chat reacts after the event); the top K;
- random: K moments uniform over the chat's span, mean over `--seeds` seeds.

Metric (K = the number of labels of that VOD): a predicted moment hits when its time falls inside a label
interval widened by `--tolerance` s (10) on both sides.
P@K = hits among the top K predictions / K (predictions missing below K count as misses; several predictions may
hit one label); recall@K = labels hit by at least one of the top K / number of labels.

    PYTHONPATH=. .venv/bin/python bench/highlight_eval.py --labels bench/devsets/highlights.csv \\
        ../shared/data/chat/twitch_v5_1087079172.json ../shared/data/chat/fuslie_4h.txt \\
        [--config 'fusion={candidates_per_minute: 2}'] [--json OUT] [--keep DIR]

A chat file's vod_id is its file stem unless given as ID=PATH; ids must match [A-Za-z0-9_-]+.
Labelling agreement of a second pass (no engine run):

    .venv/bin/python bench/highlight_eval.py --labels bench/devsets/highlights.csv \\
        --agreement bench/devsets/highlights_pass2.csv --until 3600

When only a stretch of a VOD is labelled (a second annotator's hour), `--span ID=START:END` ranks and scores
inside it: each method's moments over the whole VOD are cut to the stretch, and random draws inside it;
`--agreement` takes `--since`/`--until` to compare two label sets on such a stretch.

`run_engine` (one VOD through the workflow) is importable for tests and other benchmarks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
VOD_ID = re.compile(r"^[A-Za-z0-9_-]+$")
log = logging.getLogger("bench")

TOLERANCE = 10.0
BASELINE_WINDOW = 25.0
BASELINE_MIN_GAP = 60.0
BASELINE_SHIFT = 15.0


# ----------------------------------------------------------------------------------------------- metric


def hit_mask(times, labels: pd.DataFrame, tol: float = TOLERANCE) -> np.ndarray:
    """For each predicted time: does it fall inside some label [start - tol, end + tol]?"""
    t = np.asarray(times, dtype=float).reshape(-1, 1)
    if t.size == 0 or len(labels) == 0:
        return np.zeros(t.shape[0], dtype=bool)
    s = labels["start"].to_numpy(dtype=float) - tol
    e = labels["end"].to_numpy(dtype=float) + tol
    return ((t >= s) & (t <= e)).any(axis=1)


def score(times, labels: pd.DataFrame, k: int | None = None, tol: float = TOLERANCE) -> dict:
    """P@K and recall@K of ranked predicted times (best first) against one VOD's labels; K defaults to len(labels)."""
    k = len(labels) if k is None else int(k)
    top = np.asarray(list(times), dtype=float)[:k]
    if k == 0:
        return {"k": 0, "predicted": int(len(top)), "hits": 0, "precision_at_k": 0.0, "recall_at_k": 0.0}
    hits = int(hit_mask(top, labels, tol).sum())
    if len(labels) and len(top):
        s = labels["start"].to_numpy(dtype=float) - tol
        e = labels["end"].to_numpy(dtype=float) + tol
        found = int(
            ((top.reshape(1, -1) >= s.reshape(-1, 1)) & (top.reshape(1, -1) <= e.reshape(-1, 1))).any(axis=1).sum()
        )
    else:
        found = 0
    return {
        "k": k,
        "predicted": int(len(top)),
        "hits": hits,
        "precision_at_k": hits / k,
        "recall_at_k": found / len(labels) if len(labels) else 0.0,
    }


def frame_prf(spans, labels: pd.DataFrame) -> dict:
    """Frame precision/recall/F over whole seconds (Fu et al., EMNLP 2017): prediction = the union of the `spans`
    ([start, end) seconds), truth = the union of the labels' [start, end]."""
    ends = [e for _, e in spans] + labels["end"].tolist() + [0.0]
    n = int(np.ceil(max(ends))) + 2
    pred = np.zeros(n, dtype=bool)
    truth = np.zeros(n, dtype=bool)
    for s, e in spans:
        pred[max(0, int(np.floor(s))) : max(0, int(np.ceil(e)))] = True
    for s, e in labels[["start", "end"]].to_numpy(dtype=float):
        truth[max(0, int(np.floor(s))) : max(0, int(np.ceil(e)))] = True
    tp = int((pred & truth).sum())
    p = tp / pred.sum() if pred.any() else 0.0
    r = tp / truth.sum() if truth.any() else 0.0
    return {"frame_precision": p, "frame_recall": r, "frame_f": 2 * p * r / (p + r) if p + r else 0.0}


# ----------------------------------------------------------------------------------------------- references


def window_counts(times, window: float = BASELINE_WINDOW, duration: float | None = None) -> np.ndarray:
    """counts[t] = messages with time in [t - window/2, t + window/2), for every whole second t in [0, duration]."""
    t = np.sort(np.asarray(times, dtype=float))
    end = float(duration if duration is not None else (t[-1] if len(t) else 0.0))
    grid = np.arange(0.0, np.floor(end) + 1.0)
    lo = np.searchsorted(t, grid - window / 2, side="left")
    hi = np.searchsorted(t, grid + window / 2, side="left")
    return (hi - lo).astype(float)


def baseline_moments(
    times,
    k: int,
    window: float = BASELINE_WINDOW,
    min_gap: float = BASELINE_MIN_GAP,
    shift: float = BASELINE_SHIFT,
    duration: float | None = None,
) -> list[float]:
    """The message-rate baseline: the k highest window counts (`window_counts`), each at least `min_gap` s from
    every peak picked before it, moved back `shift` s (not below 0); ranked best first.

    Seconds are taken by count, highest first (ties: earlier first); a run of seconds sharing the top count (one
    burst seen whole by several overlapping windows) stands for one peak at the run's centre."""
    counts = window_counts(times, window, duration)
    order = np.lexsort((np.arange(len(counts)), -counts))  # count desc, then time asc
    picked: list[int] = []
    for i in order:
        if len(picked) >= k or counts[i] <= 0:
            break
        lo = hi = int(i)
        while lo > 0 and counts[lo - 1] == counts[i]:
            lo -= 1
        while hi < len(counts) - 1 and counts[hi + 1] == counts[i]:
            hi += 1
        c = (lo + hi) // 2
        if all(abs(c - p) >= min_gap for p in picked):
            picked.append(c)
    return [max(0.0, float(p) - shift) for p in picked]


def random_moments(k: int, duration: float, seed: int, start: float = 0.0) -> list[float]:
    return np.random.default_rng(seed).uniform(start, max(duration, start), k).tolist()


def point_spans(times) -> list[tuple[float, float]]:
    return [(t - BASELINE_HALF_SPAN, t + BASELINE_HALF_SPAN) for t in times]


def random_score(labels: pd.DataFrame, duration: float, seeds: int, tol: float = TOLERANCE, start: float = 0.0) -> dict:
    """Mean P@K / recall@K / frame P/R/F of `seeds` random rankings of moments uniform over [start, duration]."""
    k = len(labels)
    runs = []
    for s in range(seeds):
        times = random_moments(k, duration, s, start)
        runs.append({**score(times, labels, k, tol), **frame_prf(point_spans(times), labels)})
    keys = ("hits", "precision_at_k", "recall_at_k", "frame_precision", "frame_recall", "frame_f")
    return {
        "k": k,
        "predicted": k,
        "seeds": seeds,
        **{x: float(np.mean([r[x] for r in runs])) if runs else 0.0 for x in keys},
    }


# ----------------------------------------------------------------------------------------------- agreement


def match_intervals(a: pd.DataFrame, b: pd.DataFrame, tol: float = TOLERANCE) -> list[tuple[int, int]]:
    """One-to-one matching of two label sets of one VOD: a pair may match when one interval, widened by `tol` s on
    both sides, overlaps the other (a gap of at most `tol` s); pairs are taken smallest gap first. Returns
    (row position in a, row position in b) pairs."""
    sa, ea = a["start"].to_numpy(dtype=float), a["end"].to_numpy(dtype=float)
    sb, eb = b["start"].to_numpy(dtype=float), b["end"].to_numpy(dtype=float)
    gap = np.maximum(sa[:, None], sb[None, :]) - np.minimum(ea[:, None], eb[None, :])
    cand = sorted((float(gap[i, j]), i, j) for i, j in zip(*np.nonzero(gap <= tol)))
    used_a, used_b, pairs = set(), set(), []
    for _, i, j in cand:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((int(i), int(j)))
    return pairs


def agreement(a: pd.DataFrame, b: pd.DataFrame, tol: float = TOLERANCE) -> dict:
    """Interval-match agreement of label set `b` (e.g. a second pass) with `a`, VOD by VOD: precision = matched /
    len(b),
    recall = matched / len(a), F1; plus how many matched pairs share the same `kind` (when both sets have one)."""
    matched = same_kind = 0
    for vod in sorted(set(a["vod_id"]) | set(b["vod_id"])):
        x = a[a["vod_id"] == vod].reset_index(drop=True)
        y = b[b["vod_id"] == vod].reset_index(drop=True)
        pairs = match_intervals(x, y, tol)
        matched += len(pairs)
        if "kind" in x and "kind" in y:
            same_kind += sum(x.at[i, "kind"] == y.at[j, "kind"] for i, j in pairs)
    p = matched / len(b) if len(b) else 0.0
    r = matched / len(a) if len(a) else 0.0
    return {
        "a": len(a),
        "b": len(b),
        "matched": matched,
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "same_kind": same_kind,
    }


# ----------------------------------------------------------------------------------------------- the engine


@dataclass
class EngineRun:
    vod_id: str
    workdir: Path
    integrated_json: Path
    chat_json: Path
    seconds: float

    def doc(self) -> dict:
        return json.loads(self.integrated_json.read_text(encoding="utf-8"))


def engine_peaks(doc: dict) -> list[float]:
    """Peak times of the integrated analysis' highlights, ordered by rank (best first)."""
    return [float(h["peak"]) for h in engine_ranked(doc)]


def engine_ranked(doc: dict) -> list[dict]:
    return sorted(doc.get("highlights", []), key=lambda h: h["rank"])


BASELINE_HALF_SPAN = BASELINE_WINDOW / 2  # a baseline or random moment spans its 25 s window


def run_engine(
    chat: str | os.PathLike,
    vod_id: str,
    workdir: str | os.PathLike,
    config: list[str] | tuple = (),
    *,
    repo: str | os.PathLike = ROOT,
    cores: int = 2,
    python: str = sys.executable,
    timeout: float | None = None,
) -> EngineRun:
    """Run the shipped workflow on one chat-only VOD in `workdir` and return where its outputs are.

    Writes `<workdir>/vods.tsv` (vod_id, url, video, chat, title with only the chat set), then runs
    `python -m snakemake --snakefile <repo>/Snakefile --directory <workdir> --configfile <repo>/config/config.yaml
    --cores <cores> output/analysis/<id>_integrated_analysis.json --config vods=<workdir>/vods.tsv [config...]`.
    `config` items are KEY=VALUE overrides passed through to Snakemake's --config. Raises RuntimeError with the
    tail of Snakemake's output when the workflow fails."""
    if not VOD_ID.match(vod_id):
        raise ValueError(f"vod id {vod_id!r} must match [A-Za-z0-9_-]+")
    repo, work = Path(repo).resolve(), Path(workdir).resolve()
    chat = Path(chat).resolve()
    if not chat.is_file():
        raise FileNotFoundError(f"chat file not found: {chat}")
    work.mkdir(parents=True, exist_ok=True)
    vods = work / "vods.tsv"
    vods.write_text(f"vod_id\turl\tvideo\tchat\ttitle\n{vod_id}\t\t\t{chat}\t{vod_id}\n", encoding="utf-8")
    target = f"output/analysis/{vod_id}_integrated_analysis.json"
    cmd = [
        python,
        "-m",
        "snakemake",
        "--snakefile",
        str(repo / "Snakefile"),
        "--directory",
        str(work),
        "--configfile",
        str(repo / "config" / "config.yaml"),
        "--cores",
        str(cores),
        target,
        "--config",
        f"vods={vods}",
        *config,
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(repo), os.environ.get("PYTHONPATH", "")) if p)}
    log.info("engine %s: %s", vod_id, shlex.join(cmd))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    took = time.perf_counter() - t0
    (work / "snakemake.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0 or not (work / target).is_file():
        raise RuntimeError(
            f"workflow failed for {vod_id} (exit {proc.returncode}), see {work / 'snakemake.log'}:\n"
            f"{(proc.stdout + proc.stderr)[-3000:]}"
        )
    return EngineRun(vod_id, work, work / target, work / f"output/raw/chat/{vod_id}_chat.json", took)


# ----------------------------------------------------------------------------------------------- driver


def parse_chat_arg(arg: str) -> tuple[str, Path]:
    """ID=PATH, or PATH whose file stem is the id."""
    head, sep, tail = arg.partition("=")
    if sep and VOD_ID.match(head) and not Path(arg).exists():
        vod, path = head, Path(tail)
    else:
        path = Path(arg)
        vod = path.stem
    if not VOD_ID.match(vod):
        raise SystemExit(f"vod id {vod!r} (from {arg}) must match [A-Za-z0-9_-]+; give it as ID=PATH")
    return vod, path


def parse_span(arg: str) -> tuple[str, tuple[float, float]]:
    """ID=START:END (seconds) -> (ID, (START, END))."""
    vod, _, rng = arg.partition("=")
    try:
        lo, hi = (float(x) for x in rng.split(":"))
    except ValueError:
        raise SystemExit(f"--span {arg!r}: expected ID=START:END in seconds") from None
    if not VOD_ID.match(vod) or hi <= lo:
        raise SystemExit(f"--span {arg!r}: expected ID=START:END with START < END")
    return vod, (lo, hi)


def read_labels(path) -> pd.DataFrame:
    lab = pd.read_csv(path, dtype={"vod_id": str})
    missing = [c for c in ("vod_id", "start", "end") if c not in lab.columns]
    if missing:
        raise SystemExit(f"labels {path}: missing column(s) {', '.join(missing)}")
    return lab


def in_span(times: list[float], span: tuple[float, float] | None) -> list[float]:
    """The times inside [start, end) of `span` (all of them without one), order kept."""
    return list(times) if span is None else [t for t in times if span[0] <= t < span[1]]


def evaluate_vod(
    run: EngineRun, labels: pd.DataFrame, seeds: int, tol: float, span: tuple[float, float] | None = None
) -> dict:
    """Engine, baseline and random on one VOD. With `span` only that stretch was labelled: each method's ranking
    over the whole VOD is cut to the moments inside it, and random draws inside it."""
    from klipstream.chat.io import read_chat_frame

    doc = run.doc()
    times = read_chat_frame(run.chat_json)["time"].to_numpy(dtype=float)
    duration = float(times.max()) if len(times) else 0.0
    k = len(labels)
    ranked = [h for h in engine_ranked(doc) if span is None or span[0] <= h["peak"] < span[1]]
    eng = [float(h["peak"]) for h in ranked]
    eng_spans = [(float(h["start"]), float(h["end"])) for h in ranked[:k]]
    base = in_span(baseline_moments(times, len(times) if span else k, duration=duration), span)[:k]
    lo, hi = span if span else (0.0, duration)
    return {
        "k": k,
        "messages": int(len(times)),
        "chat_span_s": round(duration, 1),
        "engine_seconds": round(run.seconds, 1),
        "engine": {
            **score(eng, labels, k, tol),
            **frame_prf(eng_spans, labels),
            "returned": len(eng),
            "peaks": eng[:k],
            "reaction_lag": {x: doc["reaction_lag"][x] for x in ("seconds", "method")},
        },
        "baseline": {**score(base, labels, k, tol), **frame_prf(point_spans(base), labels), "peaks": base},
        "random": random_score(labels, min(hi, duration), seeds, tol, start=lo),
        **({"span": [lo, hi]} if span else {}),
    }


TABLE_METRICS = ("precision_at_k", "recall_at_k", "frame_precision", "frame_recall", "frame_f")


def table(results: dict) -> str:
    rows = []
    for vod, r in results.items():
        for m in ("engine", "baseline", "random"):
            x = r[m]
            rows.append((vod, m, r["k"], x["predicted"], *(x[c] for c in TABLE_METRICS)))
    for m in ("engine", "baseline", "random"):
        if results:
            rows.append(
                ("MEAN", m, "", "", *(float(np.mean([r[m][c] for r in results.values()])) for c in TABLE_METRICS))
            )
    head = f"{'vod':<32} {'method':<9} {'K':>4} {'pred':>5} {'P@K':>6} {'R@K':>6} {'fP':>6} {'fR':>6} {'fF':>6}"
    lines = [head, "-" * len(head)]
    for vod, m, k, n, *vals in rows:
        lines.append(f"{vod:<32} {m:<9} {k!s:>4} {n!s:>5} " + " ".join(f"{v:6.3f}" for v in vals))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    ap.add_argument("chats", nargs="*", help="chat files (any format the project imports), as PATH or ID=PATH")
    ap.add_argument("--labels", required=True, help="CSV with vod_id,start,end[,...] in seconds of VOD time")
    ap.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Snakemake --config override, e.g. 'fusion={min_gap_seconds: 30}' (repeatable)",
    )
    ap.add_argument("--tolerance", type=float, default=TOLERANCE, help="seconds added to both ends of each label")
    ap.add_argument("--seeds", type=int, default=20, help="random rankings averaged for the random reference")
    ap.add_argument("--cores", type=int, default=2, help="Snakemake cores per VOD")
    ap.add_argument("--jobs", type=int, default=1, help="VODs evaluated at once (e.g. --jobs 2 --cores 1)")
    ap.add_argument("--json", metavar="OUT", help="write the full results here")
    ap.add_argument("--keep", metavar="DIR", help="run in DIR/<vod_id> and keep the workflow outputs")
    ap.add_argument(
        "--agreement",
        metavar="OTHER.csv",
        help="instead of evaluating: interval-match agreement of OTHER (e.g. a second labelling pass) with "
        "--labels, over OTHER's VODs and labels starting before --until",
    )
    ap.add_argument(
        "--until", type=float, default=float("inf"), help="with --agreement: only labels starting before this"
    )
    ap.add_argument("--since", type=float, default=0.0, help="with --agreement: only labels starting at or after this")
    ap.add_argument(
        "--span",
        action="append",
        default=[],
        metavar="ID=START:END",
        help="only [START, END) s of VOD ID was labelled: rank and score inside it (repeatable)",
    )
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")

    labels = read_labels(args.labels)
    if args.agreement:
        other = read_labels(args.agreement)
        a = labels[
            labels["vod_id"].isin(set(other["vod_id"]))
            & (labels["start"] >= args.since)
            & (labels["start"] < args.until)
        ]
        b = other[(other["start"] >= args.since) & (other["start"] < args.until)]
        g = agreement(a, b, args.tolerance)
        print(
            f"labels {len(a)}, other {len(b)}, matched {g['matched']} (same kind {g['same_kind']}): precision "
            f"{g['precision']:.3f}, recall {g['recall']:.3f}, F1 {g['f1']:.3f} at {args.tolerance:g} s tolerance"
        )
        return 0
    if not args.chats:
        ap.error("give at least one chat file (or --agreement)")
    chats = [parse_chat_arg(a) for a in args.chats]
    spans = dict(parse_span(a) for a in args.span)
    results: dict = {}

    def one(item):
        vod, path, lab, span = item
        tmp = None
        if args.keep:
            work = Path(args.keep) / vod
            shutil.rmtree(work, ignore_errors=True)
        else:
            tmp = tempfile.TemporaryDirectory(prefix=f"hleval-{vod}-")
            work = Path(tmp.name)
        try:
            run = run_engine(path, vod, work, args.config, cores=args.cores)
            r = evaluate_vod(run, lab, args.seeds, args.tolerance, span)
        finally:
            if tmp is not None:
                tmp.cleanup()
        print(
            f"{vod}: {r['messages']} messages over {r['chat_span_s']:.0f} s, K={r['k']}, engine returned "
            f"{r['engine']['returned']} moments in {r['engine_seconds']:.1f} s",
            file=sys.stderr,
        )
        return vod, r

    todo = []
    for vod, path in chats:
        lab = labels.loc[labels["vod_id"] == vod].reset_index(drop=True)
        span = spans.get(vod)
        if span:
            lab = lab[(lab["start"] >= span[0]) & (lab["start"] < span[1])].reset_index(drop=True)
        if lab.empty:
            print(f"warning: no labels for {vod} in {args.labels}; skipped", file=sys.stderr)
            continue
        todo.append((vod, path, lab, span))
    # each VOD is its own Snakemake process: threads are enough to run --jobs of them at once
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        results.update(dict(pool.map(one, todo)))
    unlabelled = sorted(set(labels["vod_id"]) - {v for v, _ in chats})
    if unlabelled:
        print(f"note: labels without a chat file given: {', '.join(unlabelled)}", file=sys.stderr)
    if not results:
        print("nothing evaluated", file=sys.stderr)
        return 1
    print(table(results))
    if args.json:
        out = {
            "date": dt.date.today().isoformat(),
            "command": shlex.join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
            "config": args.config,
            "tolerance": args.tolerance,
            "seeds": args.seeds,
            "labels": str(args.labels),
            "baseline": {"window_s": BASELINE_WINDOW, "min_gap_s": BASELINE_MIN_GAP, "shift_s": BASELINE_SHIFT},
            "per_vod": results,
            "mean": {
                m: {x: float(np.mean([r[m][x] for r in results.values()])) for x in TABLE_METRICS}
                for m in ("engine", "baseline", "random")
            },
        }
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
