"""Chat and audio highlight analysis: message kinds, the chat burst score (chatters, commands, edges, gaps), the
audio score, explanations, CSV contracts, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from klipstream.errors import KlipError
from klipstream.highlights import (
    AUDIO_COLUMNS,
    CHAT_COLUMNS,
    ScoreParams,
    audio_highlights,
    chat_highlights,
    split_params,
)
from klipstream.highlights.audio import audio_score, speech_per_second
from klipstream.highlights.chat import chat_score, weighted_counts
from klipstream.highlights.cues import kind_weights, message_kinds
from klipstream.highlights.explain import emotion_means, reaction_phrase, speech_windows, top_emotes, top_messages
from klipstream.highlights.readers import chat_table, read_chat, read_chat_sentiment, read_timeline

EMO = dict(excitement=0.0, funny=0.0, happiness=0.0, anger=0.0, sadness=0.0, neutral=1.0)


def sentiment_frame(rows) -> pd.DataFrame:
    """rows: (time, user, message, emotes[, is_filtered]) tuples."""
    df = pd.DataFrame(
        [r if len(r) == 5 else (*r, False) for r in rows], columns=["time", "user", "message", "emotes", "is_filtered"]
    )
    df["comment_id"] = np.arange(len(df))
    for k, v in EMO.items():
        df[k] = v
    return df.sort_values("time", kind="stable").reset_index(drop=True)


def timeline_from(sent: pd.DataFrame, n: int) -> pd.DataFrame:
    """A minimal timeline: per-second messages/unique chatters with a robust z against the global median."""
    s = sent.loc[~sent["is_filtered"]]
    sec = np.floor(s["time"]).astype(int)
    msgs = np.bincount(sec, minlength=n)[:n].astype(float)
    uniq = s.assign(sec=sec).drop_duplicates(["sec", "user"]).groupby("sec").size().reindex(range(n), fill_value=0)
    tl = pd.DataFrame({"time": np.arange(n, dtype=float), "messages": msgs, "unique_chatters": uniq.to_numpy(float)})
    tl["messages_z"] = (msgs - np.median(msgs)) / 1.0
    tl["unique_chatters_z"] = (tl["unique_chatters"] - np.median(tl["unique_chatters"])) / 1.0
    return tl


def test_message_kinds_by_hand():
    msgs = pd.Series(
        [
            "KEKW KEKW",
            "LOOOOL",
            "Pog",
            "LETSGO",
            "WHAT",
            "???",
            "F",
            "Sadge",
            "<3",
            "clip it",
            "CLIPPED",
            "hi chat",
            "bye everyone",
            "x subscribed at Tier 1",
            "https://scam.example.com",
            "fusLUL",
            "chjbHug",
            "is he going left?",
            "a b c d e f g",
            "the lullaby",
            "PauseChamp",
        ]
    )
    assert message_kinds(msgs).tolist() == [
        "laughter",
        "laughter",
        "hype",
        "hype",
        "shock",
        "shock",
        "sadness",
        "sadness",
        "love",
        "clip_cue",
        "clip_cue",
        "non_event",
        "non_event",
        "non_event",
        "non_event",
        "laughter",
        "love",
        "other",
        "other",
        "other",
        "other",
    ]


def test_long_copypasta_is_a_non_event_but_repeated_emotes_are_not():
    text = ["this is a long pasted line going around", "KEKW"] * 3
    kinds = message_kinds(pd.Series(text), times=np.array([0, 1, 5, 6, 10, 11], dtype=float))
    assert kinds.tolist() == ["other", "laughter", "non_event", "laughter", "non_event", "laughter"]
    assert kind_weights(kinds, 1.0, 0.1, 3.0, 0.0).tolist() == [0.1, 1.0, 0.0, 1.0, 0.0, 1.0]


def test_each_named_chatter_counts_once_per_window_with_their_heaviest_message():
    sent = sentiment_frame(
        [
            (0.5, "a", "hello there friend", ""),
            (1.0, "a", "KEKW", ""),
            (2.0, "a", "KEKW", ""),
            (3.0, "b", "what is this", ""),
            (20.0, "a", "KEKW", ""),
        ]
    )
    per, kinds = weighted_counts(chat_table(sent), 30, ScoreParams(chat_window=15, chat_weight_other=0.1))
    # a: window [0, 15) -> one message of weight 1 (KEKW beats 'other'), at its first second; b: 0.1; a again at 20 s
    assert per[0] == 1.0 and per[3] == pytest.approx(0.1) and per[20] == 1.0 and per.sum() == pytest.approx(2.1)
    assert kinds.tolist() == ["non_event", "laughter", "laughter", "other", "laughter"]


def _burst_and_spam(n=900):
    rng = np.random.default_rng(2)
    rows = [
        (float(t), f"bg{int(u)}", str(m), "")
        for t, u, m in zip(
            rng.uniform(0, n, 900), rng.integers(0, 60, 900), rng.choice(["ok", "lol", "so true", "nice"], 900)
        )
    ]
    rows += [(300 + k * 0.2, f"fan{k}", "KEKW KEKW", "KEKW KEKW") for k in range(40)]  # 40 people react
    rows += [(500 + k * 0.25, f"spam{k % 3}", "KEKW", "KEKW") for k in range(48)]  # 3 people spam
    rows += [(700 + k * 0.3, f"cmd{k}", "!drops", "", True) for k in range(150)]  # a command flood
    rows += [(700 + k * 0.4, f"fan{k}", "Pog", "") for k in range(40)]  # ... with hype in it
    rows += [(5 + k * 0.3, f"hi{k}", "hi chat KEKW", "") for k in range(30)]  # greetings at the start
    return sentiment_frame(rows)


def read_back(sent):
    """ChatTable of a frame, as read_chat makes it from the CSV."""
    return chat_table(sent.assign(filter_reason=np.where(sent["is_filtered"], "command", "")))


def test_burst_against_the_local_rate_spam_commands_and_edges():
    sent = _burst_and_spam()
    cs = chat_score(timeline_from(sent, 900), read_back(sent), ScoreParams(edge_seconds=60))
    z = cs["burst_z"].to_numpy()
    assert z[295:320].max() > 5  # 40 people laughing: a burst several sigma above the local rate
    assert z[495:520].max() < 0.25 * z[295:320].max()  # 48 KEKWs from 3 people count as 3
    assert cs["command_factor"].iloc[720] < 0.6 and z[700:740].max() < 0.6 * z[295:320].max()
    # the edges give no burst (the greetings at chat start): min(60 s, 5 % of the 899 s span) = 45 s each side
    assert (z[:46] == 0).all() and (z[-45:] == 0).all() and z[46:60].any()
    assert cs["score"].max() <= ScoreParams().z_clip
    assert np.allclose(cs["score"], 8 * np.tanh(z / 8))  # soft cap: same order as burst_z


def test_gap_and_late_chat_start_are_edges_not_bursts():
    rows = [(400 + k * 2.0, f"u{k % 30}", "ok", "") for k in range(300)]  # chat starts at 400 s, ends at 998 s
    rows = [r for r in rows if not 600 <= r[0] < 800]  # a 200 s gap
    sent = sentiment_frame(rows)
    cs = chat_score(timeline_from(sent, 1000), read_back(sent), ScoreParams(edge_seconds=60))
    assert not cs["live"].iloc[:400].any() and not cs["live"].iloc[602:800].any() and cs["live"].iloc[500]
    # edge = min(60 s, 5 % of the 598 s span) = 30 s after the start, around the gap, before the end
    z = cs["burst_z"]
    assert (z.iloc[:430] == 0).all() and (z.iloc[572:830] == 0).all() and (z.iloc[969:] == 0).all()
    assert z.iloc[430:572].any() and z.iloc[830:969].any()


def test_read_chat_keeps_clip_commands_and_times_the_other_commands(tmp_path):
    sent = sentiment_frame(
        [
            (1.0, "a", "LUL", ""),
            (2.0, "b", "!drops", "", True),
            (3.0, "c", "!clip", "", True),
            (4.0, "nightbot", "Follow!", "", True),
        ]
    )
    sent["filter_reason"] = ["", "command", "command", "bot_account"]
    sent.to_csv(tmp_path / "s.csv", index=False)
    chat = read_chat(tmp_path / "s.csv")
    assert chat.messages["message"].tolist() == ["LUL", "!clip"] and chat.command_times.tolist() == [2.0]
    assert chat.all_times.tolist() == [1.0, 2.0, 3.0, 4.0] and chat.named
    assert read_chat_sentiment(tmp_path / "s.csv")["message"].tolist() == ["LUL", "!clip"]


def test_audio_score_weights_and_speech_boost():
    n = 30
    f = pd.DataFrame({"time": np.arange(n, dtype=float), "loudness_z": 0.0, "flux_z": 0.0})
    f.loc[10, "loudness_z"] = 4.0
    f.loc[11, "flux_z"] = 20.0  # clipped to z_clip 8
    a = audio_score(f, None, ScoreParams())
    assert a.loc[10, "score"] == pytest.approx(0.5 * 4)
    assert a.loc[11, "score"] == pytest.approx(0.3 * 8)
    speech = pd.DataFrame({"start_time": [0.0], "end_time": [20.0], "highlight_score": [1.0]})
    b = audio_score(f, speech, ScoreParams(speech_boost=0.5))
    assert b.loc[10, "score"] == pytest.approx(3.0) and b.loc[10, "speech"] == pytest.approx(1.0)
    assert b.loc[25, "score"] == 0.0


def test_speech_per_second_takes_max_of_overlapping_windows():
    sp = pd.DataFrame({"start_time": [0.0, 30.0], "end_time": [60.0, 90.0], "highlight_score": [0.2, 0.6]})
    h = speech_per_second(sp, 100)
    assert (h[10], h[45], h[80], h[95]) == (0.2, 0.6, 0.6, 0.0)


def test_moment_emotions_weight_speech_windows_by_owned_seconds():
    # windows [0,10] excitement, [5,15] funny, [10,20] anger (centres 5, 10, 15); moment [6, 14]: its seconds
    # 6.5 and 7.5 (a tie, first window) belong to the first, 8.5-12.5 (12.5 a tie) to the second, 13.5 to the third
    speech = pd.DataFrame({"start_time": [0.0, 5.0, 10.0], "end_time": [10.0, 15.0, 20.0]})
    for e in ("excitement", "funny", "happiness", "anger", "sadness"):
        speech[e] = 0.0
    speech.loc[0, "excitement"] = speech.loc[1, "funny"] = speech.loc[2, "anger"] = 1.0
    windows = speech_windows(speech, 6.0, 14.0)
    assert windows["weight"].tolist() == [2.0, 5.0, 1.0]
    assert emotion_means(speech=windows) == dict(excitement=0.25, funny=0.625, happiness=0.0, anger=0.125, sadness=0.0)
    chat = dict(excitement=0.5, funny=0.0, happiness=0.2, anger=0.0, sadness=0.0)
    # chat and speech count equally
    assert emotion_means(chat, windows) == dict(
        excitement=0.375, funny=0.3125, happiness=0.1, anger=0.0625, sadness=0.0
    )
    assert emotion_means(chat) == chat and emotion_means() == {}
    assert emotion_means(speech=speech_windows(speech, 30.0, 40.0)) == {}  # no window overlaps


def test_top_messages_and_emotes():
    msgs = sentiment_frame(
        [
            (1, "a", "KEKW", "KEKW"),
            (2, "b", "kekw ", ""),
            (3, "a", "KEKW", "KEKW"),
            (4, "c", "gg", ""),
            (5, "c", "LUL LUL", "LUL LUL"),
        ]
    )
    assert top_messages(msgs, 2) == [
        {"message": "KEKW", "count": 3, "users": 2},
        {"message": "gg", "count": 1, "users": 1},
    ]
    assert top_emotes(msgs) == [{"emote": "KEKW", "count": 2}, {"emote": "LUL", "count": 2}]
    # third-party emotes are plain text in chat logs (no Twitch fragments): the lexicon and the channel-emote
    # shape find them; a Twitch fragment the lexicon does not know still counts
    msgs = sentiment_frame(
        [
            (1, "a", "Pog KEKW OMEGALUL", ""),
            (2, "b", "OMEGALUL fusHeart", ""),
            (3, "c", "KEKW", ""),
            (4, "d", "OMEGALUL TombRaid", "TombRaid"),
            (5, "e", "omegalul is fun", ""),
        ]
    )
    assert top_emotes(msgs) == [
        {"emote": "OMEGALUL", "count": 3},
        {"emote": "KEKW", "count": 2},
        {"emote": "Pog", "count": 1},
        {"emote": "fusHeart", "count": 1},
        {"emote": "TombRaid", "count": 1},
    ]


def test_chat_highlights_csv(tmp_path):
    sent = _burst_and_spam()
    sent.to_csv(tmp_path / "s.csv", index=False)
    timeline_from(sent, 900).to_csv(tmp_path / "t.csv", index=False)
    out = chat_highlights(tmp_path / "t.csv", tmp_path / "s.csv", tmp_path / "h.csv")
    back = pd.read_csv(tmp_path / "h.csv")
    assert list(back.columns) == CHAT_COLUMNS and len(back) == len(out) >= 2
    assert len(back) <= 15  # one candidate per minute of a 15-minute chat at most
    top = back.iloc[0]
    assert top["rank"] == 1 and 295 <= top["peak_time"] <= 312
    assert top["unique_chatters"] >= 40 and "KEKW KEKW" in top["top_messages"] and top["top_emotes"].startswith("KEKW:")
    spam = back.loc[(back["peak_time"] > 490) & (back["peak_time"] < 520), "rank"]
    assert spam.empty or spam.min() > 2  # 3 people spamming rank below the real reactions
    assert not (back["peak_time"] < 45).any()  # the greeting burst at chat start is no candidate (45 s edge)


def test_audio_highlights_csv_with_transcript(tmp_path):
    n = 120
    f = pd.DataFrame({"time": np.arange(n, dtype=float), "loudness_z": 0.0, "flux_z": 0.0, "laughter": 0, "shout": 0})
    f.loc[60:63, "loudness_z"] = 6.0
    f.loc[60:63, "laughter"] = 1
    f.to_csv(tmp_path / "f.csv", index=False)
    pd.DataFrame(
        {
            "window_id": [0, 1],
            "start_time": [0.0, 60.0],
            "end_time": [60.0, 120.0],
            "sentiment_score": 0.5,
            "excitement": [0.1, 0.9],
            "funny": [0.0, 0.4],
            "happiness": 0.2,
            "anger": 0.0,
            "sadness": 0.0,
            "neutral": 0.1,
            "highlight_score": [0.0, 1.0],
            "model": "t",
        }
    ).to_csv(tmp_path / "s.csv", index=False)
    pd.DataFrame(
        {
            "start_time": [10.0, 59.0, 61.0, 61.5],
            "end_time": [10.5, 59.5, 61.4, 62.0],
            "word": ["early", "oh", "my", "god"],
            "punctuated_word": ["Early.", "Oh", "my", "god!"],
            "confidence": 1.0,
        }
    ).to_csv(tmp_path / "w.csv", index=False)
    audio_highlights(
        tmp_path / "f.csv",
        tmp_path / "s.csv",
        tmp_path / "w.csv",
        tmp_path / "h.csv",
        pre_roll_seconds=5,
        post_roll_seconds=5,
    )
    back = pd.read_csv(tmp_path / "h.csv", keep_default_na=False)
    assert list(back.columns) == AUDIO_COLUMNS and len(back) == 1
    r = back.iloc[0]
    # score at peak: (0.5*6 + 1 laughter) * (1 + 0.5*1.0) = 6.0 ; span 60..63 -> 55..69 with 5 s rolls
    assert r["score"] == pytest.approx(6.0) and (r["start_time"], r["end_time"]) == (55.0, 69.0)
    # 55..69 overlaps both speech windows, weighted by the seconds nearest each centre (30, 90): 55-59 -> window 0,
    # 60-68 -> window 1: excitement (5 * 0.1 + 9 * 0.9) / 14
    assert r["loudness_z"] == 6.0 and r["dominant_emotion"] == "excitement"
    assert r["excitement"] == pytest.approx((5 * 0.1 + 9 * 0.9) / 14, abs=1e-4)
    assert r["transcript_excerpt"] == "Oh my god!"


def test_errors_name_the_culprit(tmp_path):
    with pytest.raises(KlipError, match="missing.csv"):
        chat_highlights(tmp_path / "missing.csv", None, tmp_path / "o.csv")
    pd.DataFrame({"time": [0.0]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(KlipError, match="messages"):
        chat_highlights(tmp_path / "t.csv", None, tmp_path / "o.csv")
    with pytest.raises(KlipError, match="threshold_z"):
        split_params({"threshold_z": 2})  # the absolute threshold is gone: scores are relative to each VOD
    assert not (tmp_path / "o.csv").exists()


def test_empty_inputs_give_header_only_tables(tmp_path):
    pd.DataFrame(columns=["time", "messages"]).to_csv(tmp_path / "t.csv", index=False)
    out = chat_highlights(tmp_path / "t.csv", None, tmp_path / "o.csv")
    assert out.empty and pd.read_csv(tmp_path / "o.csv").columns.tolist() == CHAT_COLUMNS


def test_wide_timeline_bins_are_held_over_their_seconds(tmp_path):
    pd.DataFrame({"time": [0.0, 5.0, 10.0], "messages": [1, 7, 2], "messages_z": [0.0, 3.0, 0.5]}).to_csv(
        tmp_path / "t.csv", index=False
    )
    tl = read_timeline(tmp_path / "t.csv")
    assert tl["time"].tolist() == list(range(11))
    assert tl["messages_z"].tolist() == [0.0] * 5 + [3.0] * 5 + [0.5]


def test_reaction_phrase_says_mostly_only_for_a_majority():
    assert reaction_phrase({"laughter": 31, "hype": 5, "other": 12}) == "mostly laughter (31 of 48)"
    assert reaction_phrase({"laughter": 24, "other": 24}) == "mostly laughter (24 of 48)"
    assert reaction_phrase({"laughter": 73, "hype": 64, "other": 64}) == "laughter the top reaction (73 of 201)"
    assert reaction_phrase({"other": 10}) == "" and reaction_phrase({}) == ""
