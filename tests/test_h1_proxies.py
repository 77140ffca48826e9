"""HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY, against a real proxy on 127.0.0.1.

The proxy here is a tiny threaded TCP server: it records each request line and answers an
absolute-form GET itself (as a forwarding proxy would, with the origin's answer) and refuses CONNECT.
Target names end in `.invalid`, which never resolve: a fetch that reaches them did so through the proxy.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from dashboard.contracts.errors import NetworkError, RedirectError
from dashboard.contracts.http import Request
from dashboard.fetch.addresses import literal_address, redirect_refusal
from dashboard.fetch.http import Fetcher
from dashboard.fetch.proxies import ProxySettings, shown_proxy
from tests.localserver import LocalServer

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class RecordingProxy:
    """Records `METHOD target` lines with their headers; answers GETs from `answers` by target URL."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.answers: dict[str, Answer] = {}
        proxy = self

        class _Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while True:
                    line = self.rfile.readline().decode("latin-1").rstrip("\r\n")
                    if not line:
                        return
                    headers: dict[str, str] = {}
                    while (header := self.rfile.readline().decode("latin-1").rstrip("\r\n")) != "":
                        name, _, value = header.partition(":")
                        headers[name.strip().lower()] = value.strip()
                    proxy.lines.append(line)
                    proxy.headers.append(headers)
                    method, target, _version = line.split(" ", 2)
                    if method == "CONNECT":
                        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                        return
                    answer = proxy.answers.get(target, Answer(200, b"via proxy: " + target.encode()))
                    head = [f"HTTP/1.1 {answer.status} X", f"Content-Length: {len(answer.body)}"]
                    head += [f"{name}: {value}" for name, value in answer.headers.items()]
                    self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + answer.body)
                    self.wfile.flush()

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    running = RecordingProxy()
    yield running
    running.close()


@pytest.fixture(autouse=True)
def clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


async def test_http_proxy_carries_http_requests(
    monkeypatch: pytest.MonkeyPatch, proxy: RecordingProxy
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.address}")
    async with Fetcher(timeout=5.0) as fetcher:
        response = await fetcher.fetch(Request("http://feeds.example.invalid/feed.xml", params={"q": "x"}))
    assert response.body == b"via proxy: http://feeds.example.invalid/feed.xml?q=x"
    assert proxy.lines == ["GET http://feeds.example.invalid/feed.xml?q=x HTTP/1.1"]
    assert proxy.headers[0]["host"] == "feeds.example.invalid"


async def test_a_proxy_without_a_scheme_is_http(
    monkeypatch: pytest.MonkeyPatch, proxy: RecordingProxy
) -> None:
    monkeypatch.setenv("http_proxy", proxy.address)
    async with Fetcher(timeout=5.0) as fetcher:
        await fetcher.fetch(Request("http://feeds.example.invalid/"))
    assert proxy.lines == ["GET http://feeds.example.invalid/ HTTP/1.1"]


async def test_all_proxy_stands_in_for_a_missing_scheme_proxy(
    monkeypatch: pytest.MonkeyPatch, proxy: RecordingProxy
) -> None:
    monkeypatch.setenv("ALL_PROXY", f"http://{proxy.address}")
    async with Fetcher(timeout=5.0) as fetcher:
        await fetcher.fetch(Request("http://feeds.example.invalid/a"))
    assert proxy.lines == ["GET http://feeds.example.invalid/a HTTP/1.1"]


async def test_https_proxy_is_asked_to_connect_and_its_refusal_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, proxy: RecordingProxy
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://{proxy.address}")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # never used for https
    async with Fetcher(timeout=5.0) as fetcher:
        with pytest.raises(NetworkError, match="proxy") as caught:
            await fetcher.fetch(Request("https://secure.example.invalid/feed"))
    assert proxy.lines == ["CONNECT secure.example.invalid:443 HTTP/1.1"]
    assert proxy.address in caught.value.message


@pytest.mark.parametrize(
    "no_proxy",
    ["example.invalid", ".example.invalid", "feeds.example.invalid", "*", "x.org, example.invalid:80"],
)
async def test_no_proxy_sends_the_host_direct(
    monkeypatch: pytest.MonkeyPatch, proxy: RecordingProxy, no_proxy: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.address}")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    async with Fetcher(timeout=5.0) as fetcher:
        with pytest.raises(NetworkError, match="could not connect"):  # direct: the name does not resolve
            await fetcher.fetch(Request("http://feeds.example.invalid/feed"))
    assert proxy.lines == []


async def test_no_proxy_leaves_other_hosts_proxied(
    monkeypatch: pytest.MonkeyPatch, proxy: RecordingProxy
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.address}")
    monkeypatch.setenv("NO_PROXY", "example.invalid,localhost")
    async with Fetcher(timeout=5.0) as fetcher:
        await fetcher.fetch(Request("http://other.test.invalid/feed"))
    assert proxy.lines == ["GET http://other.test.invalid/feed HTTP/1.1"]


async def test_loopback_is_never_proxied(
    monkeypatch: pytest.MonkeyPatch, proxy: RecordingProxy, server: LocalServer
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.address}")
    server.route("/feed", b"direct")
    async with Fetcher(timeout=5.0) as fetcher:
        assert (await fetcher.fetch(Request(server.url("/feed")))).body == b"direct"
        assert (
            await fetcher.fetch(Request(server.url("/feed").replace("127.0.0.1", "localhost")))
        ).body == b"direct"
    assert proxy.lines == []
    assert len(server.requests_to("/feed")) == 2


