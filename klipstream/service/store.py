"""The service's job store: one SQLite file, so queued and interrupted jobs survive a restart.

A job is one Snakemake run for one VOD. States: queued -> running -> completed | failed; a running job whose
server stopped (shutdown or crash) becomes interrupted, and is queued again to resume; any job not yet finished
can be cancelled. At most one job per VOD is
queued, running or interrupted at a time; a partial unique index makes that hold even between processes."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ACTIVE = ("queued", "running", "interrupted")
TERMINAL = ("completed", "failed", "cancelled")
_ACTIVE_SQL = "(" + ", ".join(f"'{state}'" for state in ACTIVE) + ")"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    vod_id TEXT NOT NULL,
    source TEXT NOT NULL,
    stage TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    steps_done INTEGER NOT NULL DEFAULT 0,
    steps_total INTEGER,
    running_rules TEXT NOT NULL DEFAULT '',
    error TEXT,
    returncode INTEGER,
    pid INTEGER,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_job_per_vod ON jobs (vod_id)
    WHERE state IN ('queued', 'running', 'interrupted');
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, created_at);
"""


class QueueFull(Exception):
    """The queue holds `max_queued` jobs already; the client should retry later."""

    def __init__(self, waiting: int):
        super().__init__(f"{waiting} jobs are waiting")
        self.waiting = waiting


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class JobStore:
    """Thread-safe access to the jobs table; every method is one short transaction."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")  # status reads never wait for the runner's writes
        self._db.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def submit(
        self, vod_id: str, source: str, stage: str, max_queued: int | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Queue a job for `vod_id` unless one is already active; returns (job, created). With `max_queued`,
        raises QueueFull instead of queueing a new job when that many wait already."""
        with self._tx() as db:
            active = db.execute(f"SELECT * FROM jobs WHERE vod_id = ? AND state IN {_ACTIVE_SQL}", (vod_id,)).fetchone()
            if active:
                return dict(active), False
            if max_queued is not None:
                waiting = db.execute("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'interrupted')").fetchone()[0]
                if waiting >= max_queued:
                    raise QueueFull(waiting)
            stamp = now()
            job_id = uuid.uuid4().hex
            db.execute(
                "INSERT INTO jobs (id, vod_id, source, stage, state, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, 'queued', ?, ?)",
                (job_id, vod_id, source, stage, stamp, stamp),
            )
            return dict(db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()), True

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return dict(row) if row else None

    def list(self, limit: int = 100, vod_id: str | None = None) -> list[dict[str, Any]]:
        where, args = ("WHERE vod_id = ?", (vod_id,)) if vod_id else ("", ())
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM jobs {where} ORDER BY created_at DESC LIMIT ?", (*args, limit)
            ).fetchall()
        return [dict(r) for r in rows]

    def has_report(self, vod_id: str) -> bool:
        """True when a job built the VOD's report: a completed job of a stage beyond raw."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM jobs WHERE vod_id = ? AND state = 'completed' AND stage != 'raw' LIMIT 1", (vod_id,)
            ).fetchone()
        return row is not None

    def count(self, state: str) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM jobs WHERE state = ?", (state,)).fetchone()[0]

    def claim_next(self) -> dict[str, Any] | None:
        """Move the oldest queued job to running (one more attempt) and return it."""
        with self._tx() as db:
            row = db.execute("SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at LIMIT 1").fetchone()
            if row is None:
                return None
            stamp = now()
            db.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?, updated_at = ?, "
                "error = NULL, returncode = NULL, steps_done = 0, steps_total = NULL, running_rules = '' "
                "WHERE id = ?",
                (stamp, stamp, row["id"]),
            )
            return dict(db.execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone())

    def update(self, job_id: str, **fields: Any) -> None:
        if not fields:
            return
        fields["updated_at"] = now()
        if fields.get("state") in TERMINAL:
            fields.setdefault("finished_at", fields["updated_at"])
        columns = ", ".join(f"{name} = ?" for name in fields)
        with self._tx() as db:
            db.execute(f"UPDATE jobs SET {columns} WHERE id = ?", (*fields.values(), job_id))

    def recover(self, resume: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """After a start: jobs left running by a stopped server become interrupted, and with `resume` every
        interrupted job is queued again. Returns (jobs that were left running, jobs queued again)."""
        with self._tx() as db:
            stale = [dict(r) for r in db.execute("SELECT * FROM jobs WHERE state = 'running'").fetchall()]
            db.execute("UPDATE jobs SET state = 'interrupted', updated_at = ? WHERE state = 'running'", (now(),))
            requeued = []
            if resume:
                requeued = [dict(r) for r in db.execute("SELECT * FROM jobs WHERE state = 'interrupted'").fetchall()]
                db.execute("UPDATE jobs SET state = 'queued', updated_at = ? WHERE state = 'interrupted'", (now(),))
        return stale, requeued

    def fail_unfinished(self, broken: Callable[[dict[str, Any]], bool], error: str) -> list[dict[str, Any]]:
        """Mark failed, with `error`, every queued, running or interrupted job for which `broken(job)` is true (a
        job an older version stored that this one cannot run); returns those jobs as they were."""
        with self._tx() as db:
            jobs = [dict(r) for r in db.execute(f"SELECT * FROM jobs WHERE state IN {_ACTIVE_SQL}").fetchall()]
            failed = [job for job in jobs if broken(job)]
            stamp = now()
            db.executemany(
                "UPDATE jobs SET state = 'failed', error = ?, pid = NULL, finished_at = ?, updated_at = ? WHERE id = ?",
                [(error, stamp, stamp, job["id"]) for job in failed],
            )
        return failed

    def cancel_if_waiting(self, job_id: str) -> str | None:
        """Cancel a queued or interrupted job at once; returns its state before (running ones are the runner's)."""
        with self._tx() as db:
            row = db.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row and row["state"] in ("queued", "interrupted"):
                stamp = now()
                db.execute(
                    "UPDATE jobs SET state = 'cancelled', error = 'cancelled by request', finished_at = ?, "
                    "updated_at = ? WHERE id = ?",
                    (stamp, stamp, job_id),
                )
            return row["state"] if row else None

    def requeue(self, job_id: str) -> str | None:
        """Queue an interrupted, failed or cancelled job again. Returns None when done, else why not."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return f"no job {job_id}"
            if row["state"] not in ("interrupted", "failed", "cancelled"):
                return f"job {job_id} is {row['state']}; only interrupted, failed or cancelled jobs resume"
            other = db.execute(
                f"SELECT id FROM jobs WHERE vod_id = ? AND id != ? AND state IN {_ACTIVE_SQL}", (row["vod_id"], job_id)
            ).fetchone()
            if other is not None:
                return f"VOD {row['vod_id']} already has job {other['id']}"
            db.execute(
                "UPDATE jobs SET state = 'queued', finished_at = NULL, updated_at = ? WHERE id = ?", (now(), job_id)
            )
            return None
