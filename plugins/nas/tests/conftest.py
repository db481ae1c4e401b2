"""Fixtures for the nas tests: a real Samba server on loopback with a user, a plain share,
a backup share and a 2 MiB tmpfs share; the plugin in a real agent pointed at it."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nas_samba import USER, Samba, samba_server
from nas_support import TINY_KIB

from nebula_nas import plugin


@pytest.fixture
def smb_password() -> str:
    return "pw-" + secrets.token_urlsafe(12)


@pytest.fixture
def samba(smb_password: str) -> Iterator[Samba]:
    with samba_server(smb_password) as server:
        server.add_share("media")
        server.add_share("backup")
        server.add_share("tiny", tmpfs_kib=TINY_KIB)
        server.start()
        yield server


@pytest.fixture
def nas_config(samba: Samba, smb_password: str, tmp_path: Path
               ) -> Callable[..., dict[str, Any]]:
    (tmp_path / "smb_password").write_text(smb_password + "\n")

    def make(**overrides: Any) -> dict[str, Any]:
        config = {"server": "127.0.0.1", "port": samba.port, "username": USER,
                  "password_file": str(tmp_path / "smb_password"), "timeout": 5,
                  "interval": 3600, "shares": [{"name": "media"}], **overrides}
        return {k: v for k, v in config.items() if v is not None}
    return make


@pytest.fixture
def start_nas(nebula_agent: Callable[..., Any], nas_config: Callable[..., dict[str, Any]]
              ) -> Callable[..., Any]:
    """`async with start_nas(shares=[...]) as agent:` (scheduler off)."""
    def start(**overrides: Any) -> Any:
        return nebula_agent({"nas": plugin}, config={"nas": nas_config(**overrides)},
                            schedule=False)
    return start
