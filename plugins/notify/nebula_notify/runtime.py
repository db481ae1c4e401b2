"""The plugin's runtime: follows events, decides what each channel is told, and delivers it.

Check problems are reconciled rather than forwarded: for every (channel, check) it keeps the
status last told, so a status already told is not told again (deduplication), a problem
still failing after `repeat_interval` is told again (a reminder), a return to ok after a
told problem is told as a recovery, and a problem held back by quiet hours is told when they
end if it still stands. The same reconciliation runs on each `check.changed` event and on a
timer. Other events (approvals, remediation) are told once per fingerprint and window.

Each channel has its own queue and worker, so a slow or failing service delays only itself.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from nebula.api import CheckResult, PluginContext, Status
from nebula_notify import messages
from nebula_notify.channels import DeliveryError, deliver
from nebula_notify.messages import Message
from nebula_notify.quiet import is_quiet
from nebula_notify.schema import CHANNEL

OWN_TOPICS = "notify.*"  # never notify about ourselves: a failing channel would loop
CHANGED = "check.changed"
# The core's batch of checks' first results (a fresh start, a plugin (re)started): the only
# word of a check that fails from its very first run, or recovered across a plugin restart.
FIRST_RESULTS = "check.first_results"
QUEUE_SIZE = 500


def _channel_config(section: Mapping[str, Any], plugin: Mapping[str, Any]) -> dict[str, Any]:
    filled = {k: p["default"] for k, p in CHANNEL["properties"].items() if "default" in p}
    filled.update(section)
    quiet = filled.get("quiet_hours", plugin.get("quiet_hours"))
    filled["quiet_hours"] = {"critical_bypass": True, **quiet} if quiet else None
    return filled


def _changes(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`check.changed` data, or one such per entry of `check.first_results`."""
    data = event["data"]
    if event["topic"] == CHANGED:
        return [{**data, "ts": event["ts"]}]
    return [{**entry, "old": None, "ts": entry.get("last_run") or event["ts"]}
            for entry in data.get("checks", [])
            if isinstance(entry, Mapping) and "check" in entry and "new" in entry]


@dataclass(eq=False)
class Channel:
    config: dict[str, Any]
    queue: asyncio.Queue[Message] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    worker: asyncio.Task[None] | None = None
    sent: int = 0
    failed: int = 0
    last_outcome: str | None = None
    last_at: float | None = None
    last_error: str | None = None

    @property
    def name(self) -> str:
        return self.config["name"]

    def routes(self, topic: str) -> bool:
        return any(fnmatch.fnmatchcase(topic, p) for p in self.config["events"])

    def wants(self, severity: str) -> bool:
        return severity in self.config["severities"]

    def quiet(self, severity: str) -> bool:
        window = self.config["quiet_hours"]
        if not is_quiet(window):
            return False
        return not (severity == "critical" and window["critical_bypass"])

    def public(self) -> dict[str, Any]:
        return {"channel": self.name, "type": self.config["type"],
                "last_outcome": self.last_outcome, "last_at": self.last_at,
                "last_error": self.last_error, "sent": self.sent, "failed": self.failed}


def timer_interval(repeat_interval: float) -> float:
    """How often reminders and held problems are looked at: often enough for the repeat
    interval, at least once a minute for the end of quiet hours."""
    return min(max(repeat_interval / 4, 0.1), 60.0) if repeat_interval else 60.0


