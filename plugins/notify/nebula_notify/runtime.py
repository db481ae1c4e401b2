"""The plugin's runtime: follows events, decides what each channel is told, and delivers it.

Check problems are reconciled rather than forwarded: for every (channel, check) it keeps the
status last told, so a status already told is not told again (deduplication), a problem
still failing after `repeat_interval` is told again (a reminder), a return to ok after a
told problem is told as a recovery, and a problem held back by quiet hours is told when they
end if it still stands. The same reconciliation runs on each `check.changed` event and on a
timer. Other events (approvals, remediation) are told once per fingerprint and window.

Each channel has its own queue and worker, so a slow or failing service delays only itself.
A channel whose message fails its retries is down (its Breaker): nothing more is computed or
sent for it until a probe is due, and the probe is what it missed, as one digest.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from nebula.api import CheckResult, ParamError, PluginContext, Status
from nebula_notify import messages
from nebula_notify.apprise_send import private_values, send_apprise
from nebula_notify.breaker import Breaker
from nebula_notify.channels import DeliveryError, Sender, deliver
from nebula_notify.history import History
from nebula_notify.messages import Message
from nebula_notify.quiet import is_quiet
from nebula_notify.schema import CHANNEL

OWN_TOPICS = "notify.*"  # never notify about ourselves: a failing channel would loop
CHANGED = "check.changed"
# The core's batch of checks' first results (a fresh start, a plugin (re)started): the only
# word of a check that fails from its very first run, or recovered across a plugin restart.
FIRST_RESULTS = "check.first_results"
# A maintenance window opened or closed (the built-in maintenance plugin), with the checks
# it covers: nothing is told about a check while it is in one; at the close, what still
# stands is told as usual.
MAINTENANCE = ("maintenance.started", "maintenance.ended")
QUEUE_SIZE = 500
MISSED_EVENTS = 50  # events kept for a down channel's digest; older ones are dropped
# Channels an admin added at run time (notify.add_channel): their names and routing in the
# plugin's store area, each one's Apprise URL in its secret store (encrypted at rest).
ADDED = "added_channels"


def _secret_key(name: str) -> str:
    return f"channel.{name}"


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
    breaker: Breaker
    queue: asyncio.Queue[Message] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    worker: asyncio.Task[None] | None = None
    # While down: events to tell in the digest (check messages are worked out anew from
    # the checks' states when the probe goes), and the probe on its way.
    missed: deque[Message] = field(default_factory=lambda: deque(maxlen=MISSED_EVENTS))
    probe: Message | None = None
    sent: int = 0
    failed: int = 0
    last_outcome: str | None = None
    last_at: float | None = None
    last_error: str | None = None
    added: bool = False  # by an admin at run time, not in the config file
    # An Apprise channel's credentials inside its URLs, registered for redaction once
    # Apprise has parsed them (with its first message).
    private_known: bool = False

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
        return {"channel": self.name, "type": self.config["type"], "added": self.added,
                "last_outcome": self.last_outcome, "last_at": self.last_at,
                "last_error": self.last_error, "sent": self.sent, "failed": self.failed,
                "down_since": self.breaker.down_since,
                "retry_at": self.breaker.retry_at if self.breaker.down else None}


def timer_interval(repeat_interval: float) -> float:
    """How often reminders and held problems are looked at: often enough for the repeat
    interval, at least once a minute for the end of quiet hours."""
    return min(max(repeat_interval / 4, 0.1), 60.0) if repeat_interval else 60.0


class Notifier:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        cfg = ctx.config
        self.repeat = float(cfg["repeat_interval"])
        # The first wait after a channel goes down: the timer that sends its probe runs
        # this often anyway.
        backoff = timer_interval(self.repeat)
        self.backoff = backoff
        self.configured = {c["name"] for c in cfg["channels"]}
        self.channels = {c["name"]: Channel(_channel_config(c, cfg), Breaker(backoff))
                         for c in cfg["channels"] if c.get("enabled", True)}
        self.checks: dict[str, dict[str, Any]] = {}  # check → last known state
        self.told: dict[str, dict[str, dict[str, Any]]] = {}  # channel → check → told
        self.recent_events: dict[tuple[str, str], float] = {}
        self.history = History(ctx.kv, cfg["history_size"])
        self.clock: Callable[[], float] = time.time  # tests drive the breaker's time

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        kv = self.ctx.kv
        for name, routing in (await kv.get(ADDED, {})).items():
            url = await self.ctx.secrets.get(_secret_key(name))
            if url is not None and name not in self.configured:
                self._open({**routing, "name": name, "type": "apprise", "urls": [url]},
                           added=True)
        for channel in self.channels.values():
            self._hide(channel)
        self.checks = await kv.get("checks", {})
        told = await kv.get("told", {})
        self.told = {name: told.get(name, {}) for name in self.channels}
        for channel in self.channels.values():
            channel.worker = asyncio.ensure_future(self._work(channel))

    def _hide(self, channel: Channel) -> None:
        """Register the URLs that hold credentials: the Discord webhook's (its token) and
        every Apprise URL."""
        config = channel.config
        for url in [config["url"]] if config["type"] == "discord" else config.get("urls", []):
            self.ctx.add_secret(url)

    def _open(self, section: Mapping[str, Any], added: bool = False) -> Channel:
        channel = Channel(_channel_config(section, self.ctx.config), Breaker(self.backoff),
                          added=added)
        self.channels[channel.name] = channel
        return channel

    # --- channels an admin adds and removes ----------------------------------------------

    def may_add(self, name: str) -> None:
        """ParamError (a 422, before anything runs) unless an admin may add `name`."""
        if name in self.configured:
            raise ParamError("name", f"{name!r} is a channel of the config file; edit it "
                                     "there")

    def may_remove(self, name: str) -> None:
        channel = self.channels.get(name)
        if channel is None or not channel.added:
            raise ParamError("name", f"no channel {name!r} was added here (channels of the "
                                     "config file are removed from it)")

    def may_test(self, only: str | None) -> None:
        if only and only not in self.channels:
            raise ParamError("channel", f"no channel named {only!r}; there are: "
                                        + (", ".join(sorted(self.channels)) or "none"))

    async def add_channel(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A new Apprise channel from its URL (kept encrypted), told a test message at once
        unless `test` is false; answers the channel and the test's outcome. A channel
        added before under that name is replaced."""
        name = params["name"]
        self.may_add(name)
        old = self.channels.get(name)
        routing = {key: list(params[key]) for key in ("events", "severities")
                   if key in params}
        await self.ctx.secrets.set(_secret_key(name), params["url"])
        added = await self.ctx.kv.get(ADDED, {})
        added[name] = routing
        await self.ctx.kv.set(ADDED, added)
        if old is not None:
            await self._close(old)
        channel = self._open({**routing, "name": name, "type": "apprise",
                              "urls": [params["url"]]}, added=True)
        self._hide(channel)
        self.told[name] = {}
        channel.worker = asyncio.ensure_future(self._work(channel))
        self.ctx.log.info("notify.channel_added", channel=name)
        answer: dict[str, Any] = {"channel": channel.public()}
        if params.get("test", True):
            [answer["test"]] = await self.send_test(name, "Nebula can reach this channel.")
        return answer

    async def remove_channel(self, name: str) -> dict[str, Any]:
        self.may_remove(name)
        channel = self.channels[name]
        await self._close(channel)
        del self.channels[name]
        self.told.pop(name, None)
        added = await self.ctx.kv.get(ADDED, {})
        added.pop(name, None)
        await self.ctx.kv.set(ADDED, added)
        await self.ctx.secrets.delete(_secret_key(name))
        self.ctx.log.info("notify.channel_removed", channel=name)
        return {"removed": name}

    @staticmethod
    async def _close(channel: Channel) -> None:
        if channel.worker is not None:
            channel.worker.cancel()
            await asyncio.gather(channel.worker, return_exceptions=True)

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
        if topic in MAINTENANCE:
            await self._maintenance(event["data"])
        severity = messages.severity_of(topic, self.ctx.config["event_severity"])
        message = messages.event_message(event, severity)
        now = self.clock()
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
            if channel.breaker.down:
                channel.missed.append(message)
                if await self._probe(channel, now):
                    await self.ctx.kv.set("told", self.told)
            else:
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
            "plugin": data.get("plugin"), "since": ts, "failing_since": failing_since,
            "maintenance": bool(data.get("maintenance"))}
        return True

    async def _maintenance(self, data: Mapping[str, Any]) -> None:
        """Take in which checks a window's opening or closing put in or out of maintenance,
        then tell what is due (a check still failing at the close, told once)."""
        moved = []
        for entry in data.get("checks", []):
            if not isinstance(entry, Mapping):
                continue
            state = self.checks.get(str(entry.get("check")))
            if state is not None and state.get("maintenance") != entry.get("maintenance"):
                state["maintenance"] = bool(entry.get("maintenance"))
                moved.append(entry["check"])
        if moved:
            await self.ctx.kv.set("checks", self.checks)
            await self.reconcile(moved, announce_held=True)

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
        """Tell each channel what it has not been told about these checks (all by default);
        a down channel is told nothing until its probe is due, then everything at once."""
        now = self.clock()
        names = list(self.checks if names is None else names)
        changed = False
        for channel in self.channels.values():
            if channel.breaker.down:
                changed |= await self._probe(channel, now)
                continue
            for message in await self._untold(channel, names, now, announce_held):
                changed = True
                self._enqueue(channel, message)
        if changed:
            await self.ctx.kv.set("told", self.told)

    async def _untold(self, channel: Channel, names: Iterable[str], now: float,
                      announce_held: bool) -> list[Message]:
        """The messages about these checks the channel is due, each marked told."""
        if not channel.routes(CHANGED):
            return []
        told = self.told.setdefault(channel.name, {})
        due = []
        for name in names:
            message = self._decide(channel, name, told.get(name), now)
            if message is None:
                continue
            if channel.quiet(message.severity):
                if announce_held:
                    await self._record(channel, message, "held", "quiet hours")
                continue
            told[name] = {"status": self.checks[name]["status"], "ts": now}
            due.append(message)
        return due

    async def _probe(self, channel: Channel, now: float) -> bool:
        """When a down channel's probe is due, send it what it missed. With nothing to tell
        it stays due, and the next news is the probe. True when one was sent."""
        if channel.probe is not None or not channel.breaker.due(now):
            return False
        down_for = now - (channel.breaker.down_since or now)
        channel.probe = await self._catch_up(channel, now, down_for)
        if channel.probe is None:
            return False
        self._enqueue(channel, channel.probe)
        return True

    async def _catch_up(self, channel: Channel, now: float, down_for: float) -> Message | None:
        """What a channel missed while down, marked told: the one message, or a digest."""
        parts = await self._untold(channel, list(self.checks), now, False)
        parts += channel.missed
        channel.missed.clear()
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else messages.digest(parts, down_for, now)

    def _decide(self, channel: Channel, name: str, told: Mapping[str, Any] | None,
                now: float) -> Message | None:
        state = self.checks.get(name)
        if state is None or state.get("stopped") or state.get("maintenance"):
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
            if channel.breaker.down and message is not channel.probe:
                # Queued before the channel went down: it waits for the digest.
                self._hold(channel, message)
                continue
            try:
                await self.deliver(channel, message)
            finally:
                if message is channel.probe:
                    channel.probe = None

    def _hold(self, channel: Channel, message: Message) -> None:
        """Keep what a down channel was not told for its digest: check messages by
        forgetting they were told (the probe works them out anew), events as they are."""
        for part in message.parts or (message,):
            if part.kind == "event":
                channel.missed.append(part)
            else:
                self._untell(channel, part)

    def _redacted(self, message: Message) -> Message:
        redact = self.ctx.redact
        return replace(message, title=redact(message.title), body=redact(message.body),
                       subject=redact(message.subject), data=redact(dict(message.data)))

    async def deliver(self, channel: Channel, message: Message) -> dict[str, Any]:
        cfg = self.ctx.config
        safe = self._redacted(message)
        try:
            attempts = await deliver(self.ctx.http, channel.config, safe, cfg["timeout"],
                                     cfg["retries"], self._sender(channel))
        except Exception as exc:  # a worker must outlive any failure
            detail = str(exc) if isinstance(exc, DeliveryError) else \
                f"{type(exc).__name__}: {exc}"
            now = self.clock()
            channel.failed += 1
            channel.last_outcome, channel.last_error = "failed", self.ctx.redact(detail)
            # One line per failed delivery, and deliveries to a down channel are its
            # probes: as many lines as the backoff allows.
            self.ctx.log.warning("notify.delivery_failed", channel=channel.name,
                                 error=channel.last_error,
                                 retry_in=round(channel.breaker.failed(now), 1))
            outcome = "failed"
            detail = channel.last_error
            if message.kind != "test":
                self._hold(channel, message)
                await self.ctx.kv.set("told", self.told)  # a restart must tell it too
        else:
            now = self.clock()
            channel.sent += 1
            channel.last_outcome, channel.last_error = "sent", None
            outcome, detail = "sent", f"{attempts} attempt(s)"
            down_for = channel.breaker.succeeded(now)
            if down_for is not None:
                self.ctx.log.info("notify.channel_up", channel=channel.name,
                                  down_for=round(down_for, 1))
                if message is not channel.probe:  # a test went through: catch up now
                    catch_up = await self._catch_up(channel, now, down_for)
                    if catch_up is not None:
                        await self.ctx.kv.set("told", self.told)
                        self._enqueue(channel, catch_up)
        channel.last_at = now
        return await self._record(channel, safe, outcome, detail)

    def _sender(self, channel: Channel) -> Sender | None:
        """The Apprise sender, bound to the agent's redaction (None: the type's own)."""
        if channel.config["type"] != "apprise":
            return None
        redact = self.ctx.redact

        async def send(_session: Any, config: Mapping[str, Any], message: Message,
                       timeout: float) -> None:
            if not channel.private_known:
                for value in await asyncio.to_thread(private_values, config["urls"], redact):
                    self.ctx.add_secret(value)
                channel.private_known = True
            await send_apprise(config, message, timeout, redact)

        return send

    def _untell(self, channel: Channel, message: Message) -> None:
        """Forget that a check message was told, so the timer tries it again while it is
        still true (the told state is written when the timer next tells something)."""
        told = self.told.get(channel.name, {})
        entry = told.get(message.subject)
        if entry is None or entry["status"] != message.data.get("status"):
            return  # told something newer since
        if message.kind == "recovery":
            told[message.subject] = {"status": message.data["was"], "ts": self.clock()}
        elif message.kind in ("problem", "reminder"):
            del told[message.subject]

    async def _record(self, channel: Channel, message: Message, outcome: str,
                      detail: str) -> dict[str, Any]:
        row = {"ts": message.ts, "channel": channel.name, "kind": message.kind,
               "severity": message.severity, "title": self.ctx.redact(message.title),
               "outcome": outcome, "detail": detail}
        await self.history.append(row)
        return row

    async def send_test(self, only: str | None, text: str) -> list[dict[str, Any]]:
        self.may_test(only)
        chosen = [self.channels[only]] if only else list(self.channels.values())
        message = messages.test_message(text)
        return list(await asyncio.gather(*(self.deliver(c, message) for c in chosen)))

    # --- read models -------------------------------------------------------------------

    def delivery(self) -> CheckResult:
        failing = [c for c in self.channels.values() if c.last_outcome == "failed"]
        metrics = {"channels": float(len(self.channels)), "failing": float(len(failing))}
        if failing:
            now = self.clock()
            summary = "; ".join(
                f"{c.name}: last send failed: {c.last_error}"
                + (f" (next try in {max(0, c.breaker.retry_at - now):.0f}s)"
                   if c.breaker.down else "")
                for c in failing)
            return CheckResult(Status.WARNING, summary, metrics)
        return CheckResult(Status.OK, f"{len(self.channels)} channel(s), no failed delivery",
                           metrics)

    async def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        return await self.history.recent(limit)
