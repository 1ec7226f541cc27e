"""Rebuild the chat emotion models from a chat corpus with weak labels from emote meanings.

Method (emoticon-labelled corpus, as in distant supervision of tweet sentiment): an emote or emoji of our
lexicon says what its message feels; we take that as the label, then delete every emote from the text
(so the model must learn from the words around it) and train a text classifier.

  1. Read the corpus: `H:MM:SS message` text logs, Twitch v5 / TwitchDownloader JSON.
  2. Drop bot and command messages (filters.py).
  3. Emotion label: sum the lexicon weights of the message's emotes and emoji; the label is the strongest
     emotion when its sum is >= 0.5, else the message is skipped. Sentiment label: mean emote valence
     > 0.2 positive, < -0.2 negative, else neutral; for messages without emotes, VADER compound >= 0.5
     positive or <= -0.5 negative (VADER as a teacher). Messages with no emote, emoji or slang hit, no
     "!" or "?", and |VADER| < 0.05 are weak `neutral` examples for both models (capped at the size of the
     largest other class).
  4. Mask: delete tokens that are lexicon emotes, names from the emote lists (--emotes-dir), the message's
     Twitch emote fragments, channel sub-emote shaped names (`fusHeart`, `lionFeels`: lower-case prefix
     then a capital), and emoji. Messages with no word left are dropped.
  5. Held-out split by time: the last 20 % of each stream is the test set; test texts that also occur in
     the training set are removed (chat repeats itself).
  6. Fit HashingVectorizer(1-2 grams) + LogisticRegression(class_weight=balanced); report accuracy and
     macro-F1 against the majority-class baseline; save `models/*.skops` and `models/MODEL_CARD.md`.

Run: python -m klipstream.emotions.train --corpus CHAT [CHAT ...] --emotes-dir DIR --out models
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..chat.importers import import_chat
from ..chat.io import read_chat_frame
from ..errors import KlipError
from ..io import atomic_open, write_json
from . import chat_model as cm
from . import lexicon as lx
from .filters import filter_messages
from .offline import lexicon_counts, vader_compound

log = logging.getLogger(__name__)

SUB_EMOTE_RE = r"^[a-z][a-z0-9]{1,9}[A-Z][A-Za-z0-9_]*$"
HOLDOUT = 0.2


def read_corpus(path: str | Path) -> pd.DataFrame:
    """One corpus file, in any chat-log format the pipeline imports -> frame `source,time,user,message,emotes`."""
    path = Path(path)
    if not path.is_file():
        raise KlipError(f"training corpus {path} not found")
    with tempfile.TemporaryDirectory() as tmp:
        converted = Path(tmp) / "chat.json"
        import_chat(path, converted, vod_id="corpus")
        frame = read_chat_frame(converted)
    if frame.empty:
        raise KlipError(f"training corpus {path} has no chat messages")
    frame = frame.drop(columns="comment_id")
    frame.insert(0, "source", path.name)
    return frame.reset_index(drop=True)


def weak_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Add `emotion_label`, `sentiment_label` (None when unlabelled) from emotes/emoji and VADER."""
    texts = frame["message"].fillna("").astype(str)
    counts = lexicon_counts(texts)
    *_v, w_emote, w_slang, w_emoji, _o = cm_matchers()
    total = np.asarray(counts["emotes"] @ w_emote) + np.asarray(counts["emoji"] @ w_emoji)
    hits = np.asarray(counts["emotes"].sum(axis=1)).ravel() + np.asarray(counts["emoji"].sum(axis=1)).ravel()
    slang_hits = np.asarray(counts["slang"].sum(axis=1)).ravel()
    emo = total[:, 1:]
    best = emo.argmax(axis=1)
    strong = emo.max(axis=1) >= 0.5
    emotion = np.where((hits > 0) & strong, np.array(lx.EMOTIONS, dtype=object)[best], None)
    valence = np.divide(total[:, 0], hits, out=np.zeros(len(hits)), where=hits > 0)
    v = vader_compound(texts)
    sentiment = np.select(
        [(hits > 0) & (valence > 0.2), (hits > 0) & (valence < -0.2), hits > 0, v >= 0.5, v <= -0.5],
        ["positive", "negative", "neutral", "positive", "negative"], default=None)
    plain = (hits == 0) & (slang_hits == 0) & ~texts.str.contains(r"[!?]").to_numpy() & (np.abs(v) < 0.05)
    emotion = np.where(plain, "neutral", emotion)
    sentiment = np.where(plain, "neutral", sentiment)
    out = frame.copy()
    out["emotion_label"] = emotion
    out["sentiment_label"] = sentiment
    out["weak_neutral"] = plain
    return out


def cm_matchers():
    from .offline import _matchers

    return _matchers()


