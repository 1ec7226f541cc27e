"""What Deepgram receives: bytes, upload time and (as a proxy that nothing was lost) the offline recogniser's WER on
the compressed audio, for the WAV and each upload format the workflow can send.

    .venv/bin/python bench/deepgram_upload.py wer                     # speech set, every format (~CPU minutes)
    .venv/bin/python bench/deepgram_upload.py upload --hours 1 4      # bytes + throttled uploads at 20/50 Mbit/s

`wer`: every WAV of ../shared/data/audio with a reference (bench/transcription.py's set, 201 words) and the demo
VOD's audio (its script in truth.json, 580 words) is encoded exactly as the workflow's `audio_encode` job does
(klipstream.transcribe.upload.encode_for_upload), decoded back to 16 kHz PCM by ffmpeg, and transcribed by the
offline backend (transcribe_offline, 1 worker). Reported per format: WER against the references (word errors /
reference words), and the share of the original audio's recognised words that changed ("transcript change": the
word-level edit distance between the two transcripts over the original transcript's length; 0 = the same words).
A control row ("dither": the WAV plus +-1 LSB of noise) shows how far any change of the samples moves them.

`upload`: a stream-like WAV of N hours (the demo VOD's audio - two voices over room noise - looped), encoded into
each format; each file is then sent through the real Deepgram client (transcribe_deepgram) to the Deepgram stand-in
(tests/helpers/deepgram_stub.py) throttled to 20 and 50 Mbit/s, which decodes what it received. Upload time = the
time the
stand-in spent reading the body (its token bucket paces the reads, so TCP back-pressure paces the client).
The WAV itself is measured too; with --skip-slow-wav its upload times are computed from its size instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT))  # tests.helpers: the loopback stand-ins
sys.path.insert(0, str(ROOT / "bench"))

from transcription import edit_distance, norm, references  # noqa: E402  (the speech set, as bench/transcription.py)

# (format, kbit/s, libopus options beyond the workflow's OPUS_OPTIONS)
VOIP = {"application": "voip", "compression_level": 10}
FRAME60 = {"application": "audio", "compression_level": 0, "frame_duration": 60}
# "dither" is a control, not a format: the WAV plus +-1 LSB of triangular noise (-90 dBFS, inaudible), to show how
# much the recogniser's transcript moves for any change at all of the samples.
FORMATS = [
    ("wav", None, None),
    ("dither", None, None),
    ("flac", None, None),
    ("opus", 32, None),
    ("opus", 24, None),
    ("opus", 16, None),
    ("opus", 12, None),
    ("opus", 24, VOIP),
    ("opus", 16, VOIP),
    ("opus", 24, FRAME60),
]


def label(fmt: str, kbps: float | None, opus: dict | None = None) -> str:
    extra = (
        (
            f" ({opus['application']}, complexity {opus['compression_level']}"
            f"{', ' + str(opus['frame_duration']) + ' ms frames' if 'frame_duration' in opus else ''})"
        )
        if opus
        else ""
    )
    return fmt if kbps is None else f"{fmt} {kbps:g} kbit/s{extra}"


def roundtrip(wav: Path, fmt: str, kbps: float | None, opus: dict | None, tmp: Path) -> tuple[Path, int]:
    """(16 kHz WAV decoded from the upload file, size of the upload file)."""
    from klipstream.media import run_ffmpeg
    from klipstream.transcribe.upload import encode_for_upload, get_format

    if fmt == "wav":
        return wav, wav.stat().st_size
    if fmt == "dither":
        with wave.open(str(wav)) as src:
            params, x = src.getparams(), np.frombuffer(src.readframes(src.getnframes()), "<i2").astype(np.int32)
        rng = np.random.default_rng(0)
        noise = rng.integers(0, 2, x.size) - rng.integers(0, 2, x.size)  # triangular, -1..1
        out = tmp / f"{wav.stem}.dither.wav"
        with wave.open(str(out), "wb") as dst:
            dst.setparams(params)
            dst.writeframes(np.clip(x + noise, -32768, 32767).astype("<i2").tobytes())
        return out, wav.stat().st_size
    enc = tmp / f"{wav.stem}{get_format(fmt).suffix}"
    encode_for_upload(wav, enc, format=fmt, bitrate_kbps=kbps or 24, opus=opus)
    dec = tmp / f"{wav.stem}.{fmt}{kbps or ''}.wav"
    run_ffmpeg(["-i", str(enc), "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(dec)], what=str(enc))
    return dec, enc.stat().st_size


def speech_sets(tmp: Path) -> dict[str, list[tuple[Path, list[str]]]]:
    """The recordings with reference words: the speech set of ../shared/data/audio (7 files, 201 words) and the
    demo VOD's audio against its script (data/demo/truth.json, 580 words)."""
    from demo_wer import normalise

    from klipstream.io import read_json
    from klipstream.media import extract_audio

    sets = {"speech set": [(wav, norm(ref)) for wav, ref in references().items()]}
    if (ROOT / "data" / "demo" / "demo.mp4").is_file():
        demo = tmp / "demo.wav"
        extract_audio(ROOT / "data" / "demo" / "demo.mp4", demo)
        lines = sorted(read_json(ROOT / "data" / "demo" / "truth.json")["lines"], key=lambda line: line["start"])
        sets["demo"] = [(demo, [w for line in lines for w in normalise(line["text"])])]
    return sets


