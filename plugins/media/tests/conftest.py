"""Fixtures for the media tests: library and quarantine folders, the plex plugin pointed at
the Plex stand-in (plugins/plex/tests), and both plugins in a real agent."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plex" / "tests"))
from plex_server import PlexStandIn, Serving, serving

from nebula_media import plugin
from nebula_plex import plugin as plex_plugin


@pytest.fixture
def plex(folders: dict[str, Path]) -> PlexStandIn:
    # Plex in a container: the library folder is /data/movies there. Its scans take a
    # second to list what they found, as a real scan runs after the refresh answered.
    server = PlexStandIn("plex-token-for-media-tests", scan_delay=1.0,
                         mounts={"/data/movies": str(folders["movies"])})
    server.add_library("1", "Movies", "movie", "/data/movies")
    return server


@pytest.fixture
async def plex_site(plex: PlexStandIn) -> AsyncIterator[Serving]:
    async with serving(plex.app) as site:
        yield site


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    return {"quarantine": tmp_path / "quarantine", "movies": tmp_path / "movies"}


@pytest.fixture
def start_media(nebula_agent: Callable[..., Any], plex_site: Serving, plex: PlexStandIn,
                folders: dict[str, Path], tmp_path: Path) -> Callable[..., Any]:
    (tmp_path / "plex_token").write_text(plex.token + "\n")

    def start(*, with_plex: bool = True, agent: dict[str, Any] | None = None,
              **overrides: Any) -> Any:
        media = {"quarantine_dir": str(folders["quarantine"]),
                 "libraries": [{"name": "Movies", "path": str(folders["movies"]),
                                "plex_library": "Movies", "plex_path": "/data/movies"}],
                 **overrides}
        plugins: dict[str, Any] = {"media": plugin}
        config: dict[str, Any] = {"media": media}
        if with_plex:
            plugins["plex"] = plex_plugin
            config["plex"] = {"url": plex_site.url, "token_file": str(tmp_path / "plex_token"),
                              "interval": 3600, "timeout": 5}
        return nebula_agent(plugins, agent=agent, config=config, schedule=False)
    return start
