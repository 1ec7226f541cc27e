"""Twitch chat over IRC: anonymous read-only login, IRCv3 tags, PING/PONG, RECONNECT, reconnects with backoff.

Twitch's chat is IRC (https://dev.twitch.tv/docs/chat/irc/): `CAP REQ :twitch.tv/tags twitch.tv/commands`, any
PASS with the nick `justinfan<digits>` (a read-only login that needs no token), `JOIN #channel`; then one
`PRIVMSG` per chat message, its tags carrying the message id, `tmi-sent-ts` (ms since the epoch, when Twitch sent it),
`display-name`, `user-id`, `emotes` (`id:begin-end,...` in code points), `badges`, `color`, `bits`. The server sends
`PING`, answered with `PONG`, and `RECONNECT` before it closes a connection for maintenance.

`IrcChat.events()` is one blocking loop (no threads) that yields what the caller needs: each chat line, each gap
(the connection was lost: the stream time of the last message before and the first after it, so a gap is always
recorded, never silently lost) and an idle tick every `poll` seconds so the caller can run its detector and check
its stop conditions. Plain TCP or TLS, host and port configurable (config section `live`), so tests point it at a
stand-in on 127.0.0.1.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..errors import KlipError
from ..retry import backoff_delay

log = logging.getLogger(__name__)

TAG_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


@dataclass
class IrcLine:
    tags: dict[str, str]
    prefix: str
    command: str
    params: list[str]

    @property
    def nick(self) -> str:
        return self.prefix.split("!", 1)[0] if self.prefix else ""

    @property
    def text(self) -> str:
        return self.params[-1] if self.params else ""


def unescape_tag(value: str) -> str:
    """An IRCv3 tag value with its escapes (\\s, \\:, \\\\, \\r, \\n) undone."""
    if "\\" not in value:
        return value
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out.append(TAG_UNESCAPE.get(value[i + 1], value[i + 1]))
            i += 2
        elif c == "\\":
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_line(line: str) -> IrcLine:
    """One IRC line (without CR LF) -> tags, prefix, command, params (the trailing `:` param last)."""
    tags: dict[str, str] = {}
    rest = line
    if rest.startswith("@"):
        raw, _, rest = rest[1:].partition(" ")
        for item in raw.split(";"):
            key, _, value = item.partition("=")
            tags[key] = unescape_tag(value)
    prefix = ""
    if rest.startswith(":"):
        prefix, _, rest = rest[1:].partition(" ")
    rest = rest.lstrip(" ")
    trailing = None
    if " :" in rest:
        rest, trailing = rest.split(" :", 1)
    elif rest.startswith(":"):
        rest, trailing = "", rest[1:]
    parts = rest.split()
    command = parts[0].upper() if parts else ""
    params = parts[1:] + ([trailing] if trailing is not None else [])
    return IrcLine(tags, prefix, command, params)


def emote_ranges(tag: str) -> list[tuple[str, int, int]]:
    """`25:0-4,12-16/1902:6-10` -> [(id, begin, end)] sorted by begin (inclusive code point indices)."""
    out = []
    for part in (tag or "").split("/"):
        eid, _, spans = part.partition(":")
        for span in spans.split(","):
            b, _, e = span.partition("-")
            if eid and b.isdigit() and e.isdigit():
                out.append((eid, int(b), int(e)))
    return sorted(out, key=lambda r: r[1])


def fragments_of(body: str, ranges: list[tuple[str, int, int]]) -> list[dict]:
    """The message split into text and emote fragments (the chat JSON's `message.fragments`)."""
    frags, pos = [], 0
    for eid, b, e in ranges:
        if b < pos or e >= len(body):
            continue
        if b > pos:
            frags.append({"text": body[pos:b], "emoticon": None})
        frags.append({"text": body[b : e + 1], "emoticon": {"emoticon_id": eid}})
        pos = e + 1
    if pos < len(body) or not frags:
        frags.append({"text": body[pos:], "emoticon": None})
    return frags


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


@dataclass
class ChatLine:
    """One chat message as received: the PRIVMSG's tags read out (times in ms since the epoch)."""

    id: str
    sent_ms: int
    login: str
    display_name: str
    user_id: str
    room_id: str
    body: str
    emotes: list[tuple[str, int, int]] = field(default_factory=list)
    badges: list[dict] = field(default_factory=list)
    color: str | None = None
    bits: int = 0

    @property
    def emote_names(self) -> str:
        return " ".join(self.body[b : e + 1] for _, b, e in self.emotes if e < len(self.body))


def chat_line(msg: IrcLine, received_ms: int) -> ChatLine | None:
    """A PRIVMSG (or a USERNOTICE with the user's own message) as a ChatLine; None for anything else."""
    if msg.command not in ("PRIVMSG", "USERNOTICE"):
        return None
    t = msg.tags
    body = msg.text if msg.command == "PRIVMSG" or len(msg.params) > 1 else ""
    if msg.command == "USERNOTICE":  # a sub/resub/raid notice: the system text, then the user's words if any
        system = t.get("system-msg", "")
        if not body and not system:
            return None
        body = f"{system} {body}".strip() if system else body
    if body.startswith("\x01ACTION ") and body.endswith("\x01"):  # /me
        body = body[8:-1]
    try:
        sent = int(t.get("tmi-sent-ts") or received_ms)
    except ValueError:
        sent = received_ms
    badges = []
    for b in (t.get("badges") or "").split(","):
        name, _, version = b.partition("/")
        if name:
            badges.append({"_id": name, "version": version})
    login = t.get("login") or msg.nick
    return ChatLine(
        id=t.get("id") or f"{sent}-{login}",
        sent_ms=sent,
        login=login,
        display_name=t.get("display-name") or login,
        user_id=t.get("user-id", ""),
        room_id=t.get("room-id", ""),
        body=body,
        emotes=emote_ranges(t.get("emotes", "")) if msg.command == "PRIVMSG" else [],
        badges=badges,
        color=t.get("color") or None,
        bits=int(t["bits"]) if (t.get("bits") or "").isdigit() else 0,
    )


@dataclass
class Gap:
    """Chat that may be lost: between the last message before a dropped connection and the first after it."""

    reason: str
    lost_wall_ms: int
    last_before_ms: int | None
    resumed_wall_ms: int | None = None
    first_after_ms: int | None = None

    def to_dict(self) -> dict:
        return {
            "reason": self.reason,
            "lost_at": iso_ms(self.lost_wall_ms),
            "resumed_at": iso_ms(self.resumed_wall_ms) if self.resumed_wall_ms else None,
            "last_before_ms": self.last_before_ms,
            "first_after_ms": self.first_after_ms,
        }


def anonymous_nick() -> str:
    return f"justinfan{random.randint(10000, 99999)}"


class IrcChat:
    """One channel's chat, followed over reconnects. Settings are config section `live` (klipstream.config)."""

    def __init__(self, channel: str, live: dict, stop: threading.Event | None = None, poll: float = 0.5):
        self.channel = channel.lstrip("#").lower()
        if not self.channel or any(c in self.channel for c in " \r\n,"):
            raise KlipError(f"live: {channel!r} is not a Twitch channel name")
        self.s = live
        self.stop = stop or threading.Event()
        self.poll = poll
        self.nick = (live.get("nick") or "").strip().lower() or anonymous_nick()
        self.sock: socket.socket | None = None
        self.connections = 0
        self.gaps: list[Gap] = []
        self.last_ms: int | None = None
        self._buf = b""
        self._early: list[str] = []  # lines read while logging in, after the JOIN

    # ---- connection
    def _connect(self) -> None:
        host, port, timeout = self.s["irc_host"], int(self.s["irc_port"]), float(self.s["connect_timeout"])
        raw = socket.create_connection((host, port), timeout=timeout)
        try:
            if self.s.get("tls", True):
                ctx = ssl.create_default_context(cafile=self.s.get("ca_file") or None)
                raw = ctx.wrap_socket(raw, server_hostname=host)
            raw.settimeout(timeout)
            self.sock, self._buf = raw, b""
            self._send("CAP REQ :twitch.tv/tags twitch.tv/commands")
            self._send("PASS SCHMOOPIIE")  # any password: justinfan logins are anonymous and read-only
            self._send(f"NICK {self.nick}")
            deadline = time.monotonic() + timeout
            joined = False
            self._early = []
            while not joined:
                if time.monotonic() > deadline:
                    raise TimeoutError("no welcome from the server")
                lines = self._read_lines()
                for k, line in enumerate(lines):
                    msg = parse_line(line)
                    if msg.command == "001":
                        self._send(f"JOIN #{self.channel}")
                    elif msg.command == "PING":
                        self._send("PONG :" + msg.text)
                    elif msg.command == "JOIN" and msg.nick == self.nick:
                        joined = True
                        self._early = lines[k + 1 :]  # chat that came in the same read as the JOIN
                        break
                    elif msg.command == "NOTICE" and "authentication failed" in msg.text.lower():
                        raise KlipError(f"live: {host} refused the login: {msg.text}")
            raw.settimeout(self.poll)
            self.connections += 1
            log.info("live: joined #%s on %s:%d (%s)", self.channel, host, port, "TLS" if self.s.get("tls") else "TCP")
        except BaseException:
            self._close()
            raise

    def _send(self, line: str) -> None:
        assert self.sock is not None
        self.sock.sendall(line.encode("utf-8") + b"\r\n")

    def _read_lines(self) -> list[str]:
        """The complete lines now available (waits at most the socket's timeout); ConnectionError at EOF."""
        assert self.sock is not None
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return []
        if not data:
            raise ConnectionResetError("server closed the connection")
        self._buf += data
        *lines, self._buf = self._buf.split(b"\r\n")
        return [ln.decode("utf-8", errors="replace") for ln in lines if ln]

    def _close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def close(self) -> None:
        if self.sock is not None:
            try:
                self._send(f"PART #{self.channel}")
            except OSError:
                pass
        self._close()

    def _reconnect(self, reason: str, now_ms: int) -> bool:
        """Reconnect with backoff (at once after a RECONNECT); records the gap. False when stopped."""
        self._close()
        gap = Gap(reason, now_ms, self.last_ms)
        self.gaps.append(gap)
        log.warning("live: chat connection lost (%s); reconnecting", reason)
        attempt = 0 if reason != "RECONNECT" else -1
        while not self.stop.is_set():
            if attempt >= 0:
                delay = backoff_delay(attempt, float(self.s["backoff_s"]), float(self.s["backoff_max_s"]))
                if self.stop.wait(delay):
                    return False
            attempt += 1
            try:
                self._connect()
                gap.resumed_wall_ms = wall_ms()
                return True
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                if attempt >= int(self.s["max_attempts"]):
                    raise KlipError(
                        f"live: cannot reach chat at {self.s['irc_host']}:{self.s['irc_port']} after {attempt} "
                        f"attempts: {type(exc).__name__}: {exc}"
                    ) from exc
                log.warning("live: reconnect %d failed: %s", attempt, exc)
        return False

    # ---- the loop
    def events(self) -> Iterator[tuple[str, object]]:
        """Yield ("message", ChatLine), ("gap", Gap) (when the first message after a lost connection arrives) and
        ("idle", None) after every `poll` seconds without a line, until `stop` is set."""
        attempt = 0
        while self.sock is None and not self.stop.is_set():
            try:
                self._connect()
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                attempt += 1
                if attempt >= int(self.s["max_attempts"]):
                    raise KlipError(
                        f"live: cannot reach chat at {self.s['irc_host']}:{self.s['irc_port']}: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                log.warning("live: connect failed (%s), retrying", exc)
                if self.stop.wait(
                    backoff_delay(attempt - 1, float(self.s["backoff_s"]), float(self.s["backoff_max_s"]))
                ):
                    return
        idle_ping = float(self.s["idle_ping_seconds"])
        last_heard, pinged = time.monotonic(), None
        open_gap: Gap | None = None
        try:
            while not self.stop.is_set():
                try:
                    lines, self._early = self._early + self._read_lines(), []
                    now = time.monotonic()
                    if not lines:
                        yield "idle", None
                    if lines:
                        last_heard, pinged = now, None
                    elif pinged is not None and now - pinged > idle_ping:
                        raise TimeoutError("no answer to PING")
                    elif pinged is None and now - last_heard > idle_ping:
                        self._send("PING :tmi.twitch.tv")
                        pinged = now
                    for line in lines:
                        msg = parse_line(line)
                        if msg.command == "PING":
                            self._send("PONG :" + (msg.text or "tmi.twitch.tv"))
                        elif msg.command == "RECONNECT":
                            raise _Reconnect
                        elif (cl := chat_line(msg, wall_ms())) is not None:
                            if open_gap is not None:
                                open_gap.first_after_ms = cl.sent_ms
                                yield "gap", open_gap
                                open_gap = None
                            self.last_ms = cl.sent_ms
                            yield "message", cl
                except _Reconnect:
                    if not self._reconnect("RECONNECT", wall_ms()):
                        return
                    open_gap, last_heard, pinged = self.gaps[-1], time.monotonic(), None
                except (OSError, TimeoutError, ssl.SSLError) as exc:
                    if self.stop.is_set():
                        return
                    if not self._reconnect(f"{type(exc).__name__}: {exc}", wall_ms()):
                        return
                    open_gap, last_heard, pinged = self.gaps[-1], time.monotonic(), None
        finally:
            self.close()


class _Reconnect(Exception):
    """The server asked us to reconnect (RECONNECT)."""


def wall_ms() -> int:
    return int(time.time() * 1000)
