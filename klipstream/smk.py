"""Glue for the thin scripts under scripts/: logging to the rule's log file, status reports, one-line errors."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from pathlib import Path

from . import status as status_store
from .errors import KlipError

log = logging.getLogger("klipstream")


def setup_logging(log_file: str | None = None, level: int = logging.INFO) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=level, handlers=handlers, force=True, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from .settings import install_redaction

    install_redaction()  # secrets never reach a log file, whichever library logs them


def job_cost() -> str:
    """CPU seconds of this job's process since it started (interpreter, imports, work) and of the children it waited
    for (ffmpeg, worker processes), and its peak RSS: what a benchmark reads from the log (Snakemake's own benchmark
    files sample the CPU time every 30 s after a job's first 15 s)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_own, cpu_kids = own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime
    return (
        f"job CPU {cpu_own + cpu_kids:.2f} s (process {cpu_own:.2f} s, children {cpu_kids:.2f} s), "
        f"peak RSS {max(own.ru_maxrss, kids.ru_maxrss) / 1024:.0f} MB"
    )


@contextlib.contextmanager
def job(smk, status: str | None = None):
    """Run a rule's body: log to `smk.log[0]`, report `status` for the VOD, and on error report
    Failed with the rule name and a one-line reason, then exit non-zero without a traceback on stderr."""
    setup_logging(smk.log[0] if len(smk.log) else None)
    # Binaries dropped into the workflow's bin/ (e.g. TwitchDownloaderCLI) win over system ones.
    workflow_bin = Path(smk.scriptdir).parent / "bin"
    os.environ["PATH"] = os.pathsep.join([str(workflow_bin), os.environ.get("PATH", "")])
    vod = dict(smk.wildcards.items()).get("vod")
    status_dir = smk.config.get("status_dir", status_store.DEFAULT_DIR)
    if vod and status:
        _report(vod, status, step=smk.rule, status_dir=status_dir, convex=smk.config)
    try:
        yield smk.config
        log.info("%s done: %s", smk.rule, job_cost())
    except Exception as exc:  # noqa: BLE001 - every failure is reported, then re-raised as an exit code
        reason = str(exc) if isinstance(exc, KlipError) else f"{type(exc).__name__}: {exc}"
        reason = " ".join(reason.split())
        if not isinstance(exc, KlipError):  # a bug, not bad input: keep the traceback in the job log
            log.error("%s", traceback.format_exc())
        log.error("%s failed for %s: %s", smk.rule, vod or "-", reason)  # first: nothing below can hide it
        if vod:
            _report(vod, "Failed", step=smk.rule, reason=reason, status_dir=status_dir, convex=smk.config)
        sys.exit(1)


def _report(vod: str, status: str, **kwargs) -> None:
    """Report a status; trouble doing so is logged, never raised: it must neither stop a job nor hide its error."""
    try:
        status_store.report(vod, status, **kwargs)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not report %s for %s: %s", status, vod, " ".join(f"{type(exc).__name__}: {exc}".split()))
