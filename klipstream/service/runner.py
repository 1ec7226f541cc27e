"""Runs the service's jobs: one Snakemake process per job, at most `max_jobs` at a time, progress from its job
events (klipstream's logger plugin writes them as JSON lines: klipstream.run_events), never from its log text.

Snakemake does the real work and the resuming: a job that comes back after a restart runs the same targets with
`--rerun-incomplete`, so finished files are kept and half-written ones are rebuilt."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
from collections import deque
from pathlib import Path

from .. import run_events, workflow
from ..errors import KlipError
from ..run_events import RunProgress
from .store import JobStore

log = logging.getLogger("klipstream.service")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: Snakemake gets SIGTERM if the server dies, so a crash never leaves an orphan run holding locks."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class JobRunner:
    """Claims queued jobs from the store and runs them; `stop()` interrupts running ones so they resume later."""

    def __init__(
        self,
        store: JobStore,
        *,
        workdir: Path,
        cores: int,
        max_jobs: int = 1,
        options: list[str] | None = None,
        config: list[str] | None = None,
        stop_grace: float = 30.0,
    ):
        self.store, self.workdir, self.cores, self.max_jobs = store, Path(workdir), cores, max_jobs
        self.options, self.config, self.stop_grace = list(options or []), list(config or []), stop_grace
        self.log_dir = self.workdir / "output" / "service" / "logs"
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task | None = None
        self._stopping = False
        self._cancelled: set[str] = set()

    def log_path(self, job_id: str) -> Path:
        return self.log_dir / f"{job_id}.log"

    def events_path(self, job_id: str) -> Path:
        """The job events of the job's current attempt (JSON lines from klipstream's Snakemake logger plugin)."""
        return self.log_dir / f"{job_id}.events.jsonl"

    def command(self, job: dict, *options: str) -> list[str]:
        return workflow.snakemake_command(
            job["vod_id"],
            job["stage"],
            self.cores,
            workdir=self.workdir,
            options=[*options, *self.options],
            config=self.config,
            events=self.events_path(job["id"]),
        )

    async def start(self, resume: bool = True) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        stale, requeued = self.store.recover(resume)
        for job in stale:
            await _stop_leftover(job.get("pid"), self.stop_grace)
            self.store.update(job["id"], pid=None)
            log.warning(
                "job %s (VOD %s) was running when the server stopped: %s",
                job["id"],
                job["vod_id"],
                "queued again to resume" if resume else "marked interrupted",
            )
        try:  # a lock left by a killed run (this server's or a `klipstream run`): cleared if nobody holds it
            if await asyncio.to_thread(workflow.clear_stale_lock, self.workdir, self.config, 10.0):
                log.warning("removed the Snakemake lock a stopped run left in %s", self.workdir)
        except KlipError as exc:
            log.warning("%s", exc)
        for job in requeued:  # the VOD's status (and Convex) would otherwise show the step it stopped in
            await self.report_vod(job["vod_id"], "Queued")
        self._dispatcher = asyncio.create_task(self._dispatch())

    def wake(self) -> None:
        self._wake.set()

    def cancel(self, job_id: str) -> bool:
        """SIGTERM a running job's Snakemake (it stops its rules and removes their half-written outputs)."""
        proc = self._procs.get(job_id)
        if proc is None:
            return False
        self._cancelled.add(job_id)
        _signal_group(proc.pid, signal.SIGTERM)
        return True

    async def stop(self) -> None:
        """Interrupt running jobs (SIGTERM to each Snakemake, SIGKILL after the grace period); they stay resumable."""
        self._stopping = True
        if self._dispatcher:
            self._dispatcher.cancel()
        for proc in self._procs.values():
            _signal_group(proc.pid, signal.SIGTERM)
        if self._tasks:
            _, late = await asyncio.wait(self._tasks.values(), timeout=self.stop_grace)
            for proc in self._procs.values():
                _signal_group(proc.pid, signal.SIGKILL)
            if late:
                await asyncio.wait(late, timeout=5)

    async def _dispatch(self) -> None:
        while True:
            while len(self._tasks) < self.max_jobs and (job := self.store.claim_next()):
                self._tasks[job["id"]] = asyncio.create_task(self._run(job))
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=2.0)

    async def _run(self, job: dict) -> None:
        job_id = job["id"]
        events = self.events_path(job_id)
        events.unlink(missing_ok=True)  # this attempt's events only
        cmd = self.command(job, "--rerun-incomplete", "--nocolor")
        progress, tail = RunProgress(), deque(maxlen=1)
        try:
            with open(self.log_path(job_id), "a", encoding="utf-8") as out:
                out.write(f"=== attempt {job['attempts']}: {' '.join(cmd[1:])}\n")
                out.flush()
                proc = await asyncio.create_subprocess_exec(
                    *cmd,
                    cwd=self.workdir,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                )
                self._procs[job_id] = proc
                self.store.update(job_id, pid=proc.pid)
                log.info("job %s: VOD %s attempt %d started (pid %d)", job_id, job["vod_id"], job["attempts"], proc.pid)
                copying = asyncio.create_task(_copy_output(proc.stdout, out, tail))
                exited = asyncio.create_task(proc.wait())
                await self._follow(job, events, progress, exited)
                await copying
                code = await exited
            await self._finish(job, code, progress, tail[0] if tail else "")
        except Exception as exc:  # noqa: BLE001 - a job the server cannot follow is a failed job, not a dead server
            log.exception("job %s could not run", job_id)
            if job_id in self._procs:  # never leave a Snakemake running that nobody follows
                _signal_group(self._procs[job_id].pid, signal.SIGTERM)
            error = f"{type(exc).__name__}: {exc}"
            await self.report_vod(job["vod_id"], "Failed", error)  # the VOD's status first, then the job's state
            self.store.update(job_id, state="failed", error=error, pid=None)
        finally:
            self._procs.pop(job_id, None)
            self._tasks.pop(job_id, None)
            self.wake()

    async def _follow(self, job: dict, events: Path, progress: RunProgress, exited: asyncio.Task) -> None:
        """Read the run's job events as the plugin appends them, until Snakemake has exited and all are read."""
        offset, logged = 0, -1
        while True:
            finished = exited.done()
            batch, offset = run_events.read(events, offset)
            if sum(progress.feed(event) for event in batch):
                self.store.update(job["id"], **progress.fields())
                if progress.done != logged and progress.total:  # one progress line per finished step
                    logged = progress.done
                    log.info(
                        "job %s: VOD %s %d/%d steps, running %s",
                        job["id"],
                        job["vod_id"],
                        progress.done,
                        progress.total,
                        progress.fields()["running_rules"] or "-",
                    )
            if finished:
                return
            await asyncio.wait({exited}, timeout=0.25)

    async def report_vod(self, vod: str, status: str, reason: str | None = None, stage: str | None = None) -> None:
        """Record the VOD's status (step "service"), in a thread: with CONVEX_URL set it is a network call."""
        from .. import status as status_store

        await asyncio.to_thread(
            status_store.report,
            vod,
            status,
            step="service",
            reason=reason,
            status_dir=status_dir(self.workdir, self.config),
            stage=stage,
        )

    async def _finish(self, job: dict, code: int, progress: RunProgress, last_line: str = "") -> None:
        """The job's final state, written after the VOD's status: a client that sees the job completed (or failed)
        finds the status already saying so."""
        job_id = job["id"]
        if job_id in self._cancelled:
            self._cancelled.discard(job_id)
            await self.report_vod(job["vod_id"], "Failed", "cancelled by request")
            self.store.update(
                job_id, state="cancelled", returncode=code, pid=None, running_rules="", error="cancelled by request"
            )
            log.info("job %s: VOD %s cancelled", job_id, job["vod_id"])
        elif self._stopping:
            self.store.update(job_id, state="interrupted", returncode=code, pid=None, running_rules="")
            log.info("job %s interrupted by shutdown; it resumes on the next start", job_id)
        elif code == 0:
            nothing = progress.nothing_to_do
            total = 0 if nothing else (progress.total or progress.done)
            # "Nothing to be done": no rule reports, so the VOD would stay Queued from the submission
            if nothing:
                await self.report_vod(job["vod_id"], "Completed", stage=None if job["stage"] == "all" else job["stage"])
            self.store.update(
                job_id, state="completed", returncode=0, pid=None, running_rules="", steps_done=total, steps_total=total
            )
            results = workflow.results_of(job["vod_id"], self.workdir, workflow.config_value(self.config, "status_dir"))
            log.info(
                "job %s: VOD %s completed%s; results in %s: %s",
                job_id,
                job["vod_id"],
                " (nothing to do: already up to date)" if nothing else "",
                self.workdir,
                ", ".join(map(str, results.values())),
            )
        else:
            error = failure_reason(self.workdir, self.config, job, progress, code, last_line)
            self.store.update(job_id, state="failed", returncode=code, pid=None, running_rules="", error=error)
            log.warning("job %s: VOD %s failed: %s", job_id, job["vod_id"], error)


