"""The production path end to end: a 4-hour Twitch VOD from `klipstream run URL` to Completed, every service a
loopback stand-in in its own process.

    .venv/bin/python bench/vod_e2e.py                      # both modes, 4 h, 200,000 messages, 2 cores
    .venv/bin/python bench/vod_e2e.py --modes none --hours 1

What runs: `python -m klipstream.cli run https://www.twitch.tv/videos/ID --workdir W --cores 2` with
`download.video: false` (Twitch's audio-only rendition), the Deepgram backend, the LLM speech scorer, Cloud Storage
publishing and Convex statuses, pointed at the stand-ins only through their documented environment variables:
- Twitch (tests/helpers/twitch_stub.py): GQL metadata, 2,000 comment pages of 100 messages (200,000 synthetic
messages over
  the 4 h), usher and an `audio_only` HLS rendition: the demo VOD's audio looped to 4 h, AAC 160 kbit/s 48 kHz
  stereo (Twitch's audio-only bitrate) in 10 s segments, made once with ffmpeg and kept in --cache;
- Deepgram (tests/helpers/deepgram_stub.py): receives the upload, checks its Content-Type, decodes it with ffmpeg,
answers
  with words where the audio is loud;
- the LLM (tests/helpers/emotions_stub.py, OpenAI-compatible), the Convex stand-in (tests/helpers/publish_stubs.py) and
  gcp-storage-emulator (in memory).

Two modes separate what no client could avoid from what the client does:
- `realistic`: each stand-in sleeps as the real service would take - Twitch 0.1 s per GQL request, Deepgram
  1 s + 20 s per hour of audio of processing (an assumption: Deepgram quotes pre-recorded transcription in seconds
  to tens of seconds per hour) after an upload throttled to --uplink-mbit, the LLM 1 s per call;
- `none`: the same stand-ins with every sleep and the throttle at 0. Its wall time is the run "excluding the
  stand-ins' simulated latency" that the 2-minute target is about; the difference between the two is that latency
  (each stand-in also reports what it slept).
The stand-ins still use CPU on the same 2 cores (decoding the upload, the emulator storing objects): reported.

Reported per mode: wall time to Completed, CPU of the client's process tree (klipstream run, Snakemake, every job
and their ffmpeg/yt-dlp children), a per-stage table (one row per job: start and end from the run's start, wall,
CPU, peak RSS, disk read/written from Snakemake's benchmark files, network bytes from the stand-ins) and the critical
path (the chain of jobs, each started by the one before it, that ends with the last job; with the gaps Snakemake
spent between them)."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers: the loopback stand-ins
from tests.helpers.workflow import snakemake_command  # noqa: E402

VOD = "987654321"
URL = f"https://www.twitch.tv/videos/{VOD}"
KEYS = {
    "DEEPGRAM_API_KEY": "bench-deepgram-key",
    "NEBIUS_API_KEY": "bench-llm-key",
    "CONVEX_API_KEY": "prod:bench|0123456789abcdef",
}
CLEAR = (
    "DEEPGRAM_BASE_URL",
    "OPENAI_API_KEY",
    "USE_GCS",
    "STORAGE_EMULATOR_HOST",
    "CONVEX_URL",
    "GCS_PROJECT",
    "KLIPSTREAM_TWITCH_GQL_URL",
    "KLIPSTREAM_TWITCH_USHER_URL",
    "K_SERVICE",
    "BASE_DIR",
)


def make_hls(cache: Path, hours: float) -> Path:
    """The audio_only rendition of an `hours` long VOD (kept in `cache`)."""
    from klipstream.media import ffmpeg_exe

    out = cache / f"hls_{hours:g}h"
    if (out / "audio_only" / "index.m3u8").is_file():
        return out
    (out / "audio_only").mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-stream_loop",
            "-1",
            "-i",
            str(ROOT / "data" / "demo" / "demo.mp4"),
            "-t",
            str(int(hours * 3600)),
            "-vn",
            "-ac",
            "2",
            "-ar",
            "48000",
            "-c:a",
            "aac",
            "-b:a",
            "160k",
            "-f",
            "hls",
            "-hls_time",
            "10",
            "-hls_playlist_type",
            "vod",
            "-hls_segment_filename",
            str(out / "audio_only" / "seg%05d.ts"),
            str(out / "audio_only" / "index.m3u8.part"),
        ],
        check=True,
    )
    (out / "audio_only" / "index.m3u8.part").rename(out / "audio_only" / "index.m3u8")
    print(f"made the {hours:g} h audio_only HLS rendition in {time.monotonic() - t0:.0f} s", flush=True)
    return out


class StandIn:
    """A stand-in in its own process (bench/_standins.py)."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "_standins.py"), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = json.loads(self.proc.stdout.readline())["url"]

    def stop(self) -> dict:
        self.proc.stdin.close()
        out = self.proc.stdout.readline()
        self.proc.wait(timeout=60)
        return json.loads(out) if out else {}


