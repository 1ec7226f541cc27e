"""Transcript tables: words, paragraphs, sliding-window segments - values computed by hand."""

import json

import numpy as np
import pandas as pd
import pytest

from klipstream.errors import KlipError
from klipstream.transcribe.tables import SEGMENT_COLUMNS, assign_words, window_bounds, write_segments, write_word_tables


def _doc(words, duration, paragraphs=None):
    return {
        "metadata": {"duration": duration},
        "results": {
            "channels": [
                {
                    "alternatives": [
                        {
                            "transcript": " ".join(w[0] for w in words),
                            "confidence": 0.9,
                            "words": [
                                {"word": w, "start": s, "end": e, "confidence": c, "punctuated_word": p}
                                for w, s, e, c, p in words
                            ],
                            "paragraphs": {"transcript": "", "paragraphs": paragraphs or []},
                        }
                    ]
                }
            ]
        },
        "klipstream": {"backend": "offline", "model": "test", "created": "2026-01-01T00:00:00Z"},
    }


# duration 100 s, windows of 60 s every 30 s: [0,60] [30,90] [60,100] (the last one partial, 40 s)
WORDS = [
    ("alpha", 10.0, 11.0, 0.9, "Alpha"),  # inside window 0 only
    ("beta", 29.5, 30.5, 0.8, "beta"),  # straddles 30 s: all in w0, exactly half in w1 -> both
    ("gamma", 59.0, 61.0, 0.7, "gamma."),  # half in w0, all in w1, half in w2 -> all three
    ("delta", 89.6, 90.6, 0.6, "Delta"),  # 0.4 of it in w1 (< half) -> w2 only
    ("eps", 99.5, 100.0, 0.5, "eps."),  # last partial window
]


def test_window_bounds_cover_duration_and_keep_last_partial():
    assert window_bounds(100, 60, 30).tolist() == [[0, 60], [30, 90], [60, 100]]
    assert window_bounds(95, 60, 30).tolist() == [[0, 60], [30, 90], [60, 95]]
    assert window_bounds(60, 60, 30).tolist() == [[0, 60]]
    assert window_bounds(20, 60, 30).tolist() == [[0, 20]]
    assert window_bounds(25, 10, 10).tolist() == [[0, 10], [10, 20], [20, 25]]
    assert window_bounds(0, 60, 30).shape == (0, 2)
    with pytest.raises(KlipError):
        window_bounds(10, 0, 30)


def test_assign_words_half_rule():
    starts = np.array([w[1] for w in WORDS])
    ends = np.array([w[2] for w in WORDS])
    w, k = assign_words(starts, ends, window_bounds(100, 60, 30), 30)
    assert sorted(zip(w.tolist(), k.tolist())) == [(0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2), (3, 2), (4, 2)]


def test_segments_csv_hand_computed(tmp_path):
    src = tmp_path / "t.json"
    src.write_text(json.dumps(_doc(WORDS, 100.0)))
    out = tmp_path / "seg.csv"
    assert write_segments(src, out, window_seconds=60, step_seconds=30) == 3
    seg = pd.read_csv(out, keep_default_na=False)
    assert list(seg.columns) == SEGMENT_COLUMNS
    assert seg["window_id"].tolist() == [0, 1, 2]
    assert seg["start_time"].tolist() == [0, 30, 60]
    assert seg["end_time"].tolist() == [60, 90, 100]
    assert seg["word_count"].tolist() == [3, 2, 3]
    assert seg["speech_rate"].tolist() == pytest.approx([3 / 60, 2 / 60, 3 / 40], abs=1e-4)
    assert seg["text"].tolist() == ["Alpha beta gamma.", "beta gamma.", "gamma. Delta eps."]


def test_segments_other_window_params(tmp_path):
    src = tmp_path / "t.json"
    src.write_text(json.dumps(_doc(WORDS, 100.0)))
    out = tmp_path / "seg.csv"
    # 50 s windows every 50 s, no overlap: [0,50] gets alpha, beta; [50,100] gets gamma, delta, eps
    write_segments(src, out, window_seconds=50, step_seconds=50)
    seg = pd.read_csv(out)
    assert seg["word_count"].tolist() == [2, 3]
    assert seg["speech_rate"].tolist() == pytest.approx([0.04, 0.06])
    # 20 s windows every 10 s: [80,100] reaches the end, so no window starts at 90; beta (29.5-30.5)
    # is half in [10,30] and [30,50] and whole in [20,40]; delta is only 0.4 s in [70,90] -> not there
    write_segments(src, out, window_seconds=20, step_seconds=10)
    seg = pd.read_csv(out)
    assert seg["start_time"].tolist() == [0, 10, 20, 30, 40, 50, 60, 70, 80]
    assert seg["end_time"].tolist()[-1] == 100
    assert seg["word_count"].tolist() == [1, 2, 1, 1, 1, 1, 1, 0, 2]