async def _copy_output(stream: asyncio.StreamReader, out, last: deque) -> None:
    """Snakemake's output into the job log, as it comes; `last` keeps its last non-empty line (quoted when a run
    fails before any event said why)."""
    async for line in _lines(stream):
        out.write(line + "\n")
        out.flush()
        if line.strip():
            last.append(line.strip())


async def _lines(stream: asyncio.StreamReader, longest: int = 1 << 20):
    """Decoded lines of a process's output; unlike readline, a line of any length is fine (cut at `longest`)."""
    pending = b""
    while chunk := await stream.read(1 << 16):
        *lines, pending = (pending + chunk).split(b"\n")
        if len(pending) > longest:
            lines, pending = [*lines, pending], b""
        for raw in lines:
            yield raw.decode("utf-8", "replace").rstrip("\r")
    if pending:
        yield pending.decode("utf-8", "replace")


def status_dir(workdir: Path, config: list[str]) -> Path:
    """The workflow's status folder (config key status_dir), relative to the workdir."""
    return workdir / workflow.config_value(config, "status_dir")


def failure_reason(
    workdir: Path, config: list[str], job: dict, progress: RunProgress, code: int, last_line: str = ""
) -> str:
    """The one-line reason the failing rule recorded for the VOD during this attempt, else the failed rule (its
    job_error event), else the run's error event (a bad config, a workflow error), else Snakemake's last line."""
    from .. import status as status_store

    doc = status_store.read(job["vod_id"], status_dir(workdir, config)) or {}
    if doc.get("status") == "Failed" and doc.get("reason") and doc.get("updated_at", "") >= job["started_at"]:
        return f"{doc.get('step') or progress.failed_rule}: {doc['reason']}"
    if progress.failed_rule:
        return f"rule {progress.failed_rule} failed (see the job log)"
    return f"snakemake exited with code {code}: {(progress.error or last_line)[:300]}"


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal a job's process group (Snakemake and the rules it runs); gone already is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def _stop_leftover(pid: int | None, grace: float) -> None:
    """Wait for a crashed server's Snakemake to finish stopping (it got SIGTERM from _die_with_parent) before a
    new attempt unlocks the workdir; SIGKILL it after `grace` seconds."""
    if not pid or not workflow.is_snakemake(pid):
        return
    _signal_group(pid, signal.SIGTERM)
    deadline = asyncio.get_running_loop().time() + grace
    while workflow.is_snakemake(pid) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
    if workflow.is_snakemake(pid):
        _signal_group(pid, signal.SIGKILL)
