"""A stand-in for Twitch chat on 127.0.0.1: IRC with IRCv3 tags replaying a recorded chat faster than real time, and
the GQL `user { stream }` query live mode asks whether the channel is still live.

Speaks what klipstream.live.irc relies on, as Twitch does (https://dev.twitch.tv/docs/chat/irc/): CAP REQ -> CAP ACK,
PASS/NICK -> 001..376, JOIN -> the JOIN echo and 353/366, PING -> PONG, PRIVMSG lines with the `id`, `tmi-sent-ts`,
`display-name`, `user-id`, `room-id`, `emotes` and `badges` tags. `tmi-sent-ts` is the recorded offset on the
stream's clock (start_ms + offset), so a replay at 40x looks to the client like the real stream.

The replay starts when the first client has joined and then follows the wall clock: what is due while no client is
joined is not sent (`missed`), as on Twitch. `drop_at` closes the connection once, before the first message from
that index on that finds a client joined; `reconnect_at` sends RECONNECT (and closes) once, the same way. `sent` lists
every id delivered, in order."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ESC = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}


def escape(value: str) -> str:
    return "".join(ESC.get(c, c) for c in str(value))


@dataclass
class Msg:
    offset: float
    id: str
    login: str
    display_name: str
    user_id: str
    body: str
    emotes: str = ""  # the IRC emotes tag: id:b-e,b-e/id:b-e


def load_v5(path: str | Path, until: float | None = None) -> list[Msg]:
    """The comments of a Twitch v5 / TwitchDownloader chat JSON as replayable messages, by offset (stable)."""
    from klipstream.chat.io import iter_comments

    out = []
    for c in iter_comments(path):
        off = float(c.get("content_offset_seconds") or 0)
        if until is not None and off > until:
            continue
        msg, who = c.get("message") or {}, c.get("commenter") or {}
        body = " ".join(str(msg.get("body") or "").split())
        if not body:
            continue
        per: dict[str, list[str]] = {}
        for e in msg.get("emoticons") or []:
            b, en = int(e.get("begin", 0)), int(e.get("end", 0))
            if 0 <= b <= en < len(body):
                per.setdefault(str(e.get("_id")), []).append(f"{b}-{en}")
        name = who.get("display_name") or who.get("name") or ""
        out.append(
            Msg(
                off,
                str(c["_id"]),
                (who.get("name") or name).lower(),
                name,
                str(who.get("_id", "")),
                body,
                "/".join(f"{k}:{','.join(v)}" for k, v in per.items()),
            )
        )
    out.sort(key=lambda m: m.offset)
    return out


class IrcStub:
    def __init__(
        self,
        messages: list[Msg],
        *,
        channel: str = "northernlion",
        speed: float = 40.0,
        start_ms: int = 1_626_314_364_000,
        stream_id: str = "42424242",
        drop_at: int | None = None,
        reconnect_at: int | None = None,
        ping_every: float | None = None,
        offline_after: float = 0.5,
        tls: tuple[str, str] | None = None,
    ):
        self.messages, self.channel, self.speed = messages, channel, speed
        self.start_ms, self.stream_id = start_ms, stream_id
        self.drop_at, self.reconnect_at, self.ping_every = drop_at, reconnect_at, ping_every
        self.offline_after = offline_after  # wall seconds after the last message until GQL says offline
        self.tls = tls  # (certificate PEM, key PEM): IRC over TLS, as Twitch's port 6697
        self.sent: list[str] = []
        self.missed: list[str] = []
        self.pongs = 0
        self.logins: list[tuple[str, str, str]] = []  # (caps requested, nick, joined channel)
        self.connections = 0
        self.done = threading.Event()
        self.finished_at: float | None = None
        self._client: socket.socket | None = None
        self._joined = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # ---- IRC
    def _serve_client(self, conn: socket.socket) -> None:
        buf, nick, caps = b"", "", ""
        conn.settimeout(0.5)
        try:
            while not self._stop.is_set():
                try:
                    data = conn.recv(4096)
                except (TimeoutError, ssl.SSLWantReadError):
                    continue
                except OSError:
                    return
                if not data:
                    return
                buf += data
                *lines, buf = buf.split(b"\r\n")
                for raw in lines:
                    line = raw.decode()
                    word = line.split(" ", 1)[0].upper()
                    arg = line.split(" ", 1)[1] if " " in line else ""
                    if word == "CAP":
                        caps = arg.split(":", 1)[-1]
                        self._send(conn, f":tmi.twitch.tv CAP * ACK :{caps}")
                    elif word == "NICK":
                        nick = arg.strip()
                        for code, text in (
                            ("001", "Welcome, GLHF!"),
                            ("002", "Your host is tmi.twitch.tv"),
                            ("375", "-"),
                            ("372", "You are in a maze of twisty passages."),
                            ("376", ">"),
                        ):
                            self._send(conn, f":tmi.twitch.tv {code} {nick} :{text}")
                    elif word == "JOIN":
                        chan = arg.strip().lstrip("#")
                        self._send(conn, f":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN #{chan}")
                        self._send(conn, f":{nick}.tmi.twitch.tv 353 {nick} = #{chan} :{nick}")
                        self._send(conn, f":{nick}.tmi.twitch.tv 366 {nick} #{chan} :End of /NAMES list")
                        with self._lock:
                            self.logins.append((caps, nick, chan))
                            if chan == self.channel:
                                self._client = conn
                                self._joined.set()
                    elif word == "PING":
                        self._send(conn, f":tmi.twitch.tv PONG tmi.twitch.tv :{arg.lstrip(':')}")
                    elif word == "PONG":
                        self.pongs += 1
        finally:
            with self._lock:
                if self._client is conn:
                    self._client = None
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def _send(conn: socket.socket, line: str) -> None:
        conn.sendall(line.encode() + b"\r\n")

    def privmsg(self, m: Msg) -> str:
        ts = self.start_ms + int(round(m.offset * 1000))
        tags = {
            "badge-info": "",
            "badges": "",
            "color": "",
            "display-name": m.display_name,
            "emotes": m.emotes,
            "id": m.id,
            "mod": "0",
            "room-id": "14371185",
            "subscriber": "0",
            "tmi-sent-ts": str(ts),
            "turbo": "0",
            "user-id": m.user_id,
            "user-type": "",
        }
        tag = ";".join(f"{k}={escape(v)}" for k, v in tags.items())
        return f"@{tag} :{m.login}!{m.login}@{m.login}.tmi.twitch.tv PRIVMSG #{self.channel} :{m.body}"

    def _replay(self) -> None:
        while not self._joined.wait(0.2):  # until the first client has joined (or the stand-in stops)
            if self._stop.is_set():
                return
        t0 = time.monotonic()
        last_ping = t0
        base = self.messages[0].offset if self.messages else 0.0
        for i, m in enumerate(self.messages):
            due = t0 + (m.offset - base) / self.speed
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= due:
                    break
                time.sleep(min(0.05, due - now))
            if self._stop.is_set():
                return
            with self._lock:
                conn = self._client
            if conn is not None and self.drop_at is not None and i >= self.drop_at:
                self.drop_at = None
                self._kick(conn)
                conn = None
            if conn is not None and self.reconnect_at is not None and i >= self.reconnect_at:
                self.reconnect_at = None
                try:
                    self._send(conn, ":tmi.twitch.tv RECONNECT")
                except OSError:
                    pass
                self._kick(conn)
                conn = None
            if self.ping_every and time.monotonic() - last_ping > self.ping_every and conn is not None:
                last_ping = time.monotonic()
                try:
                    self._send(conn, "PING :tmi.twitch.tv")
                except OSError:
                    pass
            if conn is None:
                self.missed.append(m.id)
                continue
            try:
                self._send(conn, self.privmsg(m))
                self.sent.append(m.id)
            except OSError:
                self.missed.append(m.id)
        self.finished_at = time.monotonic()
        self.done.set()

    def _kick(self, conn: socket.socket) -> None:
        with self._lock:
            if self._client is conn:
                self._client = None
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            if self.tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*self.tls)
                try:
                    conn.settimeout(5)
                    conn = ctx.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError):
                    conn.close()
                    continue
            t = threading.Thread(target=self._serve_client, args=(conn,), daemon=True)
            t.start()

    # ---- GQL
    def live(self) -> bool:
        return self.finished_at is None or time.monotonic() - self.finished_at < self.offline_after

    def _gql_handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                login = ((body.get("variables") or {}).get("login") or "").lower()
                user = None
                if login == stub.channel:
                    created = datetime.fromtimestamp(stub.start_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                    stream = {"id": stub.stream_id, "createdAt": created} if stub.live() else None
                    user = {"id": "14371185", "login": login, "stream": stream}
                data = json.dumps({"data": {"user": user}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    # ---- lifecycle
    def start(self) -> tuple[int, str]:
        """Start both servers; returns (IRC port, GQL URL)."""
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.5)
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._gql_handler())
        for target in (self._accept, self._replay, self._http.serve_forever):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)
        self.port = self._server.getsockname()[1]
        self.gql_url = f"http://127.0.0.1:{self._http.server_address[1]}/gql"
        return self.port, self.gql_url

    def stop(self) -> None:
        self._stop.set()
        self._http.shutdown()
        self._http.server_close()
        self._server.close()
        with self._lock:
            if self._client is not None:
                try:
                    self._client.close()
                except OSError:
                    pass
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
