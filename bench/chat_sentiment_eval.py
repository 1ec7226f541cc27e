"""Chat sentiment/emotion scorers against the human-labelled chat dev set (issue 15).

  PYTHONPATH=. .venv/bin/python bench/chat_sentiment_eval.py [--json OUT] [--models models/] [--only NAME ...]

The dev set (bench/devsets/chat_messages.csv: source, message_id, stratum, sentiment, emotion; guideline in
docs/labelling/chat_messages.md, description in docs/devsets.md) is joined to its text from ../shared/data/chat;
without that folder the script says so and exits 0.

A scorer is a pure function `score_fn(texts) -> DataFrame` taking the dev messages (`comment_id, time, user,
message, emotes`, as klipstream.chat.io.read_chat_frame gives them) and returning, row for row,
`sentiment_score, excitement, funny, happiness, anger, sadness, neutral`. Classes are derived the same way for
every scorer: sentiment positive if score >= 0.05, negative if <= -0.05, else neutral (VADER's convention);
emotion = the argmax of the six emotion columns (first in that order on ties). `evaluate(scorers)` returns
every number as a dict, so a changed scorer can be compared by passing its own score_fn.

Scorers:
  majority   the most frequent gold class (a baseline, not a score_fn)
  vader      VADER compound alone (klipstream.emotions.offline.vader_compound); its emotion columns are the
             VADER part of offline.score_texts: happiness 0.5*max(v,0), anger = sadness = 0.25*max(-v,0),
             neutral 1-|v|, excitement = funny = 0
  offline    klipstream.emotions.offline.score_texts (Twitch lexicon + VADER)
  model      the trained models in models/ (or --models) alone, on the text with emotes masked as in training:
             sentiment P(positive) - P(negative), emotion columns their class probabilities
  shipped    klipstream.emotions.chat.score_chat_frame as chat_sentiment_score runs it (its Blend; the models are
             used only when Blend.model_weight > 0): the sentiment_score and emotion columns of chat_sentiment.csv,
             rounded to 6 places as written there
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench" / "devsets"))
from chat_source import DATA_DIR, DEVSET, PASS2, DataMissing, load_devset, read_labels  # noqa: E402

SENTIMENTS = ["positive", "neutral", "negative"]
EMOTIONS = ["excitement", "funny", "happiness", "anger", "sadness", "neutral"]
SCORE_COLUMNS = ["sentiment_score"] + EMOTIONS
THRESHOLD = 0.05
ScoreFn = Callable[[pd.DataFrame], pd.DataFrame]


# ------------------------------------------------------------------ scorers


def vader_scores(texts: pd.DataFrame) -> pd.DataFrame:
    from klipstream.emotions.offline import vader_compound

    v = vader_compound(texts["message"].reset_index(drop=True))
    zero = np.zeros(len(v))
    return pd.DataFrame(
        {
            "sentiment_score": v,
            "excitement": zero,
            "funny": zero,
            "happiness": 0.5 * np.maximum(v, 0),
            "anger": 0.25 * np.maximum(-v, 0),
            "sadness": 0.25 * np.maximum(-v, 0),
            "neutral": 1 - np.abs(v),
        }
    )


def offline_scores(texts: pd.DataFrame) -> pd.DataFrame:
    from klipstream.emotions.offline import score_texts

    return score_texts(texts["message"].reset_index(drop=True))[SCORE_COLUMNS]


def model_scorer(models_dir: str | Path | None = None) -> ScoreFn:
    """The trained chat models alone (masked text, as in training and in chat.py's blend)."""
    from klipstream.emotions.chat_model import ChatModels
    from klipstream.emotions.filters import strip_notices
    from klipstream.emotions.offline import emote_pattern

    models = ChatModels.load(models_dir)

    def score(texts: pd.DataFrame) -> pd.DataFrame:
        masked = strip_notices(texts["message"].reset_index(drop=True)).str.replace(emote_pattern(), " ", regex=True)
        p = models.predict(masked)
        return p.rename(columns={"sentiment": "sentiment_score"})[SCORE_COLUMNS]

    return score


def shipped_scorer(models_dir: str | Path | None = None) -> ScoreFn:
    """score_chat_frame with the models the workflow ships (loaded once)."""
    from klipstream.emotions.chat import BLEND, score_chat_frame
    from klipstream.emotions.chat_model import ChatModels

    # as score_chat does: the models are loaded only when the shipped blend gives them a weight
    models = ChatModels.load(models_dir) if BLEND.model_weight > 0 else None

    def score(texts: pd.DataFrame) -> pd.DataFrame:
        out = score_chat_frame(texts.reset_index(drop=True), models)
        return out[SCORE_COLUMNS].round(6)  # chat_sentiment.csv is written rounded to 6 places

    return score


def default_scorers(models_dir: str | Path | None = None) -> dict[str, ScoreFn]:
    return {
        "vader": vader_scores,
        "offline": offline_scores,
        "model": model_scorer(models_dir),
        "shipped": shipped_scorer(models_dir),
    }


# ------------------------------------------------------------------ metrics


def sentiment_classes(score, threshold: float = THRESHOLD) -> np.ndarray:
    s = np.asarray(score, dtype=float)
    return np.where(s >= threshold, "positive", np.where(s <= -threshold, "negative", "neutral"))


def emotion_classes(scores: pd.DataFrame) -> np.ndarray:
    vals = np.nan_to_num(scores[EMOTIONS].to_numpy(dtype=float))
    return np.array(EMOTIONS, dtype=object)[vals.argmax(axis=1)]


def class_metrics(gold, pred, labels: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    p, r, f, n = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    return {
        "n": int(len(gold)),
        "accuracy": float(accuracy_score(gold, pred)),
        "macro_f1": float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)),
        "per_class": {
            c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(n[i])}
            for i, c in enumerate(labels)
        },
        "confusion": {"labels": labels, "rows_gold_cols_pred": confusion_matrix(gold, pred, labels=labels).tolist()},
    }


