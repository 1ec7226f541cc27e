"""The learned chat highlight model: a logistic regression over the language-agnostic reaction features of
klipstream.highlights.reactions, saved with skops (never pickle) beside a model card (models/CHAT_HIGHLIGHTS.md).

It answers, for every second of chat time, how likely the second `MODEL_LAG` s earlier is inside a moment an
editor would cut, from how the chat behaves around it. Its logit, less the VOD's own median logit, is the chat score:
0 at the VOD's typical second, higher where the chat reacts. Trained and cross-validated by `bench/highlight_cv.py`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from ..emotions.chat_model import TRUSTED_TYPES as EMOTION_TRUSTED_TYPES
from ..errors import KlipError

DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
MODEL_FILE = "chat_highlights.skops"
MODEL_LAG = 15  # s: labels are moved this much later at training, so the model speaks chat time (fusion moves it back)
# the emotion models' trusted types, plus the scaler this pipeline has
TRUSTED_TYPES = [*EMOTION_TRUSTED_TYPES, "sklearn.preprocessing._data.StandardScaler"]


def resolve(path: str) -> Path | None:
    """`esports` -> the shipped model, `none` -> no model (the burst score), else a path to a .skops file."""
    if path in ("", "none"):
        return None
    return DEFAULT_MODELS_DIR / MODEL_FILE if path == "esports" else Path(path)


@functools.lru_cache(maxsize=4)
def load(path: str):
    """The pipeline and the feature columns it reads (stored beside it as `feature_names_in_`)."""
    import skops.io as sio

    p = Path(path)
    if not p.is_file():
        raise KlipError(f"chat highlight model not found: {p} (set chat_highlights.chat_model, or 'none')")
    try:
        untrusted = sio.get_untrusted_types(file=p)
        bad = sorted(set(untrusted) - set(TRUSTED_TYPES))
        if bad:
            raise KlipError(f"chat highlight model {p}: refusing untrusted types {', '.join(bad)}")
        model = sio.load(p, trusted=untrusted)
    except KlipError:
        raise
    except Exception as exc:  # a truncated or foreign file
        raise KlipError(f"chat highlight model {p} cannot be read: {type(exc).__name__}: {exc}") from exc
    meta = p.with_suffix(".json")
    cols = json.loads(meta.read_text(encoding="utf-8"))["features"] if meta.is_file() else None
    return model, cols


def logit(model_path: Path, frame) -> np.ndarray:
    model, cols = load(str(model_path))
    x = frame[cols] if cols else frame
    return np.asarray(model.decision_function(x.to_numpy(dtype=float)), dtype=float)
