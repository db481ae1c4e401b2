"""What a plugin's hooks receive: its config, logger, store area, events and peers."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from nebula.contributions import Sample, Span
from nebula.logs import get_logger
from nebula.secret_store import SecretStore
from nebula.secrets import SECRETS
from nebula.store import Store
from nebula.units import Unit

if TYPE_CHECKING:
    import aiohttp


class HistoryReader(Protocol):
    """The stored history of every check (`ctx.history`): metric series at a resolution
    fitting `points`, status spans, and seconds spent in each status. Times are epoch
    seconds; `until` None means now. Implemented by `nebula.history.History`."""

    async def series(self, check: str, metric: str, since: float, until: float | None = None,
                     points: int = 300) -> list[Sample]: ...

    async def spans(self, check: str, since: float, until: float | None = None
                    ) -> list[Span]: ...

    async def status_seconds(self, check: str, since: float, until: float | None = None
                             ) -> dict[str, float]: ...

    async def status_seconds_of(self, checks: Sequence[str], since: float,
                                until: float | None = None) -> dict[str, dict[str, float]]: ...

    async def metrics(self, check: str | None = None) -> list[tuple[str, str]]: ...

    async def unit(self, check: str, metric: str) -> Unit | None: ...


class Services(Protocol):
    """The parts of the agent a plugin may reach, through its context only."""

    async def emit(self, topic: str, data: dict[str, Any], source: str) -> None: ...

    async def call_action(
        self, name: str, params: Mapping[str, Any], actor: str
    ) -> dict[str, Any]: ...

    def http_session(self) -> aiohttp.ClientSession: ...

    def peer_config(self, plugin: str) -> Mapping[str, Any] | None: ...

    def agent_config(self) -> Mapping[str, Any]: ...

    def run_check(self, name: str) -> None: ...

    @property
    def history(self) -> HistoryReader: ...


class KeyValue:
    """A plugin's own corner of the store: JSON values under string keys."""

    def __init__(self, store: Store | None, plugin: str) -> None:
        self._store = store
        self._plugin = plugin
        self._memory: dict[str, Any] = {}

    async def get(self, key: str, default: Any = None) -> Any:
        if self._store is None:
            return self._memory.get(key, default)
        row = await self._store.fetchone(
            "SELECT value FROM kv WHERE plugin = ? AND key = ?", (self._plugin, key)
        )
        return json.loads(row["value"]) if row else default

    async def set(self, key: str, value: Any) -> None:
        if self._store is None:
            self._memory[key] = value
            return
        await self._store.execute(
            "INSERT INTO kv (plugin, key, value, updated) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, "
            "updated = excluded.updated",
            (self._plugin, key, json.dumps(value), time.time()),
        )

    async def delete(self, key: str) -> None:
        if self._store is None:
            self._memory.pop(key, None)
            return
        await self._store.execute(
            "DELETE FROM kv WHERE plugin = ? AND key = ?", (self._plugin, key)
        )


@dataclass
class PluginContext:
    """Handed to every hook of one plugin. Plugins reach the agent only through it."""

    name: str
    config: Mapping[str, Any]
    kv: KeyValue
    services: Services | None = None
    log: Any = field(default=None)
    # Encrypted at rest; values read or written are masked in every output. A context made
    # without the agent's store (tests, an embedding program) keeps them in memory.
    secrets: SecretStore = field(default_factory=lambda: SecretStore(None, Path(), ""))
    # What the plugin's `nebula_startup` returned: its running state (clients, pollers),
    # handed to every contribution hook as `runtime` and closed by the core on stop.
    runtime: Any = None
    # The plugin's own folder, `<data dir>/plugins/<name>`, for state too big or too busy
    # for `kv` (the logs plugin's database). The plugin creates it when it needs it (0700:
    # the data dir is owner-only). None in a context made without an agent.
    data_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.log is None:
            self.log = get_logger(plugin=self.name)

    async def emit(self, topic: str, data: dict[str, Any]) -> None:
        """Publish an event; its topic is prefixed with the plugin's name."""
        if self.services is not None:
            await self.services.emit(f"{self.name}.{topic}", data, self.name)

    async def call_action(self, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Ask for another plugin's action by its address. Approval rules apply as for
        anyone: a destructive action comes back `pending_approval`."""
        if self.services is None:
            raise RuntimeError("no agent to run actions")
        return await self.services.call_action(name, params, f"plugin:{self.name}")

    def peer_config(self, plugin: str) -> Mapping[str, Any] | None:
        """Another running plugin's validated config (a copy), or None when it is not
        running: how a plugin reuses, say, the postgres plugin's connection settings
        instead of asking the owner to repeat them."""
        if self.services is None:
            return None
        return self.services.peer_config(plugin)

    def agent_config(self) -> Mapping[str, Any] | None:
        """The agent's own validated `[agent]` section (a copy, defaults filled in: `bind`,
        `port`, `public_url`, `trusted_proxies`, `tls_port`, `data_dir`, ...), or None
        without an agent: for a plugin that judges how the agent itself is set up (the
        security plugin: bound beyond loopback without TLS, its data dir's modes). 1.2."""
        if self.services is None:
            return None
        return self.services.agent_config()

    def run_check(self, name: str) -> None:
        """Run this plugin's check `name` now, in the background, besides its schedule: for a
        plugin that learns of a change the moment it happens (a stream to its service
        drops) and whose check should follow at once rather than at its next interval.
        Nothing happens while checks are not scheduled (a one-shot CLI agent)."""
        if self.services is not None:
            self.services.run_check(f"{self.name}.{name}")

    def redact(self, value: Any) -> Any:
        """`value` (a string or nested JSON-like data) with every known secret masked."""
        return SECRETS.redact(value)

    def add_secret(self, value: str) -> None:
        """Mask `value` wherever the agent writes it from now on (logs, API answers,
        audit, Jarvis prompts): for secrets a plugin learns at run time, such as tokens."""
        SECRETS.add(value)

    @property
    def history(self) -> HistoryReader:
        """Every check's stored history (metric series, status spans and seconds), read
        only: what a plugin needs to judge a trend or report uptime."""
        if self.services is None:
            raise RuntimeError("no agent history")
        return self.services.history

    @property
    def http(self) -> aiohttp.ClientSession:
        """The agent's shared HTTP client session."""
        if self.services is None:
            raise RuntimeError("no agent HTTP session")
        return self.services.http_session()
