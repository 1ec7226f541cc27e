"""Peak memory and time of each rule, from Snakemake's own `benchmark:` files, to set honest `mem_mb`/`runtime`.

Workloads (each run by the real workflow in its own temp work dir, or collected from existing work dirs):
  --demo   the demo VOD (data/demo: ~4 min of video + chat), every target
  --large  a 4-hour workload: the real 4.25 h chat of shared/data/chat/fuslie_4h.txt (37,953 messages) as a
           chat-only VOD through its chat rules, and the demo video looped to --hours of video through video import,
           audio extraction and the waveform (transcription is left out: bench/transcription_scaling.py --hours
           measures it; its cost scales linearly with the speech and is extrapolated from the demo in the table)
  --collect DIR ...   only read DIR/benchmarks/*/*.tsv of runs already done (e.g. the repo after `make demo`)

    .venv/bin/python bench/rule_resources.py --collect . --large
Prints one markdown table: per rule and workload, wall seconds, CPU seconds and max_rss (MB); then the suggested
mem_mb (peak RSS x 1.5 + 100 MB, rounded up to 100) and runtime (minutes, wall x 3, at least 5) per rule.
"""

from __future__ import annotations

import argparse
import logging
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers: the workflow command
from tests.helpers.media import looped_demo  # noqa: E402
from tests.helpers.workflow import snakemake_command  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
log = logging.getLogger("rule_resources")


def collect(work: Path, workload: str) -> pd.DataFrame:
    """All benchmark TSVs under `work/benchmarks/<rule>/<vod>.tsv` as rows (rule, vod, workload, s, cpu_time,
    max_rss)."""
    frames = []
    for tsv in sorted((work / "benchmarks").glob("*/*.tsv")):
        df = pd.read_csv(tsv, sep="\t")
        df["rule"], df["vod"], df["workload"] = tsv.parent.name, tsv.stem, workload
        frames.append(df)
    if not frames:
        log.warning("no benchmark files under %s/benchmarks", work)
        return pd.DataFrame(columns=["rule", "vod", "workload", "s", "cpu_time", "max_rss"])
    out = pd.concat(frames, ignore_index=True)
    out["max_rss"] = pd.to_numeric(out["max_rss"], errors="coerce")
    return out[["rule", "vod", "workload", "s", "cpu_time", "max_rss"]]


def snakemake(work: Path, table: Path, *targets: str) -> None:
    cmd = snakemake_command(work, *targets, "--config", f"vods={table}")
    log.info("running %s", " ".join(targets) or "all")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=work)
    if proc.returncode != 0:
        log.error("snakemake failed in %s:\n%s", work, (proc.stdout + proc.stderr)[-3000:])


def write_table(path: Path, rows) -> Path:
    path.write_text("\n".join(["vod_id\turl\tvideo\tchat\ttitle"] + ["\t".join(map(str, r)) for r in rows]) + "\n")
    return path


def run_demo(base: Path) -> pd.DataFrame:
    demo = ROOT / "data" / "demo"
    if not (demo / "demo.mp4").is_file():
        raise SystemExit("data/demo/demo.mp4 is missing (python -m devtools.demo --out data/demo)")
    work = base / "demo"
    work.mkdir()
    table = write_table(work / "vods.tsv", [("demo", "", demo / "demo.mp4", demo / "demo_chat.json", "demo")])
    snakemake(work, table)
    return collect(work, "demo (4 min)")


def run_large(base: Path, hours: float) -> pd.DataFrame:

    chat = SHARED / "chat" / "fuslie_4h.txt"
    if not chat.is_file():
        raise SystemExit(f"{chat} is missing")
    work = base / "large"
    work.mkdir()
    long_mp4 = work / "long.mp4"
    log.info("looping the demo video to %.1f h (stream copy)", hours)
    looped_demo(long_mp4, hours)
    table = write_table(
        work / "vods.tsv",
        [("chat4h", "", "", chat, "fuslie 4h chat"), ("video4h", "", long_mp4, "", "looped demo video")],
    )
    snakemake(
        work,
        table,
        "output/analysis/chat4h_integrated_analysis.json",
        "output/raw/waveforms/audio_video4h_waveform.json",
    )
    return collect(work, f"{hours:g} h")


def suggest(df: pd.DataFrame) -> pd.DataFrame:
    peak = df.groupby("rule").agg(max_rss=("max_rss", "max"), s=("s", "max"))
    peak["mem_mb"] = ((peak["max_rss"] * 1.5 + 100) / 100).apply(math.ceil) * 100
    peak["runtime_min"] = (peak["s"] * 3 / 60).apply(math.ceil).clip(lower=5)
    return peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--large", action="store_true")
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--collect", nargs="*", default=[], type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    frames = [collect(Path(d).resolve(), f"collected {Path(d).resolve().name}") for d in args.collect]
    with tempfile.TemporaryDirectory(prefix="klip-res-") as tmp:
        if args.demo:
            frames.append(run_demo(Path(tmp)))
        if args.large:
            frames.append(run_large(Path(tmp), args.hours))
    if not frames:
        parser.error("nothing to do: give --demo, --large and/or --collect DIR")
    df = pd.concat(frames, ignore_index=True)

    print("\n| rule | workload | VOD | wall (s) | CPU (s) | max_rss (MB) |")
    print("|---|---|---|---:|---:|---:|")
    for row in df.sort_values(["rule", "workload", "vod"]).itertuples(index=False):
        print(f"| {row.rule} | {row.workload} | {row.vod} | {row.s:.1f} | {row.cpu_time:.1f} | {row.max_rss:.0f} |")
    print("\n| rule | peak max_rss (MB) | longest wall (s) | suggested mem_mb | suggested runtime (min) |")
    print("|---|---:|---:|---:|---:|")
    for rule, row in suggest(df).iterrows():
        print(f"| {rule} | {row.max_rss:.0f} | {row.s:.1f} | {row.mem_mb:.0f} | {row.runtime_min:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