def test_word_and_paragraph_tables(tmp_path):
    paragraphs = [
        {
            "sentences": [{"text": "Alpha beta gamma.", "start": 10.0, "end": 61.0}],
            "num_words": 3,
            "start": 10.0,
            "end": 61.0,
        },
        {
            "sentences": [{"text": "Delta", "start": 89.6, "end": 90.6}, {"text": "eps.", "start": 99.5, "end": 100.0}],
            "num_words": 2,
            "start": 89.6,
            "end": 100.0,
        },
    ]
    src = tmp_path / "t.json"
    # words out of order in the file: the table is sorted by time
    src.write_text(json.dumps(_doc(list(reversed(WORDS)), 100.0, paragraphs)))
    assert write_word_tables(src, tmp_path / "w.csv", tmp_path / "p.csv") == (5, 2)
    words = pd.read_csv(tmp_path / "w.csv")
    assert list(words.columns) == ["start_time", "end_time", "word", "punctuated_word", "confidence", "speaker"]
    assert words["speaker"].isna().all()  # no speaker labels in this transcript: an empty column
    assert words["word"].tolist() == ["alpha", "beta", "gamma", "delta", "eps"]
    assert words["punctuated_word"].tolist() == ["Alpha", "beta", "gamma.", "Delta", "eps."]
    assert words["confidence"].tolist() == pytest.approx([0.9, 0.8, 0.7, 0.6, 0.5])
    paras = pd.read_csv(tmp_path / "p.csv")
    assert list(paras.columns) == ["start_time", "end_time", "text", "word_count"]
    assert paras["text"].tolist() == ["Alpha beta gamma.", "Delta eps."]
    assert paras["word_count"].tolist() == [3, 2]
    assert paras["end_time"].tolist() == [61.0, 100.0]


def test_speaker_labels_follow_their_words_into_time_order(tmp_path):
    doc = _doc(list(reversed(WORDS)), 100.0)  # words out of order in the file, as above
    labels = {"alpha": 0, "beta": 1, "gamma": 1, "delta": 0, "eps": 2}
    for word in doc["results"]["channels"][0]["alternatives"][0]["words"]:
        word["speaker"] = labels[word["word"]]
    src = tmp_path / "t.json"
    src.write_text(json.dumps(doc))
    write_word_tables(src, tmp_path / "w.csv", tmp_path / "p.csv")
    lines = (tmp_path / "w.csv").read_text().splitlines()
    assert [line.split(",")[-1] for line in lines] == ["speaker", "0", "1", "1", "0", "2"]  # alpha ... eps


def test_empty_transcript_gives_header_only_tables(tmp_path):
    src = tmp_path / "t.json"
    src.write_text(json.dumps(_doc([], 0.0)))
    write_word_tables(src, tmp_path / "w.csv", tmp_path / "p.csv")
    write_segments(src, tmp_path / "s.csv")
    assert (tmp_path / "w.csv").read_text() == "start_time,end_time,word,punctuated_word,confidence,speaker\n"
    assert (tmp_path / "p.csv").read_text() == "start_time,end_time,text,word_count\n"
    assert (tmp_path / "s.csv").read_text() == ",".join(SEGMENT_COLUMNS) + "\n"


def test_silent_audio_keeps_windows_with_zero_words(tmp_path):
    src = tmp_path / "t.json"
    src.write_text(json.dumps(_doc([], 70.0)))
    write_segments(src, tmp_path / "s.csv")
    seg = pd.read_csv(tmp_path / "s.csv", keep_default_na=False)
    assert seg["end_time"].tolist() == [60, 70]
    assert seg["word_count"].tolist() == [0, 0]
    assert seg["speech_rate"].tolist() == [0, 0]
    assert seg["text"].tolist() == ["", ""]


def test_bad_transcript_is_one_line_error(tmp_path):
    src = tmp_path / "t.json"
    src.write_text('{"results": {}}')
    with pytest.raises(KlipError, match="t.json"):
        write_word_tables(src, tmp_path / "w.csv", tmp_path / "p.csv")
    assert not (tmp_path / "w.csv").exists()
    with pytest.raises(KlipError, match="not found"):
        write_segments(tmp_path / "missing.json", tmp_path / "s.csv")
