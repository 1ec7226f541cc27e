"""The committed demo VOD (data/demo) is what truth.json says it is.

Uses only the committed files: the chat JSON is valid TwitchDownloader JSON, each reaction burst is where
truth.json puts it (found from per-second message counts), the distractor is low-diversity spam, the shout
is louder than its surroundings (RMS of the audio extracted from the mp4), and durations agree."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from klipstream.media import SAMPLE_RATE, extract_audio, iter_blocks

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
TWITCH_GLOBAL = {
    "Kappa",
    "PogChamp",
    "LUL",
    "BibleThump",
    "NotLikeThis",
    "WutFace",
    "Kreygasm",
    "SeemsGood",
    "<3",
    "4Head",
    "DansGame",
    "ResidentSleeper",
    "HeyGuys",
    "FailFish",
    "BloodTrail",
    "CoolStoryBob",
    "Jebaited",
    "EleGiggle",
}
THIRD_PARTY = {"KEKW", "OMEGALUL", "Pog", "POGGERS", "monkaS", "LULW"}


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((DEMO / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def chat() -> dict:
    return json.loads((DEMO / "demo_chat.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def chat_times(chat) -> np.ndarray:
    return np.array([c["content_offset_seconds"] for c in chat["comments"]], dtype=float)


@pytest.fixture(scope="module")
def audio(tmp_path_factory) -> np.ndarray:
    wav = tmp_path_factory.mktemp("demo") / "demo.wav"
    extract_audio(DEMO / "demo.mp4", wav)
    return np.concatenate([block for _, block in iter_blocks(wav)])


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12))


def test_files_present_and_small():
    files = ["demo.mp4", "demo_chat.json", "truth.json", "README.md"]
    sizes = {f: (DEMO / f).stat().st_size for f in files}
    assert all(s > 0 for s in sizes.values())
    assert sum(p.stat().st_size for p in DEMO.iterdir() if p.is_file()) < 10 * 1024 * 1024


def test_chat_json_shape_sorted_and_one_comment_per_line(chat, chat_times):
    assert chat["FileInfo"]["Version"] == {"Major": 1, "Minor": 3, "Patch": 0}
    assert chat["video"]["id"] == "demo" and chat["embeddedData"] is None
    assert len(chat["comments"]) > 300
    assert np.all(np.diff(chat_times) >= 0)
    # streaming layout: every line between "comments": [ and ] is one whole comment
    lines = (DEMO / "demo_chat.json").read_text(encoding="utf-8").splitlines()
    body = lines[lines.index('"comments": [') + 1 : lines.index("],")]
    assert len(body) == len(chat["comments"])
    assert json.loads(body[5].rstrip(","))["_id"] == chat["comments"][5]["_id"]
    for c in chat["comments"]:
        assert c["content_id"] == "demo" and c["content_type"] == "video"
        assert {"display_name", "_id", "name", "logo"} <= set(c["commenter"])
        msg = c["message"]
        assert "".join(f["text"] for f in msg["fragments"]) == msg["body"]
        emotes = [f for f in msg["fragments"] if f["emoticon"]]
        assert [e["_id"] for e in msg["emoticons"]] == [f["emoticon"]["emoticon_id"] for f in emotes]
        for rng, frag in zip(msg["emoticons"], emotes):  # inclusive end, as in Twitch logs
            assert msg["body"][rng["begin"] : rng["end"] + 1] == frag["text"] in TWITCH_GLOBAL
        # third-party (BTTV/FFZ/7TV) emotes stay plain text, as in real logs
        assert not {f["text"] for f in emotes} & THIRD_PARTY


def test_emote_ids_are_the_twitch_ones(chat):
    ids = {
        f["text"]: f["emoticon"]["emoticon_id"]
        for c in chat["comments"]
        for f in c["message"]["fragments"]
        if f["emoticon"]
    }
    assert ids["Kappa"] == "25" and ids["PogChamp"] == "305954156" and ids["LUL"] == "425618"


def test_truth_plan(truth):
    moments = truth["moments"]
    kinds = {m["kind"] for m in moments}
    assert {"shout", "excited", "laughter"} <= kinds
    starts = np.array([m["start"] for m in moments])
    assert starts.min() >= 25 and np.diff(np.sort(starts)).min() >= 45
    lags = [m["chat_lag_seconds"] for m in moments]
    assert all(5 <= lag <= 20 for lag in lags) and len(set(lags)) == len(lags)
    for m in moments:
        assert m["start"] <= m["peak"] <= m["end"] <= truth["duration"]
        assert m["chat_burst"]["start"] == pytest.approx(m["start"] + m["chat_lag_seconds"], abs=0.05)
        assert 10 <= m["chat_burst"]["end"] - m["chat_burst"]["start"] <= 20
        # the lines spoken during the moment are tagged with it
        assert any(line["moment"] == m["id"] for line in truth["lines"])
    # outside the planted moments (where laughs overlap on purpose) nobody talks over anybody
    ordinary = [(line["start"], line["end"]) for line in truth["lines"] if not line["moment"]]
    assert all(b[0] >= a[1] for a, b in zip(ordinary, ordinary[1:]))
    line_starts = [line["start"] for line in truth["lines"]]
    assert line_starts == sorted(line_starts) and truth["lines"][-1]["end"] <= truth["duration"]


def _onsets(chat_times: np.ndarray, duration: float) -> np.ndarray:
    """Per-second message counts and their 3-second rolling mean (the burst detector of this test)."""
    counts = np.bincount(chat_times.astype(int), minlength=int(duration) + 1).astype(float)
    return np.convolve(counts, np.ones(3) / 3, mode="full")[: len(counts)]  # mean of [t-2, t]


def test_each_burst_follows_its_moment_by_the_stated_lag(truth, chat_times):
    rolling = _onsets(chat_times, truth["duration"])
    counts = np.bincount(chat_times.astype(int), minlength=int(truth["duration"]) + 1)
    for m in truth["moments"]:
        b0, b1 = m["chat_burst"]["start"], m["chat_burst"]["end"]
        inside = counts[int(np.ceil(b0)) : int(b1)]
        assert 3.0 <= inside.mean() <= 8.0, (m["id"], inside.mean())
        # between the moment and the burst, chat is at its ordinary pace
        before = counts[int(m["start"]) : int(b0)]
        assert before.mean() < 2.0, (m["id"], before)
        # the burst onset found from the counts alone: first second after the moment with >= 2.5 msg/s (3 s mean)
        after = np.flatnonzero(rolling[int(m["start"]) :] >= 2.5)
        onset = int(m["start"]) + after[0]
        assert abs(onset - b0) <= 3.0, (m["id"], onset, b0)
        assert 5 <= onset - m["start"] <= 22


def test_bursts_have_many_users_and_distractor_few(truth, chat, chat_times):
    users = np.array([c["commenter"]["name"] for c in chat["comments"]])
    bodies = np.array([c["message"]["body"] for c in chat["comments"]])
    sizes = []
    for m in truth["moments"]:
        sel = (chat_times >= m["chat_burst"]["start"]) & (chat_times < m["chat_burst"]["end"])
        assert len(set(users[sel])) >= 20
        sizes.append(sel.sum())
    assert len(set(users)) >= 55
    (d,) = truth["distractors"]
    assert d["kind"] == "chat_spam"
    sel = (chat_times >= d["start"]) & (chat_times < d["end"])
    assert 0.6 * np.mean(sizes) <= sel.sum() <= 1.6 * np.mean(sizes)
    spam = sel
    # few distinct users write most of it, with few distinct lines, and no planted moment is near it
    top = np.unique(users[spam], return_counts=True)[1]
    assert np.sort(top)[::-1][:8].sum() >= 0.8 * spam.sum()
    assert len(set(bodies[spam])) <= 0.35 * spam.sum()
    assert any(b.startswith("!") for b in bodies[spam])
    for m in truth["moments"]:
        assert m["end"] < d["start"] - 15 or m["start"] > d["end"] + 5


def test_ordinary_chat_rate(truth, chat_times):
    busy = np.zeros(int(truth["duration"]) + 1, dtype=bool)
    for w in [m["chat_burst"] for m in truth["moments"]] + truth["distractors"]:
        busy[int(w["start"]) : int(np.ceil(w["end"])) + 1] = True
    counts = np.bincount(chat_times.astype(int), minlength=len(busy))
    assert 0.5 <= counts[~busy].mean() <= 1.0


def test_shout_and_rage_louder_than_surrounding_20s(truth, audio):
    for m in truth["moments"]:
        a, b = int(m["start"] * SAMPLE_RATE), int(m["end"] * SAMPLE_RATE)
        around = np.concatenate([audio[max(0, a - 20 * SAMPLE_RATE) : a], audio[b : b + 20 * SAMPLE_RATE]])
        gain = rms_db(audio[a:b]) - rms_db(around)
        need = {"shout": 12.0, "rage": 12.0, "laughter": 6.0, "excited": 3.0}[m["kind"]]
        assert gain >= need, (m["id"], m["kind"], gain)


def test_noise_floor_is_not_digital_silence(audio):
    frames = audio[: len(audio) // 1600 * 1600].reshape(-1, 1600)  # 0.1 s frames
    quiet = 20 * np.log10(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)).min())
    assert -55 <= quiet <= -38


def _mp4_track_durations(path: Path) -> dict[str, float]:
    """Duration of each track from its mdhd box (handler type from hdlr), walking the ISO-BMFF box tree."""
    data = path.read_bytes()

    def boxes(start: int, end: int):
        while start + 8 <= end:
            size, kind = struct.unpack(">I4s", data[start : start + 8])
            header = 8
            if size == 1:
                size, header = struct.unpack(">Q", data[start + 8 : start + 16])[0], 16
            yield kind.decode("latin-1"), start + header, start + size
            start += size

    out = {}
    moov = next((s, e) for k, s, e in boxes(0, len(data)) if k == "moov")
    for kind, s, e in boxes(*moov):
        if kind != "trak":
            continue
        mdia = next((ms, me) for k, ms, me in boxes(s, e) if k == "mdia")
        parts = {k: (ms, me) for k, ms, me in boxes(*mdia)}
        ms = parts["mdhd"][0]
        if data[ms] == 1:
            scale, dur = struct.unpack(">IQ", data[ms + 20 : ms + 32])
        else:
            scale, dur = struct.unpack(">II", data[ms + 12 : ms + 20])
        handler = data[parts["hdlr"][0] + 8 : parts["hdlr"][0] + 12].decode("latin-1")
        out[handler] = dur / scale
    return out


def test_durations_agree(truth, audio):
    tracks = _mp4_track_durations(DEMO / "demo.mp4")
    assert set(tracks) == {"vide", "soun"}
    assert tracks["vide"] == pytest.approx(truth["duration"], abs=0.25)
    assert tracks["soun"] == pytest.approx(truth["duration"], abs=0.1)
    assert len(audio) / SAMPLE_RATE == pytest.approx(truth["duration"], abs=0.1)
