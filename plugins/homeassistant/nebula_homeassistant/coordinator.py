"""The plugin's runtime: one poll of Home Assistant shared by the checks, panels and tools
(a `nebula.helpers.coordinator.Coordinator`), the WebSocket that keeps the states live, and
the (slow, separate) configuration check.

A poll reads `/api/config` (reachability, version) and, only while the WebSocket is down,
every state from `/api/states`. After HA rejects the token, nothing is sent for
`auth_retry` seconds: repeated bad logins get the agent's IP banned."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from nebula.api import PluginContext
from nebula.helpers.coordinator import Coordinator
from nebula.helpers.net import FailureKind
from nebula_homeassistant.client import Client
from nebula_homeassistant.errors import HAError
from nebula_homeassistant.live import Live
from nebula_homeassistant.states import StateCache
from nebula_homeassistant.webhook import Inbox


@dataclass(frozen=True)
class Snapshot:
    taken: float
    error: HAError | None = None
    version: str | None = None
    location: str | None = None
    response_ms: float | None = None

    @property
    def reachable(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ConfigCheck:
    taken: float
    result: str | None = None          # "valid" or "invalid", as HA answers
    errors: str | None = None
    warnings: str | None = None
    error: HAError | None = None       # the check could not be run


class Runtime:
    """The plugin's running state, returned by `nebula_startup`: the REST client, the
    state cache the WebSocket keeps live, the shared poll and configuration check, and the
    webhook's inbox. The core closes it (`aclose`) when the plugin stops."""

    def __init__(self, ctx: PluginContext) -> None:
        self.log = ctx.log
        self.config = ctx.config
        self.client = Client(ctx.http, ctx.config)
        self.cache = StateCache()
        self.live = (Live(self.client, self.cache, ctx.config, ctx.log)
                     if ctx.config["websocket"] else None)
        self.inbox = Inbox(ctx.emit)
        self.auth_failure: tuple[float, HAError] | None = None
        self.areas: dict[str, list[str]] = {}   # area id → entity ids, from the registries
        # A failed poll or check is a Snapshot/ConfigCheck carrying its error (the checks
        # report it), never a raise: the coordinators' backoff stays out of the way, and
        # the hold-off after a rejected token is `auth_retry` (see `_auth_blocked`).
        self._poll = Coordinator(self._fetch, max_age=self.config["interval"] / 2,
                                 name="homeassistant.poll", log=ctx.log)
        self._config_check = Coordinator(self._check_config,
                                         max_age=self.config["check_config_interval"],
                                         name="homeassistant.check_config", log=ctx.log)

    def start(self) -> None:
        if self.live is not None:
            self.live.start()

    async def aclose(self) -> None:
        """Ends the WebSocket task and any poll in flight (the HTTP session is the
        agent's)."""
        await asyncio.gather(self._poll.aclose(), self._config_check.aclose())
        if self.live is not None:
            await self.live.stop()

    @property
    def live_connected(self) -> bool:
        return self.live is not None and self.live.connected

    # --- polling -------------------------------------------------------------------------

    async def observe(self, max_age: float | None = None) -> Snapshot:
        """The latest poll if younger than `max_age` (default: half the interval); readers
        arriving while a poll runs share it."""
        latest = self._poll.latest
        if (latest is not None and latest.error is not None and self.live is not None
                and self.live.connected and (self.live.since or 0) > latest.taken):
            max_age = 0  # the WebSocket just came back: the failure is out of date
        return await self._poll.get(max_age)

    async def _fetch(self) -> Snapshot:
        if blocked := self._auth_blocked():
            return Snapshot(time.time(), blocked)
        try:
            info = await self.client.get("config")
            if not isinstance(info, dict) or "version" not in info:
                raise HAError(FailureKind.HTTP, f"{self.client.base}/api/config has no "
                                                f"version: is url Home Assistant's base URL?")
            if not self.live_connected:
                states = await self.client.get("states")
                self.cache.replace(states if isinstance(states, list) else [], "rest")
            if self.live_connected and self.config.get("panel_area"):
                await self._load_areas()
        except HAError as exc:
            if exc.kind is FailureKind.AUTH:
                self.auth_failure = (time.time(), exc)
            self.log.warning("homeassistant.poll_failed", error=str(exc))
            return Snapshot(time.time(), exc)
        self.auth_failure = None
        return Snapshot(time.time(), None, str(info["version"]), info.get("location_name"),
                        self.client.last_ms)

    def _auth_blocked(self) -> HAError | None:
        if self.auth_failure is None:
            return None
        at, error = self.auth_failure
        wait = self.config["auth_retry"] - (time.time() - at)
        if wait <= 0:
            return None
        return HAError(FailureKind.AUTH, f"{error} (not asking again for {wait:.0f}s)",
                       error.status)

    # --- areas (WebSocket registries) ---------------------------------------------------

    async def _load_areas(self) -> None:
        assert self.live is not None
        areas, devices, entities = await asyncio.gather(
            self.live.command("config/area_registry/list"),
            self.live.command("config/device_registry/list"),
            self.live.command("config/entity_registry/list"))
        names = {a["area_id"]: a.get("name", "") for a in areas}
        device_area = {d["id"]: d.get("area_id") for d in devices}
        members: dict[str, list[str]] = {a: [] for a in names}
        for entry in entities:
            area = entry.get("area_id") or device_area.get(entry.get("device_id"))
            if area in members:
                members[area].append(entry["entity_id"])
        # Reachable by id or by name, as the owner wrote it in the config.
        self.areas = {**{names[a].lower(): m for a, m in members.items()}, **members}

    def area_entities(self) -> list[str] | None:
        """The configured area's entity ids; None when unknown (no WebSocket yet)."""
        area = self.config.get("panel_area")
        if not area:
            return []
        if not self.areas:
            return None
        return self.areas.get(area, self.areas.get(area.lower(), []))

    # --- the configuration check --------------------------------------------------------

    @property
    def last_config_check(self) -> ConfigCheck | None:
        return self._config_check.latest

    async def config_check(self, max_age: float) -> ConfigCheck:
        return await self._config_check.get(max_age)

    async def _check_config(self) -> ConfigCheck:
        if blocked := self._auth_blocked():
            return ConfigCheck(time.time(), error=blocked)
        try:
            # HA re-reads every YAML file for this: it can take a while.
            answer = await self.client.post("config/core/check_config",
                                            timeout=max(30.0, 3 * self.client.timeout))
        except HAError as exc:
            if exc.kind is FailureKind.AUTH:
                exc = await self._why_unauthorized(exc)
            return ConfigCheck(time.time(), error=exc)
        return ConfigCheck(time.time(), answer.get("result"), answer.get("errors"),
                           answer.get("warnings"))

    async def _why_unauthorized(self, exc: HAError) -> HAError:
        """HA answers 401 both to a bad token and to a non-admin user on this admin-only
        endpoint (core#102200); the poll's verdict on the token tells them apart."""
        snapshot = await self.observe(max_age=0)
        if snapshot.reachable:
            return HAError(FailureKind.FORBIDDEN, "Home Assistant refused the configuration "
                                                  "check (401): the token's user is not an "
                                                  "administrator", 401)
        return snapshot.error or exc
