"""Train and cross-validate the chat highlight model (klipstream.highlights.chat_model) on the esports dev set.

Folds are fixed: the games of `labels.csv` sorted by id, game i in fold i % 5 (docs/devsets.md lists them). For each
fold a model is trained on the other four folds' games and saved as a .skops file; the held-out games are then ranked
by the engine's own code path (chat_score -> combine -> pick_moments, exactly as `integrate` does, with the fold's
model as `chat_model`), and scored like bench/highlight_eval.py: P@K and R@K (hit = peak inside a label widened by
10 s), frame P/R/F over seconds (prediction = union of the top-K moments' spans, truth = union of the labels), for the
engine, the message-rate baseline and random, per fold and pooled. `--final OUT.skops` then trains on every game and
writes the shipped model (and OUT.json: its features, data and the CV numbers).

    PYTHONPATH=. .venv/bin/python bench/highlight_cv.py --labels ../shared/data/esports/labels.csv \\
        --chats ../shared/data/esports/chat --json /tmp/cv.json [--final models/chat_highlights.skops]
        [--config 'fusion={min_gap_seconds: 30}'] [--grid]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from highlight_eval import baseline_moments, frame_prf, random_moments, read_labels, score  # noqa: E402

from klipstream.highlights import chat_model, reactions  # noqa: E402
from klipstream.highlights.chat import annotate, chat_score, live_segments  # noqa: E402
from klipstream.highlights.fusion import combine  # noqa: E402
from klipstream.highlights.moments import pick_moments  # noqa: E402
from klipstream.highlights.params import split_params  # noqa: E402

FOLDS = 5
C = 0.01  # L2 strength of the logistic regression (0.01 and 0.1 scored alike in a first look)


def load_chat(path: Path, vod: str):
    """The chat the workflow's engine sees: imported like chat_fetch, filtered like chat_sentiment_score."""
    from klipstream.chat.importers import import_chat
    from klipstream.chat.io import read_chat_frame
    from klipstream.emotions.filters import filter_messages
    from klipstream.highlights.readers import chat_table

    with tempfile.TemporaryDirectory() as tmp:
        js = Path(tmp) / f"{vod}_chat.json"
        import_chat(path, js, vod)
        frame = read_chat_frame(js)
    flt = filter_messages(frame)
    frame = frame.assign(is_filtered=flt["is_filtered"].to_numpy(), filter_reason=flt["filter_reason"].to_numpy())
    return annotate(chat_table(frame))


def timeline_of(chat) -> pd.DataFrame:
    t = chat.all_times
    n = int(np.floor(t.max())) + 1 if len(t) else 0
    sec = np.floor(chat.messages["time"].to_numpy(dtype=float)).astype(np.int64)
    return pd.DataFrame({"time": np.arange(n, dtype=float), "messages": np.bincount(sec, minlength=n)[:n]})


def game_data(args):
    """(vod, chat, timeline, features, live, y in chat time) of one game."""
    vod, path, lab = args
    sp, _ = split_params(None)
    chat = load_chat(path, vod)
    tl = timeline_of(chat)
    n = len(tl)
    live = np.zeros(n, dtype=bool)
    for s, e in live_segments(chat.all_times, n, sp.chat_gap_seconds):
        live[s:e] = True
    burst = chat_score(tl, chat, split_params({"chat_model": "none"})[0])["burst_z"].to_numpy()
    feats = reactions.features(chat, n, live, sp, burst)
    y = np.zeros(n, dtype=bool)
    for s, e in lab[["start", "end"]].to_numpy(dtype=float):
        y[int(s) + chat_model.MODEL_LAG : int(np.ceil(e)) + 1 + chat_model.MODEL_LAG] = True
    return vod, chat, tl, feats, live, y[:n]


