"""A maintenance window: when it is open, and which checks it covers (pure; no I/O).

One-off windows have a start and an end. Recurring ones open at each time a cron
expression names, read in the window's time zone (so "0 2 * * 0" in Europe/Berlin is 02:00
Berlin time in summer and in winter), and stay open for `duration`. A window covers every
check, the checks of some plugins, or checks named (fnmatch patterns: `docker.*`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

Span = tuple[float, float]
DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")
UNITS = (86400, 3600, 60, 1)


def parse_duration(value: Any) -> float:
    """Seconds from a number or text such as "90m", "2h", "1h30m", "1d" (ValueError)."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 2h, 90m, 1h30m")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = DURATION.match(str(value))
        if not match or not any(match.groups()):
            raise ValueError(f"{value!r} is not a duration (seconds, or like 2h, 90m, 1h30m)")
        seconds = float(sum(int(part or 0) * unit
                            for part, unit in zip(match.groups(), UNITS, strict=True)))
    if seconds <= 0:
        raise ValueError("a duration must be more than 0 seconds")
    return seconds


def parse_time(value: str, zone: str = "UTC") -> float:
    """Epoch seconds of an ISO 8601 time; one without an offset is read in `zone`."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.timestamp()


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


@dataclass(frozen=True)
class Window:
    name: str
    reason: str = ""
    start: float | None = None  # one-off: epoch seconds
    end: float | None = None
    cron: str | None = None  # recurring
    duration: float = 0.0
    timezone: str = "UTC"
    checks: tuple[str, ...] = ()
    plugins: tuple[str, ...] = ()
    enabled: bool = True
    source: str = "config"  # or "adhoc": started by hand (API, CLI, panel)
    created_by: str = ""

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> Window:
        """From a validated `[[maintenance]]` table (or an ad-hoc window as stored)."""
        zone = section.get("timezone", "UTC")

        def moment(key: str) -> float | None:
            value = section.get(key)
            if value is None or isinstance(value, int | float):
                return value
            return parse_time(value, zone)

        return cls(
            name=section["name"], reason=section.get("reason", ""),
            start=moment("start"), end=moment("end"), cron=section.get("cron"),
            duration=parse_duration(section["duration"]) if "duration" in section else 0.0,
            timezone=zone, checks=tuple(section.get("checks", ())),
            plugins=tuple(section.get("plugins", ())),
            enabled=section.get("enabled", True), source=section.get("source", "config"),
            created_by=section.get("created_by", ""))

    def stored(self) -> dict[str, Any]:
        """An ad-hoc window as kept in the plugin's store area (from_section reads it)."""
        return {"name": self.name, "reason": self.reason, "start": self.start,
                "end": self.end, "checks": list(self.checks), "plugins": list(self.plugins),
                "source": self.source, "created_by": self.created_by}

    @property
    def recurring(self) -> bool:
        return self.cron is not None

    def covers(self, check: str, plugin: str) -> bool:
        if not self.checks and not self.plugins:
            return True
        return plugin in self.plugins or any(
            fnmatch.fnmatchcase(check, pattern) for pattern in self.checks)

    def _local(self, now: float) -> datetime:
        return datetime.fromtimestamp(now, ZoneInfo(self.timezone))

    def span_at(self, now: float) -> Span | None:
        """The occurrence open at `now` (start <= now < end), if any."""
        if not self.enabled:
            return None
        if not self.recurring:
            assert self.start is not None and self.end is not None
            return (self.start, self.end) if self.start <= now < self.end else None
        from croniter import croniter

        # The latest start at or before now (a start exactly at now counts: fire times are
        # whole minutes, so one second later finds it as the previous one).
        assert self.cron is not None
        latest = croniter(self.cron, self._local(now) + timedelta(seconds=1)).get_prev(
            datetime).timestamp()
        return (latest, latest + self.duration) if now < latest + self.duration else None

    def next_span(self, now: float) -> Span | None:
        """The next occurrence starting after `now`."""
        if not self.enabled:
            return None
        if not self.recurring:
            assert self.start is not None and self.end is not None
            return (self.start, self.end) if self.start > now else None
        from croniter import croniter

        assert self.cron is not None
        start = croniter(self.cron, self._local(now)).get_next(datetime).timestamp()
        return start, start + self.duration

    def boundary(self, now: float) -> float | None:
        """When this window next opens or closes (None: never again)."""
        span = self.span_at(now)
        if span is not None:
            return span[1]
        upcoming = self.next_span(now)
        return None if upcoming is None else upcoming[0]
