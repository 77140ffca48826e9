"""The request and response records that sources and the fetcher exchange."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Request:
    url: str
    method: str = "GET"
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    json: object | None = None  # a JSON body (POST), e.g. Bluesky's createSession


@dataclass(frozen=True, slots=True)
class Response:
    """A finished exchange: the decoded (decompressed) body, capped in size.

    Header names are lower-case. Statuses the fetcher turns into errors (429, 410, 5xx...)
    never arrive here; 200-299 and 304 do.
    """

    url: str  # final URL after redirects
    status: int
    headers: Mapping[str, str]
    body: bytes
    permanent_redirect: str | None = None  # where a 301/308 chain pointed, if any

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)
