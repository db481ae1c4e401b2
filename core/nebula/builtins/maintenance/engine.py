"""Maintenance windows at run time: the runtime of the built-in `maintenance` plugin.

It answers the health engine's one question, `HealthEngine.in_maintenance(check)`: is this
check inside an open window now? The health engine marks the result it keeps (the stored
row's `maintenance`, the check's `maintenance` in the API, `check.changed` data); the
remediation engine holds its policies for marked results, and notify holds its messages.

The answer comes from the windows open as of the last `step`, not from cron arithmetic per
result: `step` runs at every window boundary (a task sleeps until the next one, at most a
minute, so a clock that jumps is caught) and whenever windows change. At a boundary it
moves each covered check's mark at once (the panel shows "maintenance" without waiting for
the next result) and publishes `maintenance.started` / `maintenance.ended` with the checks
and their status: notify tells a check still failing when its window ends.

Windows come from `[[maintenance]]` in the config and from `start` (ad-hoc, by hand; kept
in the plugin's store area so a restart does not forget them). `stop` closes an ad-hoc
window, or skips the open occurrence of a configured one.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nebula.builtins.maintenance.windows import Span, Window, iso, parse_duration
from nebula.health import never
from nebula.logs import get_logger

if TYPE_CHECKING:
    from nebula.context import KeyValue
    from nebula.health import CheckState, HealthEngine

Publish = Callable[[str, dict[str, Any]], Awaitable[Any]]
MAX_SLEEP = 60.0  # the longest the boundary task sleeps, so a clock jump is caught
log = get_logger(component="maintenance")


class WindowError(ValueError):
    """An ad-hoc start or a stop that cannot be done as asked; `field` names the key."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.status = field, status


def _listed(value: Any) -> tuple[str, ...]:
    """A list, or the panel form's text ("a, b c"), as names."""
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return tuple(str(item) for item in value or ())


