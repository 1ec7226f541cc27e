"""klipstream's Snakemake logger plugin: found the way Snakemake finds logger plugins, and what it makes of a record."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

from klipstream import run_events
from tests.helpers.workflow import ROOT


def test_snakemakes_plugin_scan_finds_the_plugin_package():
    """A non-editable install (the Docker image) or the workflow folder on sys.path: plain `snakemake --logger
    klipstream` works, through Snakemake's own registry (a fresh interpreter, nothing registered by hand)."""
    probe = (
        "from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry as R; "
        "p = R().get_plugin('klipstream'); print(p.log_handler.__module__, p._logger_settings_cls.__name__)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["klipstream.run_events", "LogHandlerSettings"]


def test_records_become_events_and_others_are_dropped(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVEX_API_KEY", "dev:happy-otter-123|s3cr3tTok3nValue")
    handler = run_events.LogHandler(
        common_settings=None, settings=run_events.LogHandlerSettings(path=str(tmp_path / "e.jsonl"))
    )

    def record(msg, **extra):
        rec = logging.LogRecord("snakemake", logging.INFO, __file__, 1, msg, None, None)
        rec.__dict__.update(extra)
        return rec

    handler.emit(record("rule x", event="job_info", jobid=3, rule_name="chat_fetch", wildcards={"vod": 42}))
    handler.emit(record("Building DAG of jobs..."))  # no event: not written
    handler.emit(record("", event="job_error", jobid=3, rule_name="chat_fetch", wildcards={"vod": "42"}, log=["l.log"]))
    handler.emit(record(None, event="progress", done=1, total=5))
    handler.emit(
        record(
            'KlipError in file "rules/common.smk", line 54:\nbad key s3cr3tTok3nValue\n  File "x", line 1',
            event="error",
            exception="KlipError",
        )
    )
    handler.close()
    events = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert [{k: v for k, v in e.items() if k != "t"} for e in events] == [
        {"event": "job_info", "jobid": 3, "rule": "chat_fetch", "wildcards": {"vod": "42"}},
        {"event": "job_error", "jobid": 3, "rule": "chat_fetch", "log": ["l.log"], "wildcards": {"vod": "42"}},
        {"event": "progress", "done": 1, "total": 5},
        {"event": "error", "exception": "KlipError", "message": "bad key ***"},
    ]
    assert all(isinstance(e["t"], float) for e in events)
