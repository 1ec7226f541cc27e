"""models/MODEL_CARD.md and models/metrics.json: what the chat models are, how they were trained, how they score.

`write_model_card(path, metrics)` renders the card from the metrics `train.train_models` writes; `record_devset`
adds the scores on the human-labelled chat dev set (computed by bench/emotions.py, which owns the dev set) to
metrics.json under "devset" and renders the card again, so both always say the same.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import KlipError
from ..io import atomic_open, write_json
from . import chat_model as cm
from . import lexicon as lx


def _table(res: dict) -> str:
    rows = ["| class | precision | recall | F1 | test support | train examples |", "|---|---|---|---|---|---|"]
    for k, v in sorted(res.get("per_class", {}).items()):
        rows.append(
            f"| {k} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1-score']:.3f} | {int(v['support'])} "
            f"| {res['train_label_counts'].get(k, 0)} |"
        )
    return "\n".join(rows)


def _devset_section(d: dict | None) -> str:
    if not d:
        return "**Human-labelled dev set**: not measured yet; run `bench/emotions.py --dev-only --update-model-card`.\n"
    names = list(d["scorers"])
    head = "| | " + " | ".join(names) + " |\n|---|" + "---|" * len(names)
    intro = (
        f"**Human-labelled dev set** ({d['n']} real chat messages, `bench/devsets/chat_messages.csv`, labelled "
        f"by one annotator; guideline `docs/labelling/chat_messages.md`), measured {d['date']} with `{d['command']}`. "
        "`model` is these two models alone (argmax of the emotion model; sentiment P(positive) - P(negative) "
        "with the 0.05 thresholds); `shipped` is what `chat_sentiment.csv` contains "
        "(`klipstream.emotions.chat.score_chat_frame`), which gives these models weight "
        f"{d.get('model_weight', 0)}: the blend was chosen on this dev set (`bench/chat_blend_tune.py`), where the "
        "best setting with the models did not beat the best without them by the 0.01 required. "
        "Because the blend was chosen, and the lexicon revised, on this same set, `shipped` is optimistic; "
        "docs/emotions.md gives the numbers chosen on one chat and checked on the other. The labels are one "
        "annotator's: no independent second annotator was measured."
    )
    lines = [intro, "", head]
    for task in ("sentiment", "emotion"):
        for metric in ("accuracy", "macro_f1"):
            lines.append(
                f"| {task} {metric.replace('_', '-')} | "
                + " | ".join(f"{d['scorers'][n][task][metric]:.3f}" for n in names)
                + " |"
            )
        for c in d["scorers"][names[0]][task]["per_class"]:
            lines.append(
                f"| {task} P / R {c} | "
                + " | ".join(
                    f"{d['scorers'][n][task]['per_class'][c]['precision']:.2f} / "
                    f"{d['scorers'][n][task]['per_class'][c]['recall']:.2f}"
                    for n in names
                )
                + " |"
            )
    return "\n".join(lines) + "\n"


def write_model_card(path: str | Path, m: dict) -> None:
    e, s = m["emotion"], m["sentiment"]
    excluded = (
        f" Never trained on: the messages listed in `{m['excluded']}` (the chat dev set) nor any message with "
        "the same text."
        if m.get("excluded")
        else ""
    )
    text = f"""# Chat emotion models (model card)

Built by `python -m klipstream.emotions.train` on {m.get("built", "an unrecorded date")}; method in
`klipstream/emotions/train.py`.

**Files**: `chat_emotion.skops` (classes {", ".join(cm.EMOTION_CLASSES)}), `chat_sentiment.skops`
(classes {", ".join(cm.SENTIMENT_CLASSES)}); skops format, loaded only with the explicit trusted-type list in
`klipstream/emotions/chat_model.py` (never pickle). `metrics.json` holds every number below.

**Data**: {", ".join(m["corpus"])} (real Twitch chat from public MIT-licensed repositories, see
`../shared/data/README.md`; not shipped here). {m["messages_after_filter"]} messages after removing bot and command
messages; {m["messages_with_words_after_masking"]} keep at least one word once emotes are removed.{excluded}

**Labels** (weak, from emote meanings - the emoticon-labelled corpus method): the strongest emotion of the message's
emotes, channel-emote suffixes and emoji in our lexicon (`lexicon.py`, lexicon {lx.LEXICON_VERSION}) when its weight
sum is >= 0.5; sentiment from the mean emote valence (> 0.2 positive, < -0.2 negative), else VADER compound >= 0.5 /
<= -0.5 for messages without emotes; messages with no emote, emoji or slang, no `!` and |VADER| < 0.05 are weak
`neutral` examples (capped at the size of the largest other class). System notices are removed first. Every emote
(our lexicon, the emote lists given, the message's own Twitch emote fragments, channel sub-emote shaped names) and
emoji is deleted from the text before training.

**Features / model**: HashingVectorizer (word uni+bigrams, 2^16 features, l2), LogisticRegression
(C=4, class_weight=balanced, saga, random_state=0). No vocabulary is stored; the pipelines are deterministic.

**Held-out evaluation on weak labels**: the last {int(m["holdout"] * 100)} % of each stream by time, minus texts also
seen in training. These scores measure agreement with the emotes the chatters chose, from the words alone - not
with people; the dev-set section below does that.

| model | test n | accuracy | macro-F1 | majority baseline ({e["baseline_majority"]} / {s["baseline_majority"]}) accuracy | baseline macro-F1 |
|---|---|---|---|---|---|
| emotion | {e["n"]} | {e["accuracy"]:.3f} | {e["macro_f1"]:.3f} | {e["baseline_accuracy"]:.3f} | {e["baseline_macro_f1"]:.3f} |
| sentiment | {s["n"]} | {s["accuracy"]:.3f} | {s["macro_f1"]:.3f} | {s["baseline_accuracy"]:.3f} | {s["baseline_macro_f1"]:.3f} |

Emotion, per class:

{_table(e)}

Sentiment, per class:

{_table(s)}

{_devset_section(m.get("devset"))}
**Use**: `klipstream.emotions.chat` can blend these text probabilities (emotes masked, as in training) with the
lexicon and VADER (`Blend.model_weight`); the shipped weight is the one measured best on the dev set. **Limits**:
{len(m["corpus"])} chat file(s), English; weak labels inherit the lexicon's view of each emote; anger and sadness have
few examples; sarcasm and jokes without a laugh marker are not modelled.
"""
    with atomic_open(path) as fh:
        fh.write(text)


def record_devset(models_dir: str | Path, devset: dict) -> None:
    """Store the dev-set scores in `models_dir`/metrics.json under "devset" and render MODEL_CARD.md again."""
    path = Path(models_dir) / "metrics.json"
    if not path.is_file():
        raise KlipError(f"{path} not found; train the models first (python -m klipstream.emotions.train)")
    metrics = json.loads(path.read_text(encoding="utf-8"))
    metrics["devset"] = devset
    write_json(path, metrics)
    write_model_card(Path(models_dir) / "MODEL_CARD.md", metrics)
