"""The agent: one object tying the store, bus, health engine, actions, scheduler and
plugins together, with start, stop and reload (config changes without a restart)."""

from __future__ import annotations

import asyncio
import copy
import functools
import time
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp

from nebula import __version__
from nebula.actions import ActionRunner
from nebula.config import Config, ConfigError
from nebula.config import load as load_config
from nebula.context import KeyValue, PluginContext
from nebula.contributions import Panel, Subscription, Tool
from nebula.events import EventBus
from nebula.filemodes import secure_data_dir
from nebula.health import HealthEngine
from nebula.history import RAW_KEEP, History
from nebula.logs import get_logger
from nebula.plugins import (
    DISABLED,
    FAILED,
    LOADED,
    PluginManager,
    PluginRecord,
    validate_plugins,
)
from nebula.scheduler import ScheduledJob, Scheduler, cancelling
from nebula.secret_store import Sealer, SecretStore
from nebula.secrets import SECRETS
from nebula.store import store_for
from nebula.tokens import Tokens
from nebula.tools import ToolRunner

RETENTION_INTERVAL = 3600.0
APPROVAL_SWEEP_INTERVAL = 30.0
STOP_TIMEOUT = 5.0  # per plugin; the whole shutdown must fit in 10 s
log = get_logger(component="agent")


