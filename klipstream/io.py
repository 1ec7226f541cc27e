"""Atomic file output: every target is written to a temp file beside it and renamed into place,
so a failed or killed job never leaves a half-written file that looks finished."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates files readable by the owner only; published outputs get the usual mode instead.
FILE_MODE = 0o666 & ~_umask()


# A temp sibling's name says who writes it: `.{name}.{pid}@{host}.{random}`. A job killed with kill -9 cannot delete
# its temp file or folder (a 10-hour WAV is gigabytes), so the next write of the same target removes the siblings
# whose writer is gone: this host's with a dead pid; another host's (a cluster on a shared disk), and untagged ones
# left by older versions, once untouched for a while.
HOST = (socket.gethostname().split(".")[0] or "localhost").replace("@", "_")
_TAG = re.compile(r"(\d+)@([^.]+)\.")
STALE_OTHER_HOST_SECONDS = 7 * 24 * 3600
STALE_UNTAGGED_SECONDS = 3600


def temp_prefix(dst: str | os.PathLike) -> str:
    """The name prefix of this process's temp siblings of `dst`."""
    return f".{Path(dst).name}.{os.getpid()}@{HOST}."


def pid_alive(pid: int) -> bool:
    """Whether process `pid` of this host still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_stale_temps(dst: str | os.PathLike) -> list[Path]:
    """Remove the temp siblings of `dst` (`.{name}.*` in its folder) whose writer is gone; returns them."""
    dst = Path(dst)
    prefix, removed, now = f".{dst.name}.", [], time.time()
    try:
        entries = [e for e in os.scandir(dst.parent) if e.name.startswith(prefix)]
    except FileNotFoundError:
        return removed
    for entry in entries:
        tag = _TAG.match(entry.name, len(prefix))
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except FileNotFoundError:
            continue
        if tag:
            stale = not pid_alive(int(tag.group(1))) if tag.group(2) == HOST else age > STALE_OTHER_HOST_SECONDS
        else:  # an older version's, or another target's whose name starts like this one's (`x` and `x.y`)
            stale = not _TAG.search(entry.name) and age > STALE_UNTAGGED_SECONDS
        if stale:
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_path(dst: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temp path in dst's folder; on success rename it over dst, on error delete it.

    The temp name keeps dst's extension (tools like ffmpeg pick the format from it)."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(dst)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(dst), suffix=suffix or dst.suffix or ".tmp", dir=dst.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.is_file():
            os.chmod(tmp_path, FILE_MODE)
        os.replace(tmp_path, dst)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(dst: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temp folder beside dst; on success it replaces dst (and whatever dst held) as a whole,
    on error it is deleted: a folder target (clips) is either the previous one or complete."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(dst)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(dst), dir=dst.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; output folders are meant to be shared
        if dst.exists():
            shutil.rmtree(dst)
        os.replace(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_open(dst: str | os.PathLike, mode: str = "w", **kwargs: Any):
    """Open a temp file for writing that replaces dst only when the block succeeds."""
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
        kwargs.setdefault("newline", "")
    with atomic_path(dst) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh


def file_sha256(path: str | os.PathLike, block: int = 1 << 20) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (a 10-hour WAV is never in memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


def write_json(dst: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    with atomic_open(dst) as fh:
        json.dump(obj, fh, indent=indent, ensure_ascii=False, allow_nan=False)
        fh.write("\n")


def read_json(src: str | os.PathLike) -> Any:
    with open(src, encoding="utf-8") as fh:
        return json.load(fh)


def write_csv(dst: str | os.PathLike, frame, float_format: str = "%.6g") -> None:
    """Write a pandas DataFrame as CSV (no index) atomically."""
    with atomic_open(dst) as fh:
        frame.to_csv(fh, index=False, float_format=float_format, lineterminator="\n")


def read_table(path: str | os.PathLike | None, what: str, required=(), **read_csv_kwargs):
    """Read a CSV that a stage depends on. A missing file, a file without a header, or missing `required`
    columns is a one-line KlipError naming `what` and the file."""
    import pandas as pd

    from .errors import KlipError

    if path is None:
        raise KlipError(f"{what}: no file given")
    try:
        frame = pd.read_csv(path, **read_csv_kwargs)
    except FileNotFoundError:
        raise KlipError(f"{what} not found: {path}") from None
    except pd.errors.EmptyDataError:
        raise KlipError(f"{what} is empty (no header): {path}") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise KlipError(f"{what} {path} lacks column(s) {', '.join(missing)}")
    return frame
