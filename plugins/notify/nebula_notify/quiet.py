"""Quiet hours: a daily window in the host's local time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any


def _clock(text: str) -> time:
    return time.fromisoformat(text)  # HH:MM or HH:MM:SS, as the schema's pattern says


def is_quiet(window: Mapping[str, Any] | None, now: datetime | None = None) -> bool:
    """Whether `now` (default: local now) falls in `window`; a window whose end is before
    its start spans midnight; equal ends mean no window."""
    if not window:
        return False
    start, end = _clock(window["start"]), _clock(window["end"])
    clock = (now or datetime.now()).time()
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end
