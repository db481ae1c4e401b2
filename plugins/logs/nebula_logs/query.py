"""Reading a search from what a user typed: times (`2h`, `30m`, ISO), a level name, and a
query that FTS5 cannot read retried with each word quoted (`foo-bar` is then the phrase it
looks like). Shared by the API, the CLI (through the API), the tools and the alert rules."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from nebula_logs.levels import level_number
from nebula_logs.store import Filters, QueryError, QueryTooSlow

_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
T = TypeVar("T")


class BadParam(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name, self.message = name, message


def parse_time(value: str | None, name: str, now: float | None = None) -> float | None:
    """An age (`90s`, `30m`, `2h`, `1d`, `1w`: that long ago), a Unix time, or an ISO 8601
    time (local when it names no zone)."""
    if value is None or value == "":
        return None
    now = time.time() if now is None else now
    text = value.strip()
    if m := _AGE.match(text):
        return now - float(m.group(1)) * _UNITS[m.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise BadParam(name, f"{value!r} is not a time: use an age (30m, 2h, 1d) or an "
                             "ISO time (2026-12-08T10:00)") from None


def filters_from(params: Mapping[str, Any], sources: Sequence[str] = (),
                 units: Sequence[str] = ()) -> Filters:
    level = params.get("level")
    try:
        max_level = level_number(level) if level else None
    except ValueError as exc:
        raise BadParam("level", str(exc)) from None
    return Filters(q=(params.get("q") or params.get("query") or "").strip(),
                   since=parse_time(params.get("since"), "since"),
                   until=parse_time(params.get("until"), "until"),
                   sources=sources, max_level=max_level, units=units)


def quoted(q: str) -> str:
    """Every whitespace-separated word of `q` as an FTS5 string (a phrase of its tokens)."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in q.split())


def tolerant(run: Callable[[Filters], T], filters: Filters) -> tuple[T, str]:
    """Run with the query as FTS5 reads it; if FTS5 cannot read it and it has no quotes
    of its own, once more with every word quoted. Returns the answer and which query ran."""
    try:
        return run(filters), filters.q
    except QueryTooSlow:
        raise
    except QueryError as exc:
        if not filters.q or '"' in filters.q:
            raise
        first = exc
    retry = dataclasses.replace(filters, q=quoted(filters.q))
    try:
        return run(retry), retry.q
    except QueryTooSlow:
        raise
    except QueryError:
        raise first from None
