"""Chat timeline per bin on small hand-made sentiment tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from klipstream.errors import KlipError
from klipstream.outputs.plots import plot_chat_timeline
from klipstream.signals.chat_timeline import (
    COLUMNS,
    build_chat_timeline,
    copypasta_flags,
    normalise_text,
    timeline_frame,
)

SENTIMENT_COLUMNS = [
    "time",
    "comment_id",
    "user",
    "message",
    "emotes",
    "emote_count",
    "emoji_count",
    "is_filtered",
    "filter_reason",
    "sentiment_score",
    "excitement",
    "funny",
    "happiness",
    "anger",
    "sadness",
    "neutral",
]


def chat_table(rows: list[tuple]) -> pd.DataFrame:
    """rows: (time, user, message, emote_count, is_filtered, sentiment, excitement)."""
    frame = pd.DataFrame(
        rows, columns=["time", "user", "message", "emote_count", "is_filtered", "sentiment_score", "excitement"]
    )
    frame["comment_id"] = [f"c{i}" for i in range(len(frame))]
    frame["emotes"] = ""
    frame["emoji_count"] = 0
    frame["filter_reason"] = np.where(frame["is_filtered"], "bot", "")
    for emo in ["funny", "happiness", "anger", "sadness"]:
        frame[emo] = 0.0
    frame["neutral"] = 1.0 - frame["excitement"]
    return frame[SENTIMENT_COLUMNS]


HAND = [
    (0.2, "a", "hello", 0, False, 0.0, 0.1),
    (0.7, "b", "KEKW KEKW", 2, False, 0.5, 0.6),
    (0.9, "a", "kekw kekw!", 2, False, 1.0, 0.8),  # repeats b's message 0.2 s later: copypasta
    (2.5, "c", "HYPE HYPE", 1, False, 0.5, 0.9),
    (2.6, "Nightbot", "!command", 0, True, 0.0, 0.0),  # filtered: ignored everywhere
    (40.0, "d", "KEKW KEKW", 0, False, -0.5, 0.0),  # last seen at 0.9 s: 39.1 s > 30 s window, not a repeat
]


def test_hand_made_counts_shares_and_means(tmp_path):
    chat_table(HAND).to_csv(tmp_path / "s.csv", index=False)
    tl = build_chat_timeline(tmp_path / "s.csv", tmp_path / "t.csv", duration=45, baseline_seconds=45)
    assert list(tl.columns) == COLUMNS and len(tl) == 45
    assert tl["time"].tolist() == list(range(45))
    busy = {0: 3, 2: 1, 40: 1}
    assert tl["messages"].tolist() == [busy.get(i, 0) for i in range(45)]
    assert tl.loc[[0, 2, 40], "unique_chatters"].tolist() == [2, 1, 1]
    assert tl.loc[0, "copypasta_share"] == pytest.approx(1 / 3)
    assert tl.loc[40, "copypasta_share"] == 0
    assert tl.loc[0, "caps_share"] == pytest.approx(2 / 3)  # KEKW KEKW (upper) and kekw kekw! ('!')
    assert tl.loc[2, "caps_share"] == 1.0
    assert tl.loc[0, "mean_length"] == pytest.approx((5 + 9 + 10) / 3)
    assert tl.loc[0, "emote_density"] == pytest.approx(4 / 3)
    assert tl.loc[0, "sentiment_mean"] == pytest.approx(0.5)
    assert tl.loc[0, "excitement_mean"] == pytest.approx(0.5)
    assert tl.loc[0, "neutral_mean"] == pytest.approx(0.5)
    assert (tl.loc[1, ["messages", "mean_length", "excitement_mean"]] == 0).all()
    # z of counts: the 45-s window holds every bin; median 0, MAD 0 -> floor of 1 message
    assert tl.loc[[0, 2, 40, 1], "messages_z"].tolist() == [3, 1, 1, 0]
    # z of means over the 3 bins with messages: mean_length 8, 9, 9 -> median 9, MAD 0 -> floor 5 characters
    assert tl.loc[[0, 2, 40], "mean_length_z"].tolist() == pytest.approx([-0.2, 0, 0])
    # excitement means 0.5, 0.9, 0.0: median 0.5, |dev| 0, 0.4, 0.5 -> MAD 0.4 -> scale 0.59304
    assert tl.loc[[0, 2, 40], "excitement_mean_z"].tolist() == pytest.approx([0, 0.4 / 0.59304, -0.5 / 0.59304])
    assert tl.loc[1, "excitement_mean_z"] == 0  # no messages, no judgement
    disk = pd.read_csv(tmp_path / "t.csv")
    assert list(disk.columns) == COLUMNS and disk["messages"].sum() == 5


def test_bins_wider_than_a_second():
    tl = timeline_frame(chat_table(HAND), duration=45, bin_seconds=10, baseline_seconds=50)
    assert tl["time"].tolist() == [0, 10, 20, 30, 40]
    assert tl["messages"].tolist() == [4, 0, 0, 0, 1]
    assert tl.loc[0, "unique_chatters"] == 3


def test_copypasta_window_and_normalisation():
    assert normalise_text(pd.Series(["KEKW  KEKW!!", " kekw kekw", "Pog_Champ", "?!"])).tolist() == [
        "kekw kekw",
        "kekw kekw",
        "pog champ",
        "",
    ]
    times = np.array([0.0, 5.0, 36.0, 40.0, 41.0, 42.0])
    text = pd.Series(["gg", "gg", "gg", "", "", "hi"])
    # 5.0 repeats 0.0; 36.0 is 31 s after 5.0 (> 30); empty texts never count
    assert copypasta_flags(times, text, 30.0).tolist() == [False, True, False, False, False, False]
    assert copypasta_flags(times, text, 31.0).tolist() == [False, True, True, False, False, False]


def test_empty_chat_gives_zero_table_for_the_duration(tmp_path):
    pd.DataFrame(columns=SENTIMENT_COLUMNS).to_csv(tmp_path / "e.csv", index=False)
    tl = build_chat_timeline(tmp_path / "e.csv", tmp_path / "t.csv", duration=10.5)
    assert len(tl) == 11 and (tl.drop(columns="time").to_numpy() == 0).all()
    tl = build_chat_timeline(tmp_path / "e.csv", tmp_path / "t2.csv")
    assert len(tl) == 0 and (tmp_path / "t2.csv").read_text().strip() == ",".join(COLUMNS)
    # all messages filtered counts as empty too; the string form of is_filtered is understood
    rows = chat_table([(1.0, "bot", "!so x", 0, True, 0.0, 0.0)])
    rows["is_filtered"] = "True"
    assert timeline_frame(rows, duration=3)["messages"].tolist() == [0, 0, 0]


def test_quiet_and_busy_streams_are_judged_on_their_own_scale():
    """The same pattern at 1x and 100x the volume gives the same z-scores."""

    def stream(scale: int) -> pd.DataFrame:
        counts = np.where(np.arange(120) % 2 == 0, 1, 3) * scale
        counts[61] = 10 * scale  # the burst replaces a 3
        times = np.repeat(np.arange(120), counts) + 0.5
        users = [f"u{i}" for i in range(len(times))]
        return chat_table([(t, u, "hi", 0, False, 0.0, 0.0) for t, u in zip(times, users)])

    quiet = timeline_frame(stream(1), baseline_seconds=120)
    busy = timeline_frame(stream(100), baseline_seconds=120)
    # 60 ones, 59 threes and the 10: median 2, MAD 1 -> scale 1.4826; burst 10 -> z = 8 / 1.4826
    assert quiet.loc[61, "messages_z"] == pytest.approx(8 / 1.4826)
    assert busy.loc[61, "messages_z"] == pytest.approx(quiet.loc[61, "messages_z"])
    assert quiet["messages_z"].idxmax() == busy["messages_z"].idxmax() == 61


def test_bad_inputs_raise_one_line_errors(tmp_path):
    with pytest.raises(KlipError, match="missing.csv"):
        build_chat_timeline(tmp_path / "missing.csv", tmp_path / "t.csv")
    pd.DataFrame({"time": [1.0], "user": ["a"]}).to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(KlipError, match="message"):
        build_chat_timeline(tmp_path / "short.csv", tmp_path / "t.csv")
    assert not (tmp_path / "t.csv").exists()
    epoch = chat_table([(1.7e9, "a", "hi", 0, False, 0.0, 0.0)])  # an epoch timestamp, not an offset
    with pytest.raises(KlipError, match="beyond 48 h"):
        timeline_frame(epoch)


def test_plot_chat_timeline(tmp_path):
    chat_table(HAND).to_csv(tmp_path / "s.csv", index=False)
    build_chat_timeline(tmp_path / "s.csv", tmp_path / "t.csv", duration=45)
    plot_chat_timeline(tmp_path / "t.csv", tmp_path / "chat.png")
    assert (tmp_path / "chat.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # an empty chat still gets its (empty) plot
    pd.DataFrame(columns=SENTIMENT_COLUMNS).to_csv(tmp_path / "e.csv", index=False)
    build_chat_timeline(tmp_path / "e.csv", tmp_path / "et.csv")
    plot_chat_timeline(tmp_path / "et.csv", tmp_path / "empty.png")
    assert (tmp_path / "empty.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_real_chat_log(tmp_path):
    """The real 49-minute chat: counts add up, and its biggest burst is a copypasta/caps wave."""
    from pathlib import Path

    real = Path(__file__).resolve().parents[2] / "shared" / "data" / "chat" / "twitch_v5_1087079172.json"
    if not real.is_file():
        pytest.skip("shared real chat not available")
    from klipstream.chat.io import read_chat_frame

    frame = read_chat_frame(real)
    table = frame.assign(
        emote_count=frame["emotes"].fillna("").str.split().str.len(),
        emoji_count=0,
        is_filtered=False,
        filter_reason="",
        sentiment_score=0.0,
        excitement=0.0,
        funny=0.0,
        happiness=0.0,
        anger=0.0,
        sadness=0.0,
        neutral=1.0,
    )
    table[SENTIMENT_COLUMNS].to_csv(tmp_path / "real.csv", index=False)
    tl = build_chat_timeline(tmp_path / "real.csv", tmp_path / "t.csv", duration=2950)
    assert len(tl) == 2950 and tl["messages"].sum() == len(frame) == 3090
    assert (tl["unique_chatters"] <= tl["messages"]).all()
    top = tl.loc[tl["messages_z"].idxmax()]
    assert top["messages_z"] > 5 and top["copypasta_share"] > 0.5 and top["caps_share"] > 0.5


def test_a_few_messages_far_beyond_the_vod_are_dropped_not_fatal():
    rows = [(t, "a", "hi", 0, False, 0.0, 0.0) for t in (1.0, 2.0, 3.0)] + [(1e12, "b", "late", 0, False, 0.0, 0.0)]
    frame = timeline_frame(chat_table(rows))
    assert len(frame) == 4 and frame["messages"].sum() == 3


def test_the_timeline_drops_late_chat_at_the_import_limit():
    """The timeline's limit is chat import's 48 h, not a second rule: 49 h is dropped, 47 h is kept."""
    rows = [(t, "a", "hi", 0, False, 0.0, 0.0) for t in (1.0, 2.0, 3.0)]
    late = timeline_frame(chat_table(rows + [(49 * 3600.0, "b", "late", 0, False, 0.0, 0.0)]))
    assert len(late) == 4 and late["messages"].sum() == 3
    kept = timeline_frame(chat_table(rows + [(47 * 3600.0, "b", "late", 0, False, 0.0, 0.0)]))
    assert len(kept) == 47 * 3600 + 1 and kept["messages"].sum() == 4
