"""Chat scoring with the shipped models: contract columns, filters, emote/emoji signals, blend formula."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from klipstream.emotions import chat as chat_mod
from klipstream.emotions.chat_model import ChatModels
from klipstream.emotions.offline import lexicon_scores

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def models():
    return ChatModels.load()  # the models shipped in models/


def _frame():
    return pd.DataFrame({
        "comment_id": ["a", "b", "c", "d", "e", "f", "g", "h"],
        "time": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        "user": ["viewer", "viewer2", "Nightbot", "viewer3", "viewer4", "viewer5", "viewer6", "viewer7"],
        "message": ["KEKW KEKW", "!drop", "Follow the streamer on twitter", "please subscribe gg",
                    "this is boring ResidentSleeper", "😂😂 lmaooo", "Kappa", "the bus comes at noon"],
        "emotes": ["KEKW KEKW", "", "", "", "ResidentSleeper", "", "Kappa", ""],
    })


def test_contract_columns_and_filters(models):
    out = chat_mod.score_chat_frame(_frame(), models)
    assert list(out.columns) == chat_mod.COLUMNS
    assert out["is_filtered"].tolist() == [False, True, True, False, False, False, False, False]
    assert out["filter_reason"].tolist() == ["", "command", "bot_account", "", "", "", "", ""]
    assert out["emote_count"].tolist() == [2, 0, 0, 0, 1, 0, 1, 0]
    assert out["emoji_count"].tolist() == [0, 0, 0, 0, 0, 2, 0, 0]
    scores = out[["excitement", "funny", "happiness", "anger", "sadness", "neutral"]]
    assert ((scores >= 0) & (scores <= 1)).all().all() and out["sentiment_score"].between(-1, 1).all()


def test_emotes_drive_scores_by_the_blend_formula(models):
    frame = _frame()
    out = chat_mod.score_chat_frame(frame, models)
    probs = models.predict(frame["message"])
    lex = lexicon_scores(frame["message"])
    # KEKW KEKW: no word left once emotes are masked -> a = 1, pure lexicon: funny = 1 - e^-2
    assert out.loc[0, "funny"] == pytest.approx(1 - np.exp(-2))
    assert out.loc[0, "excitement"] == pytest.approx(1 - np.exp(-0.6))
    assert out.loc[0, "sentiment_score"] == pytest.approx(0.4)
    # "this is boring ResidentSleeper": 2 hits (slang + emote), words left -> a = 2/3, model reads "this is boring"
    p_text = models.predict(pd.Series(["this is boring  "]))
    want = 2 / 3 * lex.loc[4, "valence"] + 1 / 3 * p_text.loc[0, "sentiment"]
    assert out.loc[4, "sentiment_score"] == pytest.approx(want)
    assert out.loc[4, "sentiment_score"] < -0.3
    assert out.loc[5, "funny"] > 0.6
    # a message without lexicon hits is the model's own prediction
    assert lex.loc[7, "hits"] == 0
    assert out.loc[7, "neutral"] == pytest.approx(probs.loc[7, "neutral"])
    assert out.loc[7, "sentiment_score"] == pytest.approx(probs.loc[7, "sentiment"])


def test_score_chat_reads_contract_json_and_writes_csv(tmp_path):
    from klipstream.chat.io import make_comment, write_chat

    frame = _frame()
    comments = [make_comment(r.comment_id, r.time, r.user, r.message, vod_id="v1") for r in frame.itertuples()]
    write_chat(tmp_path / "v1_chat.json", comments, vod_id="v1")
    from klipstream.emotions.chat_model import DEFAULT_MODELS_DIR

    files = sorted(str(p) for p in DEFAULT_MODELS_DIR.glob("*.skops"))  # as the Snakemake rule passes them
    out = chat_mod.score_chat(tmp_path / "v1_chat.json", tmp_path / "out" / "v1_chat_sentiment.csv", models=files)
    got = pd.read_csv(tmp_path / "out" / "v1_chat_sentiment.csv", keep_default_na=False)
    assert list(got.columns) == chat_mod.COLUMNS and len(got) == 8
    assert got["comment_id"].tolist() == list("abcdefgh")
    assert got.loc[0, "emote_count"] == 2  # no Twitch fragments here: found by the lexicon
    assert got.loc[0, "funny"] == pytest.approx(out.loc[0, "funny"], rel=1e-5)


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
