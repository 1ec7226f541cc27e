"""A threaded HTTP server on 127.0.0.1 for the service stubs: tests never send traffic anywhere else."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class LoopbackServer:
    """Serve `handler` on 127.0.0.1 (a free port unless given) in a daemon thread; a context manager."""

    def __init__(self, handler, port: int = 0, request_queue_size: int = 128):
        ThreadingHTTPServer.request_queue_size = request_queue_size
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
