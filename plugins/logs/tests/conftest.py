"""Shared pieces of the logs plugin's tests."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nebula.testing import installed_plugin

PLUGINS = {"logs": installed_plugin("logs")}


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    from nebula_logs.store import LogStore

    opened = LogStore(tmp_path / "logs.db", batch_lines=500)
    opened.open()
    yield opened
    opened.close()


def messages(body: dict[str, Any]) -> list[str]:
    return [line["message"] for line in body["lines"]]


def dumps(value: Any) -> str:
    return json.dumps(value)