class Agent:
    def __init__(
        self, config: Config, plugins: Mapping[str, Any] | None = None, discover: bool = True
    ) -> None:
        self.config = config
        self.store = store_for(config.agent, config.data_dir)
        self.bus = EventBus(self.store)
        self.health = HealthEngine(self.store, self._publish, config.agent["flap_threshold"])
        self.actions = ActionRunner(self.store, self._publish,
                                    Sealer(config.data_dir / "secret.key"),
                                    config.agent["approval_ttl"])
        self.tokens = Tokens(self.store)
        self.scheduler = Scheduler()
        self.manager = PluginManager(plugins, discover=discover)
        self.panels: dict[str, Panel] = {}
        self.tools: dict[str, Tool] = {}
        self.tool_runner = ToolRunner(self.actions, self.tools)
        self.started_at = time.time()
        self.version = __version__
        self._session: aiohttp.ClientSession | None = None
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._checks_now: dict[str, asyncio.Task[Any]] = {}  # run_check, by check
        self._reload_lock = asyncio.Lock()

    # --- services a plugin context reaches ----------------------------------------------

    async def _publish(self, topic: str, data: dict[str, Any], source: str) -> None:
        await self.bus.publish(topic, data, source)

    async def emit(self, topic: str, data: dict[str, Any], source: str) -> None:
        await self._publish(topic, data, source)

    async def call_action(
        self, name: str, params: Mapping[str, Any], actor: str
    ) -> dict[str, Any]:
        return await self.actions.request(name, params, actor)

    def http_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=30),
                headers={"User-Agent": f"nebula-command/{__version__}"})
        return self._session

    def peer_config(self, plugin: str) -> Mapping[str, Any] | None:
        record = self.manager.records.get(plugin)
        if record is None or record.state != LOADED:
            return None
        return copy.deepcopy(dict(record.config))

    def agent_config(self) -> Mapping[str, Any]:
        return copy.deepcopy(dict(self.config.agent))

    @property
    def history(self) -> History:
        return self.health.history

    def run_check(self, name: str) -> None:
        """A plugin asks for one of its checks now (see PluginContext.run_check); one run
        at a time per check, while its schedule runs."""
        job = self.scheduler.jobs.get(f"check:{name}")
        if job is None or job.task is None or name in self._checks_now:
            return
        task = asyncio.get_running_loop().create_task(self.health.run(name),
                                                      name=f"check-now:{name}")
        self._checks_now[name] = task
        task.add_done_callback(lambda _: self._checks_now.pop(name, None))

    async def _cancel_checks_now(self, names: Iterable[str]) -> None:
        tasks = [t for n in names if (t := self._checks_now.get(n))]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self, schedule: bool = True) -> None:
        secure_data_dir(self.config.data_dir)
        await self.store.open()
        await self.actions.recover_interrupted()
        self.scheduler.add(ScheduledJob("core.retention", self.apply_retention,
                                        interval=RETENTION_INTERVAL, timeout=300))
        # Expired approvals are announced (approval.expired) even when nobody looks.
        self.scheduler.add(ScheduledJob("core.approvals", self.actions.approvals_store.expire_due,
                                        interval=APPROVAL_SWEEP_INTERVAL, timeout=30))
        loadable = []
        for record in self.manager.ordered:
            if not record.loadable:
                self.manager.settle_unloadable(record, self.config)
            else:
                loadable.append(record)
        # Built-ins after the others: they read every other plugin's contributions.
        await self._start_together([r for r in loadable if not r.builtin])
        for record in loadable:
            if record.builtin:
                await self._start_plugin(record)
        await self.health.restore()
        if schedule:
            self.scheduler.start()
            self.health.start_flushing()
        log.info("agent.started",
                 plugins={r.name: str(r.state) for r in self.manager.records.values()})

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.health.stop_flushing()
        await self._cancel_checks_now(list(self._checks_now))
        await self.actions.stop()  # before the plugins whose actions still run
        # Concurrently, so shutdown takes the slowest plugin's time, not the sum.
        await asyncio.gather(*(self._stop_plugin(r) for r in self.manager.records.values()
                               if r.state == LOADED))
        await self.health.flush()
        if self._session is not None:
            await self._session.close()
        await self.store.close()
        log.info("agent.stopped")

    async def reload(self, config: Config) -> dict[str, str]:
        """Apply a new config: start, stop or restart each plugin whose section changed.
        Agent-level keys (bind, port, data dir) need a restart and are left as they were.
        A config with any problem is refused whole (ConfigError) and nothing changes.
        Plugins installed since the start are picked up here."""
        self.manager.discover_new()
        if problems := validate_plugins(config, self.manager, unknown_plugins=False):
            raise ConfigError(problems)
        async with self._reload_lock:
            old, self.config = self.config, config
            changes: dict[str, str] = {}
            timeout = config.agent["startup_timeout"]
            for record in self.manager.ordered:
                if not record.loadable:  # never loaded: import or API problems
                    self.manager.settle_unloadable(record, config)
                    continue
                running = record.state == LOADED
                if running and self._same_config(record, old, config):
                    continue
                if running and self.manager.wanted(record, config) and \
                        await self.manager.reconfigure(record, config, timeout):
                    changes[record.name] = "reconfigured"
                    continue
                if running:
                    await self._stop_plugin(record)
                    changes[record.name] = "stopped"
                if await self._start_plugin(record):
                    changes[record.name] = "restarted" if running else "started"
                elif record.state == FAILED:
                    changes[record.name] = "failed"
            self.health.flap_threshold = config.agent["flap_threshold"]
            self.actions.approvals_store.ttl = config.agent["approval_ttl"]
            log.info("agent.reloaded", changes=changes)
            await self._publish("agent.reloaded", {"changes": changes}, "core")
            return changes

    def _same_config(self, record: PluginRecord, old: Config, new: Config) -> bool:
        """Whether a reload leaves this plugin's sections as they were."""
        if old.plugins.get(record.name) != new.plugins.get(record.name):
            return False
        return self.manager.section_of(record, old) == self.manager.section_of(record, new)

    async def reload_from_disk(self) -> dict[str, str]:
        """Reload from the file the agent started with; a bad file changes nothing."""
        return await self.reload(load_config(self.config.path))

    def runtime(self, plugin: str) -> Any:
        """A running plugin's runtime (its startup's return value), else None: how the
        interfaces reach what a built-in plugin, such as Jarvis, keeps."""
        return self.manager.runtime(plugin)

    async def _start_together(self, records: list[PluginRecord]) -> None:
        """Run these plugins' startups concurrently, so the start (and the first /healthz)
        waits for the slowest one, not the sum; each keeps its own timeout. Their
        contributions are then taken in the given order, so checks, panels and tools are
        listed as a one-by-one start lists them."""
        started = await asyncio.gather(*(self._run_startup(r) for r in records),
                                       return_exceptions=True)
        for record, outcome in zip(records, started, strict=True):
            if isinstance(outcome, BaseException):
                raise outcome
            if outcome:
                await self._adopt(record)

    async def _start_plugin(self, record: PluginRecord) -> bool:
        if not await self._run_startup(record):
            return False
        await self._adopt(record)
        return True

    async def _run_startup(self, record: PluginRecord) -> bool:
        """Configure the plugin and run its startup; whether it is now loaded."""
        record.state, record.error = DISABLED, None
        if not self.manager.wanted(record, self.config):
            return False
        if self.manager.configure(record, self.config):
            return False
        ctx = PluginContext(record.name, record.config, KeyValue(self.store, record.name), self,
                            secrets=SecretStore(self.store, self.config.data_dir / "secret.key",
                                                record.name),
                            data_dir=self.config.data_dir / "plugins" / record.name)
        return await self.manager.start(record, ctx, self.config.agent["startup_timeout"])

    async def _adopt(self, record: PluginRecord) -> None:
        """Take a started plugin's contributions: schedule its checks and jobs, register
        its actions, panels and tools, subscribe its handlers."""
        c = record.contributions
        for check in c.checks:
            self.health.add(check, record.name)
            self.scheduler.add(ScheduledJob(
                f"check:{check.name}", functools.partial(self.health.run, check.name),
                interval=check.interval, timeout=check.timeout + 5,
                initial_spread=min(check.interval, 5.0)))
        for action in c.actions:
            self.actions.actions[action.name] = action
        self.panels.update((p.name, p) for p in c.panels)
        self.tools.update((t.name, t) for t in c.tools)
        for job in c.jobs:
            self.scheduler.add(ScheduledJob(f"job:{job.name}", job.run, job.interval, job.cron,
                                            job.timeout, job.jitter))
        for sub in c.subscriptions:
            self._spawn_subscription(record, sub)
        await self._publish("plugin.started", {"plugin": record.name}, "core")

    async def _stop_plugin(self, record: PluginRecord) -> None:
        c = record.contributions
        await self._cancel_checks_now(check.name for check in c.checks)
        for check in c.checks:
            await self.scheduler.remove(f"check:{check.name}")
            self.health.remove(check.name)
        for job in c.jobs:
            await self.scheduler.remove(f"job:{job.name}")
        for sub in c.subscriptions:
            if task := self._pumps.pop(sub.name, None):
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        for action in c.actions:
            self.actions.actions.pop(action.name, None)
        for panel in c.panels:
            self.panels.pop(panel.name, None)
        for tool in c.tools:
            self.tools.pop(tool.name, None)
        await self.manager.stop(record, min(self.config.agent["startup_timeout"], STOP_TIMEOUT))
        await self._publish("plugin.stopped", {"plugin": record.name}, "core")

    def _spawn_subscription(self, record: PluginRecord, sub: Subscription) -> None:
        """Each subscription gets its own task and queue, so a slow handler only delays
        (and, past the queue's bound, drops) its own events."""
        plugin_log = record.ctx.log

        # Subscribed now, not when the task first runs: events published in between count.
        subscriber = self.bus.subscribe(sub.topic)

        async def pump() -> None:
            try:
                # Stop once removed: a cancel landing as a handler finishes can be swallowed.
                while self._pumps.get(sub.name) is asyncio.current_task():
                    event = await subscriber.queue.get()
                    try:
                        await asyncio.wait_for(sub.handler(event), 30)
                    except (Exception, asyncio.CancelledError) as exc:
                        # A handler letting out its own CancelledError must not end the pump.
                        if isinstance(exc, asyncio.CancelledError) and cancelling():
                            raise
                        plugin_log.warning(
                            "subscription.failed", subscription=sub.name,
                            error=SECRETS.redact(f"{type(exc).__name__}: {exc}"))
            finally:
                self.bus.unsubscribe(subscriber)

        self._pumps[sub.name] = asyncio.create_task(pump(), name=f"sub:{sub.name}")

    async def apply_retention(self) -> None:
        now = time.time()
        days = self.config.agent["retention_days"] * 86400
        audit_days = self.config.agent["audit_retention_days"] * 86400
        await self.health.flush()
        # Results are the history's raw tier: it prunes them with its rollups.
        await self.health.history.prune(now, raw_keep=min(days, RAW_KEEP))
        for sql, cutoff in (
            ("DELETE FROM events WHERE ts < ?", now - days),
            ("DELETE FROM audit WHERE ts < ?", now - audit_days),
        ):
            await self.store.execute(sql, (cutoff,))

    # --- read models for the API --------------------------------------------------------

    def plugin_states(self) -> list[dict[str, Any]]:
        return [r.public() for r in sorted(self.manager.records.values(), key=lambda r: r.name)]

    def status(self) -> dict[str, Any]:
        states: dict[str, int] = {}
        for record in self.manager.records.values():
            states[record.state] = states.get(record.state, 0) + 1
        return {
            "version": self.version,
            "started_at": self.started_at,
            "uptime": time.time() - self.started_at,
            "config": str(self.config.path) if self.config.path else None,
            "data_dir": str(self.config.data_dir),
            "plugins": states,
            "checks": self.health.summary(),
        }
