"""Following one live channel: chat in, journal and moments out, hand-over to the workflow at the end.

Outputs, in `live.out_dir`/{channel}/ (default output/live/{channel}/), {stream} being Twitch's stream id (or, when
GQL cannot be asked, the UTC time of the first message):

- `{stream}_chat.jsonl`: the journal, one chat-JSON comment per line in arrival order, flushed and fsynced every
  `flush_seconds` (a crash loses at most that much chat; a restart for the same stream appends to it);
- `{stream}_moments.jsonl`: one line per announcement (klipstream.live.detector), written as it is made;
- `{stream}_live.json`: the run's record - channel, stream, start, messages, connections, gaps (every lost
  connection, with the last message before and the first after it), moments, state (live / ended);
- `{stream}_chat.json`: at the end, the journal as the TwitchDownloader-compatible chat JSON the VOD path writes
  (klipstream.chat.io, sorted by offset, repeated ids dropped), which becomes a row of the VOD table.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import config as _config
from ..chat.io import ChatWriter, make_comment
from ..chat.spool import Spool
from ..errors import KlipError
from ..io import write_json
from ..twitch.endpoints import TwitchEndpoints
from ..twitch.errors import TwitchError
from ..twitch.gql import GqlClient
from .detector import DetectorParams, LiveDetector
from .irc import ChatLine, Gap, IrcChat, iso_ms
from .push import MomentPusher

log = logging.getLogger(__name__)

# At the end, chat already sent is read until the server is quiet or this many seconds have passed.
DRAIN_SECONDS = 30.0
STREAM_QUERY = "query LiveStream($login: String!) { user(login: $login) { id login stream { id createdAt } } }"


def stream_info(client: GqlClient, channel: str) -> dict | None:
    """{"id", "created_at", "user_id"} of the channel's live stream, None when it is offline."""
    data = client.post({"query": STREAM_QUERY, "variables": {"login": channel}}, f"live status of {channel}")
    user = ((data or {}).get("data") or {}).get("user")
    if user is None:
        raise KlipError(f"live: Twitch has no channel {channel!r}")
    stream = user.get("stream")
    if not stream:
        return None
    return {"id": str(stream.get("id") or ""), "created_at": stream.get("createdAt") or "", "user_id": user.get("id")}


def parse_iso_ms(text: str) -> int | None:
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except (ValueError, AttributeError):
        return None


def comment_of(line: ChatLine, offset: float, stream: str, channel_id: str) -> dict[str, Any]:
    """A chat line as a comment of the chat JSON (klipstream.chat.io.make_comment)."""
    from .irc import fragments_of

    return make_comment(
        line.id,
        round(max(0.0, offset), 3),
        line.display_name,
        line.body,
        vod_id=stream,
        created_at=iso_ms(line.sent_ms),
        user_id=line.user_id,
        login=line.login,
        channel_id=line.room_id or channel_id,
        fragments=fragments_of(line.body, line.emotes),
        emoticons=[{"_id": eid, "begin": b, "end": e} for eid, b, e in line.emotes],
        badges=line.badges,
        color=line.color,
        bits=line.bits,
    )


@dataclass
class LiveResult:
    channel: str
    stream: str
    folder: Path
    messages: int = 0
    moments: int = 0
    gaps: list[dict] = field(default_factory=list)
    reason: str = ""
    chat_json: Path | None = None
    vod_id: str | None = None

    @property
    def moments_path(self) -> Path:
        return self.folder / f"{self.stream}_moments.jsonl"


