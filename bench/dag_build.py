"""How long Snakemake takes to build klipstream's job graph for many VODs (a dry run; nothing is executed).

Writes a VOD table of N VODs (chat-only, or video + chat: the full 19-job DAG per VOD) whose files are tiny
placeholders (a dry run never reads them), then times `snakemake --dry-run --quiet rules` end to end (wall clock and
CPU seconds of the child: on a shared, loaded machine the CPU time is the repeatable number). The time of a 1-VOD
dry run is reported too: the difference is what the extra VODs cost (the rest is Python and Snakemake start-up).

    .venv/bin/python bench/dag_build.py                 # 100 VODs, both kinds, best of 3
    .venv/bin/python bench/dag_build.py --vods 500 --repeat 1
    .venv/bin/python bench/dag_build.py --noop .        # a no-op dry run where everything is built (`make demo`)
Targets (issues 8 and 19): <= 5 s for 100 VODs; <= 2 s for a no-op dry run.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers: the workflow command
from tests.helpers.workflow import snakemake_command  # noqa: E402

TARGET_SECONDS = 5.0
NOOP_TARGET_SECONDS = 2.0
log = logging.getLogger("dag_build")


def write_vods(work: Path, n: int, video: bool) -> Path:
    """A VOD table of `n` VODs with placeholder files (dry runs only check that they exist)."""
    (work / "in").mkdir(exist_ok=True)
    rows = ["vod_id\turl\tvideo\tchat\ttitle"]
    for i in range(n):
        chat = work / "in" / f"v{i:04d}_chat.json"
        chat.write_text('{"comments": []}')
        mp4 = ""
        if video:
            mp4 = work / "in" / f"v{i:04d}.mp4"
            mp4.write_bytes(b"")
        rows.append(f"v{i:04d}\t\t{mp4}\t{chat}\tbench {i}")
    table = work / f"vods_{n}_{'video' if video else 'chat'}.tsv"
    table.write_text("\n".join(rows) + "\n")
    return table


def dry_run(work: Path, table: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of one `snakemake --dry-run`, and the number of jobs it planned."""
    cmd = snakemake_command(
        work, "--dry-run", "--quiet", "rules", "--config", f"vods={table}", f"status_dir={work / 'status'}"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=work)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"dry run failed for {table}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    total = re.search(r"^total\s+(\d+)\s*$", proc.stdout + proc.stderr, re.M)
    return seconds, cpu, int(total.group(1)) if total else 0


def best_of(work: Path, table: Path, repeat: int) -> tuple[float, float, int]:
    runs = [dry_run(work, table) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2]


def noop(workdir: Path, repeat: int) -> int:
    """`snakemake --dry-run` where every output is up to date (the default targets, the workflow's own config)."""
    cmd = snakemake_command(workdir, "--dry-run")
    runs = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if "Nothing to be done" not in proc.stdout + proc.stderr:
            raise SystemExit(f"not a no-op in {workdir}: build it first\n{(proc.stdout + proc.stderr)[-2000:]}")
        runs.append((seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)))
    wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
    print(
        f"no-op dry run in {workdir}: best of {repeat}: {wall:.2f} s wall, {cpu:.2f} s CPU "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs); target <= {NOOP_TARGET_SECONDS:g} s: "
        f"{'met' if wall <= NOOP_TARGET_SECONDS else 'NOT met'}"
    )
    return 0 if wall <= NOOP_TARGET_SECONDS else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vods", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--noop", type=Path, metavar="WORKDIR", help="time a no-op dry run in this built work folder")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.noop:
        return noop(args.noop.resolve(), args.repeat)

    rows = []
    with tempfile.TemporaryDirectory(prefix="klip-dag-") as tmp:
        work = Path(tmp)
        for video in (False, True):
            kind = "video+chat" if video else "chat-only"
            base_wall, base_cpu, base_jobs = best_of(work, write_vods(work, 1, video), args.repeat)
            log.info("1 %s VOD: %.2f s wall, %.2f s CPU (%d jobs)", kind, base_wall, base_cpu, base_jobs)
            wall, cpu, jobs = best_of(work, write_vods(work, args.vods, video), args.repeat)
            log.info("%d %s VODs: %.2f s wall, %.2f s CPU (%d jobs)", args.vods, kind, wall, cpu, jobs)
            rows.append((kind, args.vods, jobs, wall, cpu, base_wall, base_cpu))

    load = os.getloadavg()[0]
    print(f"\nload average during the run: {load:.1f} on {os.cpu_count()} CPUs")
    print("| VODs | kind | jobs | dry run wall (s) | dry run CPU (s) | 1-VOD wall / CPU (s) | CPU per extra job (ms) |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    ok = True
    for kind, n, jobs, wall, cpu, base_wall, base_cpu in rows:
        ok &= wall <= TARGET_SECONDS
        per_job = 1000 * (cpu - base_cpu) / max(jobs - 1, 1)
        print(f"| {n} | {kind} | {jobs} | {wall:.2f} | {cpu:.2f} | {base_wall:.2f} / {base_cpu:.2f} | {per_job:.1f} |")
    print(f"target <= {TARGET_SECONDS:g} s wall for {args.vods} VODs: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
