"""Streamed MD5 + CRC32C of a file (the two checksums Cloud Storage keeps), in GCS's base64 form."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

import google_crc32c

CHUNK = 1 << 20  # 1 MiB reads: constant memory whatever the file size


@dataclass(frozen=True)
class Checksums:
    size: int
    md5: str  # base64 of the 16-byte digest, as GCS's `md5Hash`
    crc32c: str  # base64 of the big-endian 4-byte value, as GCS's `crc32c`

    @property
    def md5_hex(self) -> str:
        return base64.b64decode(self.md5).hex()


class Hasher:
    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._crc = google_crc32c.Checksum()
        self.size = 0

    def update(self, data: bytes) -> None:
        self._md5.update(data)
        self._crc.update(data)
        self.size += len(data)

    def result(self) -> Checksums:
        return Checksums(
            self.size,
            base64.b64encode(self._md5.digest()).decode("ascii"),
            base64.b64encode(self._crc.digest()).decode("ascii"),
        )


def iter_chunks(fh: BinaryIO, chunk: int = CHUNK) -> Iterable[bytes]:
    while True:
        data = fh.read(chunk)
        if not data:
            return
        yield data


def file_checksums(path: str | os.PathLike) -> Checksums:
    hasher = Hasher()
    with open(path, "rb") as fh:
        for data in iter_chunks(fh):
            hasher.update(data)
    return hasher.result()


def matches(local: Checksums, size: int | None, md5: str | None, crc32c: str | None) -> bool:
    """True when a stored object is byte-identical to `local`: same size and every checksum it has agrees
    (composite GCS objects have no MD5, so CRC32C alone may decide; an object with neither never matches)."""
    if size is None or int(size) != local.size or not (md5 or crc32c):
        return False
    return (md5 is None or md5 == local.md5) and (crc32c is None or crc32c == local.crc32c)


class Progress:
    """Logs `label: N% (x of y MB)` at most every `every_s` seconds (and at 100%) as bytes go through."""

    def __init__(self, label: str, total: int, log: logging.Logger, every_s: float = 10.0):
        self.label, self.total, self.log, self.every_s = label, max(1, total), log, every_s
        self.done = 0
        self._t0 = self._last = time.monotonic()

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.every_s or self.done >= self.total:
            self._last = now
            rate = self.done / 1e6 / max(now - self._t0, 1e-6)
            self.log.info(
                "%s: %3.0f%% (%.0f of %.0f MB, %.1f MB/s)",
                self.label,
                100 * min(1.0, self.done / self.total),
                self.done / 1e6,
                self.total / 1e6,
                rate,
            )


class ProgressReader:
    """A binary file wrapper that reports bytes read to a Progress (for the storage library's chunked reads)."""

    def __init__(self, fh: BinaryIO, progress: Progress):
        self._fh, self._progress = fh, progress

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self._progress.add(len(data))
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        pos = self._fh.seek(offset, whence)
        if whence == os.SEEK_SET:  # a resumed/retried session re-reads from here
            self._progress.done = pos
        return pos

    def tell(self) -> int:
        return self._fh.tell()

    def __getattr__(self, name: str):
        return getattr(self._fh, name)
