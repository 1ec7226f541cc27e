"""Offline transcription scattered over N decoding jobs: the speed-up curve, and the words each N gives.

    .venv/bin/python bench/transcription_scaling.py                       # demo VOD, 1 2 4 8 jobs, local, 2 cores
    .venv/bin/python bench/transcription_scaling.py --executor slurm      # the same on the one-node Slurm cluster
    nice -n 19 .venv/bin/python bench/transcription_scaling.py --hours 4 --jobs 24   # a real 4-hour transcription

Each run is the workflow (`snakemake` up to the transcript JSON, offline backend) on a VOD made from the demo video
(looped to --hours when given), in a fresh work folder, with `transcription.offline.job_seconds` set so the plan
has exactly N groups. Times: each job's wall from Snakemake's benchmark files; each job's CPU from the job itself
(the "job CPU" its log reports: getrusage of the whole job process - interpreter, imports, model loading and
decoding; Snakemake's benchmark `cpu_time` samples every 30 s after the first 15 s and misses the rest):
- measured: the transcription stage's wall time on this machine, from the plan's start to the gather's end (on 2
  shared cores, so it stops improving at 2 jobs and measures the neighbours' load too);
- simulated N idle cores ("each job on a core of its own"): plan CPU + the largest decoding job's CPU + gather CPU,
  the wall time the stage would take if every decoding job had an idle core (a cluster with N free CPUs), without
  the scheduler's own delays;
- the words of every N compared with N = the first: they must be identical.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.helpers.media import looped_demo  # noqa: E402
from tests.helpers.workflow import slurm_args, snakemake_command  # noqa: E402

VOD = "scale"
TRANSCRIPT = f"output/raw/transcripts/audio_{VOD}_transcript.json"
PLUGINS = ROOT / ".ci" / "cluster-plugins"
SLURM_ARGS = slurm_args(jobs=16)


def source_video(tmp: Path, hours: float | None) -> Path:
    demo = ROOT / "data" / "demo" / "demo.mp4"
    if not hours:
        return demo
    return looped_demo(tmp / f"demo_{hours:g}h.mp4", hours)


def speech_seconds(video: Path, tmp: Path) -> float:
    from klipstream.media import extract_audio
    from klipstream.transcribe.scatter import write_plan

    wav = tmp / "plan_audio.wav"
    extract_audio(video, wav)
    doc = write_plan(wav, tmp / "plan.json", job_seconds=1e9)
    wav.unlink()
    return doc["speech_seconds"]


def job_cpu(log: Path) -> float:
    """The "job CPU" a transcription job's log reports (klipstream.transcribe.scatter)."""
    found = re.findall(r"job CPU ([0-9.]+) s", log.read_text())
    return float(found[-1]) if found else float("nan")


def bench_rows(work: Path) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for tsv in (work / "benchmarks").glob("transcript_*/*.tsv"):
        header, *lines = tsv.read_text().splitlines()
        v = dict(zip(header.split("\t"), lines[-1].split("\t")))
        end = tsv.stat().st_mtime
        rows.setdefault(tsv.parent.name, []).append(
            {
                "s": float(v["s"]),
                "start": end - float(v["s"]),
                "end": end,
                "rss": float(v["max_rss"]),
                "cpu": job_cpu(work / "logs" / tsv.parent.name / tsv.name.replace(".tsv", ".log")),
            }
        )
    return rows


def run(n: int, video: Path, speech: float, base: Path, executor: str, cores: int) -> dict:
    work = base / f"jobs_{n}"
    work.mkdir()
    (work / "vods.tsv").write_text(f"vod_id\turl\tvideo\tchat\ttitle\n{VOD}\t\t{video}\t\tscaling\n")
    job_seconds = speech / n * (1 + 1e-6)
    cmd = snakemake_command(work, TRANSCRIPT, cores=cores)
    env = {**os.environ, "DEEPGRAM_API_KEY": "", "PYTHONPATH": str(ROOT)}
    if executor == "slurm":
        cmd += SLURM_ARGS
        env["PYTHONPATH"] = os.pathsep.join([str(PLUGINS), str(ROOT)])
    cmd += ["--config", f"vods={work / 'vods.tsv'}", f"transcription={{offline: {{job_seconds: {job_seconds}}}}}"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    total = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{n} jobs: snakemake failed\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    rows = bench_rows(work)
    plan, decode, gather = rows["transcript_plan"][0], rows["transcript_decode"], rows["transcript_transcribe"][0]
    assert len(decode) == n, (n, len(decode))
    doc = json.loads((work / TRANSCRIPT).read_text())
    words = doc["results"]["channels"][0]["alternatives"][0]["words"]
    digest = hashlib.sha256(json.dumps(words).encode()).hexdigest()[:16]
    return {
        "jobs": n,
        "executor": executor,
        "stage_wall_s": round(gather["end"] - plan["start"], 1),
        "snakemake_wall_s": round(total, 1),
        "plan_cpu_s": plan["cpu"],
        "decode_cpu_s": [d["cpu"] for d in decode],
        "decode_wall_s": [d["s"] for d in decode],
        "gather_cpu_s": gather["cpu"],
        "simulated_idle_cores_s": round(plan["cpu"] + max(d["cpu"] for d in decode) + gather["cpu"], 1),
        "decode_cpu_total_s": round(sum(d["cpu"] for d in decode), 1),
        "peak_rss_mb": max(d["rss"] for d in decode),
        "words": len(words),
        "words_sha256": digest,
        "duration_s": doc["metadata"]["duration"],
        "load": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--executor", choices=["local", "slurm"], default="local")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--hours", type=float, help="loop the demo video to this length (default: the 4-minute demo)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    rows = []
    with tempfile.TemporaryDirectory(prefix="klip-scaling-") as tmp:
        tmp = Path(tmp)
        video = source_video(tmp, args.hours)
        speech = speech_seconds(video, tmp)
        print(f"{video.name}: {speech:.1f} s of speech to decode", flush=True)
        for n in args.jobs:
            row = run(n, video, speech, tmp, args.executor, args.cores)
            rows.append(row)
            print(json.dumps(row), flush=True)
    first = rows[0]
    print(f"\nstarted {started}; {args.executor}, {args.cores} cores, {os.cpu_count()} CPUs")
    print(
        "| decoding jobs | stage wall, measured (s) | simulated: each job on an idle core (s) | speed-up "
        "(simulated) | decoding CPU, all jobs (s) | words identical |\n|---:|---:|---:|---:|---:|---|"
    )
    for r in rows:
        print(
            f"| {r['jobs']} | {r['stage_wall_s']} | {r['simulated_idle_cores_s']} | "
            f"{first['simulated_idle_cores_s'] / r['simulated_idle_cores_s']:.2f}x | {r['decode_cpu_total_s']} | "
            f"{'yes' if r['words_sha256'] == first['words_sha256'] else 'NO'} ({r['words']}) |"
        )
    if args.json:
        args.json.write_text(json.dumps({"started": started, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
