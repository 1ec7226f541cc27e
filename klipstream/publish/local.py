"""Embedded default store: a local folder laid out like the buckets, `{root}/{bucket}/{vod}/{filename}`."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import quote

from ..io import atomic_path
from .checksums import CHUNK, Checksums, Hasher, Progress, file_checksums, iter_chunks, matches

log = logging.getLogger(__name__)
BIG = 64 * 1024 * 1024  # progress lines for copies larger than this


class ChecksumMismatch(Exception):
    """Stored bytes differ from the source (the source changed, or the write was corrupted): retried."""


class LocalStore:
    backend = "local"

    def __init__(self, root: str | os.PathLike, public_base_url: str = ""):
        self.root = Path(root).resolve()
        self.public_base_url = public_base_url.rstrip("/")

    def describe(self) -> str:
        return f"local folder {self.root}"

    def prepare(self, buckets: set[str]) -> None:
        for bucket in buckets:
            (self.root / bucket).mkdir(parents=True, exist_ok=True)

    def url_for(self, bucket: str, name: str) -> str:
        if self.public_base_url:  # e.g. the folder served over HTTP: then the URLs are worth pushing
            return f"{self.public_base_url}/{quote(bucket)}/{quote(name)}"
        return (self.root / bucket / name).as_uri()

    def uri_for(self, bucket: str, name: str) -> str:
        return (self.root / bucket / name).as_uri()

    def list_names(self, bucket: str, prefix: str) -> list[str]:
        """Names of the stored objects under `prefix` (a folder, ending in "/"); hidden temp files are not objects."""
        top = self.root / bucket / prefix
        names = []
        for folder, _, files in os.walk(top):  # does not follow symlinked folders out of the prefix
            for file in files:
                if not file.startswith("."):
                    names.append((Path(folder) / file).relative_to(self.root / bucket).as_posix())
        return sorted(names)

    def delete(self, bucket: str, name: str) -> None:
        (self.root / bucket / name).unlink(missing_ok=True)

    def publish(self, bucket: str, name: str, path: str | os.PathLike, content_type: str, local: Checksums) -> str:
        """Copy `path` to the bucket folder unless an identical copy is there; return "uploaded" or "skipped"."""
        dst = self.root / bucket / name
        if dst.is_file() and dst.stat().st_size == local.size:
            have = file_checksums(dst)
            if matches(local, have.size, have.md5, have.crc32c):
                return "skipped"
        with atomic_path(dst) as tmp:
            read = Hasher()
            progress = Progress(f"copy {bucket}/{name}", local.size, log) if local.size > BIG else None
            with open(path, "rb") as src, open(tmp, "wb") as out:
                for data in iter_chunks(src, CHUNK * 4):
                    read.update(data)
                    out.write(data)
                    if progress:
                        progress.add(len(data))
                out.flush()
                os.fsync(out.fileno())
            got = read.result()
            written = file_checksums(tmp)  # verify what landed on disk, not what we meant to write
            if got != local or written != local:
                raise ChecksumMismatch(f"{name}: copied bytes do not match the source checksums")
        return "uploaded"
