"""A small real HTTP/1.1 server on 127.0.0.1 with routes set in code.

The demo serves its generated feeds with it, so the dashboard polls the demo through the real
fetcher over real sockets. It keeps nothing of the requests it answers (the demo runs all day);
the tests' recording server is a subclass that does (tests/localserver.py).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Seen:
    """A request the server received, as its handler sees it."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    peer: tuple[str, int] = ("", 0)  # the client's address and port: one per connection

    def param(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default


# A handler gets the request and returns a Reply; or it writes to `raw` itself and returns None
# (trickling, resetting, never answering).
Handler = Callable[[Seen, BaseHTTPRequestHandler], Reply | None]


class _Server(ThreadingHTTPServer):
    # Many sources poll at once: the default backlog of 5 stalls clients for seconds.
    request_queue_size = 128
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a deadline, a test) is normal here, not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LocalServer:
    """Serve `routes` (path -> Reply or Handler) on an ephemeral port until `close()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Reply | Handler] = {}
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._dispatch(self)

            do_POST = do_GET
            do_HEAD = do_GET

        self._httpd = _Server((host, port), _Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, reply: Reply | Handler | bytes | str, **kwargs: Any) -> None:
        """Serve `path` (without query): a Reply, a Handler, or a body with optional status/headers.

        A path ending in "*" serves every path under it (the longest such prefix wins).
        """
        if isinstance(reply, str):
            reply = reply.encode()
        if isinstance(reply, bytes):
            reply = Reply(body=reply, **kwargs)
        with self._lock:
            self.routes[path] = reply

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def received(self, seen: Seen) -> None:
        """Called for every request before it is answered; a subclass may keep or count them."""

    def _find_route(self, path: str) -> Reply | Handler | None:
        if path in self.routes:
            return self.routes[path]
        prefixes = [key for key in self.routes if key.endswith("*") and path.startswith(key[:-1])]
        return self.routes[max(prefixes, key=len)] if prefixes else None

    def _dispatch(self, raw: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(raw.path)
        length = int(raw.headers.get("Content-Length") or 0)
        body = raw.rfile.read(length) if length else b""
        seen = Seen(
            method=raw.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in raw.headers.items()},
            body=body,
            peer=(str(raw.client_address[0]), int(raw.client_address[1])),
        )
        self.received(seen)
        with self._lock:
            route = self._find_route(parts.path)
        if route is None:
            reply: Reply | None = Reply(404, b"not found", {"Content-Type": "text/plain"})
        elif isinstance(route, Reply):
            reply = route
        else:
            try:
                reply = route(seen, raw)
            except (BrokenPipeError, ConnectionResetError):
                return
        if reply is not None:
            write_reply(raw, reply, head_only=raw.command == "HEAD")


def write_reply(raw: BaseHTTPRequestHandler, reply: Reply, *, head_only: bool = False) -> None:
    try:
        raw.send_response(reply.status)
        names = {name.lower() for name in reply.headers}
        for name, value in reply.headers.items():
            raw.send_header(name, value)
        if "content-length" not in names and reply.status not in (204, 304):
            raw.send_header("Content-Length", str(len(reply.body)))
        raw.end_headers()
        if not head_only and reply.status not in (204, 304):
            raw.wfile.write(reply.body)
    except (BrokenPipeError, ConnectionResetError):
        pass
