"""A loopback stand-in for Twitch's GQL, usher and HLS hosts, used by tests/test_twitch_*.py and bench/.

GQL answers in the real response shapes: `VideoCommentsByOffsetOrCursor` pages with cursors and
`pageInfo.hasNextPage`, the `video(id:)` info query, yt-dlp's `VideoMetadata` batch and
`videoPlaybackAccessToken`. usher serves a Twitch-style master playlist whose renditions point at
small HLS streams generated with ffmpeg. Faults (429, 5xx, integrity refusals, latency, sub-only)
are switched on per test.

Run standalone for the benchmark: `python -m tests.helpers.twitch_stub --port 0 --messages 200000 --latency 0.1`.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import json
import re
import subprocess
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

GOOD_CLIENT_ID = "kd1unb4b3q4t58fwlpcbzcbnm76a8fp"
EMOTES = ("Kappa", "PogChamp", "LUL")


class RawJson(str):
    """JSON text already serialised (spliced into the response as is)."""


def _dumps(obj) -> str:
    if isinstance(obj, RawJson):
        return obj
    if isinstance(obj, list):
        return "[" + ",".join(_dumps(o) for o in obj) + "]"
    return json.dumps(obj)


class ChatData:
    """`n` synthetic comments spread evenly over `duration` seconds (integer offsets, as Twitch sends)."""

    def __init__(self, n: int, duration: float, users: int = 500):
        self.n, self.duration, self.users = n, duration, users
        self.offsets = [int(i * duration / n) for i in range(n)] if n else []

    def node(self, i: int) -> dict:
        u = i % self.users
        frags = [{"text": f"message {i} ", "emote": None}]
        if i % 5 == 0:
            name = EMOTES[i % 3]
            frags.append(
                {
                    "text": name,
                    "emote": {"emoteID": str(25 + i % 3), "id": f"{25 + i % 3};0;5", "from": len(frags[0]["text"])},
                }
            )
        return {
            "id": f"c{i:08d}",
            "commenter": {"id": str(1000 + u), "login": f"user{u}", "displayName": f"User{u}"},
            "contentOffsetSeconds": self.offsets[i],
            "createdAt": "2024-01-01T00:00:00Z",
            "message": {
                "fragments": frags,
                "userBadges": [{"id": "x", "setID": "subscriber", "version": "3"}],
                "userColor": "#FF0000",
            },
        }


class RecordedChat:
    """The comments of a chat JSON (TwitchDownloader / our contract layout) served as GQL comment nodes, in the
    shape Twitch sends them: integer `contentOffsetSeconds`, `commenter`, `message.fragments` with `emote` objects."""

    def __init__(self, path: Path, until: float | None = None):
        comments = json.loads(Path(path).read_text(encoding="utf-8"))["comments"]
        self.nodes = [self._node(c) for c in comments if until is None or c["content_offset_seconds"] < until]
        self.n = len(self.nodes)
        self.offsets = [node["contentOffsetSeconds"] for node in self.nodes]

    @staticmethod
    def _node(c: dict) -> dict:
        fragments, pos = [], 0
        for f in c["message"].get("fragments") or [{"text": c["message"]["body"], "emoticon": None}]:
            emote = f.get("emoticon")
            fragments.append(
                {
                    "text": f["text"],
                    "emote": None
                    if not emote
                    else {
                        "emoteID": emote["emoticon_id"],
                        "id": f"{emote['emoticon_id']};{pos};{pos + len(f['text']) - 1}",
                        "from": pos,
                    },
                }
            )
            pos += len(f["text"])
        commenter = c["commenter"]
        return {
            "id": c["_id"],
            "contentOffsetSeconds": int(c["content_offset_seconds"]),
            "createdAt": c["created_at"],
            "commenter": {"id": commenter["_id"], "login": commenter["name"], "displayName": commenter["display_name"]},
            "message": {
                "fragments": fragments,
                "userColor": c["message"].get("user_color"),
                "userBadges": [
                    {"id": f"{b['_id']};{b['version']}", "setID": b["_id"], "version": b["version"]}
                    for b in c["message"].get("user_badges") or []
                ],
            },
        }

    def node(self, i: int) -> dict:
        return self.nodes[i]


class Stub:
    def __init__(
        self,
        *,
        vod_id: str = "123456789",
        messages: int = 0,
        duration: int = 3600,
        page_size: int = 100,
        latency: float = 0.0,
        hls_dir: Path | None = None,
        chat: RecordedChat | None = None,
    ):
        self.vod_id, self.duration, self.page_size, self.latency = vod_id, duration, page_size, latency
        self.chat = chat or ChatData(messages, duration)
        self.hls_dir = hls_dir
        self.faults: deque[int] = deque()  # HTTP statuses to answer to the next comment requests
        self.integrity_on_cursor = False  # refuse cursor requests (as Twitch does for some clients)
        self.integrity_always = False  # refuse every comments request
        self.sub_only = False
        self.broken_paths: set[str] = set()  # HLS paths answered with 404 (an interrupted download)
        self.missing = False  # the VOD does not exist
        self.renditions = ["1080p60", "720p60", "480p30", "audio_only"]
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.bytes_out: dict[str, int] = {}  # response bytes by first path segment (gql, vod, hls)
        self.sleep_seconds = 0.0  # simulated latency slept in total
        self.active = 0
        self.max_active = 0
        self.server: ThreadingHTTPServer | None = None
        self._edges: list[str] | None = None

    def prepare(self) -> None:
        """Serialise every edge up front so the benchmark measures the client, not the stub's JSON encoding."""
        self._edges = [self._edge(k) for k in range(self.chat.n)]

    def _edge(self, k: int) -> str:
        cursor = base64.b64encode(json.dumps({"i": k}).encode()).decode()
        return json.dumps({"cursor": cursor, "node": self.chat.node(k)})

    # -- GQL
    def comments_page(self, variables: dict) -> dict:
        n = self.chat.n
        if "cursor" in variables:
            i = json.loads(base64.b64decode(variables["cursor"]))["i"] + 1
        else:
            i = bisect.bisect_left(self.chat.offsets, int(variables.get("contentOffsetSeconds", 0)))
        j = min(n, i + self.page_size)
        edges = ",".join(self._edges[k] if self._edges else self._edge(k) for k in range(i, j))
        page = {
            "data": {
                "video": {
                    "id": self.vod_id,
                    "creator": {"id": "4242", "channel": {"id": "4242"}},
                    "comments": {"edges": "@EDGES@", "pageInfo": {"hasNextPage": j < n, "hasPreviousPage": i > 0}},
                }
            },
            "extensions": {"durationMilliseconds": 5, "operationName": "VideoCommentsByOffsetOrCursor"},
        }
        return RawJson(json.dumps(page).replace('"@EDGES@"', "[" + edges + "]"))

    def video(self) -> dict | None:
        if self.missing:
            return None
        return {
            "id": self.vod_id,
            "title": "Stub stream",
            "description": None,
            "lengthSeconds": self.duration,
            "createdAt": "2024-01-01T00:00:00Z",
            "publishedAt": "2024-01-01T00:00:00Z",
            "viewCount": 7,
            "owner": {"id": "4242", "login": "stubstreamer", "displayName": "StubStreamer"},
            "game": {"id": "1", "displayName": "Just Chatting"},
            "previewThumbnailURL": None,
            "broadcastType": "ARCHIVE",
            "moments": {"edges": []},
            "seekPreviewsURL": None,
        }

    def gql(self, payload, client_id: str) -> tuple[int, object]:
        ops = payload if isinstance(payload, list) else [payload]
        out = []
        for op in ops:
            name = op.get("operationName")
            query = op.get("query") or ""
            if name == "VideoCommentsByOffsetOrCursor":
                with self.lock:
                    fault = self.faults.popleft() if self.faults else None
                if fault:
                    return fault, {"error": "stub fault", "status": fault}
                refused = self.integrity_always or (
                    "cursor" in op["variables"] and (self.integrity_on_cursor or client_id != GOOD_CLIENT_ID)
                )
                if refused:
                    out.append(
                        {
                            "errors": [{"message": "failed integrity check", "path": ["video", "comments"]}],
                            "data": {"video": {"id": self.vod_id, "comments": None}},
                        }
                    )
                    continue
                if self.missing:
                    out.append({"data": {"video": None}})
                    continue
                out.append(self.comments_page(op["variables"]))
            elif "PlaybackAccessToken" in query:
                token = json.dumps({"vod_id": int(self.vod_id), "chansub": {"restricted_bitrates": []}})
                out.append({"data": {"videoPlaybackAccessToken": {"value": token, "signature": "0" * 40}}})
            elif "video(id:" in query or name in (
                "VideoMetadata",
                "VideoPlayer_ChapterSelectButtonVideo",
                "VideoPlayer_VODSeekbarPreviewVideo",
            ):
                out.append({"data": {"video": self.video()}})
            else:
                out.append({"errors": [{"message": "PersistedQueryNotFound"}]})
        return 200, (out if isinstance(payload, list) else out[0])

    # -- usher / HLS
    def master_playlist(self, base: str) -> str:
        res = {
            "1080p60": ("1920x1080", "60.000"),
            "720p60": ("1280x720", "60.000"),
            "480p30": ("852x480", "30.000"),
            "360p30": ("640x360", "30.000"),
            "160p30": ("284x160", "30.000"),
        }
        lines = ["#EXTM3U", '#EXT-X-TWITCH-INFO:ORIGIN="s3",B="false",REGION="EU",USER-IP="127.0.0.1"']
        for k, name in enumerate(self.renditions):
            if name == "audio_only":
                lines += [
                    '#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="audio_only",NAME="Audio Only",AUTOSELECT=NO,DEFAULT=NO',
                    '#EXT-X-STREAM-INF:BANDWIDTH=160000,CODECS="mp4a.40.2",VIDEO="audio_only"',
                ]
            else:
                size, fps = res[name]
                group = "chunked" if k == 0 else name
                label = f"{name} (source)" if k == 0 else name
                lines += [
                    f'#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="{group}",NAME="{label}",AUTOSELECT=YES,DEFAULT=YES',
                    f"#EXT-X-STREAM-INF:BANDWIDTH={3000000 - 100000 * k},RESOLUTION={size},"
                    f'CODECS="avc1.4D401F,mp4a.40.2",VIDEO="{group}",FRAME-RATE={fps}',
                ]
            lines.append(f"{base}/hls/{name}/index.m3u8")
        return "\n".join(lines) + "\n"

    # -- server
    def start(self, port: int = 0) -> str:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # one send per response: avoids Nagle + delayed-ACK stalls on keep-alive

            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json"):
                kind = urlsplit(self.path).path.strip("/").split("/", 1)[0]
                with stub.lock:
                    stub.bytes_out[kind] = stub.bytes_out.get(kind, 0) + len(body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with stub.lock:
                    stub.active += 1
                    stub.max_active = max(stub.max_active, stub.active)
                try:
                    if stub.latency:
                        time.sleep(stub.latency)
                        with stub.lock:
                            stub.sleep_seconds += stub.latency
                    payload = json.loads(body)
                    with stub.lock:
                        stub.requests.append(
                            {"path": self.path, "client_id": self.headers.get("Client-ID"), "payload": payload}
                        )
                    if urlsplit(self.path).path != "/gql":
                        return self._send(404, b"{}")
                    status, out = stub.gql(payload, self.headers.get("Client-ID") or "")
                    self._send(status, _dumps(out).encode())
                finally:
                    with stub.lock:
                        stub.active -= 1

            def do_GET(self):
                parts = urlsplit(self.path)
                base = f"http://127.0.0.1:{stub.server.server_address[1]}"
                m = re.fullmatch(r"/vod/(\d+)\.m3u8", parts.path)
                if m:
                    with stub.lock:
                        stub.requests.append({"path": parts.path, "query": parse_qs(parts.query)})
                    if stub.missing or m.group(1) != stub.vod_id:
                        return self._send(404, b'[{"error":"Not found","error_code":"vod_manifest_not_found"}]')
                    if stub.sub_only:
                        return self._send(
                            403,
                            b'[{"url":"","error":"Manifest is restricted",'
                            b'"error_code":"vod_manifest_restricted","type":"error"}]',
                        )
                    return self._send(200, stub.master_playlist(base).encode(), "application/vnd.apple.mpegurl")
                m = re.fullmatch(r"/hls/([\w]+)/([\w.]+)", parts.path)
                if m:
                    with stub.lock:
                        stub.requests.append({"path": parts.path})
                if m and parts.path in stub.broken_paths:
                    return self._send(404, b"gone", "text/plain")
                if m and stub.hls_dir is not None:
                    f = stub.hls_dir / m.group(1) / m.group(2)
                    if f.is_file():
                        ctype = "application/vnd.apple.mpegurl" if f.suffix == ".m3u8" else "video/mp2t"
                        return self._send(200, f.read_bytes(), ctype)
                self._send(404, b"not found", "text/plain")

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def make_hls(
    root: Path,
    ffmpeg: str,
    renditions: dict[str, tuple[int, int]],
    seconds: float = 2.0,
    source: Path | None = None,
    segment_seconds: int = 1,
) -> Path:
    """HLS VOD streams (H.264 + AAC in MPEG-TS) per rendition, the way Twitch serves them; audio_only has no video.
    Made from `source` (a real video, scaled to each rendition) or, without one, from a test pattern and a tone."""
    for name, (w, h) in renditions.items():
        out = root / name
        out.mkdir(parents=True, exist_ok=True)
        tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]
        if source is not None:
            inputs = ["-i", str(source)]
            video = ["-map", "0:v:0", "-vf", f"scale={w}:{h}", "-map", "0:a:0"]
        elif name == "audio_only":
            inputs, video = tone, []
        else:
            inputs, video = ["-f", "lavfi", "-i", f"testsrc=size={w}x{h}:rate=5", *tone], []
        if name == "audio_only":
            codecs = ["-map", "0:a:0", "-c:a", "aac", "-b:a", "64k"]
        else:
            codecs = [
                *video,
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-g",
                "5",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-b:a",
                "64k",
            ]
        subprocess.run(
            [
                ffmpeg,
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                *inputs,
                "-t",
                str(seconds),
                *codecs,
                "-f",
                "hls",
                "-hls_time",
                str(segment_seconds),
                "-hls_playlist_type",
                "vod",
                "-hls_segment_filename",
                str(out / "seg%03d.ts"),
                str(out / "index.m3u8"),
            ],
            check=True,
        )
    return root


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--duration", type=int, default=36_000)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--page-size", type=int, default=100)
    a = ap.parse_args()
    s = Stub(messages=a.messages, duration=a.duration, latency=a.latency, page_size=a.page_size)
    s.prepare()
    print(s.start(a.port), flush=True)
    try:
        sys.stdin.read()  # run until the parent closes our stdin
    finally:
        s.stop()
        import resource

        ru = resource.getrusage(resource.RUSAGE_SELF)
        print(f"stub cpu {ru.ru_utime + ru.ru_stime:.1f} s, {len(s.requests)} requests", file=sys.stderr)