def agreement(first: pd.DataFrame, second: pd.DataFrame) -> dict:
    """Percent agreement and Cohen's kappa of two labelling passes over the ids they share."""
    from sklearn.metrics import cohen_kappa_score

    m = first.merge(second, on=["source", "message_id"], suffixes=("_1", "_2"))
    out = {"n": int(len(m))}
    for col in ("sentiment", "emotion"):
        a, b = m[f"{col}_1"], m[f"{col}_2"]
        out[col] = {
            "percent_agreement": float((a == b).mean() * 100) if len(m) else float("nan"),
            "cohen_kappa": float(cohen_kappa_score(a, b)) if len(m) else float("nan"),
        }
    return out


def evaluate(
    scorers: dict[str, ScoreFn],
    devset: pd.DataFrame | None = None,
    *,
    pass2: pd.DataFrame | None = None,
    threshold: float = THRESHOLD,
) -> dict:
    """Score the dev set with every scorer -> {"n", "classes", "agreement", "scorers": {name: {...}}}.

    `devset` defaults to load_devset() (ids joined to text); `pass2` to the second-pass labels (when present).
    Each scorer entry has "sentiment" and "emotion" metrics (accuracy, macro_f1, per_class, confusion),
    "sentiment_by_stratum" accuracy, and "predictions" counts; "majority" is added as a baseline."""
    dev = (devset if devset is not None else load_devset()).reset_index(drop=True)
    texts = pd.DataFrame(
        {
            "comment_id": dev["message_id"].astype(str),
            "time": dev["time"].astype(float),
            "user": dev["user"].fillna("").astype(str),
            "message": dev["message"].fillna("").astype(str),
            "emotes": dev["emotes"].fillna("").astype(str),
        }
    )
    gold_s, gold_e = dev["sentiment"].to_numpy(), dev["emotion"].to_numpy()
    calibration = {"majority": {"mean_score": 0.0, "mean_abs_score": 0.0, "share_within_threshold": 1.0}}
    preds = {
        "majority": (
            np.full(len(dev), pd.Series(gold_s).mode()[0], dtype=object),
            np.full(len(dev), pd.Series(gold_e).mode()[0], dtype=object),
        )
    }
    for name, fn in scorers.items():
        scores = fn(texts)
        if len(scores) != len(texts) or set(SCORE_COLUMNS) - set(scores.columns):
            raise ValueError(f"scorer {name} must return {len(texts)} rows with columns {SCORE_COLUMNS}")
        preds[name] = (sentiment_classes(scores["sentiment_score"], threshold), emotion_classes(scores))
        on_neutral = scores["sentiment_score"].to_numpy(dtype=float)[gold_s == "neutral"]
        calibration[name] = {
            "mean_score": float(np.mean(on_neutral)),
            "mean_abs_score": float(np.mean(np.abs(on_neutral))),
            "share_within_threshold": float(np.mean(np.abs(on_neutral) < threshold)),
        }
    result = {
        "n": int(len(dev)),
        "threshold": threshold,
        "classes": {
            "sentiment": {c: int((gold_s == c).sum()) for c in SENTIMENTS},
            "emotion": {c: int((gold_e == c).sum()) for c in EMOTIONS},
        },
        "scorers": {},
    }
    if pass2 is None and PASS2.is_file():
        pass2 = read_labels(PASS2)
    if pass2 is not None:
        result["agreement"] = agreement(dev[["source", "message_id", "sentiment", "emotion"]], pass2)
    strata = dev["stratum"].to_numpy()
    kept = _kept_by_workflow(texts)
    result["kept_by_workflow_filter"] = int(kept.sum())
    for name, (ps, pe) in preds.items():
        result["scorers"][name] = {
            "sentiment": class_metrics(gold_s, ps, SENTIMENTS),
            "emotion": class_metrics(gold_e, pe, EMOTIONS),
            "sentiment_by_stratum": {
                s: float((ps[strata == s] == gold_s[strata == s]).mean()) for s in sorted(set(strata))
            },
            "emotion_by_stratum": {
                s: float((pe[strata == s] == gold_e[strata == s]).mean()) for s in sorted(set(strata))
            },
            "kept": {
                "sentiment": class_metrics(gold_s[kept], ps[kept], SENTIMENTS),
                "emotion": class_metrics(gold_e[kept], pe[kept], EMOTIONS),
            },
            "neutral_calibration": calibration[name],
            "predictions": {
                "sentiment": {c: int((ps == c).sum()) for c in SENTIMENTS},
                "emotion": {c: int((pe == c).sum()) for c in EMOTIONS},
            },
        }
    return result