def bench_wer(only: list[str] | None = None) -> list[dict]:
    """Per format and recording set: WER against the references, transcript change against the WAV's transcript."""
    from demo_wer import normalise

    from klipstream.transcribe.offline import transcribe_offline

    rows, original = [], {}
    with tempfile.TemporaryDirectory(prefix="klip-upload-wer-") as tmp:
        sets = speech_sets(Path(tmp))
        if not sets["speech set"]:
            raise SystemExit("no reference audio under ../shared/data/audio")
        for fmt, kbps, opus in FORMATS:
            if only and fmt != "wav" and label(fmt, kbps, opus) not in only:
                continue
            row = {"format": label(fmt, kbps, opus)}
            t0 = time.monotonic()
            total_err = total_ref = 0
            for name, items in sets.items():
                errors = n_ref = changed = n_orig = size = wav_size = 0
                for wav, ref in items:
                    dec, nbytes = roundtrip(wav, fmt, kbps, opus, Path(tmp))
                    doc = transcribe_offline(dec, threads=1)
                    hyp = normalise(
                        " ".join(w["word"] for w in doc["results"]["channels"][0]["alternatives"][0]["words"])
                    )
                    if fmt == "wav":
                        original[wav] = hyp
                    errors += edit_distance(ref, hyp)
                    n_ref += len(ref)
                    changed += edit_distance(original[wav], hyp)
                    n_orig += len(original[wav])
                    size += nbytes
                    wav_size += wav.stat().st_size
                total_err, total_ref = total_err + errors, total_ref + n_ref
                row[name] = {
                    "wer": round(errors / n_ref, 4),
                    "errors": errors,
                    "ref_words": n_ref,
                    "transcript_change": round(changed / max(n_orig, 1), 4),
                    "bytes": size,
                    "of_wav": round(size / wav_size, 4),
                }
            row.update(
                wer_all=round(total_err / total_ref, 4),
                errors_all=total_err,
                ref_words_all=total_ref,
                seconds=round(time.monotonic() - t0, 1),
                load=round(os.getloadavg()[0], 1),
            )
            rows.append(row)
            parts = "  ".join(
                f"{name}: WER {v['wer']:.4f} ({v['errors']}/{v['ref_words']}), change "
                f"{v['transcript_change']:.3f}, {v['of_wav']:.3f} of WAV"
                for name, v in row.items()
                if isinstance(v, dict)
            )
            print(
                f"{row['format']:<38} all: WER {row['wer_all']:.4f} ({total_err}/{total_ref})  {parts}  "
                f"[{row['seconds']} s, load {row['load']}]",
                flush=True,
            )
    return rows


