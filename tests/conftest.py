"""Shared fixtures: a real HTTP server on 127.0.0.1 and paths to fixture files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dashboard.fetch.http import Fetcher
from tests.localserver import LocalServer

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _log_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run by tests log into a temporary file, never into the user's state folder."""
    monkeypatch.setenv("COMMUNITY_DASHBOARD_LOG", str(tmp_path_factory.mktemp("log") / "test.log"))


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as local:
        yield local


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    """The real polite fetcher, with a short deadline for tests."""
    async with Fetcher(timeout=5.0) as client:
        yield client


def fixture_bytes(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()