def mask_emotes(frame: pd.DataFrame, emote_names: set[str]) -> pd.Series:
    """Delete emote tokens (lexicon emotes always, plus `emote_names`) and emoji from each message."""
    emote_names = set(emote_names) | set(lx.EMOTES)
    tokens = frame["message"].fillna("").astype(str).str.replace(lx.EMOJI_RE, " ", regex=True).str.split()
    exploded = tokens.explode()
    per_msg = frame["emotes"].fillna("").astype(str).str.split().explode()
    own = pd.Series(True, index=pd.MultiIndex.from_arrays([per_msg.index, per_msg.values])) \
        if len(per_msg.dropna()) else None
    drop = exploded.isin(emote_names) | exploded.fillna("").str.match(SUB_EMOTE_RE)
    if own is not None:
        key = pd.MultiIndex.from_arrays([exploded.index, exploded.fillna("").values])
        drop = drop | pd.Series(key.isin(own.index), index=exploded.index)
    kept = exploded[~drop.fillna(True) & exploded.notna()]
    masked = kept.groupby(level=0).agg(" ".join)
    return masked.reindex(frame.index, fill_value="")


def time_split(frame: pd.DataFrame, holdout: float = HOLDOUT) -> np.ndarray:
    """True for test rows: the last `holdout` share of each source's time span."""
    t = frame["time"].to_numpy(dtype=float)
    lo = frame.groupby("source")["time"].transform("min").to_numpy()
    hi = frame.groupby("source")["time"].transform("max").to_numpy()
    return t >= lo + (1 - holdout) * (hi - lo)


