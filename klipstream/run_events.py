"""Snakemake's job events as structured records: klipstream's logger plugin (Snakemake 9's logger-plugin interface,
`snakemake-interface-logger-plugins`) and the reader of what it writes.

Snakemake logs each job's start, finish and error, the run's size and its progress as log records carrying an
`event` (and fields: jobid, rule name, wildcards, ...); the plugin turns those records into JSON lines appended to a
file, one event a line, flushed as each happens, in the process that controls the run (so it sees every job on any
executor). `klipstream run`, the HTTP service and the tests read that file instead of Snakemake's log text.

Enabled with `--logger klipstream --logger-klipstream-path FILE` on Snakemake's command line. Snakemake finds logger
plugins as installed top-level packages named `snakemake_logger_plugin_*`: `snakemake_logger_plugin_klipstream` (beside
this package) is one, and `python -m klipstream.snakemake_cli` registers it even where the install is editable (which
Snakemake's plugin scan does not see).

Events (`event` key, plus `t`, seconds since the epoch):
- `run_info`: `total` jobs to run and `jobs` (rule -> count); not sent when nothing is to be done;
- `job_info`: a job is about to run: `jobid`, `rule`, `wildcards`;
- `job_started`: `jobids` handed to the executor;
- `job_finished`: `jobid`;
- `job_error`: `jobid`, `rule`, `wildcards`, `log` (the rule's log files);
- `progress`: `done` of `total` jobs;
- `error`: the run failed outside a job (a bad config, a workflow error): `exception`, `message` (first line, redacted).
"""

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase

PLUGIN = "klipstream"
PLUGIN_MODULE = "snakemake_logger_plugin_klipstream"
TERMINAL_RULES = ("all",)  # the target rule: not a step of its own


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    # Optional[...], not `str | None`: Snakemake builds its CLI option from the type (no postponed annotations here)
    path: Optional[str] = field(  # noqa: UP045
        default=None,
        metadata={"help": "File the job events are appended to, one JSON object a line.", "env_var": False},
    )


def _names(files: Any) -> list[str]:
    return [str(f) for f in files or ()]


def to_event(record: Any) -> dict[str, Any] | None:
    """The event a Snakemake log record carries, as a JSON-ready dict; None for records without one we keep."""
    kind = str(getattr(record, "event", "") or "")
    get = lambda name, default=None: getattr(record, name, default)  # noqa: E731
    if kind == "job_info":
        out = {"jobid": get("jobid"), "rule": get("rule_name")}
    elif kind == "job_started":
        out = {"jobids": list(get("jobs") or [])}
    elif kind == "job_finished":
        out = {"jobid": get("job_id")}
    elif kind == "job_error":
        out = {"jobid": get("jobid"), "rule": get("rule_name"), "log": _names(get("log"))}
    elif kind == "progress":
        out = {"done": get("done"), "total": get("total")}
    elif kind == "run_info":
        stats = dict(get("stats") or {})
        total = stats.pop("total", None)
        out = {"total": total if total is not None else sum(stats.values()), "jobs": stats}
    elif kind == "error":
        from .settings import redact

        # "KlipError in file ..., line N:" then the message, then the traceback's "  File ..." lines
        lines = [line for line in (record.getMessage() or "").strip().splitlines() if line.strip()]
        if len(lines) > 1 and " in file " in lines[0] and not lines[1].startswith("  "):
            lines = lines[1:]
        out = {"exception": get("exception"), "message": redact(lines[0] if lines else "")[:500]}
    else:
        return None
    if kind in ("job_info", "job_error"):
        out["wildcards"] = {str(k): str(v) for k, v in dict(get("wildcards") or {}).items()}
    return {"event": kind, "t": round(record.created, 3), **out}


class LogHandler(LogHandlerBase):
    """Appends one JSON line per job event to `--logger-klipstream-path` (nothing without a path)."""

    def __post_init__(self) -> None:
        path = getattr(self.settings, "path", None)
        self._lock = threading.Lock()
        self._fh = None
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the run, closed by close()

    def emit(self, record: Any) -> None:
        if self._fh is None:
            return
        try:
            event = to_event(record)
            if event is None:
                return
            line = json.dumps(event, default=str)
            with self._lock:
                self._fh.write(line + "\n")
                self._fh.flush()
        except Exception:  # noqa: BLE001 - a logging handler never raises into the run
            self.handleError(record)

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
        super().close()

    @property
    def writes_to_stream(self) -> bool:
        return False

    @property
    def writes_to_file(self) -> bool:
        return False  # not Snakemake's log file: its own events file

    @property
    def has_filter(self) -> bool:
        return True  # every event, whatever --quiet hides from the terminal

    @property
    def has_formatter(self) -> bool:
        return True

    @property
    def needs_rulegraph(self) -> bool:
        return False


def logger_args(path: str | os.PathLike) -> list[str]:
    """Snakemake options that write the job events of a run to `path`."""
    return ["--logger", PLUGIN, "--logger-klipstream-path", str(path)]


def read(path: str | os.PathLike, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The complete event lines of `path` from byte `offset`, and the offset after them (a line still being
    written is left for the next read)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    events = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
    return events, offset + end


def iter_events(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    yield from read(path)[0]


@dataclass
class RunProgress:
    """What a run's events say so far: steps done of total, the rules running, the rule that failed, the error."""

    done: int = 0
    total: int | None = None
    running: dict[int, str] = field(default_factory=dict)  # jobid -> rule
    rules: dict[int, str] = field(default_factory=dict)  # jobid -> rule, every job seen
    started: set[int] = field(default_factory=set)  # jobids handed to the executor
    planned: dict[str, int] = field(default_factory=dict)  # rule -> jobs, from run_info
    failed_rule: str | None = None
    error: str | None = None
    started_at: float = field(default_factory=time.time)

    def feed(self, event: dict[str, Any]) -> bool:
        """Take one event; True when what a client sees (steps, running rules, failure) changed."""
        kind = event.get("event")
        if kind == "run_info":
            self.total = int(event["total"])
            self.planned = {rule: n for rule, n in event.get("jobs", {}).items() if rule not in TERMINAL_RULES}
        elif kind == "job_info":  # Snakemake sends it right after the job_started of that job (or alone: a dry run)
            jobid = event["jobid"]
            self.rules[jobid] = event["rule"]
            if jobid not in self.started or event["rule"] in TERMINAL_RULES:
                return False
            self.running[jobid] = event["rule"]
        elif kind == "job_started":
            for jobid in event["jobids"]:
                self.started.add(jobid)
                if self.rules.get(jobid) not in (None, *TERMINAL_RULES):
                    self.running[jobid] = self.rules[jobid]
        elif kind == "job_finished":
            self.running.pop(event["jobid"], None)
            self.started.discard(event["jobid"])
        elif kind == "job_error":
            self.running.pop(event["jobid"], None)
            self.failed_rule = self.failed_rule or event.get("rule")
        elif kind == "progress":
            self.done, self.total = int(event["done"]), int(event["total"])
        elif kind == "error":
            self.error = event.get("message") or event.get("exception")
        else:
            return False
        return True

    @property
    def nothing_to_do(self) -> bool:
        """A finished run that planned no job (Snakemake sends no run_info then)."""
        return self.total in (None, 0) and not self.rules

    def fields(self) -> dict[str, Any]:
        return {
            "steps_done": self.done,
            "steps_total": self.total,
            "running_rules": ",".join(sorted(set(self.running.values()))),
        }
