"""The tests' HTTP server: the demo's `LocalServer`, keeping every request it answers for assertions."""

from __future__ import annotations

import threading

from dashboard.demo.httpserver import Handler, Reply, Seen, write_reply
from dashboard.demo.httpserver import LocalServer as _DemoServer

__all__ = ["Handler", "LocalServer", "Reply", "Seen", "write_reply"]


class LocalServer(_DemoServer):
    """Serve routes on 127.0.0.1 and remember each request (`seen`, `requests_to`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.seen: list[Seen] = []
        self._seen_lock = threading.Lock()
        super().__init__(host, port)

    def received(self, seen: Seen) -> None:
        with self._seen_lock:
            self.seen.append(seen)

    def requests_to(self, path: str) -> list[Seen]:
        with self._seen_lock:
            return [seen for seen in self.seen if seen.path == path]
