"""Choose the chat scorer's few blend numbers (klipstream.emotions.chat.Blend) on the labelled chat dev set.

  PYTHONPATH=. .venv/bin/python bench/chat_blend_tune.py [--json OUT]

Grid over vader_weight x question_vader x emotion_floor x model_weight (4 numbers, 420 settings); each setting is
scored by running `score_chat_frame` itself (the function chat_sentiment_score ships) on the dev messages, rounded
as chat_sentiment.csv is written. Objective: the mean of sentiment macro-F1 and emotion macro-F1, among settings
with sentiment neutral recall >= 0.5. The trained models cost time and a file dependency, so a setting that uses
them (model_weight > 0) is chosen only when it beats the best setting without them by more than TOLERANCE (0.01;
the best of 420 settings is itself an optimistic pick, and the paired-bootstrap mean and spread of that difference
are printed so the margin can be judged). Against overfitting, the choice is also made
on one chat and checked on the other, both ways: those two transfer rows are the out-of-sample numbers to quote.
Without ../shared/data/chat the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from chat_sentiment_eval import EMOTIONS, SENTIMENTS, emotion_classes, sentiment_classes  # noqa: E402
from devsets.chat_source import DataMissing, load_devset  # noqa: E402

GRID = {
    "vader_weight": [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0],
    "question_vader": [False, True],
    "emotion_floor": [0.2, 0.3, 0.4, 0.5, 0.6, 0.8],
    "model_weight": [0.0, 0.05, 0.1, 0.25, 0.5],
}
TOLERANCE = 0.01


def predictions(dev: pd.DataFrame, models) -> pd.DataFrame:
    """One row per (setting, message): predicted sentiment and emotion class."""
    from klipstream.emotions.chat import Blend, score_chat_frame

    frame = pd.DataFrame(
        {
            "comment_id": dev["message_id"].astype(str),
            "time": dev["time"].astype(float),
            "user": dev["user"].fillna("").astype(str),
            "message": dev["message"].fillna("").astype(str),
            "emotes": dev["emotes"].fillna("").astype(str),
        }
    )
    rows = []
    for values in itertools.product(*GRID.values()):
        params = dict(zip(GRID, values))
        out = score_chat_frame(frame, models, blend=Blend(**params)).round(6)
        rows.append({**params, "sentiment": sentiment_classes(out["sentiment_score"]), "emotion": emotion_classes(out)})
    return pd.DataFrame(rows)


def metrics(preds: pd.DataFrame, dev: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    from sklearn.metrics import f1_score, recall_score

    gs, ge = dev["sentiment"].to_numpy()[mask], dev["emotion"].to_numpy()[mask]
    out = preds[list(GRID)].copy()
    out["sentiment_f1"] = [
        f1_score(gs, p[mask], labels=SENTIMENTS, average="macro", zero_division=0) for p in preds["sentiment"]
    ]
    out["neutral_recall"] = [
        recall_score(gs, p[mask], labels=["neutral"], average="macro", zero_division=0) for p in preds["sentiment"]
    ]
    out["emotion_f1"] = [
        f1_score(ge, p[mask], labels=EMOTIONS, average="macro", zero_division=0) for p in preds["emotion"]
    ]
    out["objective"] = (out["sentiment_f1"] + out["emotion_f1"]) / 2
    return out


def best(table: pd.DataFrame) -> pd.Series:
    ok = table[table["neutral_recall"] >= 0.5]
    # ties: the simpler setting (no model, less VADER, VADER not on questions) first
    ok = ok.sort_values(
        ["objective", "model_weight", "vader_weight", "question_vader"],
        ascending=[False, True, True, True],
        kind="stable",
    )
    top, plain = ok.iloc[0], ok[ok["model_weight"] == 0].iloc[0]
    return top if top["objective"] > plain["objective"] + TOLERANCE else plain


def paired_bootstrap(preds: pd.DataFrame, dev: pd.DataFrame, a: int, b: int, n: int = 500) -> tuple[float, float]:
    """Objective of setting a minus setting b over `n` resamples of the dev set: (mean, standard deviation)."""
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(15)
    gs, ge = dev["sentiment"].to_numpy(), dev["emotion"].to_numpy()
    diffs = []
    for _ in range(n):
        i = rng.integers(0, len(dev), len(dev))
        obj = [
            (
                f1_score(gs[i], preds.at[k, "sentiment"][i], labels=SENTIMENTS, average="macro", zero_division=0)
                + f1_score(ge[i], preds.at[k, "emotion"][i], labels=EMOTIONS, average="macro", zero_division=0)
            )
            / 2
            for k in (a, b)
        ]
        diffs.append(obj[0] - obj[1])
    return float(np.mean(diffs)), float(np.std(diffs))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, metavar="OUT")
    args = ap.parse_args(argv)
    try:
        dev = load_devset().reset_index(drop=True)
    except DataMissing as exc:
        print(f"skipped: {exc}")
        return 0
    from klipstream.emotions.chat_model import ChatModels

    preds = predictions(dev, ChatModels.load())
    sources = sorted(dev["source"].unique())
    tables = {s: metrics(preds, dev, (dev["source"] == s).to_numpy()) for s in sources}
    tables["all"] = metrics(preds, dev, np.ones(len(dev), dtype=bool))
    cols = list(GRID) + ["sentiment_f1", "neutral_recall", "emotion_f1", "objective"]
    rows = []
    for tune, check in [(sources[0], sources[1]), (sources[1], sources[0]), ("all", "all")]:
        choice = best(tables[tune])
        got = tables[check].loc[choice.name]
        rows.append(
            {
                "tuned_on": tune,
                "checked_on": check,
                **{k: choice[k] for k in GRID},
                **{k: round(float(got[k]), 3) for k in cols[4:]},
            }
        )
    result = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(
        f"chat dev set: {len(dev)} messages ({', '.join(f'{s}: {int((dev.source == s).sum())}' for s in sources)}); "
        f"{len(preds)} settings of {', '.join(GRID)}"
    )
    print(result.to_string(index=False))
    table = tables["all"]
    ok = table[table["neutral_recall"] >= 0.5].sort_values("objective", ascending=False, kind="stable")
    top, plain = ok.index[0], ok[ok["model_weight"] == 0].index[0]
    mean, sd = paired_bootstrap(preds, dev, top, plain)
    print(
        f"\nbest setting with the models minus best without (paired bootstrap, 500 resamples): "
        f"{mean:+.4f} +- {sd:.4f} (tolerance {TOLERANCE})"
    )
    print("\nmodel_weight's effect (best other settings for each, whole dev set):")
    print(
        table.sort_values("objective", ascending=False)
        .groupby("model_weight")
        .head(1)[cols]
        .round(3)
        .to_string(index=False)
    )
    print("\nvader_weight's effect (model_weight 0):")
    t0 = table[table["model_weight"] == 0]
    print(
        t0.sort_values("objective", ascending=False)
        .groupby("vader_weight")
        .head(1)[cols]
        .round(3)
        .to_string(index=False)
    )
    if args.json:
        args.json.write_text(json.dumps({"choices": rows, "grid": GRID}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
