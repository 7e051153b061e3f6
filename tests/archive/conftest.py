"""Archive tests run alike on an SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from . import postgres


@pytest.fixture(autouse=True)
def _loopback_sockets(socket_enabled: None) -> None:
    """PostgreSQL is a real server on 127.0.0.1 (the plugin's allow-list keeps it local)."""


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One private PostgreSQL server for the whole session."""
    if not postgres.available():
        pytest.fail("PostgreSQL server binaries missing: scripts/setup installs them")
    with postgres.postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty archive database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    postgres.reset(url)
    yield url