async def test_proxy_credentials_are_sent_to_the_proxy_and_never_shown(
    monkeypatch: pytest.MonkeyPatch, proxy: RecordingProxy
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://user:s3cret@{proxy.address}")
    async with Fetcher(timeout=5.0) as fetcher:
        await fetcher.fetch(Request("http://feeds.example.invalid/"))
    assert proxy.headers[0]["proxy-authorization"] == "Basic dXNlcjpzM2NyZXQ="
    monkeypatch.setenv("HTTPS_PROXY", f"http://user:s3cret@{proxy.address}")
    async with Fetcher(timeout=5.0) as fetcher:
        with pytest.raises(NetworkError) as caught:
            await fetcher.fetch(Request("https://secure.example.invalid/"))
    assert "s3cret" not in caught.value.message


async def test_a_dead_proxy_is_a_network_error_of_that_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = RecordingProxy()
    address = dead.address
    dead.close()
    monkeypatch.setenv("HTTP_PROXY", f"http://{address}")
    async with Fetcher(timeout=5.0) as fetcher:
        with pytest.raises(NetworkError):
            await fetcher.fetch(Request("http://feeds.example.invalid/"))


@pytest.mark.parametrize("value", ["ftp://127.0.0.1:21", "socks4://127.0.0.1:1080"])
async def test_an_unusable_proxy_is_a_clear_network_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", value)
    async with Fetcher(timeout=5.0) as fetcher:
        with pytest.raises(NetworkError, match="cannot use the proxy"):
            await fetcher.fetch(Request("http://feeds.example.invalid/"))


async def test_redirects_among_names_only_the_proxy_resolves_are_followed(
    monkeypatch: pytest.MonkeyPatch, proxy: RecordingProxy
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.address}")
    proxy.answers["http://old.example.invalid/feed"] = Answer(
        301, headers={"Location": "http://new.example.invalid/feed"}
    )
    async with Fetcher(timeout=5.0) as fetcher:
        response = await fetcher.fetch(Request("http://old.example.invalid/feed"))
    assert response.body == b"via proxy: http://new.example.invalid/feed"
    assert response.permanent_redirect == "http://new.example.invalid/feed"


async def test_a_proxied_redirect_to_a_private_address_is_still_refused(
    monkeypatch: pytest.MonkeyPatch, proxy: RecordingProxy
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.address}")
    proxy.answers["http://old.example.invalid/feed"] = Answer(
        302, headers={"Location": "http://10.0.0.1/admin"}
    )
    async with Fetcher(timeout=5.0) as fetcher:
        with pytest.raises(RedirectError, match="private address"):
            await fetcher.fetch(Request("http://old.example.invalid/feed"))
    assert proxy.lines == ["GET http://old.example.invalid/feed HTTP/1.1"]


# --- the rules, pure ---


@pytest.mark.parametrize(
    ("environ", "url", "expected"),
    [
        ({"HTTP_PROXY": "http://p:1"}, "http://a.org/", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1"}, "https://a.org/", None),
        ({"http_proxy": "http://lower:1", "HTTP_PROXY": "http://upper:1"}, "http://a.org/", "http://lower:1"),
        ({"ALL_PROXY": "socks5://s:1", "HTTPS_PROXY": "http://h:1"}, "https://a.org/", "http://h:1"),
        ({"ALL_PROXY": "socks5://s:1"}, "https://a.org/", "socks5://s:1"),
        ({"HTTP_PROXY": "p:3128"}, "http://a.org/", "http://p:3128"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "a.org"}, "http://www.a.org/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "a.org"}, "http://xa.org/", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "*.a.org"}, "http://a.org/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "A.ORG"}, "http://www.a.org/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "a.org:8080"}, "http://a.org/", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "a.org:8080"}, "http://a.org:8080/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, "http://10.1.2.3/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, "http://11.1.2.3/", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "::1,fd00::/8"}, "http://[fd00::5]/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "[fd00::5]:80"}, "http://[fd00::5]/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": " , "}, "http://a.org/", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1"}, "http://127.0.0.2/", None),
        ({"HTTP_PROXY": "http://p:1"}, "http://[::1]/", None),
        ({"HTTP_PROXY": "http://p:1"}, "http://app.localhost/", None),
        ({}, "http://a.org/", None),
    ],
)
def test_proxy_for(environ: dict[str, str], url: str, expected: str | None) -> None:
    import httpx

    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    assert ProxySettings.from_environment(environ).proxy_for(parsed.scheme, parsed.host, port) == expected


def test_shown_proxy_drops_credentials() -> None:
    assert shown_proxy("http://user:pa:ss@proxy.corp:3128/path") == "http://proxy.corp:3128"


def test_redirect_refusal_with_names_only_a_proxy_resolves() -> None:
    public = [literal_address("93.184.216.34")]
    private = [literal_address("10.0.0.1")]
    assert redirect_refusal(None, None) is None
    assert redirect_refusal(None, public) is None  # type: ignore[arg-type]
    assert redirect_refusal(None, private) is not None  # type: ignore[arg-type]
    assert redirect_refusal(private, None) is None  # type: ignore[arg-type]
    assert redirect_refusal(public, None) is not None  # type: ignore[arg-type]
