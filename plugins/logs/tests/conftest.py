"""Fixtures of the logs plugin's tests (plain helpers are in logs_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    from nebula_logs.store import LogStore

    opened = LogStore(tmp_path / "logs.db", batch_lines=500)
    opened.open()
    yield opened
    opened.close()
