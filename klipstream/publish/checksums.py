"""Streamed MD5 + CRC32C of a file (the two checksums Cloud Storage keeps), in GCS's base64 form."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from typing import BinaryIO, Iterable

import google_crc32c

CHUNK = 1 << 20  # 1 MiB reads: constant memory whatever the file size


@dataclass(frozen=True)
class Checksums:
    size: int
    md5: str      # base64 of the 16-byte digest, as GCS's `md5Hash`
    crc32c: str   # base64 of the big-endian 4-byte value, as GCS's `crc32c`

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
        return Checksums(self.size, base64.b64encode(self._md5.digest()).decode("ascii"),
                         base64.b64encode(self._crc.digest()).decode("ascii"))


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