def _kept_by_workflow(texts: pd.DataFrame) -> np.ndarray:
    """Messages the workflow keeps (not bot accounts, commands or blank: klipstream.emotions.filters); highlight
    detection ignores the rest, so the "kept" metrics are the ones that reach the highlights."""
    from klipstream.emotions.filters import filter_messages

    return ~filter_messages(texts)["is_filtered"].to_numpy(dtype=bool)


# ------------------------------------------------------------------ report


def _table(rows: list[tuple[str, list]], names: list[str]) -> str:
    width = max(len(r[0]) for r in rows) + 2
    lines = [" " * width + "".join(f"{n:>10}" for n in names)]
    for label, vals in rows:
        lines.append(f"{label:<{width}}" + "".join(f"{v:>10.3f}" if isinstance(v, float) else f"{v:>10}" for v in vals))
    return "\n".join(lines)


def report(result: dict) -> str:
    names = list(result["scorers"])
    sc = result["scorers"]
    out = [
        f"chat dev set: {result['n']} messages; sentiment {result['classes']['sentiment']}; "
        f"emotion {result['classes']['emotion']}"
    ]
    if "agreement" in result:
        a = result["agreement"]
        out.append(
            f"labelling passes: {a['n']} messages relabelled; sentiment {a['sentiment']['percent_agreement']:.1f}% "
            f"agreement, kappa {a['sentiment']['cohen_kappa']:.3f}; emotion {a['emotion']['percent_agreement']:.1f}% "
            f"agreement, kappa {a['emotion']['cohen_kappa']:.3f}"
        )
    for task, labels in (("sentiment", SENTIMENTS), ("emotion", EMOTIONS)):
        rows = [
            ("accuracy", [sc[n][task]["accuracy"] for n in names]),
            ("macro-F1", [sc[n][task]["macro_f1"] for n in names]),
        ]
        for c in labels:
            rows.append((f"P {c}", [sc[n][task]["per_class"][c]["precision"] for n in names]))
            rows.append((f"R {c}", [sc[n][task]["per_class"][c]["recall"] for n in names]))
        out += [
            "",
            f"== {task} (threshold {result['threshold']})" if task == "sentiment" else f"== {task} (argmax)",
            _table(rows, names),
        ]
        kept = [
            (f"{k} (kept {result['kept_by_workflow_filter']})", [v for v in vals])
            for k, vals in (
                ("accuracy", [sc[n]["kept"][task]["accuracy"] for n in names]),
                ("macro-F1", [sc[n]["kept"][task]["macro_f1"] for n in names]),
                ("R neutral", [sc[n]["kept"][task]["per_class"]["neutral"]["recall"] for n in names]),
            )
        ]
        if task == "sentiment":
            out += [
                "",
                "sentiment_score on messages people labelled neutral (calibration: near 0 is right)",
                _table(
                    [
                        ("mean score", [sc[n]["neutral_calibration"]["mean_score"] for n in names]),
                        ("mean |score|", [sc[n]["neutral_calibration"]["mean_abs_score"] for n in names]),
                        (
                            f"share |s| < {result['threshold']}",
                            [sc[n]["neutral_calibration"]["share_within_threshold"] for n in names],
                        ),
                    ],
                    names,
                ),
            ]
        out += [
            "",
            f"{task}, only messages the workflow keeps (no bot accounts, commands, blanks)",
            _table(kept, names),
        ]
        strata = list(sc[names[0]][f"{task}_by_stratum"])
        out += [
            "",
            f"{task} accuracy by stratum",
            _table([(s, [sc[n][f"{task}_by_stratum"][s] for n in names]) for s in strata], names),
        ]
        for n in names:
            conf = sc[n][task]["confusion"]["rows_gold_cols_pred"]
            short = [c[:7] for c in labels]
            out += [
                "",
                f"{task} confusion, {n} (rows gold, columns predicted)",
                " " * 12 + "".join(f"{c:>9}" for c in short),
            ]
            out += [f"{c:<12}" + "".join(f"{v:>9}" for v in row) for c, row in zip(labels, conf)]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Chat scorers against the labelled chat dev set")
    ap.add_argument("--json", type=Path, metavar="OUT", help="also write every number as JSON here")
    ap.add_argument("--models", type=Path, default=None, help="folder of the shipped chat models (default models/)")
    ap.add_argument("--devset", type=Path, default=DEVSET)
    ap.add_argument("--data-dir", type=Path, default=DATA_DIR)
    ap.add_argument("--threshold", type=float, default=THRESHOLD)
    ap.add_argument("--only", nargs="+", choices=["vader", "offline", "model", "shipped"], help="score only these")
    args = ap.parse_args(argv)
    try:
        dev = load_devset(args.devset, args.data_dir)
    except DataMissing as exc:
        print(f"skipped: {exc}")
        return 0
    scorers = {"vader": vader_scores, "offline": offline_scores}
    if not args.only or "model" in args.only:
        scorers["model"] = model_scorer(args.models)
    if not args.only or "shipped" in args.only:
        scorers["shipped"] = shipped_scorer(args.models)
    if args.only:
        scorers = {k: v for k, v in scorers.items() if k in args.only}
    result = evaluate(scorers, dev, threshold=args.threshold)
    print(report(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