def _cap_neutral(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    counts = frame[label].value_counts()
    others = counts.drop("neutral", errors="ignore")
    cap = int(others.max()) if len(others) else int(counts.get("neutral", 0))
    neutral = frame[frame[label] == "neutral"]
    if len(neutral) > cap:
        neutral = neutral.sample(n=cap, random_state=0)
    return pd.concat([frame[frame[label] != "neutral"], neutral]).sort_index()


def _evaluate(pipe, test: pd.DataFrame, label: str, train_labels: pd.Series) -> dict:
    from sklearn.metrics import accuracy_score, classification_report, f1_score

    if test.empty:
        nan = float("nan")
        return {"n": 0, "accuracy": nan, "macro_f1": nan, "baseline_majority": str(train_labels.value_counts().idxmax()),
                "baseline_accuracy": nan, "baseline_macro_f1": nan, "per_class": {}, "test_label_counts": {}}
    pred = pipe.predict(test["text"])
    majority = train_labels.value_counts().idxmax()
    base = np.full(len(test), majority, dtype=object)
    return {
        "n": int(len(test)),
        "accuracy": round(float(accuracy_score(test[label], pred)), 4),
        "macro_f1": round(float(f1_score(test[label], pred, average="macro")), 4),
        "baseline_majority": str(majority),
        "baseline_accuracy": round(float(accuracy_score(test[label], base)), 4),
        "baseline_macro_f1": round(float(f1_score(test[label], base, average="macro")), 4),
        "per_class": {k: {m: round(float(v[m]), 4) for m in ("precision", "recall", "f1-score", "support")}
                      for k, v in classification_report(test[label], pred, output_dict=True, zero_division=0).items()
                      if isinstance(v, dict) and k not in ("macro avg", "weighted avg")},
        "test_label_counts": {k: int(v) for k, v in test[label].value_counts().items()},
    }


def train_models(corpus: list[str | Path], emotes_dir: str | Path | None, out_dir: str | Path,
                 holdout: float = HOLDOUT) -> dict:
    """Train both models from `corpus`, save them in `out_dir` with MODEL_CARD.md and metrics.json."""
    t0 = time.monotonic()
    out_dir = Path(out_dir)
    frames = [read_corpus(p) for p in corpus]
    frame = pd.concat(frames, ignore_index=True)
    log.info("training corpus: %d messages from %d file(s)", len(frame), len(frames))
    flt = filter_messages(frame)
    frame = frame[~flt["is_filtered"]].reset_index(drop=True)
    frame = weak_labels(frame)
    frame["text"] = mask_emotes(frame, lx.load_emote_names(emotes_dir))
    has_words = frame["text"].str.contains(r"\w", regex=True)
    frame = frame[has_words].reset_index(drop=True)
    frame["is_test"] = time_split(frame, holdout)
    metrics: dict = {"corpus": [Path(p).name for p in corpus], "messages_after_filter": int(len(flt) - flt["is_filtered"].sum()),
                     "messages_with_words_after_masking": int(len(frame)), "holdout": holdout}
    specs = (("emotion", "emotion_label", cm.EMOTION_CLASSES, cm.EMOTION_FILE),
             ("sentiment", "sentiment_label", cm.SENTIMENT_CLASSES, cm.SENTIMENT_FILE))
    for name, label, classes, filename in specs:
        data = frame[frame[label].notna()]
        train = _cap_neutral(data[~data["is_test"]], label)
        test = data[data["is_test"]]
        test = test[~test["text"].str.lower().isin(set(train["text"].str.lower()))]
        missing = set(classes) - set(train[label])
        if missing:
            raise KlipError(f"training corpus has no {name} examples of {', '.join(sorted(missing))}; add more chat")
        pipe = cm.make_pipeline()
        pipe.fit(train["text"], train[label])
        result = _evaluate(pipe, test, label, train[label])
        result["train_n"] = int(len(train))
        result["train_label_counts"] = {k: int(v) for k, v in train[label].value_counts().items()}
        metrics[name] = result
        cm.save_model(pipe, out_dir / filename)
        log.info("%s model: %d train, %d test, accuracy %.3f, macro-F1 %.3f (majority baseline %.3f / %.3f)",
                 name, len(train), result.get("n", 0), result.get("accuracy", float("nan")),
                 result.get("macro_f1", float("nan")), result.get("baseline_accuracy", float("nan")),
                 result.get("baseline_macro_f1", float("nan")))
    metrics["seconds"] = round(time.monotonic() - t0, 1)
    write_json(out_dir / "metrics.json", json.loads(json.dumps(metrics).replace("NaN", "null")))
    write_model_card(out_dir / "MODEL_CARD.md", metrics)
    return metrics


def write_model_card(path: Path, m: dict) -> None:
    def table(res: dict) -> str:
        rows = ["| class | precision | recall | F1 | test support | train examples |", "|---|---|---|---|---|---|"]
        for k, v in sorted(res.get("per_class", {}).items()):
            rows.append(f"| {k} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1-score']:.3f} | {int(v['support'])} "
                        f"| {res['train_label_counts'].get(k, 0)} |")
        return "\n".join(rows)

    e, s = m["emotion"], m["sentiment"]
    text = f"""# Chat emotion models (model card)

Built by `python -m klipstream.emotions.train` on {dt.date.today().isoformat()}; method in `klipstream/emotions/train.py`.

**Files**: `chat_emotion.skops` (classes {", ".join(cm.EMOTION_CLASSES)}), `chat_sentiment.skops`
(classes {", ".join(cm.SENTIMENT_CLASSES)}); skops format, loaded only with the explicit trusted-type list in
`klipstream/emotions/chat_model.py` (never pickle). `metrics.json` holds every number below.

**Data**: {", ".join(m["corpus"])} (real Twitch chat from public MIT-licensed repositories, see
`../shared/data/README.md`; not shipped here). {m["messages_after_filter"]} messages after removing bot and command
messages; {m["messages_with_words_after_masking"]} keep at least one word once emotes are removed.

**Labels** (weak, from emote meanings - the emoticon-labelled corpus method): the strongest emotion of the message's
emotes and emoji in our lexicon (`lexicon.py`, {cm.__name__.split('.')[0]} lexicon {lx.LEXICON_VERSION}) when its weight sum is
>= 0.5; sentiment from the mean emote valence (> 0.2 positive, < -0.2 negative), else VADER compound >= 0.5 / <= -0.5 for
messages without emotes; messages with no emote, emoji or slang, no `!`/`?` and |VADER| < 0.05 are weak `neutral`
examples (capped at the size of the largest other class). Every emote (our lexicon, the Twitch global and BTTV lists,
the message's own Twitch emote fragments, channel sub-emote shaped names) and emoji is deleted from the text before training.

**Features / model**: HashingVectorizer (word uni+bigrams, 2^16 features, l2), LogisticRegression
(C=4, class_weight=balanced, saga, random_state=0). No vocabulary is stored; the pipelines are deterministic.

**Held-out evaluation**: the last {int(m["holdout"] * 100)} % of each stream by time, minus texts also seen in training.
The labels are weak (emote meanings), so these scores measure agreement with the emotes the chatters chose, from the
words alone.

| model | test n | accuracy | macro-F1 | majority baseline ({e["baseline_majority"]} / {s["baseline_majority"]}) accuracy | baseline macro-F1 |
|---|---|---|---|---|---|
| emotion | {e["n"]} | {e["accuracy"]:.3f} | {e["macro_f1"]:.3f} | {e["baseline_accuracy"]:.3f} | {e["baseline_macro_f1"]:.3f} |
| sentiment | {s["n"]} | {s["accuracy"]:.3f} | {s["macro_f1"]:.3f} | {s["baseline_accuracy"]:.3f} | {s["baseline_macro_f1"]:.3f} |

Emotion, per class:

{table(e)}

Sentiment, per class:

{table(s)}

**Use**: `klipstream.emotions.chat` blends these text probabilities with the lexicon scores of the emotes in each
message, which the models never see (masked as in training): the lexicon weighs h/(h+1) for h lexicon hits, and
all of it when no word is left once emotes are masked. **Limits**: {len(m['corpus'])} chat file(s), English; weak labels
inherit the lexicon's view of each emote; anger and sadness have few examples; sarcasm is not modelled.
"""
    with atomic_open(path) as fh:
        fh.write(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m klipstream.emotions.train", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+", required=True, help="chat files: H:MM:SS text logs or Twitch JSON")
    parser.add_argument("--emotes-dir", default=None, help="folder of emote name lists (*.txt, *.json) to mask")
    parser.add_argument("--out", default=str(cm.DEFAULT_MODELS_DIR), help="models folder (default: the repo's models/)")
    parser.add_argument("--holdout", type=float, default=HOLDOUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        train_models(args.corpus, args.emotes_dir, args.out, args.holdout)
    except KlipError as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