def tree_sample(pid: int) -> tuple[float, int]:
    """(CPU seconds, summed RSS bytes) of a live process tree."""
    import psutil

    cpu = rss = 0
    try:
        procs = [psutil.Process(pid)]
        procs += procs[0].children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0, 0
    for p in procs:
        try:
            t = p.cpu_times()
            cpu += t.user + t.system + t.children_user + t.children_system
            rss += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return cpu, rss


def run_mode(mode: str, hls: Path, args, base: Path) -> dict:
    realistic = mode == "realistic"
    seconds = int(args.hours * 3600)
    from tests.helpers.publish_stubs import Emulator

    standins = {
        "twitch": StandIn(
            "twitch",
            "--hls",
            str(hls),
            "--vod",
            VOD,
            "--seconds",
            str(seconds),
            "--messages",
            str(args.messages),
            "--latency",
            "0.1" if realistic else "0",
        ),
        "deepgram": StandIn(
            "deepgram",
            "--rate-mbit",
            str(args.uplink_mbit if realistic else 0),
            "--rtf",
            str(1 / 180 if realistic else 0),
            "--base",
            "1" if realistic else "0",
        ),
        "llm": StandIn("llm", "--latency", "1" if realistic else "0"),
        "convex": StandIn("convex"),
    }
    emulator = Emulator()
    work = base / f"work_{mode}"
    work.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in CLEAR and k not in KEYS}
    env.update(
        KEYS,
        KLIPSTREAM_TWITCH_GQL_URL=f"{standins['twitch'].url}/gql",
        KLIPSTREAM_TWITCH_USHER_URL=standins["twitch"].url,
        DEEPGRAM_BASE_URL=standins["deepgram"].url,
        USE_GCS="true",
        STORAGE_EMULATOR_HOST=emulator.host,
        GCS_PROJECT="bench",
        CONVEX_URL=standins["convex"].url,
        PYTHONPATH=str(ROOT),
    )
    config = [
        "download={video: false}",
        f"speech_sentiment={{base_url: '{standins['llm'].url}', concurrency: {args.llm_concurrency}}}",
    ]
    cmd = [
        sys.executable,
        "-m",
        "klipstream.cli",
        "run",
        URL,
        "--workdir",
        str(work),
        "--cores",
        str(args.cores),
        "--config",
        *config,
    ]
    emu_cpu0 = _emulator_cpu(emulator)
    print(f"[{mode}] {' '.join(cmd[2:])}", flush=True)
    import resource

    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    wall_start = time.time()
    log = open(work / "run.log", "w")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    peak_rss = last_cpu = 0.0
    while proc.poll() is None:
        cpu, rss = tree_sample(proc.pid)
        peak_rss, last_cpu = max(peak_rss, rss), max(last_cpu, cpu)
        time.sleep(0.5)
    wall = time.monotonic() - t0
    log.close()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # the stand-ins are still running: only the client's tree
    client_cpu = ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime
    stand_stats = {name: s.stop() for name, s in standins.items()}
    stand_stats["gcs_emulator"] = {"cpu_s": round(_emulator_cpu(emulator) - emu_cpu0, 2)}
    emulator.stop()
    status = json.loads((work / "output" / "status" / f"{VOD}.json").read_text())
    if proc.returncode != 0 or status["status"] != "Completed":
        tail = (work / "run.log").read_text()[-4000:]
        raise SystemExit(f"[{mode}] run failed ({proc.returncode}, status {status['status']}):\n{tail}")
    jobs = job_table(work, wall_start)
    path = critical_path(work, jobs, env, config)
    return {
        "mode": mode,
        "wall_s": round(wall, 1),
        "client_cpu_s": round(client_cpu, 1),
        "peak_tree_rss_mb": round(peak_rss / 2**20),
        "load_end": round(os.getloadavg()[0], 1),
        "standins": stand_stats,
        "jobs": jobs,
        "critical_path": path,
        "network": network_bytes(work, stand_stats),
        "history": status["history"],
    }