def stream_wav(path: Path, hours: float) -> Path:
    """`hours` of the demo VOD's audio looped, as a 16 kHz mono WAV (written block by block)."""
    from klipstream.media import extract_audio

    demo = path.parent / "demo_audio.wav"
    if not demo.exists():
        extract_audio(ROOT / "data" / "demo" / "demo.mp4", demo)
    with wave.open(str(demo)) as w:
        loop = w.readframes(w.getnframes())
    total = int(hours * 3600 * 16000) * 2
    with wave.open(str(path), "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(16000)
        written = 0
        while written < total:
            piece = loop[: total - written]
            dst.writeframes(piece)
            written += len(piece)
    return path


def send(path: Path, rate_mbit: float) -> dict:
    """Upload `path` through the Deepgram client to the throttled stand-in; the stand-in's receive time."""
    from klipstream.transcribe.deepgram import transcribe_deepgram
    from tests.helpers.deepgram_stub import DeepgramStub

    with DeepgramStub(rate_bps=rate_mbit * 1e6) as stub:
        t0 = time.monotonic()
        doc = transcribe_deepgram(path, api_key="bench-key", base_url=stub.url, timeout=3600, max_attempts=1)
        wall = time.monotonic() - t0
    (req,) = stub.requests
    assert req["status"] == 200 and req["bytes"] == path.stat().st_size, req
    return {
        "receive_s": req["receive_seconds"],
        "client_wall_s": round(wall, 1),
        "content_type": req["content_type"],
        "decoded_s": round(doc["metadata"]["duration"], 1),
        "probed": req.get("probed_format"),
    }


def bench_upload(
    hours_list: list[float],
    rates: list[float],
    formats: list[tuple[str, float | None]],
    skip_slow_wav: bool,
    keep: Path | None,
) -> list[dict]:
    from klipstream.transcribe.upload import encode_for_upload, get_format

    rows = []
    with tempfile.TemporaryDirectory(prefix="klip-upload-") as tmp:
        tmp = keep or Path(tmp)
        for hours in hours_list:
            wav = tmp / f"stream_{hours:g}h.wav"
            if not wav.exists():
                stream_wav(wav, hours)
            for fmt, kbps in formats:
                t0, c0 = time.monotonic(), _child_cpu()
                if fmt == "wav":
                    path, enc_s, enc_cpu = wav, 0.0, 0.0
                else:
                    path = tmp / f"stream_{hours:g}h_{fmt}{kbps or ''}{get_format(fmt).suffix}"
                    encode_for_upload(wav, path, format=fmt, bitrate_kbps=kbps or 24)
                    enc_s, enc_cpu = time.monotonic() - t0, _child_cpu() - c0
                size = path.stat().st_size
                row = {
                    "hours": hours,
                    "format": label(fmt, kbps),
                    "bytes": size,
                    "of_wav": round(size / wav.stat().st_size, 4),
                    "encode_s": round(enc_s, 1),
                    "encode_cpu_s": round(enc_cpu, 1),
                }
                for rate in rates:
                    if fmt == "wav" and skip_slow_wav:
                        row[f"upload_{rate:g}mbit_s"] = round(size * 8 / (rate * 1e6), 1)
                        row[f"upload_{rate:g}mbit_note"] = "computed"
                        continue
                    got = send(path, rate)
                    row[f"upload_{rate:g}mbit_s"] = got["receive_s"]
                    row["content_type"], row["decoded_s"] = got["content_type"], got["decoded_s"]
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def _child_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    wer = sub.add_parser("wer")
    wer.add_argument(
        "--only",
        nargs="+",
        help="rows to run (labels as printed, e.g. dither 'opus 24 kbit/s'); the "
        "WAV always runs (the reference of `transcript change`)",
    )
    up = sub.add_parser("upload")
    up.add_argument("--hours", type=float, nargs="+", default=[1, 4])
    up.add_argument("--rates", type=float, nargs="+", default=[20, 50], help="Mbit/s")
    up.add_argument("--formats", nargs="+", default=["wav", "flac", "opus:24"], help="fmt or opus:KBPS")
    up.add_argument("--skip-slow-wav", action="store_true", help="compute the WAV's upload times from its size")
    up.add_argument("--keep", type=Path, help="folder for the generated audio (reused when present)")
    args = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    if args.what == "wer":
        rows = bench_wer(args.only)
    else:
        formats = [(f.split(":")[0], float(f.split(":")[1]) if ":" in f else None) for f in args.formats]
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
        rows = bench_upload(args.hours, args.rates, formats, args.skip_slow_wav, args.keep)
    print(json.dumps({"started": started, "cpus": os.cpu_count(), "load_end": os.getloadavg(), "rows": rows}))


if __name__ == "__main__":
    main()
