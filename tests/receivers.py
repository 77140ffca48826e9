"""Real local receivers for alert delivery tests: an HTTP webhook server (Apprise's json:// and
ntfy:// post to it) and an SMTP server (aiosmtpd) for mailto://."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Posted:
    path: str
    content_type: str
    body: bytes

    def json(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


@dataclass
class WebhookReceiver:
    """Accepts POSTs on 127.0.0.1 and keeps them; `status` is what it answers (500: a broken one)."""

    status: int = 200
    posted: list[Posted] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.posted.append(Posted(self.path, self.headers.get("Content-Type", ""), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def json_url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [posted.json() for posted in self.posted]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SMTPReceiver:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it is given."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        receiver = self

        class _Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                receiver.messages.append(message_from_bytes(envelope.original_content))
                return "250 OK"

        self.port = _free_port()
        self._controller = Controller(_Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def mailto_url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=dashboard@example.org&to=team@example.org&mode=insecure"

    def close(self) -> None:
        self._controller.stop()