def _emulator_cpu(emulator) -> float:
    import psutil

    try:
        p = psutil.Process(emulator.proc.pid)
        t = p.cpu_times()
        return t.user + t.system + sum(c.cpu_times().user + c.cpu_times().system for c in p.children(recursive=True))
    except psutil.NoSuchProcess:
        return 0.0


def job_cpu(log: Path) -> float | None:
    """The CPU seconds a job's log reports at its end (klipstream.smk.job: the job process and its children)."""
    found = re.findall(r"job CPU ([0-9.]+) s", log.read_text()) if log.is_file() else []
    return float(found[-1]) if found else None


def job_table(work: Path, wall_start: float) -> list[dict]:
    """One row per job from Snakemake's benchmark files (end = the file's mtime, start = end - wall) and the job's
    own log (CPU: Snakemake's benchmark `cpu_time` is sampled every 30 s after a job's first 15 s)."""
    rows = []
    for tsv in sorted((work / "benchmarks").glob("*/*.tsv")):
        header, *lines = tsv.read_text().splitlines()
        values = dict(zip(header.split("\t"), lines[-1].split("\t")))
        end = tsv.stat().st_mtime - wall_start
        wall = float(values["s"])
        cpu = job_cpu(work / "logs" / tsv.parent.name / f"{tsv.stem}.log")
        rows.append(
            {
                "rule": tsv.parent.name,
                "job": tsv.stem,
                "start": round(end - wall, 1),
                "end": round(end, 1),
                "wall": wall,
                "cpu": cpu if cpu is not None else float(values.get("cpu_time") or 0),
                "max_rss": float(values["max_rss"]),
                "io_in_mb": float(values["io_in"]),
                "io_out_mb": float(values["io_out"]),
            }
        )
    return sorted(rows, key=lambda r: r["start"])


def dag_edges(work: Path, env: dict, config: list[str]) -> dict[str, set[str]]:
    """rule -> rules it depends on, from `snakemake --dag` of the finished run (one VOD: one job per rule)."""
    cmd = snakemake_command(work, f"output/publish/{VOD}_manifest.json", "--dag", "dot", "--config", *config)
    dot = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    names = {m.group(1): m.group(2) for m in re.finditer(r'^\s*(\d+)\[label = "(\w+)', dot, re.M)}
    deps: dict[str, set[str]] = {name: set() for name in names.values()}
    for a, b in re.findall(r"^\s*(\d+) -> (\d+)", dot, re.M):
        deps[names[b]].add(names[a])
    return deps


def critical_path(work: Path, jobs: list[dict], env: dict, config: list[str]) -> list[dict]:
    """From the job that ended last, back through the dependency that ended last, to a job with none."""
    by_rule = {j["rule"]: j for j in jobs}
    deps = dag_edges(work, env, config)
    chain = [max(jobs, key=lambda j: j["end"])]
    while True:
        before = [by_rule[d] for d in deps.get(chain[-1]["rule"], ()) if d in by_rule]
        if not before:
            break
        chain.append(max(before, key=lambda j: j["end"]))
    chain.reverse()
    out, prev_end = [], 0.0
    for j in chain:
        out.append(
            {
                "rule": j["rule"],
                "start": j["start"],
                "end": j["end"],
                "wall": j["wall"],
                "cpu": j["cpu"],
                "gap_before": round(j["start"] - prev_end, 1),
            }
        )
        prev_end = j["end"]
    return out


