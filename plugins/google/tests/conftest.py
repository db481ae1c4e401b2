"""Fixtures for the google tests: the Google stand-in on loopback and the plugin in a real
agent pointed at it."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from google_server import GoogleStandIn

from nebula_google import plugin
from tests.loopback import serving


@pytest.fixture
async def google() -> AsyncIterator[GoogleStandIn]:
    standin = GoogleStandIn(client_id=f"{secrets.token_hex(6)}.apps.googleusercontent.com",
                            client_secret=f"GOCSPX-{secrets.token_urlsafe(18)}")
    async with serving(standin.app()) as base:
        standin.base = base
        yield standin


@pytest.fixture
def google_config(google: GoogleStandIn, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Any]]:
    """The client ID comes from the environment and the secret from a file, as the README
    advises."""
    monkeypatch.setenv("NEBULA_TEST_GOOGLE_CLIENT_ID", google.client_id)
    (tmp_path / "google_client_secret").write_text(google.client_secret + "\n")

    def make(**overrides: Any) -> dict[str, Any]:
        return {"client_id": "${NEBULA_TEST_GOOGLE_CLIENT_ID}",
                "client_secret_file": str(tmp_path / "google_client_secret"),
                **google.urls(), "interval": 3600, "refresh_interval": 3600, "timeout": 2,
                **overrides}
    return make


@pytest.fixture
def start_google(nebula_agent: Callable[..., Any],
                 google_config: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    """`async with start_google(schedule=False, **config_overrides) as agent:`."""
    def start(schedule: bool = False, **overrides: Any) -> Any:
        return nebula_agent({"google": plugin}, config={"google": google_config(**overrides)},
                            schedule=schedule)
    return start