class Notifier:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        cfg = ctx.config
        self.repeat = float(cfg["repeat_interval"])
        self.channels = {c["name"]: Channel(_channel_config(c, cfg)) for c in cfg["channels"]
                         if c.get("enabled", True)}
        self.checks: dict[str, dict[str, Any]] = {}  # check → last known state
        self.told: dict[str, dict[str, dict[str, Any]]] = {}  # channel → check → told
        self.recent_events: dict[tuple[str, str], float] = {}
        self.history: deque[dict[str, Any]] = deque(maxlen=cfg["history_size"])
        self._lock = asyncio.Lock()

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        for channel in self.channels.values():
            if channel.config["type"] == "discord":
                # The webhook URL holds the webhook's token.
                self.ctx.add_secret(channel.config["url"])
        kv = self.ctx.kv
        self.checks = await kv.get("checks", {})
        told = await kv.get("told", {})
        self.told = {name: told.get(name, {}) for name in self.channels}
        self.history.extend(await kv.get("history", []))
        for channel in self.channels.values():
            channel.worker = asyncio.ensure_future(self._work(channel))

    async def aclose(self) -> None:
        """Stop every channel's worker; the core calls this when the plugin stops."""
        workers = [c.worker for c in self.channels.values() if c.worker]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    # --- deciding ----------------------------------------------------------------------

    async def on_event(self, event: Mapping[str, Any]) -> None:
        topic = event["topic"]
        if fnmatch.fnmatchcase(topic, OWN_TOPICS):
            return
        if topic in (CHANGED, FIRST_RESULTS):
            changes = [c for c in _changes(event) if self._follow(c)]
            await self.ctx.kv.set("checks", self.checks)
            await self.reconcile([c["check"] for c in changes], announce_held=True)
            return
        if topic == "plugin.stopped":
            await self._pause(event["data"].get("plugin"))
        severity = messages.severity_of(topic, self.ctx.config["event_severity"])
        message = messages.event_message(event, severity)
        now = time.time()
        window = self.repeat or 3600.0
        for channel in self.channels.values():
            if not (channel.routes(topic) and channel.wants(severity)):
                continue
            key = (channel.name, messages.fingerprint(message))
            if now - self.recent_events.get(key, -window) < window:
                continue
            if channel.quiet(severity):
                await self._record(channel, message, "suppressed", "quiet hours")
                continue
            self.recent_events[key] = now
            self._enqueue(channel, message)
        if len(self.recent_events) > 1000:  # forget what is past its window
            self.recent_events = {k: t for k, t in self.recent_events.items()
                                  if now - t < window}

    def _follow(self, data: Mapping[str, Any]) -> bool:
        """Take in a check's new state; False when it is older than the one known (first
        results are batched, so a change may overtake them)."""
        before = self.checks.get(data["check"], {})
        ts = data["ts"]
        if ts < before.get("since", 0):
            return False
        was_failing = before.get("status", "ok") != "ok"
        # Kept through the recovery, which tells how long the problem lasted.
        failing_since = (before.get("failing_since") if was_failing
                         else ts if data["new"] != "ok" else None)
        self.checks[data["check"]] = {
            "status": data["new"], "old": data.get("old"), "summary": data.get("summary", ""),
            "plugin": data.get("plugin"), "since": ts, "failing_since": failing_since}
        return True

    async def _pause(self, plugin: str | None) -> None:
        """A stopped plugin's checks get no reminders; they resume, recover or are told
        anew with their first result if the plugin comes back."""
        paused = [s for s in self.checks.values() if s.get("plugin") == plugin]
        for state in paused:
            state["stopped"] = True
        if paused:
            await self.ctx.kv.set("checks", self.checks)

    async def reconcile(self, names: Iterable[str] | None = None,
                        announce_held: bool = False) -> None:
        """Tell each channel what it has not been told about these checks (all by default)."""
        now = time.time()
        names = list(self.checks if names is None else names)
        changed = False
        for channel in self.channels.values():
            if not channel.routes(CHANGED):
                continue
            told = self.told.setdefault(channel.name, {})
            for name in names:
                message = self._decide(channel, name, told.get(name), now)
                if message is None:
                    continue
                if channel.quiet(message.severity):
                    if announce_held:
                        await self._record(channel, message, "held", "quiet hours")
                    continue
                told[name] = {"status": self.checks[name]["status"], "ts": now}
                changed = True
                self._enqueue(channel, message)
        if changed:
            await self.ctx.kv.set("told", self.told)

    def _decide(self, channel: Channel, name: str, told: Mapping[str, Any] | None,
                now: float) -> Message | None:
        state = self.checks.get(name)
        if state is None or state.get("stopped"):
            return None
        status = state["status"]
        if status == Status.OK.value:
            if told and told["status"] != "ok" and channel.wants("ok"):
                return messages.check_recovery(name, state, told["status"], now)
            return None
        if not channel.wants(status):
            return None
        if told is None or told["status"] != status:
            return messages.check_problem(name, state, "problem", now)
        if self.repeat and now - told["ts"] >= self.repeat:
            return messages.check_problem(name, state, "reminder", now)
        return None

    # --- delivering --------------------------------------------------------------------

    def _enqueue(self, channel: Channel, message: Message) -> None:
        if channel.queue.full():  # a dead service must not grow memory without bound
            channel.queue.get_nowait()
        channel.queue.put_nowait(message)

    async def _work(self, channel: Channel) -> None:
        while True:
            message = await channel.queue.get()
            await self.deliver(channel, message)

    def _redacted(self, message: Message) -> Message:
        redact = self.ctx.redact
        return replace(message, title=redact(message.title), body=redact(message.body),
                       subject=redact(message.subject), data=redact(dict(message.data)))

    async def deliver(self, channel: Channel, message: Message) -> dict[str, Any]:
        cfg = self.ctx.config
        safe = self._redacted(message)
        try:
            attempts = await deliver(self.ctx.http, channel.config, safe, cfg["timeout"],
                                     cfg["retries"])
        except Exception as exc:  # a worker must outlive any failure
            detail = str(exc) if isinstance(exc, DeliveryError) else \
                f"{type(exc).__name__}: {exc}"
            channel.failed += 1
            channel.last_outcome, channel.last_error = "failed", self.ctx.redact(detail)
            self.ctx.log.warning("notify.delivery_failed", channel=channel.name,
                                 error=channel.last_error)
            outcome = "failed"
            detail = channel.last_error
            self._untell(channel, message)
        else:
            channel.sent += 1
            channel.last_outcome, channel.last_error = "sent", None
            outcome, detail = "sent", f"{attempts} attempt(s)"
        channel.last_at = time.time()
        return await self._record(channel, safe, outcome, detail)

    def _untell(self, channel: Channel, message: Message) -> None:
        """Forget that a check message was told, so the timer tries it again while it is
        still true (the told state is written when the timer next tells something)."""
        told = self.told.get(channel.name, {})
        entry = told.get(message.subject)
        if entry is None or entry["status"] != message.data.get("status"):
            return  # told something newer since
        if message.kind == "recovery":
            told[message.subject] = {"status": message.data["was"], "ts": time.time()}
        elif message.kind in ("problem", "reminder"):
            del told[message.subject]

    async def _record(self, channel: Channel, message: Message, outcome: str,
                      detail: str) -> dict[str, Any]:
        row = {"ts": message.ts, "channel": channel.name, "kind": message.kind,
               "severity": message.severity, "title": self.ctx.redact(message.title),
               "outcome": outcome, "detail": detail}
        async with self._lock:
            self.history.append(row)
            await self.ctx.kv.set("history", list(self.history))
        return row

    async def send_test(self, only: str | None, text: str) -> list[dict[str, Any]]:
        chosen = [self.channels[only]] if only else list(self.channels.values())
        message = messages.test_message(text)
        return list(await asyncio.gather(*(self.deliver(c, message) for c in chosen)))

    # --- read models -------------------------------------------------------------------

    def delivery(self) -> CheckResult:
        failing = [c for c in self.channels.values() if c.last_outcome == "failed"]
        metrics = {"channels": float(len(self.channels)), "failing": float(len(failing))}
        if failing:
            summary = "; ".join(f"{c.name}: last send failed: {c.last_error}" for c in failing)
            return CheckResult(Status.WARNING, summary, metrics)
        return CheckResult(Status.OK, f"{len(self.channels)} channel(s), no failed delivery",
                           metrics)

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        return list(self.history)[::-1][:limit]
