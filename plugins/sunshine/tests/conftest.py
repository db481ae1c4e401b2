"""Fixtures for the sunshine tests: the HTTPS stand-in and the plugin in a real agent."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sunshine_server import Site, SunshineStandIn

from nebula_sunshine import plugin


@pytest.fixture
def sunshine_password(tmp_path: Path) -> str:
    password = "pw-" + secrets.token_urlsafe(12)
    (tmp_path / "sunshine_password").write_text(password + "\n")
    return password


@pytest.fixture
def sunshine(sunshine_password: str) -> SunshineStandIn:
    return SunshineStandIn("admin", sunshine_password)


@pytest.fixture
async def sunshine_site(sunshine: SunshineStandIn) -> AsyncIterator[Site]:
    site = Site(sunshine)
    await site.start()
    try:
        yield site
    finally:
        await site.stop()


@pytest.fixture
def start_sunshine(nebula_agent: Callable[..., Any], sunshine_site: Site, tmp_path: Path
                   ) -> Callable[..., Any]:
    """`async with start_sunshine(**overrides) as agent:` (scheduler off)."""
    def start(**overrides: Any) -> Any:
        config = {"url": sunshine_site.url, "username": "admin",
                  "password_file": str(tmp_path / "sunshine_password"), "interval": 3600,
                  "timeout": 5, "local": False, **overrides}
        return nebula_agent({"sunshine": plugin},
                            config={"sunshine": {k: v for k, v in config.items()
                                                 if v is not None}}, schedule=False)
    return start
