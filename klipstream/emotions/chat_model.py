"""The project's own chat emotion models: scikit-learn pipelines saved with skops (never pickle).

Two pipelines over the same hashed word features (uni- and bigrams, so there is no vocabulary to store):
  - `chat_emotion.skops`: multinomial logistic regression over
    excitement, funny, happiness, anger, sadness, neutral;
  - `chat_sentiment.skops`: logistic regression over negative, neutral, positive.
They are trained by `klipstream.emotions.train` on text with emotes masked, so they read the words around
the emotes; the emotes themselves are scored by the lexicon and the two are blended in `chat.py`.
Loading checks every type in the file against TRUSTED_TYPES and refuses anything else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import KlipError

log = logging.getLogger(__name__)

EMOTION_CLASSES = ("excitement", "funny", "happiness", "anger", "sadness", "neutral")
SENTIMENT_CLASSES = ("negative", "neutral", "positive")
EMOTION_FILE = "chat_emotion.skops"
SENTIMENT_FILE = "chat_sentiment.skops"

# Every non-builtin type our pipelines contain; skops refuses to build anything not listed here.
TRUSTED_TYPES = [
    "builtins.dict",
    "builtins.list",
    "builtins.str",
    "builtins.tuple",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "sklearn.pipeline.Pipeline",
    "sklearn.feature_extraction.text.HashingVectorizer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "numpy.dtype",
    "numpy.float32",
    "numpy.float64",
    "numpy.int64",
    "numpy.ndarray",
]

DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def make_vectorizer():
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        n_features=2**16,
        alternate_sign=False,
        token_pattern=r"(?u)\b\w+\b",
        lowercase=True,
        norm="l2",
        dtype=np.float32,
    )


def make_pipeline(C: float = 4.0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            ("features", make_vectorizer()),
            (
                "clf",
                LogisticRegression(
                    C=C, solver="saga", max_iter=1000, tol=1e-3, random_state=0, class_weight="balanced"
                ),
            ),
        ]
    )


def save_model(pipeline, path: str | Path) -> None:
    """Write a pipeline with skops, atomically."""
    import skops.io as sio

    from ..io import atomic_path

    with atomic_path(path) as tmp:
        sio.dump(pipeline, tmp)


def load_model(path: str | Path, trusted: list[str] | None = None):
    """Load a skops file, refusing any type outside `trusted` (default TRUSTED_TYPES) with a one-line error."""
    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise KlipError(f"chat model {path} not found; rebuild it with `python -m klipstream.emotions.train`")
    trusted = list(TRUSTED_TYPES if trusted is None else trusted)
    # skops' own default trust list is broad (any sklearn estimator, numpy ufuncs); we check every type
    # named in the file's schema against our explicit list first, then let skops check again.
    found = set(file_types(path)) | set(sio.get_untrusted_types(file=path))
    untrusted = [t for t in found if t not in trusted]
    if untrusted:
        raise KlipError(f"chat model {path} contains untrusted types {', '.join(sorted(untrusted))}; refusing to load")
    return sio.load(path, trusted=trusted)


def file_types(path: str | Path) -> list[str]:
    """Every `module.Class` (or function) a skops file would construct, read from its schema.json."""
    import json
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            schema = json.loads(zf.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise KlipError(f"chat model {path} is not a skops file ({exc})") from exc
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__class__" in node:
                found.add(f"{node.get('__module__', '')}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return sorted(found)


@dataclass
class ChatModels:
    emotion: object
    sentiment: object
    source: str

    @classmethod
    def load(cls, models_dir: str | Path | None = None) -> ChatModels:
        models_dir = Path(models_dir) if models_dir else DEFAULT_MODELS_DIR
        emotion = load_model(models_dir / EMOTION_FILE)
        sentiment = load_model(models_dir / SENTIMENT_FILE)
        for name, model, classes in (
            ("emotion", emotion, EMOTION_CLASSES),
            ("sentiment", sentiment, SENTIMENT_CLASSES),
        ):
            if set(model.classes_) != set(classes):
                raise KlipError(
                    f"chat {name} model in {models_dir} has classes {list(model.classes_)}, expected {list(classes)}"
                )
        return cls(emotion, sentiment, str(models_dir))

    def predict(self, texts: pd.Series) -> pd.DataFrame:
        """Class probabilities for each text: the six emotions and `sentiment` = P(positive) - P(negative)."""
        texts = pd.Series(texts, dtype=object).fillna("").astype(str)
        vec_e, vec_s = self.emotion[:-1], self.sentiment[:-1]
        x = vec_e.transform(texts)
        # Hashing features have no fitted state: reuse them when both pipelines hash the same way.
        same = vec_e[-1].get_params() == vec_s[-1].get_params()
        xs = x if same else vec_s.transform(texts)
        pe = self.emotion[-1].predict_proba(x)
        ps = self.sentiment[-1].predict_proba(xs)
        out = pd.DataFrame(pe, columns=list(self.emotion[-1].classes_), index=texts.index)[list(EMOTION_CLASSES)]
        s_cls = list(self.sentiment[-1].classes_)
        out["sentiment"] = ps[:, s_cls.index("positive")] - ps[:, s_cls.index("negative")]
        return out