def train(games: list, out: Path, weights: dict | None = None) -> Path:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.vstack([g[3].to_numpy()[g[4]] for g in games])
    y = np.concatenate([g[5][g[4]] for g in games])
    w = np.concatenate([np.full(int(g[4].sum()), (weights or {}).get(g[0], 1.0)) for g in games])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, class_weight="balanced", max_iter=1000))
    model.fit(x, y, logisticregression__sample_weight=w)
    out.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, out)
    out.with_suffix(".json").write_text(
        json.dumps({"features": list(games[0][3].columns), "games": [g[0] for g in games]}, indent=1) + "\n",
        encoding="utf-8",
    )
    chat_model.load.cache_clear()
    return out


_FEATURES: dict[int, pd.DataFrame] = {}
_features = reactions.features


def features_once(chat, n, live, sp, burst_z=None):
    """reactions.features, computed once per chat (the knobs ranked here do not change it)."""
    key = id(chat)
    if key not in _FEATURES:
        _FEATURES[key] = _features(chat, n, live, sp, burst_z)
    return _FEATURES[key]


reactions.features = features_once


def rank(game, params: dict) -> tuple[list[dict], int]:
    """The engine's ranked moments for one chat-only VOD (the path of highlights.document.integrate)."""
    vod, chat, tl, feats, *_ = game
    if feats is not None:
        _FEATURES[id(chat)] = feats
    sp, fp = split_params(params)
    cs = chat_score(tl, chat, sp)
    comb = combine(None, cs["score"].to_numpy(), fp, chat_valid=cs["valid"].to_numpy())
    n = len(comb.score)
    return pick_moments(comb.score, fp, duration=float(n), extent=comb.audio, fill=comb.fill), n


def evaluate(game, lab: pd.DataFrame, params: dict, seeds: int = 20) -> dict:
    moments, n = rank(game, params)
    k = len(lab)
    top = moments[:k]
    eng = {**score([m["peak"] for m in top], lab, k), **frame_prf([(m["start"], m["end"]) for m in top], lab)}
    t = game[1].messages["time"].to_numpy(dtype=float)
    base = baseline_moments(t, k, duration=float(t.max()))
    bas = {**score(base, lab, k), **frame_prf([(b - 12.5, b + 12.5) for b in base], lab)}
    rnd = [random_moments(k, float(t.max()), s) for s in range(seeds)]
    rs = [{**score(r, lab, k), **frame_prf([(x - 12.5, x + 12.5) for x in r], lab)} for r in rnd]
    ran = {key: float(np.mean([r[key] for r in rs])) for key in rs[0]}
    return {"vod": game[0], "k": k, "engine": eng, "baseline": bas, "random": ran}


METRICS = ("precision_at_k", "recall_at_k", "frame_precision", "frame_recall", "frame_f")


def summary(rows: list[dict], folds: dict) -> dict:
    out = {}
    for m in ("engine", "baseline", "random"):
        df = pd.DataFrame([{**r[m], "fold": folds[r["vod"]]} for r in rows])
        per = df.groupby("fold")[list(METRICS)].mean()
        out[m] = {
            "pooled": {k: round(float(df[k].mean()), 4) for k in METRICS},
            "folds": {k: [round(float(v), 4) for v in per[k]] for k in METRICS},
            "fold_std": {k: round(float(per[k].std(ddof=0)), 4) for k in METRICS},
        }
    return out


