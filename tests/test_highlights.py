"""Chat and audio highlight analysis: scores, spam discount, windows, explanations, CSV contracts, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from klipstream.errors import KlipError
from klipstream.highlights import (AUDIO_COLUMNS, CHAT_COLUMNS, ScoreParams, audio_highlights, audio_score,
                                   chat_highlights, chat_score, read_chat_sentiment, speech_per_second, split_params,
                                   top_emotes, top_messages, window_chatters)

EMO = dict(excitement=0.0, funny=0.0, happiness=0.0, anger=0.0, sadness=0.0, neutral=1.0)


def sentiment_frame(rows) -> pd.DataFrame:
    """rows: (time, user, message, emotes[, is_filtered]) tuples."""
    df = pd.DataFrame([r if len(r) == 5 else (*r, False) for r in rows],
                      columns=["time", "user", "message", "emotes", "is_filtered"])
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


def test_window_chatters_by_hand():
    sent = sentiment_frame([(0.2, "a", "x", ""), (1.5, "a", "x", ""), (1.7, "b", "y", ""), (2.1, "a", "x", ""),
                            (2.9, "a", "x", "")])
    msgs, users = window_chatters(sent, 6, window=3)
    # trailing 3-s windows [t-2, t]: messages 1,3,5,4,2,0 ; users {a},{a,b},{a,b},{a,b},{a},{} ; centred = shifted by 1
    assert msgs.tolist() == [3, 5, 4, 2, 0, 0]
    assert users.tolist() == [2, 2, 2, 1, 0, 0]


def test_window_chatters_matches_brute_force():
    rng = np.random.default_rng(1)
    sent = sentiment_frame([(float(t), f"u{u}", "m", "") for t, u in zip(rng.uniform(0, 100, 400), rng.integers(0, 30, 400))])
    msgs, users = window_chatters(sent, 100, window=10)
    sec = np.floor(sent["time"].to_numpy()).astype(int)
    for t in range(0, 95):  # centred window [t-4, t+5]
        inside = (sec >= t - 4) & (sec <= t + 5)
        assert msgs[t] == inside.sum()
        assert users[t] == sent.loc[inside, "user"].nunique()


def _burst_and_spam():
    rng = np.random.default_rng(2)
    rows = [(float(t), f"bg{int(u)}", "hello", "") for t, u in zip(rng.uniform(0, 600, 300), rng.integers(0, 50, 300))]
    rows += [(100 + k * 0.2, f"fan{k}", "KEKW KEKW", "KEKW KEKW") for k in range(40)]           # 40 people react
    rows += [(300 + k * 0.25, f"spam{k % 3}", "BUY FOLLOWERS", "") for k in range(48)]          # 3 people paste
    rows += [(300 + k * 0.3, f"cmd{k}", "!drops", "", True) for k in range(40)]                 # commands: filtered
    return sentiment_frame(rows)


def test_spam_is_discounted_and_real_burst_is_not():
    sent = _burst_and_spam()
    tl = timeline_from(sent, 600)
    cs = chat_score(tl, read_chat_sentiment_frame(sent), ScoreParams())
    assert cs.loc[104, "spam_factor"] == 1.0
    # around 305 s: 40 spam messages from 3 users + a few background ones -> diversity ~0.16 -> factor ~0
    d = (cs["window_chatters"] / cs["window_messages"]).iloc[295:316]
    raw = np.clip((d - 0.15) / 0.35, 0, 1)
    # the factor is the worst (lowest) raw factor within one window (10 s) either side
    assert cs.loc[305, "spam_factor"] == pytest.approx(raw.min()) and cs.loc[305, "spam_factor"] < 0.1
    assert cs["score"].iloc[95:115].max() > 2.0
    assert cs["score"].iloc[295:320].max() < 0.1 * cs["score"].iloc[95:115].max()
    assert cs.loc[104, "window_chatters"] >= 40


def read_chat_sentiment_frame(sent, tmp=None):
    """The filtering that read_chat_sentiment applies, on a frame."""
    return sent.loc[~sent["is_filtered"]].reset_index(drop=True)


def test_read_chat_sentiment_drops_filtered(tmp_path):
    sent = _burst_and_spam()
    sent.to_csv(tmp_path / "s.csv", index=False)
    got = read_chat_sentiment(tmp_path / "s.csv")
    assert len(got) == len(sent) - 40 and not got["message"].eq("!drops").any()


def test_audio_score_weights_and_speech_boost():
    n = 30
    f = pd.DataFrame({"time": np.arange(n, dtype=float), "loudness_z": 0.0, "flux_z": 0.0})
    f.loc[10, "loudness_z"] = 4.0
    f.loc[11, "flux_z"] = 20.0   # clipped to z_clip 8
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


def test_top_messages_and_emotes():
    msgs = sentiment_frame([(1, "a", "KEKW", "KEKW"), (2, "b", "kekw ", ""), (3, "a", "KEKW", "KEKW"),
                            (4, "c", "gg", ""), (5, "c", "LUL LUL", "LUL LUL")])
    assert top_messages(msgs, 2) == [{"message": "KEKW", "count": 3, "users": 2}, {"message": "gg", "count": 1, "users": 1}]
    assert top_emotes(msgs) == [{"emote": "KEKW", "count": 2}, {"emote": "LUL", "count": 2}]
    # third-party emotes are plain text in chat logs (no Twitch fragments): the lexicon and the channel-emote
    # shape find them; a Twitch fragment the lexicon does not know still counts
    msgs = sentiment_frame([(1, "a", "Pog KEKW OMEGALUL", ""), (2, "b", "OMEGALUL fusHeart", ""), (3, "c", "KEKW", ""),
                            (4, "d", "OMEGALUL TombRaid", "TombRaid"), (5, "e", "omegalul is fun", "")])
    assert top_emotes(msgs) == [{"emote": "OMEGALUL", "count": 3}, {"emote": "KEKW", "count": 2},
                                {"emote": "Pog", "count": 1}, {"emote": "fusHeart", "count": 1},
                                {"emote": "TombRaid", "count": 1}]


def test_chat_highlights_csv(tmp_path):
    sent = _burst_and_spam()
    sent.to_csv(tmp_path / "s.csv", index=False)
    timeline_from(sent, 600).to_csv(tmp_path / "t.csv", index=False)
    out = chat_highlights(tmp_path / "t.csv", tmp_path / "s.csv", tmp_path / "h.csv", top_n=3)
    back = pd.read_csv(tmp_path / "h.csv")
    assert list(back.columns) == CHAT_COLUMNS and len(back) == len(out) >= 1
    top = back.iloc[0]
    assert top["rank"] == 1 and 95 <= top["peak_time"] <= 112
    assert top["unique_chatters"] >= 40 and "KEKW KEKW" in top["top_messages"] and top["top_emotes"].startswith("KEKW:")
    assert not ((back["peak_time"] > 290) & (back["peak_time"] < 320)).any()  # the spam burst is no highlight


def test_audio_highlights_csv_with_transcript(tmp_path):
    n = 120
    f = pd.DataFrame({"time": np.arange(n, dtype=float), "loudness_z": 0.0, "flux_z": 0.0, "laughter": 0, "shout": 0})
    f.loc[60:63, "loudness_z"] = 6.0
    f.loc[60:63, "laughter"] = 1
    f.to_csv(tmp_path / "f.csv", index=False)
    pd.DataFrame({"window_id": [0, 1], "start_time": [0.0, 60.0], "end_time": [60.0, 120.0], "sentiment_score": 0.5,
                  "excitement": [0.1, 0.9], "funny": [0.0, 0.4], "happiness": 0.2, "anger": 0.0, "sadness": 0.0,
                  "neutral": 0.1, "highlight_score": [0.0, 1.0], "model": "t"}).to_csv(tmp_path / "s.csv", index=False)
    pd.DataFrame({"start_time": [10.0, 59.0, 61.0, 61.5], "end_time": [10.5, 59.5, 61.4, 62.0],
                  "word": ["early", "oh", "my", "god"], "punctuated_word": ["Early.", "Oh", "my", "god!"],
                  "confidence": 1.0}).to_csv(tmp_path / "w.csv", index=False)
    audio_highlights(tmp_path / "f.csv", tmp_path / "s.csv", tmp_path / "w.csv", tmp_path / "h.csv")
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
    with pytest.raises(KlipError, match="threshold"):
        split_params({"threshold": 2})
    assert not (tmp_path / "o.csv").exists()


def test_empty_inputs_give_header_only_tables(tmp_path):
    pd.DataFrame(columns=["time", "messages"]).to_csv(tmp_path / "t.csv", index=False)
    out = chat_highlights(tmp_path / "t.csv", None, tmp_path / "o.csv")
    assert out.empty and pd.read_csv(tmp_path / "o.csv").columns.tolist() == CHAT_COLUMNS


def test_wide_timeline_bins_are_held_over_their_seconds(tmp_path):
    from klipstream.highlights import read_timeline

    pd.DataFrame({"time": [0.0, 5.0, 10.0], "messages": [1, 7, 2], "messages_z": [0.0, 3.0, 0.5]}).to_csv(tmp_path / "t.csv", index=False)
    tl = read_timeline(tmp_path / "t.csv")
    assert tl["time"].tolist() == list(range(11))
    assert tl["messages_z"].tolist() == [0.0] * 5 + [3.0] * 5 + [0.5]
