"""The demo's HTTP server runs all day: it must not keep what it answered (only the tests' server does)."""

from __future__ import annotations

import httpx

from dashboard.demo import httpserver
from tests.localserver import LocalServer


def test_the_demo_server_keeps_no_request_while_the_tests_server_records_them() -> None:
    with httpserver.LocalServer() as demo, LocalServer() as recording:
        for server in (demo, recording):
            server.route("/feed.xml", b"<rss/>")
            with httpx.Client() as client:
                for _ in range(20):
                    assert client.get(server.url("/feed.xml")).status_code == 200
        assert not hasattr(demo, "seen")
        assert len(recording.requests_to("/feed.xml")) == 20
