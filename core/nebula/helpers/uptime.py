"""Uptime and incidents from the stored status history (`ctx.history`, nebula.history):
what the uptime built-in serves, check pages show, and any plugin may compute the same way.

Uptime over a window is the time a check spent `ok` divided by the time it spent `ok`,
`warning` or `critical`: time `unknown` (the check could not tell) and time in a
maintenance window count for neither, and are reported beside it, as is the share of the
window the check reported at all. A window with no known time has no uptime (None), not
100 %. The numbers come from the hourly and daily rollups plus the open span, never from
raw rows, so 90 days of 200 checks read a few hundred rows per check at most.

An incident is a run of consecutive `warning` or `critical` periods (maintenance excluded):
it starts with the first, ends when the check is next `ok` or `unknown`, and keeps its worst
status and the summary it started with. The mean time to recover is the mean length of the
incidents that ended.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

DAY = 86400.0
WINDOWS = {"24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY, "90d": 90 * DAY}
DOWN = ("warning", "critical")


class StatusHistory(Protocol):
    async def status_seconds_of(self, checks: Sequence[str], since: float,
                                until: float | None = None) -> dict[str, dict[str, float]]: ...

    async def spans(self, check: str, since: float, until: float | None = None
                    ) -> list[Any]: ...


@dataclass(frozen=True)
class Uptime:
    window: str
    uptime: float | None  # 0-1, None without known time
    ok_s: float
    down_s: float
    unknown_s: float
    maintenance_s: float
    coverage: float  # share of the window with any result


def uptime_of(window: str, seconds: dict[str, float], length: float) -> Uptime:
    known = seconds["ok"] + seconds["warning"] + seconds["critical"]
    reported = known + seconds["unknown"] + seconds["maintenance"]
    return Uptime(window, seconds["ok"] / known if known else None, seconds["ok"],
                  seconds["warning"] + seconds["critical"], seconds["unknown"],
                  seconds["maintenance"], min(1.0, reported / length) if length else 0.0)


@dataclass(frozen=True)
class Incident:
    check: str
    start: float
    end: float | None  # None while it lasts
    worst: str
    summary: str

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.start


def incidents_of(check: str, spans: Sequence[Any]) -> list[Incident]:
    """Incidents in `spans` (oldest first), oldest first."""
    found: list[Incident] = []
    current: dict[str, Any] | None = None
    for span in spans:
        status = getattr(span.status, "value", span.status)  # a Status, or its word
        if status in DOWN and not span.maintenance:
            if current is None:
                current = {"start": span.start, "worst": status, "summary": span.summary}
            elif status == "critical":
                current["worst"] = "critical"
            current["end"] = span.end
            continue
        if current is not None:
            found.append(Incident(check, current["start"], span.start, current["worst"],
                                  current["summary"]))
            current = None
    if current is not None:
        found.append(Incident(check, current["start"], current.get("end"), current["worst"],
                              current["summary"]))
    return found


def mttr(incidents: Sequence[Incident]) -> float | None:
    ended = [i.duration for i in incidents if i.duration is not None]
    return sum(ended) / len(ended) if ended else None


async def reports(history: StatusHistory, checks: Sequence[str], now: float | None = None,
                  windows: Sequence[str] = tuple(WINDOWS)) -> list[dict[str, Any]]:
    """Each check's uptime per window (all checks' seconds read together, two queries a
    window), its incidents over the longest window and their MTTR."""
    now = time.time() if now is None else now
    seconds = {w: await history.status_seconds_of(checks, now - WINDOWS[w], now)
               for w in windows}
    longest = max(WINDOWS[w] for w in windows)
    out = []
    for check in checks:
        incidents = incidents_of(check, await history.spans(check, now - longest, now))
        # vars(), not dataclasses.asdict: the fields are flat, and asdict's deep copy was
        # most of a check page's time for a check with a few hundred incidents.
        out.append({"check": check,
                    "uptime": {w: dict(vars(uptime_of(w, seconds[w][check], WINDOWS[w])))
                               for w in windows},
                    "incidents": [{**vars(i), "duration": i.duration} for i in incidents],
                    "mttr": mttr(incidents)})
    return out


async def report(history: StatusHistory, check: str, now: float | None = None,
                 windows: Sequence[str] = tuple(WINDOWS)) -> dict[str, Any]:
    """One check's `reports`."""
    return (await reports(history, [check], now, windows))[0]
