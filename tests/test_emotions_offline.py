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
    frame = pd.DataFrame(
        {
            "user": [
                "viewer1",
                "Nightbot",
                "StreamElements",
                "viewer2",
                "viewer3",
                "viewer4",
                "moobot",
                "viewer5",
                "v6",
            ],
            "message": [
                "!drop",
                "Follow on twitter!",
                "hi",
                "please subscribe gg",
                "gg ez sub hype",
                "   ",
                "!commands",
                "wow ! that",
                "subscribed for 3 months",
            ],
        }
    )
    f = filter_messages(frame)
    assert f["filter_reason"].tolist() == [
        "command",
        "bot_account",
        "bot_account",
        "",
        "",
        "empty",
        "bot_account",
        "",
        "",
    ]
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


def test_slang_normalisation_keeps_plain_words():
    lex = lexicon_scores(pd.Series(["no", "noooo", "no no no", "ha ha ha", "good", "LMAOAOA", "fusHeart", "fusSock"]))
    assert lex.loc[0, "hits"] == 0  # a plain "no" is an answer, not dismay (squeezing to one letter made it "noo")
    assert lex.loc[1, "sadness"] == lex.loc[2, "sadness"] > 0.5  # "noooo" and spoken "no no no" are dismay
    assert lex.loc[3, "funny"] == pytest.approx(1 - math.exp(-1.0)) and lex.loc[4, "hits"] == 0
    assert lex.loc[5, "funny"] == pytest.approx(1 - math.exp(-1.0))
    assert lex.loc[6, "happiness"] == pytest.approx(1 - math.exp(-1.0))  # channel emote read by its suffix
    assert lex.loc[7, "hits"] == 0  # an unknown suffix is an emote without a feeling


def _speech_case(tmp_path):
    seg = pd.DataFrame(
        {
            "window_id": [0, 1, 2],
            "start_time": [0.0, 30.0, 60.0],
            "end_time": [60.0, 90.0, 120.0],
            "word_count": [6, 8, 8],
            "speech_rate": [1.0, 1.0, 2.0],
            "text": ["we are here. the cat sat.", "okay. no no no that hurts.", "the cat sat. ha ha ha ha."],
        }
    )
    seg.to_csv(tmp_path / "seg.csv", index=False)
    n = 120
    z, shout = np.zeros(n), np.zeros(n)
    z[60], shout[60] = 6.0, 1  # a shout in window 1's middle (seconds 45-75 are nearest its centre, 60)
    z[100] = 3.0  # a loud second in window 2's middle: arousal (3 - 2) / 2 = 0.5
    db = np.r_[np.full(60, -30.0), np.full(60, -24.0)]
    pd.DataFrame({"time": np.arange(float(n)), "rms_db": db, "loudness_z": z, "shout": shout, "laughter": 0}).to_csv(
        tmp_path / "f.csv", index=False
    )
    words = [
        (1, "we"),
        (2, "are"),
        (3, "here"),
        (58, "no"),
        (59, "no"),
        (60, "no"),
        (61, "that"),
        (62, "hurts"),
        (80, "okay"),
        (99, "ha"),
        (99.5, "ha"),
        (100, "ha"),
        (101, "ha"),
    ]
    pd.DataFrame(
        {
            "start_time": [w[0] for w in words],
            "end_time": [w[0] + 0.4 for w in words],
            "word": [w[1] for w in words],
            "punctuated_word": [w[1] for w in words],
            "confidence": 1.0,
        }
    ).to_csv(tmp_path / "w.csv", index=False)
    return seg


