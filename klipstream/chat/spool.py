"""The spool every chat import goes through: converted comments on disk in arrival order, written sorted by offset
without repeated ids, so a 10-hour chat imports without ever being one parsed document."""

from __future__ import annotations

import hashlib
import tempfile
from array import array

import numpy as np
import orjson

from .io import ChatWriter

# Without a known VOD length, messages later than this are dropped at import (the longest Twitch VOD is 48 h).
MAX_CHAT_SECONDS = 48 * 3600.0


dumps = orjson.dumps  # several times faster than json.dumps for the spooled comments


class Spool:
    """Converted comments on disk in arrival order, then written sorted by offset without repeated ids.

    Memory holds 24 bytes per comment (offset, file position, a 64-bit hash of the id), so a 10-hour chat
    imports without ever being one parsed document."""

    def __init__(self):
        self._fh = tempfile.TemporaryFile()
        self._offsets, self._positions, self._id_hashes = array("d"), array("q"), array("q")

    def add(self, comment: dict) -> None:
        self._positions.append(self._fh.tell())
        self._fh.write(dumps(comment) + b"\n")
        self._offsets.append(comment["content_offset_seconds"])
        cid = comment["_id"]
        self._id_hashes.append(id_hash(cid) if cid else 0)  # 0: no id, never a duplicate

    def __len__(self) -> int:
        return len(self._positions)

    def write_to(self, writer: ChatWriter, last_second: float = MAX_CHAT_SECONDS) -> int:
        """Write the comments whose offset lies in [0, last_second]; returns how many fell outside."""
        offsets = np.frombuffer(self._offsets, dtype=np.float64) if len(self) else np.zeros(0)
        inside = np.isfinite(offsets) & (offsets >= 0) & (offsets <= last_second)
        in_order = bool(np.all(np.diff(offsets) >= 0))
        order = np.arange(len(self)) if in_order else np.argsort(offsets, kind="stable")
        # Dumps stitched from overlapping pages repeat ids: keep each id's first comment in offset order.
        hashes = (np.frombuffer(self._id_hashes, dtype=np.int64) if len(self) else np.zeros(0, np.int64))[order]
        keep = hashes == 0
        keep[np.unique(hashes, return_index=True)[1]] = True
        keep &= inside[order]
        self._fh.seek(0)
        for i in order[keep]:
            if not in_order:
                self._fh.seek(self._positions[i])
            elif self._fh.tell() != self._positions[i]:  # a dropped duplicate in between
                self._fh.seek(self._positions[i])
            writer.write_raw(self._fh.readline().decode().rstrip("\n"), float(offsets[i]))
        self._fh.close()
        return int((~inside).sum())


def id_hash(comment_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(comment_id.encode(), digest_size=8).digest(), "little", signed=True) or 1
