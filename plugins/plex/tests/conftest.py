"""Fixtures for the plex tests: the Plex stand-in (plain HTTP, or TLS with a test CA) seeded
with three libraries, and the plugin in a real agent pointed at it."""

from __future__ import annotations

import secrets
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import trustme
from plex_server import PlexStandIn, Serving, serving

from nebula_plex import plugin


@pytest.fixture
def plex_token(tmp_path: Path) -> str:
    token = f"plex-{secrets.token_urlsafe(15)}"
    (tmp_path / "plex_token").write_text(token + "\n")
    return token


@pytest.fixture
def plex(plex_token: str) -> PlexStandIn:
    server = PlexStandIn(plex_token)
    server.add_library("1", "Movies", "movie", "/data/movies")
    for title, year in (("Movie 1", 2000), ("Big Buck Bunny", 2008), ("Sintel", 2010)):
        server.add("1", title, "movie", year=year)
    server.add_library("2", "TV Shows", "show", "/data/tv")
    server.add("2", "The Expanse", "show")
    for n in (1, 2, 3):
        server.add("2", f"Episode {n}", "episode", grandparentTitle="The Expanse",
                   parentIndex=1, index=n)
    server.add_library("3", "Music", "artist", "/data/music")
    server.add("3", "Daft Punk", "artist")
    for title in ("One More Time", "Aerodynamic"):
        server.add("3", title, "track", grandparentTitle="Daft Punk", parentTitle="Discovery")
    return server


@pytest.fixture
async def plex_site(plex: PlexStandIn) -> AsyncIterator[Serving]:
    async with serving(plex.app) as site:
        yield site


@pytest.fixture
def test_ca() -> trustme.CA:
    return trustme.CA(organization_name="Nebula Plex Test CA")


@pytest.fixture
async def plex_tls_site(plex: PlexStandIn, test_ca: trustme.CA) -> AsyncIterator[Serving]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    async with serving(plex.app, context) as site:
        yield site


@pytest.fixture
def ca_file(test_ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "plex-ca.pem"
    test_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def plex_config(plex_site: Serving, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        """The test config; an override of None drops that key."""
        config = {"url": plex_site.url, "token_file": str(tmp_path / "plex_token"),
                  "interval": 3600, "timeout": 2, **overrides}
        return {k: v for k, v in config.items() if v is not None}
    return make


@pytest.fixture
def start_plex(nebula_agent: Callable[..., Any],
               plex_config: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    """`async with start_plex(url=..., interval=...) as agent:` (scheduler off)."""
    def start(schedule: bool = False, **overrides: Any) -> Any:
        return nebula_agent({"plex": plugin}, config={"plex": plex_config(**overrides)},
                            schedule=schedule)
    return start
