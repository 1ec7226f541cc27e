"""Announcements pushed to Convex as they are made (when CONVEX_URL is set), off the chat loop.

A Convex call may take seconds (timeouts, retries, klipstream.convex); the chat must not wait for it. Announcements
go into a bounded queue that one thread sends in order, with the mutation `live.convex_function` and args
`{channel, stream, moment}`. When Convex is slower than the announcements for long, the oldest unsent ones are
dropped and counted (`dropped`); a failed call is logged in one redacted line and counted (`failed`). The moments
file is the record either way."""

from __future__ import annotations

import logging
import queue
import threading

from ..convex import ConvexClient, ConvexError, client_from_settings

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000


class MomentPusher:
    def __init__(self, client: ConvexClient, function: str):
        self.client, self.function = client, function
        self.q: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        self.sent = self.failed = self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="live-convex", daemon=True)
        self._thread.start()

    @classmethod
    def from_settings(cls, function: str) -> MomentPusher | None:
        client = client_from_settings()
        return cls(client, function) if client is not None else None

    def push(self, channel: str, stream: str, moment: dict) -> None:
        item = {"channel": channel, "stream": stream, "moment": moment}
        while True:
            try:
                self.q.put_nowait(item)
                return
            except queue.Full:
                try:
                    self.q.get_nowait()
                    self.q.task_done()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def _run(self) -> None:
        while True:
            item = self.q.get()
            try:
                if item is None:
                    return
                self.client.mutation(self.function, item)
                self.sent += 1
            except ConvexError as exc:
                self.failed += 1
                log.warning("live: Convex push of moment %s failed: %s", item["moment"].get("id"), exc)
            finally:
                self.q.task_done()

    def close(self, timeout: float = 30.0) -> dict:
        """Send what is queued (at most `timeout` s), stop the thread; returns the counts."""
        self.q.put(None)
        self._thread.join(timeout)
        return {"sent": self.sent, "failed": self.failed, "dropped": self.dropped}
