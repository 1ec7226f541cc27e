"""Chat scoring with the shipped models: contract columns, filters, emote/emoji signals, blend formula."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from klipstream.emotions import chat as chat_mod
from klipstream.emotions import lexicon as lx
from klipstream.emotions.chat_model import ChatModels
from klipstream.emotions.offline import lexicon_scores, vader_compound

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def models():
    return ChatModels.load()  # the models shipped in models/


def _frame():
    return pd.DataFrame(
        {
            "comment_id": ["a", "b", "c", "d", "e", "f", "g", "h"],
            "time": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "user": ["viewer", "viewer2", "Nightbot", "viewer3", "viewer4", "viewer5", "viewer6", "viewer7"],
            "message": [
                "KEKW KEKW",
                "!drop",
                "Follow the streamer on twitter",
                "please subscribe gg",
                "this is boring ResidentSleeper",
                "😂😂 lmaooo",
                "Kappa",
                "the bus comes at noon",
            ],
            "emotes": ["KEKW KEKW", "", "", "", "ResidentSleeper", "", "Kappa", ""],
        }
    )


def test_contract_columns_and_filters(models):
    out = chat_mod.score_chat_frame(_frame(), models)
    assert list(out.columns) == chat_mod.COLUMNS
    assert out["is_filtered"].tolist() == [False, True, True, False, False, False, False, False]
    assert out["filter_reason"].tolist() == ["", "command", "bot_account", "", "", "", "", ""]
    assert out["emote_count"].tolist() == [2, 0, 0, 0, 1, 0, 1, 0]
    assert out["emoji_count"].tolist() == [0, 0, 0, 0, 0, 2, 0, 0]
    scores = out[["excitement", "funny", "happiness", "anger", "sadness", "neutral"]]
    assert ((scores >= 0) & (scores <= 1)).all().all() and out["sentiment_score"].between(-1, 1).all()


def test_scores_follow_the_blend_formula():
    frame = _frame()
    out = chat_mod.score_chat_frame(frame)
    blend = chat_mod.BLEND
    lex = lexicon_scores(frame["message"])
    # KEKW KEKW: 2 hits, a = 2/3, no words for VADER: funny = 1 - e^-2, sentiment = 2/3 * 0.4
    assert out.loc[0, "funny"] == pytest.approx(1 - np.exp(-2))
    assert out.loc[0, "excitement"] == pytest.approx(1 - np.exp(-0.6))
    assert out.loc[0, "sentiment_score"] == pytest.approx(2 / 3 * 0.4)
    assert out.loc[0, "neutral"] == 0  # funny above the emotion floor
    # "this is boring ResidentSleeper": 2 hits -> a = 2/3; VADER reads the text with weight w_v
    v = vader_compound(pd.Series(["this is boring ResidentSleeper"]))[0]
    want = 2 / 3 * lex.loc[4, "valence"] + 1 / 3 * blend.vader_weight * v
    assert out.loc[4, "sentiment_score"] == pytest.approx(want)
    assert out.loc[4, "sentiment_score"] < -0.3 and out.loc[4, "anger"] == out.loc[4, list(lx.EMOTIONS)].max()
    assert out.loc[5, "funny"] > 0.6
    # filtered rows (command, bot) are neutral whatever they say
    assert out.loc[[1, 2], "sentiment_score"].eq(0).all() and out.loc[[1, 2], "neutral"].eq(1).all()
    assert out.loc[[1, 2], list(lx.EMOTIONS)].eq(0).all().all()
    # plain text without lexicon hits: calibrated, reads neutral
    assert abs(out.loc[7, "sentiment_score"]) < 0.05 and out.loc[7, "neutral"] == 1


def test_neutral_text_questions_notices_and_channel_emotes():
    msgs = [
        "how do you queue for squads?",
        "who won?",
        "is this good?",
        "true",
        "no",
        "ok",
        "hi chat",
        "wonsoftie subscribed at Tier 1. They've subscribed for 26 months, currently on a 26 month streak!",
        "Thank you yushers for the 300 bits! fusBITS",
        "Remember to follow if you enjoyed the stream! <3 :D",
        "fusHeart fusHeart",
        "chjbHug",
        "sykHypers",
        "fusKeK",
        "fusWave",
        "noooo",
        "ha ha ha",
        "whorgan1 subscribed at Tier 1. They've subscribed for 2 months! LMAO",
    ]
    frame = pd.DataFrame(
        {
            "comment_id": [str(i) for i in range(len(msgs))],
            "time": np.arange(len(msgs), dtype=float),
            "user": "",
            "message": msgs,
            "emotes": "",
        }
    )
    out = chat_mod.score_chat_frame(frame).set_index("message")
    for m in msgs[:10] + ["fusWave"]:
        assert abs(out.loc[m, "sentiment_score"]) < 0.05, m
        assert out.loc[m, "neutral"] > 0.9, m  # VADER's small share can leave a trace of happiness ("true")
    emotion = out[chat_mod.EMOTION_COLUMNS].idxmax(axis=1)
    assert emotion[["fusHeart fusHeart", "chjbHug", "sykHypers", "fusKeK", "noooo", "ha ha ha"]].tolist() == [
        "happiness",
        "happiness",
        "excitement",
        "funny",
        "sadness",
        "funny",
    ]
    assert out.loc["fusHeart fusHeart", "sentiment_score"] > 0.05 > -0.05 > out.loc["noooo", "sentiment_score"]
    assert out.loc[msgs[-1], "funny"] > 0.6  # a subscriber's own words after the notice still count
    assert out.loc["fusHeart fusHeart", "emote_count"] == 2 and out.loc["fusWave", "emote_count"] == 1


def test_model_weight_blends_the_trained_models(models):
    frame = _frame()
    with_models = chat_mod.score_chat_frame(frame, models, blend=chat_mod.Blend(model_weight=0.5))
    without = chat_mod.score_chat_frame(frame, models, blend=chat_mod.Blend(model_weight=0.0))
    # emote-only rows have no word for the model; the plain text row moves by 0.5 * (1 - a) * centred model score
    assert with_models.loc[0, "sentiment_score"] == pytest.approx(without.loc[0, "sentiment_score"])
    p = models.predict(pd.Series(["the bus comes at noon", ""]))["sentiment"]
    want = without.loc[7, "sentiment_score"] + 0.5 * (p.iloc[0] - p.iloc[1])
    assert with_models.loc[7, "sentiment_score"] == pytest.approx(want, abs=1e-6)


def test_score_chat_reads_contract_json_and_writes_csv(tmp_path):
    from klipstream.chat.io import make_comment, write_chat

    frame = _frame()
    comments = [make_comment(r.comment_id, r.time, r.user, r.message, vod_id="v1") for r in frame.itertuples()]
    write_chat(tmp_path / "v1_chat.json", comments, vod_id="v1")
    from klipstream.emotions.chat_model import DEFAULT_MODELS_DIR

    files = sorted(str(p) for p in DEFAULT_MODELS_DIR.glob("*.skops"))  # the shipped models
    out = chat_mod.score_chat(tmp_path / "v1_chat.json", tmp_path / "out" / "v1_chat_sentiment.csv", models=files)
    got = pd.read_csv(tmp_path / "out" / "v1_chat_sentiment.csv", keep_default_na=False)
    assert list(got.columns) == chat_mod.COLUMNS and len(got) == 8
    assert got["comment_id"].tolist() == list("abcdefgh")
    assert got.loc[0, "emote_count"] == 2  # no Twitch fragments here: found by the lexicon
    assert got.loc[0, "funny"] == pytest.approx(out.loc[0, "funny"], rel=1e-5)


def test_score_chat_loads_the_models_only_when_they_have_weight(tmp_path, monkeypatch, models):
    from klipstream.chat.io import make_comment, write_chat
    from klipstream.emotions.chat_model import DEFAULT_MODELS_DIR

    frame = _frame()
    comments = [make_comment(r.comment_id, r.time, r.user, r.message, vod_id="v1") for r in frame.itertuples()]
    write_chat(tmp_path / "v1_chat.json", comments, vod_id="v1")
    files = sorted(str(p) for p in DEFAULT_MODELS_DIR.glob("*.skops"))
    loads = []

    class Recording:
        @staticmethod
        def load(models_dir=None):
            loads.append(Path(models_dir))
            return models

    monkeypatch.setattr(chat_mod, "ChatModels", Recording)
    plain = chat_mod.score_chat(tmp_path / "v1_chat.json", tmp_path / "plain.csv", models=files)
    assert loads == []  # the shipped weight 0: the files are not even opened
    monkeypatch.setattr(chat_mod, "BLEND", chat_mod.Blend(model_weight=0.5))
    blended = chat_mod.score_chat(tmp_path / "v1_chat.json", tmp_path / "blended.csv", models=files)
    assert loads == [DEFAULT_MODELS_DIR]  # the folder of the files given
    want = chat_mod.score_chat_frame(frame, models, blend=chat_mod.Blend(model_weight=0.5))
    # and the blend that loaded them is the one that scores (the plain text row moves, see above)
    assert blended.loc[7, "sentiment_score"] == pytest.approx(want.loc[7, "sentiment_score"])
    assert blended.loc[7, "sentiment_score"] != pytest.approx(plain.loc[7, "sentiment_score"])


def test_real_chat_file(tmp_path):
    path = DATA / "chat" / "twitch_v5_1087079172.json"
    if not path.is_file():
        pytest.skip("shared test data absent")
    out = chat_mod.score_chat(path, tmp_path / "s.csv")
    assert len(out) == 3090
    bots = out[out["user"].str.lower() == "nightbot"]
    assert len(bots) == 40 and bots["is_filtered"].all()
    lul = out[out["message"].str.strip() == "LUL"]
    assert len(lul) > 50 and lul["funny"].to_numpy() == pytest.approx(1 - np.exp(-1))
    # Twitch emote fragments count even when our lexicon does not know them (channel emotes)
    assert out.loc[out["message"].str.strip() == "lionBaby_TK", "emote_count"].eq(1).all()


def test_empty_chat_gives_header_only(tmp_path, models):
    out = chat_mod.score_chat_frame(pd.DataFrame(columns=["comment_id", "time", "user", "message", "emotes"]), models)
    assert list(out.columns) == chat_mod.COLUMNS and len(out) == 0