def parse_params(items: list[str]) -> dict:
    import yaml

    params: dict = {}
    for it in items:
        key, _, val = it.partition("=")
        params.update(yaml.safe_load(val) if key in ("fusion", "chat_highlights") else {key: yaml.safe_load(val)})
    return params


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--chats", required=True, help="folder of <vod_id>.txt chat logs")
    ap.add_argument("--config", action="append", default=[], help="fusion={...} knobs for ranking")
    ap.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="YAML",
        help="extra knob sets (a YAML mapping each) ranked with the same fold models beside --config's (repeatable)",
    )
    ap.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="ID=CHAT@LABELS",
        help="a labelled VOD of another kind, trained on in every fold and scored leave-one-out (repeatable)",
    )
    ap.add_argument("--extra-weight", type=float, default=20.0, help="an --extra VOD weighs as this many games")
    ap.add_argument("--json")
    ap.add_argument("--final", help="train on every game and write the shipped model here")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    labels = read_labels(args.labels)
    vods = sorted(set(labels["vod_id"]))
    folds = {v: i % FOLDS for i, v in enumerate(vods)}
    jobs = [(v, Path(args.chats) / f"{v}.txt", labels[labels["vod_id"] == v]) for v in vods]
    with ProcessPoolExecutor(args.jobs) as ex:
        games = {g[0]: g for g in ex.map(game_data, jobs)}
    extra_labels = {}
    for item in args.extra:
        vid, _, rest = item.partition("=")
        chat_path, _, lab_path = rest.partition("@")
        lab = read_labels(lab_path)
        extra_labels[vid] = lab[lab["vod_id"] == vid]
        games[vid] = game_data((vid, Path(chat_path), extra_labels[vid]))
    per_game = np.mean([games[v][4].sum() for v in vods])
    weights = {v: args.extra_weight * per_game / max(1, games[v][4].sum()) for v in extra_labels}
    print(f"{len(games)} games loaded", file=sys.stderr)
    import yaml

    params = parse_params(args.config)
    grid = [params] + [{**params, **yaml.safe_load(g)} for g in args.grid]
    rows: list[list[dict]] = [[] for _ in grid]
    with tempfile.TemporaryDirectory() as tmp:
        for f in range(FOLDS):
            path = train(
                [games[v] for v in vods if folds[v] != f] + [games[v] for v in extra_labels],
                Path(tmp) / f"fold{f}.skops",
                weights,
            )
            for v in vods:
                if folds[v] == f:
                    for i, g in enumerate(grid):
                        rows[i].append(
                            evaluate(games[v], labels[labels["vod_id"] == v], {**g, "chat_model": str(path)})
                        )
            print(f"fold {f} done", file=sys.stderr)
        for v in extra_labels:  # leave one out: every esports game and the other extra VODs
            path = train([games[x] for x in games if x != v], Path(tmp) / f"without_{v}.skops", weights)
            r = evaluate(games[v], extra_labels[v], {**params, "chat_model": str(path)})
            e = r["engine"]
            print(
                f"extra {v} (left out): P@K {e['precision_at_k']:.3f} R@K {e['recall_at_k']:.3f} frame F "
                f"{e['frame_f']:.3f}; baseline P@K {r['baseline']['precision_at_k']:.3f}"
            )
            burst = evaluate(games[v], extra_labels[v], {**params, "chat_model": "none"})["engine"]
            print(f"extra {v} burst score (chat_model none): P@K {burst['precision_at_k']:.3f}")
    for g, r in zip(grid[1:], rows[1:]):
        e = summary(r, folds)["engine"]["pooled"]
        print(f"grid {g}: P@K {e['precision_at_k']:.3f} R@K {e['recall_at_k']:.3f} frame F {e['frame_f']:.3f}")
    res, rows = summary(rows[0], folds), rows[0]
    for m, r in res.items():
        p = r["pooled"]
        print(
            f"{m:9s} P@K {p['precision_at_k']:.3f} (folds {min(r['folds']['precision_at_k']):.3f}-"
            f"{max(r['folds']['precision_at_k']):.3f})  R@K {p['recall_at_k']:.3f}  frame P/R/F "
            f"{p['frame_precision']:.3f}/{p['frame_recall']:.3f}/{p['frame_f']:.3f} (F folds "
            f"{min(r['folds']['frame_f']):.3f}-{max(r['folds']['frame_f']):.3f})"
        )
    doc = {
        "date": dt.date.today().isoformat(),
        "command": " ".join(["bench/highlight_cv.py", *(argv or sys.argv[1:])]),
        "folds": {str(f): [v for v in vods if folds[v] == f] for f in range(FOLDS)},
        "params": params,
        "summary": res,
        "per_vod": rows,
    }
    if args.final:
        train(list(games.values()), Path(args.final), weights)
        meta = Path(args.final).with_suffix(".json")
        m = json.loads(meta.read_text(encoding="utf-8"))
        m.update({"date": doc["date"], "cv": res, "folds": doc["folds"], "C": C, "lag_seconds": chat_model.MODEL_LAG})
        meta.write_text(json.dumps(m, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.final}", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
