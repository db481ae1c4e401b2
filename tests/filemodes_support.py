"""Helpers for tests of file modes: the usual umask set explicitly, and modes read back."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The umask most systems give a user (files 0644, dirs 0755), set for the test and for
    the processes it starts (a child inherits the umask); the old one put back after."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> str:
    """`path`'s permission bits as "0600" (a symlink's own, not its target's)."""
    return f"{stat.S_IMODE(path.lstat().st_mode):04o}"


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log lines in `text`; anything else in it is skipped."""
    found = []
    for line in text.splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return [entry for entry in found if isinstance(entry, dict)]