class Maintenance:
    def __init__(self, health: HealthEngine, publish: Publish, kv: KeyValue,
                 clock: Callable[[], float] = time.time) -> None:
        self._health = health
        self._publish = publish
        self._kv = kv
        self.clock = clock  # tests set a fixed clock and call step()
        self.configured: dict[str, Window] = {}
        self.adhoc: dict[str, Window] = {}
        self.skipped: dict[str, float] = {}  # window -> end of an occurrence stopped early
        self.open: dict[str, Span] = {}  # as of the last step
        self._stepped: dict[str, Window] = {}  # the windows as of the last step
        self._covering: list[Window] = []  # the open ones, what covers() reads
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        health.in_maintenance = self.covers

    async def start(self, sections: list[dict[str, Any]]) -> None:
        self.adhoc = {w["name"]: Window.from_section(w)
                      for w in await self._kv.get("adhoc", [])}
        self.skipped = await self._kv.get("skipped", {})
        await self.configure(sections)
        self._task = asyncio.create_task(self._follow(), name="maintenance.boundaries")

    async def aclose(self) -> None:
        """Stop answering (no check is in maintenance without this plugin) and stop the
        boundary task; the marks go with the next results."""
        if self._health.in_maintenance == self.covers:
            self._health.in_maintenance = never
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def configure(self, sections: Iterable[Mapping[str, Any]]) -> None:
        self.configured = {s["name"]: Window.from_section(s) for s in sections}
        await self.step()

    @property
    def windows(self) -> dict[str, Window]:
        # An ad-hoc window may not take a configured one's name (start refuses it).
        return {**self.configured, **self.adhoc}

    # --- the health engine's question ----------------------------------------------------

    def covers(self, cs: CheckState) -> bool:
        return any(w.covers(cs.check.name, cs.plugin) for w in self._covering)

    # --- boundaries --------------------------------------------------------------------------

    def _span(self, window: Window, now: float) -> Span | None:
        span = window.span_at(now)
        if span is not None and self.skipped.get(window.name) == span[1]:
            return None
        return span

    async def step(self) -> None:
        """Bring the open windows, the checks' marks and the events up to the clock."""
        async with self._lock:
            now = self.clock()
            windows = self.windows
            before, known, self._stepped = self.open, self._stepped, windows
            self.open = {name: span for name, w in windows.items()
                         if (span := self._span(w, now)) is not None}
            self._covering = [windows[name] for name in self.open]
            marked = self._remark()
            for name, span in self.open.items():
                if before.get(name) != span:
                    await self._announce("started", windows[name], span, marked)
            for name, span in before.items():
                # Closed, stopped, or gone from the config: as it was when it was open.
                if name not in self.open and (window := known.get(name)):
                    await self._announce("ended", window, span, marked)
            await self._forget(now)
        self._wake.set()

    def _remark(self) -> dict[str, bool]:
        """Set every check's mark from the open windows; returns the marks by check."""
        marks = {}
        for name, cs in self._health.checks.items():
            marks[name] = covered = self.covers(cs)
            if cs.maintenance != covered:
                cs.maintenance = covered
                self._health.version += 1
        return marks

    async def _announce(self, what: str, window: Window, span: Span,
                        marks: Mapping[str, bool]) -> None:
        checks = []
        for check, cs in self._health.checks.items():
            if not window.covers(check, cs.plugin):
                continue
            if what == "ended" and marks.get(check):
                continue  # still inside another window
            checks.append({"check": check, "plugin": cs.plugin,
                           "status": (cs.state.value if cs.state else "unknown"),
                           "summary": cs.last.summary if cs.last else "",
                           "maintenance": marks.get(check, False)})
        data: dict[str, Any] = {"window": window.name, "reason": window.reason,
                                "start": span[0], "end": span[1], "checks": checks}
        if what == "ended":
            data["failing"] = [c["check"] for c in checks if c["status"] != "ok"]
        log.info(f"maintenance.{what}", window=window.name, checks=len(checks))
        await self._publish(what, data)

    async def _forget(self, now: float) -> None:
        """Drop ad-hoc windows that are over, and skips of occurrences that are over."""
        over = [name for name, w in self.adhoc.items() if w.end is not None and w.end <= now]
        for name in over:
            del self.adhoc[name]
        skips = {name: end for name, end in self.skipped.items() if end > now}
        if over:
            await self._kv.set("adhoc", [w.stored() for w in self.adhoc.values()])
        if skips != self.skipped:
            self.skipped = skips
            await self._kv.set("skipped", skips)

    async def _follow(self) -> None:
        while True:
            now = self.clock()
            edges = [edge for w in self.windows.values() if (edge := w.boundary(now))]
            wait = min([MAX_SLEEP, *(edge - now for edge in edges)])
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), max(wait, 0.05))
                continue  # windows changed: the step that woke us has run
            except asyncio.TimeoutError:
                pass
            try:
                await self.step()
            except Exception as exc:  # the task must outlive one bad step
                log.error("maintenance.step_failed", error=f"{type(exc).__name__}: {exc}")

    # --- by hand ------------------------------------------------------------------------------

    async def begin(self, body: Mapping[str, Any], by: str) -> dict[str, Any]:
        """An ad-hoc window from now, for `duration`, over the checks/plugins named."""
        try:
            duration = parse_duration(body["duration"])
        except ValueError as exc:
            raise WindowError("duration", str(exc)) from None
        now = self.clock()
        name = body.get("name") or f"adhoc-{time.strftime('%Y%m%d-%H%M', time.gmtime(now))}" \
            f"-{secrets.token_hex(2)}"
        if name in self.windows:
            raise WindowError("name", f"a window named {name!r} exists already", 409)
        window = Window(name=name, reason=body.get("reason", ""), start=now,
                        end=now + duration, checks=_listed(body.get("checks")),
                        plugins=_listed(body.get("plugins")), source="adhoc", created_by=by)
        self.adhoc[name] = window
        await self._kv.set("adhoc", [w.stored() for w in self.adhoc.values()])
        await self.step()
        return self.public(window)

    async def end(self, name: str) -> dict[str, Any]:
        """Close ad-hoc window `name`, or skip the open occurrence of a configured one."""
        window = self.windows.get(name)
        if window is None:
            raise WindowError("name", f"no maintenance window named {name!r}", 404)
        span = self.open.get(name)
        if span is None:
            raise WindowError("name", f"window {name!r} is not open", 409)
        if window.source == "adhoc":
            del self.adhoc[name]
            await self._kv.set("adhoc", [w.stored() for w in self.adhoc.values()])
        else:
            self.skipped[name] = span[1]
            await self._kv.set("skipped", self.skipped)
        await self.step()
        return self.public(window)

    # --- read model ----------------------------------------------------------------------------

    def public(self, window: Window) -> dict[str, Any]:
        now = self.clock()
        span = self.open.get(window.name)
        upcoming = window.next_span(now)
        covered = sorted(name for name, cs in self._health.checks.items()
                         if window.covers(name, cs.plugin))
        return {
            "name": window.name, "source": window.source, "reason": window.reason,
            "kind": "recurring" if window.recurring else "once", "enabled": window.enabled,
            "open": span is not None,
            "start": span[0] if span else None, "end": span[1] if span else None,
            "next_start": upcoming[0] if upcoming else None,
            "next_end": upcoming[1] if upcoming else None,
            "start_iso": iso(span[0] if span else upcoming[0] if upcoming else None),
            "end_iso": iso(span[1] if span else upcoming[1] if upcoming else None),
            "cron": window.cron, "duration": window.duration or None,
            "timezone": window.timezone,
            "targets": {"checks": list(window.checks), "plugins": list(window.plugins),
                        "all": not window.checks and not window.plugins},
            "checks": covered, "created_by": window.created_by,
        }

    def snapshot(self) -> list[dict[str, Any]]:
        return [self.public(w) for w in self.windows.values()]
