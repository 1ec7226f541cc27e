"""A failed job keeps the previous good output. Snakemake deletes a job's existing outputs before it runs the job
(and again when it fails), so the process that controls the run keeps hard-linked copies of them before any job
starts (the workflow's `onstart`), puts back every copy whose output is missing when the run fails (`onerror`:
the jobs that failed; the ones that succeeded have their new output) and drops the copies when it succeeds. A run
killed before it could do either leaves its copies under its own pid; the next run in that folder puts them back
first. Hard links cost no space and no time (an output is always replaced by a rename, never written in place);
where a file cannot be linked (another file system) it is not kept, and the log says so."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from .io import HOST, pid_alive

log = logging.getLogger(__name__)

KEEP_DIR = ".snakemake/klipstream-kept"
MANIFEST = "kept.json"


def _link_tree(src: Path, dst: Path) -> None:
    if src.is_dir():
        dst.mkdir(parents=True, exist_ok=True)
        for entry in src.iterdir():
            _link_tree(entry, dst / entry.name)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.link(src, dst)


def keep(paths: Iterable[str], workdir: str | os.PathLike = ".") -> Path | None:
    """Hard-link the existing `paths` (files or folders, relative to `workdir`) into a folder of this run and
    return it (None when none exists). Absolute paths and paths leaving `workdir` are not kept."""
    workdir = Path(workdir)
    kept: list[str] = []
    folder = workdir / KEEP_DIR / f"{HOST}-{os.getpid()}-{time.time_ns()}"
    for rel in dict.fromkeys(str(p) for p in paths):
        if os.path.isabs(rel) or ".." in Path(rel).parts or not (workdir / rel).exists():
            continue
        try:
            _link_tree(workdir / rel, folder / "files" / rel)
        except OSError as exc:
            partial = folder / "files" / rel
            shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink(missing_ok=True)
            log.warning("the previous %s is not kept while it is rebuilt: %s", rel, exc)
            continue
        kept.append(rel)
    if not kept:
        return None
    (folder / MANIFEST).write_text(json.dumps(kept), encoding="utf-8")
    return folder


def restore(folder: str | os.PathLike | None, workdir: str | os.PathLike = ".") -> list[str]:
    """Put back every kept output that is missing now (its job failed or never finished), then drop the folder.
    Returns the paths put back."""
    if folder is None or not Path(folder).is_dir():
        return []
    folder, workdir, back = Path(folder), Path(workdir), []
    try:
        kept = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kept = []
    for rel in kept:
        src, dst = folder / "files" / rel, workdir / rel
        if src.exists() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
            back.append(rel)
    if back:
        log.warning("kept the previous %s (the jobs that rebuild them did not finish)", ", ".join(back))
    discard(folder)
    return back


def discard(folder: str | os.PathLike | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def recover_stale(workdir: str | os.PathLike = ".") -> list[str]:
    """Put back what runs on this host that are gone (kill -9, a crash) kept and never restored."""
    root, back = Path(workdir) / KEEP_DIR, []
    if not root.is_dir():
        return back
    for folder in sorted(root.iterdir()):
        host, _, rest = folder.name.rpartition("-")[0].rpartition("-")
        pid = rest if rest.isdigit() else ""
        if host == HOST and pid and int(pid) != os.getpid() and not pid_alive(int(pid)):
            back += restore(folder, workdir)
    return back
