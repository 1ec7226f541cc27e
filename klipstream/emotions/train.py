"""Rebuild the chat emotion models from a chat corpus with weak labels from emote meanings.

Method (emoticon-labelled corpus, as in distant supervision of tweet sentiment): an emote or emoji of our
lexicon says what its message feels; we take that as the label, then delete every emote from the text
(so the model must learn from the words around it) and train a text classifier.

  1. Read the corpus: `H:MM:SS message` text logs, Twitch v5 / TwitchDownloader JSON.
  2. Drop bot and command messages (filters.py) and system notices (filters.strip_notices); with --exclude
     (a CSV of `source,message_id`, e.g. the chat dev set bench/devsets/chat_messages.csv), drop those messages
     and every message with the same case- and space-folded text, so an evaluation set never trains the models.
  3. Emotion label: sum the lexicon weights of the message's emotes, channel-emote suffixes and emoji; the label
     is the strongest emotion when its sum is >= 0.5, else the message is skipped. Sentiment label: mean emote
     valence > 0.2 positive, < -0.2 negative, else neutral; for messages without emotes, VADER compound >= 0.5
     positive or <= -0.5 negative (VADER as a teacher). Messages with no emote, emoji or slang hit, no "!",
     and |VADER| < 0.05 (questions included) are weak `neutral` examples for both models (capped at the size of
     the largest other class).
  4. Mask: delete tokens that are lexicon emotes, names from the emote lists (--emotes-dir), the message's
     Twitch emote fragments, channel sub-emote shaped names (`fusHeart`, `lionFeels`: lower-case prefix
     then a capital; emotes.TRAINING_CHANNEL_EMOTE_RE, which also takes 2-character prefixes), and emoji.
     Messages with no word left are dropped.
  5. Held-out split by time: the last 20 % of each stream is the test set; test texts that also occur in
     the training set are removed (chat repeats itself).
  6. Fit HashingVectorizer(1-2 grams) + LogisticRegression(class_weight=balanced); report accuracy and
     macro-F1 against the majority-class baseline; save `models/*.skops` and `models/MODEL_CARD.md`.

Run: python -m klipstream.emotions.train --corpus CHAT [CHAT ...] --emotes-dir DIR [--exclude DEVSET.csv] --out models
"""

from __future__ import annotations

import argparse
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
from ..io import write_json
from . import chat_model as cm
from . import lexicon as lx
from .emotes import TRAINING_CHANNEL_EMOTE_RE
from .filters import filter_messages, strip_notices
from .model_card import write_model_card
from .offline import lexicon_counts, lexicon_totals, vader_compound

log = logging.getLogger(__name__)

HOLDOUT = 0.2


def read_corpus(path: str | Path) -> pd.DataFrame:
    """One corpus file, in any chat-log format the pipeline imports -> frame
    `source,message_id,time,user,message,emotes` (message_id: the comment id, or the line number of a text log)."""
    path = Path(path)
    if not path.is_file():
        raise KlipError(f"training corpus {path} not found")
    with tempfile.TemporaryDirectory() as tmp:
        converted = Path(tmp) / "chat.json"
        import_chat(path, converted, vod_id="corpus")
        frame = read_chat_frame(converted)
    if frame.empty:
        raise KlipError(f"training corpus {path} has no chat messages")
    frame = frame.rename(columns={"comment_id": "message_id"})
    frame["message_id"] = frame["message_id"].astype(str).str.replace(r"^corpus-", "", regex=True)
    frame.insert(0, "source", path.name)
    return frame.reset_index(drop=True)