class LiveSession:
    """`run()` follows `channel` until the stream ends, `until` (wall seconds from now) passes or `stop` is set.

    `clock_rate` is how fast stream time passes per wall second when no message arrives (1 live; a replay at 40x
    passes 40): the detector then still steps through quiet stretches."""

    def __init__(
        self,
        channel: str,
        live: dict | None = None,
        *,
        twitch: dict | None = None,
        engine_params: dict | None = None,
        workdir: str | os.PathLike = ".",
        until: float | None = None,
        stop: threading.Event | None = None,
        clock_rate: float = 1.0,
    ):
        self.s = _config.section("live", live or {})
        self.channel = channel.lstrip("#").lower()
        self.endpoints = TwitchEndpoints.resolve(twitch or {})
        self.engine_params = dict(engine_params or {})
        self.workdir = Path(workdir)
        self.until = until
        self.stop = stop or threading.Event()
        self.clock_rate = float(clock_rate)
        self.folder = self.workdir / self.s["out_dir"] / self.channel
        self.stream: str | None = None
        self.start_ms: int | None = None
        self.channel_id = ""
        self.gaps: list[dict] = []
        self.messages = 0
        self.moments = 0
        self._journal = None
        self._moments_fh = None
        self.pusher: MomentPusher | None = None
        self.pushed: dict | None = None

    # ---- stream status
    def _gql(self) -> GqlClient:
        return GqlClient(self.endpoints.gql_url, timeout=10.0, max_retries=2, backoff=0.5, backoff_max=5.0)

    def check_stream(self) -> dict | None | bool:
        """The live stream (dict), None when offline, False when GQL cannot be asked (then nothing is concluded)."""
        if not float(self.s["stream_poll_seconds"]):
            return False
        try:
            with self._gql() as client:
                return stream_info(client, self.channel)
        except TwitchError as exc:
            log.warning("live: cannot ask Twitch whether %s is live: %s", self.channel, exc)
            return False

    def _begin(self, info: dict | None, first_ms: int) -> None:
        if info:
            self.stream = info["id"] or datetime.fromtimestamp(first_ms / 1000, UTC).strftime("%Y%m%dT%H%M%SZ")
            self.start_ms = parse_iso_ms(info["created_at"]) or first_ms
            self.channel_id = str(info.get("user_id") or "")
        else:
            self.stream = datetime.fromtimestamp(first_ms / 1000, UTC).strftime("%Y%m%dT%H%M%SZ")
            self.start_ms = first_ms
        self.folder.mkdir(parents=True, exist_ok=True)
        self._journal = open(self.folder / f"{self.stream}_chat.jsonl", "a", encoding="utf-8")
        self._moments_fh = open(self.folder / f"{self.stream}_moments.jsonl", "a", encoding="utf-8")
        log.info(
            "live: %s stream %s, started %s; writing %s", self.channel, self.stream, iso_ms(self.start_ms), self.folder
        )

    def offset(self, ms: int) -> float:
        return (ms - (self.start_ms or ms)) / 1000.0

    # ---- records
    def _flush(self, state: str = "live") -> None:
        if self._journal is None:
            return
        self._journal.flush()
        os.fsync(self._journal.fileno())
        write_json(self.folder / f"{self.stream}_live.json", self.record(state))

    def record(self, state: str) -> dict:
        return {
            "channel": self.channel,
            "stream": self.stream,
            "started_at": iso_ms(self.start_ms) if self.start_ms else None,
            "state": state,
            "messages": self.messages,
            "moments": self.moments,
            "gaps": self.gaps,
            "detector": vars(self.detector.p) if hasattr(self, "detector") else None,
            "chat_journal": f"{self.stream}_chat.jsonl",
            "moments_file": f"{self.stream}_moments.jsonl",
            "convex": self.pushed,
        }

    def _announce(self, moments: list[dict]) -> None:
        for m in moments:
            if self.pusher is not None:
                self.pusher.push(self.channel, self.stream, m)
            m = {"channel": self.channel, "stream": self.stream, **m}
            self._moments_fh.write(json.dumps(m) + "\n")
            self._moments_fh.flush()
            self.moments += 1
            log.info(
                "live: moment %d.%d at %.0f s (score %.2f, %s), %.1f s after its peak",
                m["id"],
                m["revision"],
                m["peak"],
                m["score"],
                m["tier"],
                m["latency"],
            )

    def _gap(self, gap: Gap) -> None:
        d = gap.to_dict()
        d["from_offset"] = round(self.offset(gap.last_before_ms), 3) if gap.last_before_ms is not None else None
        d["to_offset"] = round(self.offset(gap.first_after_ms), 3) if gap.first_after_ms is not None else None
        self.gaps.append(d)
        log.warning("live: chat gap %s - %s s (%s)", d["from_offset"], d["to_offset"], gap.reason)

    # ---- the loop
    def run(self) -> LiveResult:
        info = self.check_stream()
        if info is None:
            raise KlipError(f"live: {self.channel} is not live (Twitch GQL at {self.endpoints.gql_host})")
        self.detector = LiveDetector(DetectorParams.from_settings(self.s), self.engine_params)
        self.pusher = MomentPusher.from_settings(self.s["convex_function"])
        chat = IrcChat(self.channel, self.s, self.stop)
        deadline = time.monotonic() + self.until if self.until else None
        poll = float(self.s["stream_poll_seconds"])
        next_poll = time.monotonic() + poll if poll else None
        next_flush = time.monotonic() + float(self.s["flush_seconds"])
        end_idle = float(self.s["end_idle_seconds"])
        last_ms, last_mono = None, time.monotonic()
        reason, ending, drain_until = "stopped", None, 0.0
        try:
            for kind, item in chat.events():
                now_mono = time.monotonic()
                if kind == "message":
                    line: ChatLine = item
                    if self.stream is None:
                        self._begin(info or None, line.sent_ms)
                        self.detector.stream_start = 0.0
                    off = self.offset(line.sent_ms)
                    self._journal.write(json.dumps(comment_of(line, off, self.stream, self.channel_id)) + "\n")
                    self.messages += 1
                    self._announce(self.detector.add(max(0.0, off), line.display_name, line.body, line.emote_names))
                    last_ms, last_mono = line.sent_ms, now_mono
                elif kind == "gap":
                    self._gap(item)
                elif kind == "idle" and last_ms is not None:  # stream time goes on when chat is quiet
                    self._announce(
                        self.detector.advance(self.offset(last_ms) + (now_mono - last_mono) * self.clock_rate)
                    )
                if now_mono >= next_flush:
                    self._flush()
                    next_flush = now_mono + float(self.s["flush_seconds"])
                if ending is not None:
                    # drain what the server already sent (the lines of the last read), then stop
                    if kind == "idle" or now_mono > drain_until:
                        reason = ending
                        break
                    continue
                if deadline is not None and now_mono >= deadline:
                    reason = "until"  # the user's stop: now, not when chat pauses
                    break
                if end_idle and last_ms is not None and (now_mono - last_mono) * self.clock_rate > end_idle:
                    ending = "idle"
                elif next_poll is not None and now_mono >= next_poll:
                    next_poll = now_mono + poll
                    state = self.check_stream()
                    if state is None:
                        ending = "offline"
                    elif state and self.stream and state["id"] and state["id"] != self.stream:
                        ending = "new stream"  # the channel went offline and live again between two polls
                if ending is not None:
                    drain_until = now_mono + DRAIN_SECONDS
            else:
                reason = "stopped"
        except KeyboardInterrupt:  # Ctrl-C: end the stream as if it had ended, keeping everything seen
            reason = "interrupted"
        finally:
            chat.close()
            for g in chat.gaps:  # a connection lost at the very end never saw a first message after it
                if g.first_after_ms is None:
                    self._gap(g)
        return self.finish(reason, last_ms)

    def finish(self, reason: str, last_ms: int | None) -> LiveResult:
        result = LiveResult(self.channel, self.stream or "", self.folder, reason=reason)
        if self.stream is None:
            log.warning("live: %s: no chat message arrived; nothing recorded", self.channel)
            return result
        self._announce(self.detector.flush(self.offset(last_ms)) if last_ms is not None else [])
        if self.pusher is not None:
            self.pushed = self.pusher.close()
        self._flush("ended")
        self._journal.close()
        self._moments_fh.close()
        result.chat_json = self.write_chat_json()
        result.messages, result.moments, result.gaps = self.messages, self.moments, self.gaps
        write_json(self.folder / f"{self.stream}_live.json", {**self.record("ended"), "end_reason": reason})
        log.info(
            "live: %s ended (%s): %d messages, %d announcements, %d gaps",
            self.channel,
            reason,
            self.messages,
            self.moments,
            len(self.gaps),
        )
        return result

    def write_chat_json(self) -> Path:
        """The journal as the chat JSON of the VOD path (sorted by offset, repeated ids dropped)."""
        return journal_to_chat(
            self.folder / f"{self.stream}_chat.jsonl",
            self.folder / f"{self.stream}_chat.json",
            stream=self.stream,
            channel=self.channel,
            start_ms=self.start_ms,
        )


def journal_to_chat(journal: Path, dst: Path, *, stream: str, channel: str, start_ms: int | None) -> Path:
    """Write the chat JSON `dst` from a live journal (also how a crashed run's journal is recovered)."""
    spool = Spool()
    last = 0.0
    with open(journal, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                c = json.loads(line)
            except ValueError:  # a crash mid-line: the last line may be cut
                log.warning("live: %s line %d is cut (a crash mid-write?); skipped", journal, number)
                continue
            spool.add(c)
            last = max(last, float(c["content_offset_seconds"]))
    with ChatWriter(
        dst,
        vod_id=stream,
        title=f"{channel} live {stream}",
        streamer=channel,
        created_at=iso_ms(start_ms) if start_ms else None,
        length=last,
    ) as writer:
        spool.write_to(writer)
    return dst
