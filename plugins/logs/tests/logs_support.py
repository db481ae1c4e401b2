"""Shared pieces of the logs plugin's tests that are not fixtures (a module of its own:
`conftest` is a name every test folder has, so importing from it picks whichever came first)."""

from __future__ import annotations

import socket
from typing import Any

from nebula.testing import installed_plugin

PLUGINS = {"logs": installed_plugin("logs")}


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def messages(body: dict[str, Any]) -> list[str]:
    return [line["message"] for line in body["lines"]]