def weak_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Add `emotion_label`, `sentiment_label` (None when unlabelled) from emotes/emoji and VADER."""
    texts = frame["message"].fillna("").astype(str)
    counts = lexicon_counts(texts)
    # emotes, channel-emote suffixes and emoji only: the slang is words the model can read itself
    total, hits = lexicon_totals(counts, ("emotes", "emoji", "channel"))
    slang_hits = np.asarray(counts["slang"].sum(axis=1)).ravel()
    emo = total[:, 1:]
    best = emo.argmax(axis=1)
    strong = emo.max(axis=1) >= 0.5
    emotion = np.where((hits > 0) & strong, np.array(lx.EMOTIONS, dtype=object)[best], None)
    valence = np.divide(total[:, 0], hits, out=np.zeros(len(hits)), where=hits > 0)
    v = vader_compound(texts)
    sentiment = np.select(
        [(hits > 0) & (valence > 0.2), (hits > 0) & (valence < -0.2), hits > 0, v >= 0.5, v <= -0.5],
        ["positive", "negative", "neutral", "positive", "negative"],
        default=None,
    )
    plain = (hits == 0) & (slang_hits == 0) & ~texts.str.contains("!", regex=False).to_numpy() & (np.abs(v) < 0.05)
    emotion = np.where(plain, "neutral", emotion)
    sentiment = np.where(plain, "neutral", sentiment)
    out = frame.copy()
    out["emotion_label"] = emotion
    out["sentiment_label"] = sentiment
    out["weak_neutral"] = plain
    return out


def exclude_messages(frame: pd.DataFrame, exclude: str | Path | None) -> pd.DataFrame:
    """Drop the `source,message_id` rows listed in `exclude` and every message with the same folded text."""
    if exclude is None:
        return frame
    path = Path(exclude)
    if not path.is_file():
        raise KlipError(f"exclusion list {path} not found")
    ids = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {"source", "message_id"} <= set(ids.columns):
        raise KlipError(f"exclusion list {path} needs columns source,message_id")
    key = pd.MultiIndex.from_frame(frame[["source", "message_id"]].astype(str))
    listed = key.isin(pd.MultiIndex.from_frame(ids[["source", "message_id"]]))
    folded = frame["message"].fillna("").astype(str).str.lower().str.split().str.join(" ")
    same_text = folded.isin(set(folded[listed]))
    log.info(
        "excluded %d listed messages of %s and %d more with the same text",
        int(listed.sum()),
        path.name,
        int((same_text & ~listed).sum()),
    )
    return frame[~(listed | same_text)].reset_index(drop=True)


def mask_emotes(frame: pd.DataFrame, emote_names: set[str]) -> pd.Series:
    """Delete emote tokens (lexicon emotes always, plus `emote_names`) and emoji from each message."""
    emote_names = set(emote_names) | set(lx.EMOTES)
    tokens = frame["message"].fillna("").astype(str).str.replace(lx.EMOJI_RE, " ", regex=True).str.split()
    exploded = tokens.explode()
    per_msg = frame["emotes"].fillna("").astype(str).str.split().explode()
    own = (
        pd.Series(True, index=pd.MultiIndex.from_arrays([per_msg.index, per_msg.values]))
        if len(per_msg.dropna())
        else None
    )
    drop = exploded.isin(emote_names) | exploded.fillna("").str.fullmatch(TRAINING_CHANNEL_EMOTE_RE)
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
        return {
            "n": 0,
            "accuracy": nan,
            "macro_f1": nan,
            "baseline_majority": str(train_labels.value_counts().idxmax()),
            "baseline_accuracy": nan,
            "baseline_macro_f1": nan,
            "per_class": {},
            "test_label_counts": {},
        }
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
        "per_class": {
            k: {m: round(float(v[m]), 4) for m in ("precision", "recall", "f1-score", "support")}
            for k, v in classification_report(test[label], pred, output_dict=True, zero_division=0).items()
            if isinstance(v, dict) and k not in ("macro avg", "weighted avg")
        },
        "test_label_counts": {k: int(v) for k, v in test[label].value_counts().items()},
    }


def train_models(
    corpus: list[str | Path],
    emotes_dir: str | Path | None,
    out_dir: str | Path,
    holdout: float = HOLDOUT,
    exclude: str | Path | None = None,
) -> dict:
    """Train both models from `corpus`, save them in `out_dir` with MODEL_CARD.md and metrics.json."""
    t0 = time.monotonic()
    out_dir = Path(out_dir)
    frames = [read_corpus(p) for p in corpus]
    frame = pd.concat(frames, ignore_index=True)
    log.info("training corpus: %d messages from %d file(s)", len(frame), len(frames))
    flt = filter_messages(frame)
    frame = frame[~flt["is_filtered"]].reset_index(drop=True)
    frame = exclude_messages(frame, exclude)
    frame["message"] = strip_notices(frame["message"])
    frame = weak_labels(frame[frame["message"].str.strip() != ""].reset_index(drop=True))
    frame["text"] = mask_emotes(frame, lx.load_emote_names(emotes_dir))
    has_words = frame["text"].str.contains(r"\w", regex=True)
    frame = frame[has_words].reset_index(drop=True)
    frame["is_test"] = time_split(frame, holdout)
    metrics: dict = {
        "built": time.strftime("%Y-%m-%d"),
        "corpus": [Path(p).name for p in corpus],
        "excluded": Path(exclude).name if exclude else None,
        "messages_after_filter": int(len(flt) - flt["is_filtered"].sum()),
        "messages_with_words_after_masking": int(len(frame)),
        "holdout": holdout,
    }
    specs = (
        ("emotion", "emotion_label", cm.EMOTION_CLASSES, cm.EMOTION_FILE),
        ("sentiment", "sentiment_label", cm.SENTIMENT_CLASSES, cm.SENTIMENT_FILE),
    )
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
        log.info(
            "%s model: %d train, %d test, accuracy %.3f, macro-F1 %.3f (majority baseline %.3f / %.3f)",
            name,
            len(train),
            result.get("n", 0),
            result.get("accuracy", float("nan")),
            result.get("macro_f1", float("nan")),
            result.get("baseline_accuracy", float("nan")),
            result.get("baseline_macro_f1", float("nan")),
        )
    metrics["seconds"] = round(time.monotonic() - t0, 1)
    write_json(out_dir / "metrics.json", json.loads(json.dumps(metrics).replace("NaN", "null")))
    write_model_card(out_dir / "MODEL_CARD.md", metrics)
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m klipstream.emotions.train", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+", required=True, help="chat files: H:MM:SS text logs or Twitch JSON")
    parser.add_argument("--emotes-dir", default=None, help="folder of emote name lists (*.txt, *.json) to mask")
    parser.add_argument("--out", default=str(cm.DEFAULT_MODELS_DIR), help="models folder (default: the repo's models/)")
    parser.add_argument("--holdout", type=float, default=HOLDOUT)
    parser.add_argument("--exclude", default=None, help="CSV of source,message_id never to train on (a dev set)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        train_models(args.corpus, args.emotes_dir, args.out, args.holdout, args.exclude)
    except KlipError as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
