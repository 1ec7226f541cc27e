"""Download a VOD's chat from Twitch's GQL comments API, the way TwitchDownloader does.

What TwitchDownloader (TwitchDownloaderCore/ChatDownloader.cs) does today, and we copy:
- POST `https://gql.twitch.tv/gql` with the persisted query `VideoCommentsByOffsetOrCursor`
  (sha256 `b70a3591...adf6a`) and the public Client-ID `kd1unb4b3q4t58fwlpcbzcbnm76a8fp`. In May 2023
  Twitch began answering the web client id (`kimne78...`) with "failed integrity check"; this id is the
  one TwitchDownloader, chat-downloader and twitch-dl switched to.
- Split `[start, end]` into time ranges fetched in parallel; each range starts with an offset request
  (`contentOffsetSeconds`) and then follows the page cursor; results are sorted and de-duplicated by id.
If Twitch refuses cursor requests with an integrity error, we keep going with offset-only paging
(request the offset of the last comment seen, drop the repeats by id); if it refuses offset requests too,
we stop with a one-line error suggesting the TwitchDownloaderCLI backend.

Every page goes straight to a per-range temp file; the final file is a streamed merge of those, so
memory does not grow with the size of the chat.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import orjson

from .. import config as _config
from ..chat.io import ChatWriter
from ..errors import KlipError
from ..io import read_json
from . import downloader_cli
from .comments import convert_node, fetch_page_raw
from .endpoints import GQL_URL
from .errors import TwitchRefused
from .gql import CLI_HINT, CLIENT_ID, GqlClient, fetch_video_info
from .ids import parse_vod_id

# this module's settings defaults: the config schema's `chat` section, where they are written once
_CHAT = _config.default("chat")

log = logging.getLogger(__name__)


def _encode(obj: Any) -> str:
    return orjson.dumps(obj).decode()  # about 2x faster than the stdlib


# ------------------------------------------------------------------ ranges


class _Progress:
    def __init__(self, vod_id: str, total: float):
        self.vod_id, self.total, self.lock = vod_id, max(total, 1.0), threading.Lock()
        self.done: dict[int, float] = {}
        self.messages = 0
        self.next_report = 5
        self.start = time.monotonic()

    def update(self, rid: int, covered: float, new: int) -> None:
        with self.lock:
            self.done[rid] = covered
            self.messages += new
            pct = min(100.0, 100.0 * sum(self.done.values()) / self.total)
            if pct >= self.next_report:
                log.info(
                    "Fetching chat for VOD %s: %3.0f%% (%d messages, %.0f s)",
                    self.vod_id,
                    pct,
                    self.messages,
                    time.monotonic() - self.start,
                )
                self.next_report = (int(pct) // 5 + 1) * 5


class _RangeSink:
    """Converts, filters and writes one range's pages. It runs on the single writer thread, so a range's
    pages are handled in the order they were fetched while its worker already waits for the next one."""

    def __init__(self, vod_id: str, rid: int, start: float, end: float, is_last: bool, out: Path, progress: _Progress):
        self.vod_id, self.rid, self.start, self.end, self.is_last = vod_id, rid, start, end, is_last
        self.progress = progress
        self.fh = open(out, "w", encoding="utf-8")
        self.newest = -math.inf
        self.ids_at_newest: set[str] = set()  # ids already written at the newest offset: overlap between pages
        self.written = 0
        self.error: BaseException | None = None

    def add(self, video: dict, edges: list[dict]) -> None:
        if self.error is not None:
            return
        try:
            new = 0
            for e in edges:
                c = convert_node(e.get("node") or {}, video, self.vod_id)
                if c is None:
                    continue
                t = c["content_offset_seconds"]
                if t < self.start or t < self.newest:
                    continue
                if t >= self.end and not self.is_last:
                    break
                if t > self.newest:
                    self.newest, self.ids_at_newest = t, set()
                elif c["_id"] in self.ids_at_newest:
                    continue
                self.ids_at_newest.add(c["_id"])
                self.fh.write(f"{t!r}\t{c['_id'].replace(chr(9), ' ')}\t{_encode(c)}\n")
                new += 1
            self.written += new
            covered = (min(self.newest, self.end) - self.start) if self.newest > -math.inf else 0.0
            self.progress.update(self.rid, covered, new)
        except BaseException as exc:  # reported by close(), on the worker's thread
            self.error = exc

    def close(self) -> int:
        self.fh.close()
        if self.error is not None:
            raise self.error
        self.progress.update(self.rid, min(self.end, self.start + self.progress.total) - self.start, 0)
        return self.written


def _fetch_range(
    client: GqlClient,
    vod_id: str,
    start: float,
    end: float,
    is_last: bool,
    sink: _RangeSink,
    writer: ThreadPoolExecutor,
    slots: threading.Semaphore,
    paging: str,
    stop: threading.Event,
) -> int:
    """Fetch the pages covering [start, end) (to the end of chat if is_last) and hand them to `sink`."""
    offset = int(math.floor(start))
    cursor: str | None = None
    mode = "offset" if paging == "offset" else "cursor"
    seen = -math.inf
    try:
        while not stop.is_set():
            try:
                video, edges, last_cursor, has_next = fetch_page_raw(
                    client, vod_id, offset=None if cursor else offset, cursor=cursor
                )
            except TwitchRefused as exc:
                if cursor is not None and paging == "auto":
                    if mode == "cursor":
                        log.warning(
                            "VOD %s: Twitch refused cursor paging (%s); continuing with offset paging", vod_id, exc
                        )
                    mode, cursor = "offset", None
                    if seen > -math.inf:
                        offset = int(math.floor(seen))
                    continue
                raise TwitchRefused(f"Twitch refused the chat request for VOD {vod_id} ({exc}); {CLI_HINT}") from exc
            last_t = float((edges[-1].get("node") or {}).get("contentOffsetSeconds") or 0) if edges else seen
            slots.acquire()  # bounded queue of pages waiting for the writer: memory stays flat
            writer.submit(sink.add, video, edges).add_done_callback(lambda _f: slots.release())
            if not has_next or not edges or (last_t >= end and not is_last):
                break
            seen = max(seen, last_t)
            if mode == "cursor":
                cursor = last_cursor
            else:
                nxt = int(math.floor(last_t))
                if nxt <= offset:
                    # A whole page inside one second: offset paging cannot see past it.
                    log.warning(
                        "VOD %s: more than one page of chat at %d s; offset paging may miss some of it", vod_id, offset
                    )
                    nxt = offset + 1
                offset = nxt
    finally:
        closed = writer.submit(sink.close)
    return closed.result()


def _merge(parts: list[Path]) -> Iterator[tuple[float, str]]:
    """(offset, comment JSON) over the per-range files in range order. Each file is sorted (a range
    writes only offsets >= the newest it has written) and the ranges are disjoint and ordered, so the
    concatenation is sorted; ids repeated at the same offset are dropped. Lines are `offset<TAB>id<TAB>json`,
    so merging never re-parses the JSON."""
    last_t, ids = -math.inf, set()
    for p in parts:
        with open(p, encoding="utf-8") as fh:
            for line in fh:
                ts, cid, raw = line.split("\t", 2)
                t = float(ts)
                if t < last_t:
                    raise KlipError(f"chat pages arrived out of order at {t} s ({p.name}); please report this")
                if t != last_t:
                    last_t, ids = t, set()
                elif cid in ids:
                    continue
                ids.add(cid)
                yield t, raw.rstrip("\n")


def split_ranges(start: float, end: float, n: int, min_length: float = 60.0) -> list[tuple[float, float]]:
    """`n` equal ranges covering [start, end) (fewer when that would make them shorter than min_length)."""
    if not math.isfinite(end) or end <= start:
        return [(start, math.inf)]
    n = max(1, min(n, int((end - start) // min_length) or 1))
    step = (end - start) / n
    return [(start + i * step, start + (i + 1) * step) for i in range(n)]


# ------------------------------------------------------------------ entry point


def download_chat(
    vod_id: str,
    dst_json: str | os.PathLike,
    workers: int = _CHAT["workers"],
    *,
    backend: str = _CHAT["backend"],
    gql_url: str = GQL_URL,
    client_id: str = CLIENT_ID,
    metadata_json: str | os.PathLike | None = None,
    timeout: float = 30.0,
    max_retries: int = 6,
    backoff: float = 1.0,
    paging: str = _CHAT["paging"],
    start: float = 0.0,
    end: float | None = None,
    bin_dir: str | os.PathLike | None = "bin",
    oauth_token: str | None = None,
    allow_cli: bool = True,
) -> dict[str, Any]:
    """Fetch the whole chat of Twitch VOD `vod_id` into the contract chat JSON `dst_json` (atomic).

    backend: `auto` (GQL, falling back to TwitchDownloaderCLI when Twitch refuses and the CLI is installed),
    `gql` or `twitchdownloader`. paging: `auto` (cursor, then offset if refused), `cursor` or `offset`.
    `allow_cli=False` (endpoints redirected away from Twitch) keeps `auto` off the CLI, which only talks to Twitch.
    `metadata_json` (from the video download) saves the info request. Returns {"comments", "backend", ...}."""
    vod_id = parse_vod_id(vod_id)
    dst_json = Path(dst_json)
    dst_json.parent.mkdir(parents=True, exist_ok=True)
    if backend not in ("auto", "gql", "twitchdownloader"):
        raise KlipError(f"chat.backend must be auto, gql or twitchdownloader, not {backend!r}")
    if paging not in ("auto", "cursor", "offset"):
        raise KlipError(f"chat.paging must be auto, cursor or offset, not {paging!r}")
    meta: dict[str, Any] = {}
    if metadata_json and Path(metadata_json).is_file():
        meta = read_json(metadata_json)
    if backend == "twitchdownloader":
        return downloader_cli.download_chat(
            downloader_cli.require(bin_dir, "chat.backend", allow_cli), vod_id, dst_json, workers, meta
        )
    exe = downloader_cli.find(bin_dir) if backend == "auto" and allow_cli else None

    t0 = time.monotonic()
    with GqlClient(
        gql_url,
        client_id,
        timeout=timeout,
        max_retries=max_retries,
        backoff=backoff,
        workers=workers,
        oauth_token=oauth_token,
    ) as client:
        try:
            if not meta.get("duration") or not meta.get("title"):
                meta = {**fetch_video_info(client, vod_id), **{k: v for k, v in meta.items() if v}}
            count = _download_gql(client, vod_id, dst_json, meta, workers, paging, start, end)
        except TwitchRefused as exc:
            if not exe:
                raise
            log.warning("%s; falling back to %s", exc, exe)
            return downloader_cli.download_chat(exe, vod_id, dst_json, workers, meta)
    elapsed = time.monotonic() - t0
    log.info("Fetched %d chat messages for VOD %s in %.1f s (%d requests)", count, vod_id, elapsed, client.requests)
    return {"comments": count, "backend": "gql", "requests": client.requests, "seconds": elapsed}


def _download_gql(
    client: GqlClient,
    vod_id: str,
    dst_json: Path,
    meta: dict[str, Any],
    workers: int,
    paging: str,
    start: float,
    end: float | None,
) -> int:
    """Fetch [start, end) in parallel time ranges through `client`; returns the number of comments written."""
    duration = float(meta.get("duration") or 0) or math.inf
    stop_at = min(end, duration) if end is not None else duration
    ranges = split_ranges(float(start), stop_at, workers if workers <= 1 else workers * 4)
    open_end = end is None  # the last range runs to the end of chat unless the caller set `end`
    log.info(
        "Fetching chat for VOD %s: %s of video in %d ranges with %d workers",
        vod_id,
        "unknown length" if math.isinf(stop_at) else f"{stop_at:.0f} s",
        len(ranges),
        workers,
    )
    progress = _Progress(vod_id, (stop_at if math.isfinite(stop_at) else 1.0) - start)
    stop = threading.Event()
    slots = threading.Semaphore(4 * max(1, workers))
    with tempfile.TemporaryDirectory(dir=dst_json.parent, prefix=f".chat_{vod_id}_") as tmp:
        parts = [Path(tmp) / f"range_{i:04d}.jsonl" for i in range(len(ranges))]
        sinks = [
            _RangeSink(vod_id, i, a, b, open_end and i == len(ranges) - 1, parts[i], progress)
            for i, (a, b) in enumerate(ranges)
        ]
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-writer")
        try:
            with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="chat") as pool:
                futures = [
                    pool.submit(
                        _fetch_range, client, vod_id, a, b, sinks[i].is_last, sinks[i], writer, slots, paging, stop
                    )
                    for i, (a, b) in enumerate(ranges)
                ]
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                failed = [f for f in done if f.exception() is not None]
                if failed:
                    stop.set()
                    for f in futures:
                        f.cancel()
                    raise failed[0].exception()
        finally:
            writer.shutdown(wait=True)
            for sink in sinks:
                if not sink.fh.closed:
                    sink.fh.close()
        with ChatWriter(
            dst_json,
            vod_id=vod_id,
            title=meta.get("title", ""),
            streamer=meta.get("streamer", ""),
            streamer_id=meta.get("streamer_id", 0),
            created_at=meta.get("created_at"),
            length=meta.get("duration") or 0,
            start=start,
            end=stop_at if math.isfinite(stop_at) else None,
            view_count=meta.get("view_count", 0),
        ) as w:
            for t, raw in _merge(parts):
                w.write_raw(raw, t)
    return w.count