def network_bytes(work: Path, stand: dict) -> dict[str, int]:
    """Bytes each networked job moved, by job (from the stand-ins, and the publish manifest for Cloud Storage)."""
    twitch = stand["twitch"]["bytes_out"]
    dg = stand["deepgram"]["requests"]
    manifest = json.loads((work / "output" / "publish" / f"{VOD}_manifest.json").read_text())
    objects = manifest.get("objects") or []
    published = sum(int(o.get("size") or 0) for o in objects)
    return {
        "audio_extract": twitch.get("hls", 0) + twitch.get("vod", 0),
        "chat_fetch": twitch.get("gql", 0),
        "transcript_transcribe": sum(r["bytes"] for r in dg),
        "audio_sentiment_score": stand["llm"]["request_bytes"],
        "publish_upload": published,
    }


def report(res: dict) -> None:
    print(
        f"\n## mode `{res['mode']}`: {res['wall_s']} s wall to Completed, client CPU {res['client_cpu_s']} s, "
        f"peak process-tree RSS {res['peak_tree_rss_mb']} MB, load average at the end {res['load_end']}"
    )
    slept = {k: v.get("latency_slept_s", 0) for k, v in res["standins"].items()}
    cpu = {k: v.get("cpu_s", 0) for k, v in res["standins"].items()}
    print(f"stand-ins slept (simulated latency, s): {slept}; their CPU (s): {cpu}")
    print(
        "\n| job | start (s) | end (s) | wall (s) | CPU (s) | peak RSS (MB) | disk read / written (MB) | "
        "network (MB) |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    for j in res["jobs"]:
        net = res["network"].get(j["rule"])
        print(
            f"| {j['job'] if j['rule'] == 'transcript_decode' else j['rule']} | {j['start']:.1f} | {j['end']:.1f} | "
            f"{j['wall']:.1f} | {j['cpu']:.1f} | {j['max_rss']:.0f} | {j['io_in_mb']:.0f} / {j['io_out_mb']:.0f} | "
            f"{net / 1e6:.1f} |"
            if net is not None
            else f"| {j['rule']} | {j['start']:.1f} | {j['end']:.1f} | {j['wall']:.1f} | {j['cpu']:.1f} | "
            f"{j['max_rss']:.0f} | {j['io_in_mb']:.0f} / {j['io_out_mb']:.0f} | |"
        )
    path = res["critical_path"]
    print(
        "\ncritical path: "
        + " -> ".join(
            f"{c['rule']} ({c['wall']:.1f} s wall, {c['cpu']:.1f} s CPU, +{c['gap_before']:.1f} s before)" for c in path
        )
    )
    dg = res["standins"]["deepgram"]["requests"]
    service = sum(r["receive_seconds"] + r.get("decode_seconds", 0) + r.get("processing_seconds", 0) for r in dg)
    print(
        f"critical path: {path[-1]['end']:.1f} s measured; the client's CPU along it {sum(c['cpu'] for c in path):.1f}"
        f" s, Snakemake's gaps between its jobs {sum(c['gap_before'] for c in path):.1f} s, the Deepgram stand-in's "
        f"time inside transcript_transcribe (receive, decode, processing) {service:.1f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--modes", nargs="+", default=["none", "realistic"], choices=["none", "realistic"])
    ap.add_argument("--uplink-mbit", type=float, default=50.0, help="realistic mode: upload rate to Deepgram")
    ap.add_argument("--llm-concurrency", type=int, default=8)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "klip-vod-e2e-cache")
    ap.add_argument("--keep", type=Path, help="keep the work folders here")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    hls = make_hls(args.cache, args.hours)
    results = []
    with tempfile.TemporaryDirectory(prefix="klip-e2e-") as tmp:
        base = args.keep or Path(tmp)
        for mode in args.modes:
            res = run_mode(mode, hls, args, base)
            report(res)
            results.append(res)
    out = {
        "started": started,
        "hours": args.hours,
        "messages": args.messages,
        "cores": args.cores,
        "cpus": os.cpu_count(),
        "results": results,
    }
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    for res in results:
        print(f"{res['mode']}: {res['wall_s']} s wall, client CPU {res['client_cpu_s']} s")


if __name__ == "__main__":
    main()