def test_speech_scoring_reads_the_features_once(tmp_path, monkeypatch):
    import pandas as pd

    from klipstream.emotions import speech

    for name in ("NEBIUS_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    _speech_case(tmp_path)
    reads, read_csv = [], pd.read_csv
    monkeypatch.setattr(pd, "read_csv", lambda path, *a, **k: reads.append(str(path)) or read_csv(path, *a, **k))
    speech.score_windows(tmp_path / "seg.csv", tmp_path / "f.csv", tmp_path / "s.csv", backend="offline")
    assert reads.count(str(tmp_path / "f.csv")) == 1


def test_offline_speech_windows_by_hand(tmp_path, monkeypatch):
    from klipstream.emotions import delivery, speech

    for name in ("NEBIUS_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    seg = _speech_case(tmp_path)
    out = speech.score_windows(
        tmp_path / "seg.csv", tmp_path / "f.csv", tmp_path / "s.csv", words_csv=tmp_path / "w.csv", backend="offline"
    )
    ev = delivery.window_events(
        seg["start_time"].to_numpy(),
        seg["end_time"].to_numpy(),
        delivery.per_second(delivery.read_features(tmp_path / "f.csv")),
    )
    assert ev["event_time"].tolist() == [0.0, 60.0, 100.0] and ev["event_arousal"].tolist() == [0.0, 1.0, 0.5]
    # window 0: no event, plain sentences -> neutral
    assert out.loc[0, ["excitement", "funny", "happiness", "anger", "sadness"]].max() == 0
    assert out.loc[0, "neutral"] == 1 and out.loc[0, "sentiment_score"] == 0
    # window 1: A = 1, words around the shout "no no no that hurts": sorrow said loudly -> anger, at full strength
    local = score_texts(["no no no that hurts"]).iloc[0]
    assert local["sadness"] > local["excitement"]
    assert out.loc[1, "anger"] == pytest.approx(1.0) and out.loc[1, "sadness"] == 0 and out.loc[1, "happiness"] == 0
    assert out.loc[1, "sentiment_score"] == pytest.approx(local["sentiment_score"], abs=1e-6)
    # window 2: A = 0.5; background = mean of its two sentences; the event words "ha ha ha ha" are laughter
    bg = score_texts(["the cat sat.", "ha ha ha ha."]).mean()
    assert out.loc[2, "funny"] == pytest.approx(0.5 * bg["funny"] + 0.5 * 1.0, abs=1e-6)
    assert out.loc[2, "happiness"] == pytest.approx(0.5 * bg["happiness"], abs=1e-6)
    assert out.loc[2, "neutral"] == 0
    # highlight_score keeps its formula over the new emotions (window arousal: loudness and speech rate)
    assert out.loc[0, "highlight_score"] == 0
    assert (out["model"] == "offline-lexicon-v2").all()
    written = pd.read_csv(tmp_path / "s.csv", keep_default_na=False)
    assert list(written.columns) == speech.COLUMNS
    assert (written["language"] == "").all()  # no transcript given: the language is not known
    # the language of the transcript the words came from (the offline recogniser writes it first in its channel)
    transcript = tmp_path / "t.json"
    transcript.write_text(
        '{"metadata": {}, "results": {"channels": [{"detected_language": "de", "alternatives": []}]}}'
    )
    out = speech.score_windows(
        tmp_path / "seg.csv", tmp_path / "f.csv", tmp_path / "s.csv", words_csv=tmp_path / "w.csv",
        transcript_json=transcript, backend="offline",
    )  # fmt: skip
    assert (out["language"] == "de").all() and (pd.read_csv(tmp_path / "s.csv")["language"] == "de").all()


def test_event_emotions_read_delivery_with_the_words():
    from klipstream.emotions.delivery import event_emotions

    words = [
        "did you see that that was amazing",
        "you scared me more than the monster",
        "no no no that hurts",
        "ha ha ha ha",
        "the map is on the wall",
        "this is the worst",
    ]
    ev = event_emotions(score_texts(words), np.zeros(len(words)))
    emo = ev.idxmax(axis=1).tolist()
    assert emo == ["excitement", "excitement", "anger", "funny", "excitement", "anger"]
    assert ev.max(axis=1).to_numpy() == pytest.approx(np.ones(len(words)))
    assert (ev[["happiness", "sadness"]] == 0).all().all()
    # a laughter flag makes a loud moment funny whatever the words
    assert event_emotions(score_texts(["the map is on the wall"]), np.ones(1)).idxmax(axis=1).iloc[0] == "funny"
