"""Moments as they happen: the highlight engine's chat score run causally on a bounded trailing buffer.

This is a thin wrapper, not a second engine. Every `step_seconds` of stream time it rebuilds the engine's inputs from
the messages of the last `buffer_seconds` (klipstream.highlights.readers.chat_table, chat.annotate), calls the engine's
own `chat_score`, `fusion.smooth` and `moments.pick_moments` on them, and announces a candidate once its peak is at
least `delay_seconds` old (the chat after it has been seen) and it is still one of the engine's peaks (a local maximum
within min_gap_seconds of what has been seen so far) scoring at least `min_score`. So the live moments follow whatever
the engine's chat score becomes.

Two differences from the VOD run, both because "now" is not the end of the chat:
- the engine's edge rule (no burst within edge_seconds of where the chat stops) is applied at the stream's real start
  only: with it, the newest seconds of the buffer, where every live moment is, would always be an edge;
- each message's kind is computed once, when it arrives, with the COPYPASTA_WINDOW seconds before it as context
  (message_kinds looks only backwards), instead of the whole buffer again at every step.

Memory is bounded by the buffer (messages older than `buffer_seconds` are dropped), CPU by the step: each step costs
one chat_score over `buffer_seconds` seconds.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

from .. import config as _config
from ..emotions.filters import filter_messages
from ..highlights.chat import annotate, chat_score
from ..highlights.cues import COPYPASTA_WINDOW
from ..highlights.fusion import smooth
from ..highlights.moments import pick_moments
from ..highlights.params import FusionParams, ScoreParams, split_params
from ..highlights.readers import ChatTable, chat_table

log = logging.getLogger(__name__)

MESSAGE_COLUMNS = ["time", "user", "message", "emotes"]
BUFFER_COLUMNS = [*MESSAGE_COLUMNS, "kind", "key"]  # what annotate adds


@dataclass
class DetectorParams:
    """The live detector's own knobs: config section `live`, whose schema holds their defaults (the engine's knobs
    come from `chat_highlights`). `DetectorParams.from_settings()` gives the defaults."""

    buffer_seconds: float
    step_seconds: float
    delay_seconds: float
    min_score: float

    @classmethod
    def from_settings(cls, live: dict | None = None) -> DetectorParams:
        s = _config.section("live", live or {})
        return cls(**{f.name: float(s[f.name]) for f in fields(cls)})


class LiveDetector:
    """Feed messages in stream-time order with `add`, call `advance(now)` as stream time passes; both return the
    moments announced (dicts: id, revision, peak, start, end, score, tier, burst_z, messages, announced_at, latency).

    A higher peak within min_gap_seconds of an announced one (the burst is still growing) is announced again as
    the next `revision` of the same `id`: the engine keeps the higher peak of one reaction, and so does the last
    revision. Every revision is announced within delay_seconds + 2 x step_seconds of its own peak."""

    def __init__(
        self,
        params: DetectorParams | None = None,
        engine_params: dict | None = None,
        stream_start: float = 0.0,
    ):
        self.p = params or DetectorParams.from_settings()
        sp, fp = split_params(engine_params)
        self.edge_seconds = sp.edge_seconds
        self.sp: ScoreParams = replace(sp, edge_seconds=0.0)  # the buffer's newest second is "now", not an edge
        self.fp: FusionParams = fp
        self.stream_start = float(stream_start)
        self.first_time: float | None = None
        self._pending: list[tuple] = []  # (time, user, message, emotes) not yet annotated
        self._batches: deque[tuple[float, dict, np.ndarray, np.ndarray]] = deque()  # (last time, columns, cmd, all)
        self._context = {c: np.zeros(0, dtype=float if c == "time" else object) for c in MESSAGE_COLUMNS}
        self.last_tick: float | None = None
        self.announced: list[dict] = []
        self._recent: deque[dict] = deque()  # announced moments still within min_gap_seconds of a new peak
        self.seq = 0
        self.ticks = 0
        self.buffered = 0

    # ---- input
    def add(self, time: float, user: str, message: str, emotes: str = "") -> list[dict]:
        """One message at stream time `time` (seconds); ticks first when `time` passes the next step."""
        out = self.advance(time)
        if self.first_time is None:
            self.first_time = float(time)
        self._pending.append((float(time), user or "", message or "", emotes or ""))
        return out

    def advance(self, now: float) -> list[dict]:
        """Stream time is `now`: run one step when a step has passed since the last (one step however long the
        pause: the score is recomputed from the buffer, nothing is lost by skipping)."""
        if self.last_tick is None:
            self.last_tick = float(now)
            return []
        if now - self.last_tick < self.p.step_seconds:
            return []
        self.last_tick = float(now)
        return self.tick(now)

    def flush(self, now: float) -> list[dict]:
        """At the stream's end: one last step at `now` + delay, so a peak in the last seconds is still judged."""
        return self.tick(float(now) + self.p.delay_seconds)

    # ---- the step
    def _absorb(self) -> None:
        """Move the pending messages into the buffer: split by the engine's reader (chat_table: bots and !commands
        out, !clip cues in), kinds by the engine's annotate with the kept messages of the copypasta window before
        them as context. The buffer holds plain column arrays (joined once per step, not frame by frame)."""
        if not self._pending:
            return
        new = pd.DataFrame(self._pending, columns=MESSAGE_COLUMNS)
        self._pending = []
        table = chat_table(pd.concat([new, filter_messages(new)], axis=1))
        msgs = table.messages[MESSAGE_COLUMNS]
        cols: dict[str, np.ndarray] = {}
        if len(msgs):
            ctx = self._context
            n_ctx = len(ctx["time"])
            both = pd.DataFrame(
                {
                    c: np.concatenate([ctx[c], msgs[c].to_numpy(dtype=object if c != "time" else float)])
                    for c in MESSAGE_COLUMNS
                }
            )
            done = annotate(ChatTable(both)).messages
            cols = {c: done[c].to_numpy(dtype=float if c == "time" else object)[n_ctx:] for c in BUFFER_COLUMNS}
            t = both["time"].to_numpy(dtype=float)
            keep = t >= t[-1] - COPYPASTA_WINDOW
            self._context = {c: both[c].to_numpy(dtype=float if c == "time" else object)[keep] for c in MESSAGE_COLUMNS}
        self._batches.append((float(new["time"].iloc[-1]), cols, table.command_times, table.all_times))
        self.buffered += len(new)

    def _trim(self, start: float) -> None:
        while self._batches and self._batches[0][0] < start:
            self._batches.popleft()

    def window(self, now: float) -> tuple[float, pd.DataFrame, ChatTable]:
        """(origin, timeline, chat table) of the buffer [now - buffer_seconds, now], times relative to origin."""
        self._absorb()
        origin = float(np.floor(max(self.stream_start, now - self.p.buffer_seconds)))
        self._trim(origin)
        n = max(0, int(np.floor(now - origin)) + 1)
        parts = [b[1] for b in self._batches if b[1]]
        cols = {
            c: np.concatenate([p[c] for p in parts]) if parts else np.zeros(0, dtype=float if c == "time" else object)
            for c in BUFFER_COLUMNS
        }
        cmd = np.concatenate([b[2] for b in self._batches]) if self._batches else np.zeros(0)
        alive = np.concatenate([b[3] for b in self._batches]) if self._batches else np.zeros(0)
        t = cols["time"]
        inside = (t >= origin) & (t <= now)
        msgs = pd.DataFrame({c: v[inside] for c, v in cols.items()})
        msgs["time"] = t[inside] - origin
        cmd = cmd[(cmd >= origin) & (cmd <= now)] - origin
        alive = alive[(alive >= origin) & (alive <= now)] - origin
        per = np.bincount(np.clip(msgs["time"].to_numpy(dtype=float), 0, max(n - 1, 0)).astype(np.int64), minlength=n)
        timeline = pd.DataFrame({"time": np.arange(n, dtype=float), "messages": per[:n].astype(float)})
        return origin, timeline, ChatTable(msgs, cmd, alive)

    def tick(self, now: float) -> list[dict]:
        """One step at stream time `now`: the engine's chat score over the buffer, then the announcements."""
        self.ticks += 1
        origin, timeline, chat = self.window(now)
        if len(timeline) < 2 or chat.messages.empty:
            return []
        cs = chat_score(timeline, chat, self.sp)
        sc = smooth(cs["score"].to_numpy(dtype=float), self.fp.smooth_seconds)
        moments = pick_moments(np.clip(sc, 0, None), self.fp, duration=len(sc))
        out = []
        start_edge = (self.first_time if self.first_time is not None else self.stream_start) + self.edge_seconds
        max_age = self.p.delay_seconds + 2 * self.p.step_seconds  # older peaks were judged at an earlier step
        t = chat.messages["time"].to_numpy(dtype=float)
        for m in sorted(moments, key=lambda m: m["peak"]):
            peak = origin + m["peak"]
            age = now - peak
            if not (self.p.delay_seconds <= age <= max_age) or m["score"] < self.p.min_score or peak < start_edge:
                continue
            near = [a for a in self._recent if abs(peak - a["peak"]) < self.fp.min_gap_seconds]
            if near and m["score"] <= max(a["score"] for a in near):
                continue  # one reaction: the engine keeps the higher peak within min_gap_seconds
            sl = slice(int(m["start"]), int(np.ceil(m["end"])))
            in_span = (t >= m["start"]) & (t < m["end"])
            prev = max(near, key=lambda a: a["score"]) if near else None
            if prev is None:
                self.seq += 1
            moment = {
                "id": prev["id"] if prev else self.seq,
                "revision": prev["revision"] + 1 if prev else 0,
                "peak": round(peak, 3),
                "start": round(origin + m["start"], 3),
                "end": round(origin + m["end"], 3),
                "score": round(float(m["score"]), 4),
                "tier": m["tier"],
                "burst_z": round(float(cs["burst_z"].iloc[sl].max()), 3),
                "messages": int(in_span.sum()),
                "announced_at": round(float(now), 3),
                "latency": round(float(age), 3),
            }
            if prev is not None:
                self._recent.remove(prev)
            self._recent.append(moment)
            self.announced.append(moment)
            out.append(moment)
        while self._recent and self._recent[0]["peak"] < now - max_age - self.fp.min_gap_seconds:
            self._recent.popleft()
        if len(self.announced) > 1000:  # the caller keeps the record (moments.jsonl); memory stays flat
            del self.announced[:-1000]
        return out
