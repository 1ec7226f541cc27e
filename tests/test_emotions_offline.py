"""Offline scorer, lexicon and filters, against values computed by hand from the documented formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from klipstream.emotions import lexicon as lx
from klipstream.emotions.filters import filter_messages
from klipstream.emotions.offline import lexicon_scores, score_texts


def test_kekw_twice_is_funny_by_the_formula():
    s = score_texts(["KEKW KEKW"]).iloc[0]
    # KEKW = laughter profile: valence 0.4, excitement 0.3, funny 1.0, happiness 0.3; two hits, VADER 0
    assert s["funny"] == pytest.approx(1 - math.exp(-2.0))
    assert s["excitement"] == pytest.approx(1 - math.exp(-0.6))
    assert s["sentiment_score"] == pytest.approx(2 / 3 * 0.4)
    assert s["funny"] == s[list(lx.EMOTIONS)].max()
    assert s["neutral"] == pytest.approx((1 - (1 - math.exp(-2.0))) * (1 - 2 / 3 * 0.4))


def test_boring_is_negative_and_plain_text_is_neutral():
    s = score_texts(["this is boring", "the cat sat on the mat", ""])
    assert s.loc[0, "sentiment_score"] < -0.3
    assert s.loc[0, "sadness"] > 0.3 and s.loc[0, "funny"] == 0
    assert s.loc[1].drop("neutral").abs().max() == 0 and s.loc[1, "neutral"] == 1
    assert s.loc[2, "neutral"] == 1


def test_emotes_are_case_sensitive_slang_squeezed_and_not_double_counted():
    lex = lexicon_scores(pd.Series(["LUL", "LOOOOL", "lmaooo", "HAHAHAHA", "Sadge 😭", "kappa Kappa"]))
    assert lex.loc[0, "hits"] == 1  # the emote LUL is not also counted as slang "lul"
    assert lex.loc[1, "hits"] == 1 and lex.loc[1, "funny"] == pytest.approx(1 - math.exp(-0.7))  # -> "lol"
    assert lex.loc[2, "funny"] == pytest.approx(1 - math.exp(-1.0))  # -> "lmao"
    assert lex.loc[3, "funny"] == pytest.approx(1 - math.exp(-1.0))  # -> "haha"
    assert lex.loc[4, "hits"] == 2 and lex.loc[4, "sadness"] == pytest.approx(1 - math.exp(-1.7))
    assert lex.loc[5, "hits"] == 2  # slang "kappa" and emote "Kappa" are separate tokens


def test_exclamation_adds_excitement():
    a, b = score_texts(["we won", "we won!!!"])["excitement"]
    assert b - a == pytest.approx(0.45)  # min(0.15 * 3, 0.45); "we won" has no lexicon excitement


def test_filters_by_rule_not_by_substring():
    frame = pd.DataFrame({
        "user": ["viewer1", "Nightbot", "StreamElements", "viewer2", "viewer3", "viewer4", "moobot", "viewer5", "v6"],
        "message": ["!drop", "Follow on twitter!", "hi", "please subscribe gg", "gg ez sub hype", "   ",
                    "!commands", "wow ! that", "subscribed for 3 months"],
    })
    f = filter_messages(frame)
    assert f["filter_reason"].tolist() == ["command", "bot_account", "bot_account", "", "", "empty",
                                           "bot_account", "", ""]
    assert f["is_filtered"].tolist() == [True, True, True, False, False, True, True, False, False]
    extra = filter_messages(frame.assign(user=["mybot"] + frame["user"].tolist()[1:]), extra_bots=["MyBot"])
    assert extra.loc[0, "filter_reason"] == "bot_account"


def test_lexicon_values_in_range_and_emote_lists_load(tmp_path):
    for table in (lx.EMOTES, lx.SLANG, lx.EMOJI):
        w = np.array(list(table.values()))
        assert w.shape[1] == 6 and (w[:, 0] >= -1).all() and (w[:, 0] <= 1).all()
        assert (w[:, 1:] >= 0).all() and (w[:, 1:] <= 1).all()
    (tmp_path / "a.txt").write_text("FooEmote\nBarEmote\n")
    (tmp_path / "b.json").write_text('{"emotes": {"BazEmote": {}}}')
    names = lx.load_emote_names(tmp_path)
    assert {"FooEmote", "BarEmote", "BazEmote", "KEKW"} <= names


def test_scores_stay_in_range_on_real_chat():
    path = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "data" / "chat" / "fuslie_4h.txt"
    if not path.is_file():
        pytest.skip("shared test data absent")
    lines = pd.Series(path.read_text(encoding="utf-8").splitlines()).str.split(" ", n=1).str[1].fillna("")
    s = score_texts(lines, use_vader=False)
    assert s["sentiment_score"].between(-1, 1).all()
    assert s.drop(columns="sentiment_score").stack().between(0, 1).all()
    one = 1 - math.exp(-1)
    for msg, emotion, valence in (("KEKW", "funny", 0.4), ("Pog", "excitement", 0.6), ("Sadge", "sadness", -0.7)):
        rows = s[lines.str.strip() == msg]
        assert len(rows) > 10, msg
        assert rows[emotion].to_numpy() == pytest.approx(one), msg
        assert rows["sentiment_score"].to_numpy() == pytest.approx(valence / 2), msg


def test_offline_speech_windows_by_hand(tmp_path, monkeypatch):
    from klipstream.emotions import speech

    for name in ("NEBIUS_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    seg = pd.DataFrame({"window_id": [0, 1, 2], "start_time": [0.0, 60.0, 120.0], "end_time": [60.0, 120.0, 180.0],
                        "word_count": [60, 60, 120], "speech_rate": [1.0, 1.0, 2.0],
                        "text": ["the cat sat", "the cat sat", "the cat sat"]})
    seg.to_csv(tmp_path / "seg.csv", index=False)
    db = np.r_[np.full(120, -30.0), np.full(60, -24.0)]  # window 2 is 6 dB above the median window
    pd.DataFrame({"time": np.arange(180.0), "rms_db": db, "loudness_z": 0.0}).to_csv(tmp_path / "f.csv", index=False)
    out = speech.score_windows(tmp_path / "seg.csv", tmp_path / "f.csv", tmp_path / "s.csv", backend="offline")
    # windows 0, 1: arousal 0 -> nothing; window 2: loud 6 dB / 6 = 1, rate 2/1 - 1 = 1 -> arousal 1
    assert out["excitement"].tolist() == pytest.approx([0.0, 0.0, 0.6])
    assert out["highlight_score"].tolist() == pytest.approx([0.0, 0.0, 0.4 * 0.6 + 0.2 * 1.0])
    assert out["neutral"].tolist() == pytest.approx([1.0, 1.0, 0.4])
    assert (out["model"] == "offline-lexicon-v1").all()
    written = pd.read_csv(tmp_path / "s.csv")
    assert list(written.columns) == speech.COLUMNS and written["highlight_score"].iloc[2] == pytest.approx(0.44)
