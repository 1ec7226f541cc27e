"""Training on a tiny in-test corpus: skops round trip with trusted types, deterministic predictions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from klipstream.emotions import chat_model as cm
from klipstream.emotions import train
from klipstream.emotions.emotes import emote_tokens
from klipstream.errors import KlipError


def _corpus(tmp_path):
    words = {
        "KEKW": ["that was hilarious", "the chair fell", "he tripped again", "what a clown move"],
        "Pog": ["we won the round", "what a clutch play", "new record run", "he hit the shot"],
        "Sadge": ["we lost again", "the run died", "she left the stream", "no more games"],
        "<3": ["thank you streamer", "love this community", "you are the best", "have a great day"],
        "DansGame": ["this smells awful", "gross food choice", "that bug again", "awful lag"],
    }
    lines, t = [], 0
    for _rep in range(6):
        for emote, texts in words.items():
            for text in texts:
                t += 7
                lines.append(f"{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d} {text} {emote}")
        for text in ("the map is on the wall", "next game after this", "what time does it end", "the menu has items"):
            t += 7
            lines.append(f"{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d} {text}")
    lines.append("0:00:01 !drop")  # a command: filtered, never a training example
    path = tmp_path / "tiny.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_save_load_predict(tmp_path):
    corpus = _corpus(tmp_path)
    labelled = train.weak_labels(train.read_corpus(corpus))
    assert labelled.loc[labelled["message"].str.endswith("KEKW"), "emotion_label"].eq("funny").all()
    assert labelled.loc[labelled["message"].str.endswith("Sadge"), "sentiment_label"].eq("negative").all()
    masked = train.mask_emotes(labelled, {"KEKW", "Pog"})
    assert not masked.str.contains("KEKW|Pog|Sadge|DansGame|<3").any()  # lexicon emotes always masked

    metrics = train.train_models([corpus], None, tmp_path / "models")
    for name in ("chat_emotion.skops", "chat_sentiment.skops", "MODEL_CARD.md", "metrics.json"):
        assert (tmp_path / "models" / name).is_file()
    assert json.loads((tmp_path / "models" / "metrics.json").read_text())["emotion"]["n"] == metrics["emotion"]["n"]
    assert "Held-out" in (tmp_path / "models" / "MODEL_CARD.md").read_text()

    models = cm.ChatModels.load(tmp_path / "models")
    texts = pd.Series(["that was hilarious", "we lost again", "love this community", "we won the round"])
    p1 = models.predict(texts)
    p2 = cm.ChatModels.load(tmp_path / "models").predict(texts)
    pd.testing.assert_frame_equal(p1, p2)
    assert p1[list(cm.EMOTION_CLASSES)].sum(axis=1).to_numpy() == pytest.approx(np.ones(4))
    assert p1[list(cm.EMOTION_CLASSES)].idxmax(axis=1).tolist() == ["funny", "sadness", "happiness", "excitement"]
    assert p1.loc[1, "sentiment"] < 0 < p1.loc[2, "sentiment"]

    # retraining gives the same model
    train.train_models([corpus], None, tmp_path / "again")
    pd.testing.assert_frame_equal(p1, cm.ChatModels.load(tmp_path / "again").predict(texts))


def test_loader_refuses_untrusted_types(tmp_path):
    import skops.io as sio
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipe = cm.make_pipeline()
    pipe.fit(["a b", "c d", "e f"] * 2, ["x", "y", "z"] * 2)
    cm.save_model(pipe, tmp_path / "ok.skops")
    assert cm.load_model(tmp_path / "ok.skops").predict(["a b"])[0] == "x"
    sneaky = Pipeline([("f", FunctionTransformer(np.exp)), ("clf", pipe[-1])])
    sio.dump(sneaky, tmp_path / "bad.skops")
    # skops' own defaults would load this; our explicit list does not
    with pytest.raises(KlipError, match="untrusted types .*FunctionTransformer"):
        cm.load_model(tmp_path / "bad.skops")
    (tmp_path / "junk.skops").write_bytes(b"not a zip")
    with pytest.raises(KlipError, match="not a skops file"):
        cm.load_model(tmp_path / "junk.skops")
    with pytest.raises(KlipError, match="not found"):
        cm.load_model(tmp_path / "missing.skops")


def test_exclusion_list_removes_listed_messages_and_their_text(tmp_path):
    frame = train.read_corpus(_corpus(tmp_path))
    first = frame.set_index("message_id").loc["1"]  # a text log's id is its line number
    assert first["source"] == "tiny.txt" and first["message"] == "that was hilarious KEKW"
    (tmp_path / "dev.csv").write_text("source,message_id\ntiny.txt,1\n")
    kept = train.exclude_messages(frame, tmp_path / "dev.csv")
    same = frame["message"].str.lower() == first["message"].lower()
    assert same.sum() > 1 and len(kept) == len(frame) - same.sum()
    assert not kept["message"].str.lower().eq(first["message"].lower()).any()
    with pytest.raises(KlipError, match="not found"):
        train.exclude_messages(frame, tmp_path / "missing.csv")


def test_training_masks_two_character_prefixes_the_scorer_does_not_count():
    # one definition (emotes.channel_emote_re), two prefix minimums: the shipped models were trained masking
    # ppPoof-like names (2-character prefix), the scorer counts channel emotes from 3 characters
    frame = pd.DataFrame({"message": ["nice ppPoof fusHeart wow", "iPhone ok"], "emotes": ["", ""]})
    assert train.mask_emotes(frame, set()).tolist() == ["nice wow", "iPhone ok"]
    assert emote_tokens(frame["message"]).tolist() == ["fusHeart"]
