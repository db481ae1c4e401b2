"""The plugin's runtime: one poll of Home Assistant shared by the checks, panels and tools
(a `nebula.helpers.coordinator.Coordinator`), the WebSocket that keeps the states live, and
the (slow, separate) configuration check.

A poll reads `/api/config` (reachability, version, recovery mode) and, only while the
WebSocket is down, every state from `/api/states`. After Home Assistant rejects the token
nothing is sent again (access.py); the token's rights are learnt once, from
`auth/current_user`, and admin-only calls are not made for a user who is not an
administrator: HA counts each as a failed login towards an IP ban."""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import time
from dataclasses import dataclass

from nebula.api import PluginContext
from nebula.helpers.coordinator import Coordinator
from nebula.helpers.net import FailureKind
from nebula_homeassistant.access import Access
from nebula_homeassistant.client import Client
from nebula_homeassistant.errors import HAError, not_admin
from nebula_homeassistant.feed import ChangeFeed, shown_change
from nebula_homeassistant.live import Live, ask_once
from nebula_homeassistant.states import State, StateCache
from nebula_homeassistant.webhook import Inbox

CURRENT_USER = "auth/current_user"
# The longest the start waits for the first WebSocket attempt (to judge panel_area): the
# core gives a whole start `[agent] startup_timeout`, 10 s by default.
START_WAIT = 5.0


@dataclass(frozen=True)
class Snapshot:
    taken: float
    error: HAError | None = None
    version: str | None = None
    location: str | None = None
    response_ms: float | None = None
    recovery_mode: bool = False   # the configuration failed to load: a minimal HA runs
    safe_mode: bool = False       # started without custom integrations, on request

    @property
    def reachable(self) -> bool:
        return self.error is None

    @property
    def mode(self) -> str | None:
        if self.error is not None:
            return None
        return ("recovery mode" if self.recovery_mode else
                "safe mode" if self.safe_mode else "running")


@dataclass(frozen=True)
class ConfigCheck:
    taken: float
    result: str | None = None          # "valid" or "invalid", as HA answers
    errors: str | None = None
    warnings: str | None = None
    error: HAError | None = None       # the check could not be run
    not_admin: bool = False            # not run: HA would count it as a failed login


class Runtime:
    """The plugin's running state, returned by `nebula_startup`: the REST client, the
    state cache the WebSocket keeps live, the shared poll and configuration check, and the
    webhook's inbox. The core closes it (`aclose`) when the plugin stops."""

    def __init__(self, ctx: PluginContext) -> None:
        self.log = ctx.log
        self.config = ctx.config
        # ctx.run_check: the reachability check follows the connection at once instead of
        # at its next interval (getattr: the core that has it is landing alongside).
        self._run_check = getattr(ctx, "run_check", None)
        self.access = Access()
        self.client = Client(ctx.http, ctx.config, self.access)
        self.feed = ChangeFeed(ctx.emit, float(ctx.config["change_window"]), ctx.log)
        self.cache = StateCache(self._state_changed)
        self.live = (Live(self.client, self.cache, ctx.config, ctx.log,
                          on_connect=self._on_connect, on_change=self._connection_changed)
                     if ctx.config["websocket"] else None)
        self.inbox = Inbox(ctx.emit)
        self.areas: dict[str, list[str]] = {}   # area id and lower-case name → entity ids
        self.area_names: dict[str, str] = {}    # area id → name
        self.areas_loaded = False
        self._shown = frozenset(ctx.config["panel_entities"])
        self._told_not_admin = False
        # A failed poll or check is a Snapshot/ConfigCheck carrying its error (the checks
        # report it), never a raise: the coordinators' backoff stays out of the way, and
        # after a rejected token the Access answers without sending anything.
        self._poll = Coordinator(self._fetch, max_age=self.config["interval"] / 2,
                                 name="homeassistant.poll", log=ctx.log)
        self._config_check = Coordinator(self._check_config,
                                         max_age=self.config["check_config_interval"],
                                         name="homeassistant.check_config", log=ctx.log)

    def start(self) -> None:
        if self.live is not None:
            self.live.start()

    async def check_start(self) -> None:
        """What the config alone cannot tell, judged as the plugin starts: a panel_area
        that is not an area of this Home Assistant (when its areas can be read at once)."""
        if not self.config.get("panel_area"):
            return
        if self.live is None:
            raise ValueError("panel_area needs websocket = true: the areas come from Home "
                             "Assistant's registries over the WebSocket")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.live.settled.wait(),
                                   min(START_WAIT, self.client.timeout))
        if problem := self.area_problem():
            raise ValueError(f"{problem}; fix panel_area in [plugins.homeassistant]")

    async def aclose(self) -> None:
        """Ends the WebSocket task, any poll in flight and a pending dashboard event (the
        HTTP session is the agent's). The socket first: its events would queue more."""
        if self.live is not None:
            await self.live.stop()
        await asyncio.gather(self._poll.aclose(), self._config_check.aclose(),
                             self.feed.aclose())

    @property
    def live_connected(self) -> bool:
        return self.live is not None and self.live.connected

    # --- the dashboard -------------------------------------------------------------------

    def _state_changed(self, old: State | None, new: State | None) -> None:
        entity_id = shown_change(old, new, self._shown, self.config["ignore_entities"])
        if entity_id is not None:
            self.feed.note(entity_id)

    def _connection_changed(self) -> None:
        assert self.live is not None
        self.feed.note_connection({
            "websocket": "live" if self.live.connected else "down",
            "error": None if self.live.connected or self.live.error is None
            else str(self.live.error)})
        if self._run_check is not None:
            self._run_check("api")  # its poll is out of date now: it polls again

    async def _on_connect(self) -> None:
        """On each WebSocket connect: who the token's user is, and the areas."""
        assert self.live is not None
        try:
            self.access.learn_user(await self.live.command(CURRENT_USER))
        finally:
            if self.config.get("panel_area"):
                await self._load_areas()

    # --- polling -------------------------------------------------------------------------

    async def observe(self, max_age: float | None = None) -> Snapshot:
        """The latest poll if younger than `max_age` (default: half the interval), unless
        the WebSocket came or went since it was taken; readers arriving while a poll runs
        share it."""
        latest = self._poll.latest
        if latest is not None and self.live is not None and self.live.changed_at > latest.taken:
            max_age = 0  # what the poll said about reachability is out of date
        return await self._poll.get(max_age)

    async def _fetch(self) -> Snapshot:
        try:
            info = await self.client.get("config")
            if not isinstance(info, dict) or "version" not in info:
                raise HAError(FailureKind.HTTP, f"{self.client.base}/api/config has no "
                                                f"version: is url Home Assistant's base URL?")
            if not self.live_connected:
                states = await self.client.get("states")
                self.cache.replace(states if isinstance(states, list) else [], "rest")
                if self.live is not None:
                    self.live.wake()  # HA answers: no need to wait out the backoff
        except HAError as exc:
            latest = self._poll.latest
            if latest is None or str(latest.error) != str(exc):  # once per cause
                self.log.warning("homeassistant.poll_failed", error=str(exc))
            return Snapshot(time.time(), exc)
        return Snapshot(time.time(), None, str(info["version"]), info.get("location_name"),
                        self.client.last_ms, bool(info.get("recovery_mode")),
                        bool(info.get("safe_mode")))

    async def unknown_entities(self, entity_ids: list[str]) -> list[str]:
        """Those of `entity_ids` Home Assistant has no entity for. The live cache knows
        every entity; polled states may predate a new one, so those are asked for."""
        if not self.live_connected:
            await self.observe()
        unknown = [e for e in entity_ids if e not in self.cache.states]
        if not unknown or self.live_connected:
            return unknown
        still = []
        for entity_id in unknown:
            try:
                await self.client.get(f"states/{entity_id}")
            except HAError as exc:
                if exc.status != 404:
                    raise
                still.append(entity_id)
        return still

    # --- areas (WebSocket registries) ---------------------------------------------------

    async def _load_areas(self) -> None:
        assert self.live is not None
        areas, devices, entities = await asyncio.gather(
            self.live.command("config/area_registry/list"),
            self.live.command("config/device_registry/list"),
            self.live.command("config/entity_registry/list"))
        names = {a["area_id"]: str(a.get("name", "")) for a in areas}
        device_area = {d["id"]: d.get("area_id") for d in devices}
        members: dict[str, list[str]] = {a: [] for a in names}
        for entry in entities:
            area = entry.get("area_id") or device_area.get(entry.get("device_id"))
            if area in members:
                members[area].append(entry["entity_id"])
        # Reachable by id or by name, as the owner wrote it in the config.
        self.areas = {**{names[a].lower(): m for a, m in members.items()}, **members}
        self.area_names, self.areas_loaded = names, True
        self._shown = frozenset(self.config["panel_entities"]) | frozenset(
            self.area_entities() or ())
        if problem := self.area_problem():
            self.log.warning("homeassistant.unknown_area", problem=problem)

    def area_entities(self) -> list[str] | None:
        """The configured area's entity ids; None when unknown (no WebSocket yet)."""
        area = self.config.get("panel_area")
        if not area:
            return []
        if not self.areas_loaded:
            return None
        return self.areas.get(area, self.areas.get(area.lower(), []))

    def area_problem(self) -> str | None:
        """Why panel_area names no area of this Home Assistant (once its areas are known)."""
        area = self.config.get("panel_area")
        if not area or not self.areas_loaded or area in self.areas \
                or area.lower() in self.areas:
            return None
        # Ids and names, lower-cased, each to the way it is shown (a name over an id).
        spelled = {a: a for a in self.area_names}
        spelled.update({name.lower(): name for name in self.area_names.values()})
        near = difflib.get_close_matches(area.lower(), list(spelled), n=1)
        hint = f"; did you mean {spelled[near[0]]!r}?" if near else ""
        known = ", ".join(repr(n) for n in sorted(self.area_names.values())) or "none"
        return (f"panel_area {area!r} is not an area of this Home Assistant{hint} (its "
                f"areas: {known})")

    # --- the token's rights and the configuration check ---------------------------------

    async def is_admin(self) -> bool | None:
        """Whether the token's user is an administrator, asked once (`auth/current_user`
        on the live WebSocket, or on one of its own); None when it cannot be told."""
        if self.access.is_admin is None:
            live = self.live
            try:
                self.access.learn_user(await live.command(CURRENT_USER)
                                       if live is not None and live.connected
                                       else await ask_once(self.client, CURRENT_USER))
            except HAError as exc:  # a proxy that refuses WebSockets, say
                self.log.info("homeassistant.user_unknown", error=str(exc))
        return self.access.is_admin

    @property
    def last_config_check(self) -> ConfigCheck | None:
        return self._config_check.latest

    async def config_check(self, max_age: float) -> ConfigCheck:
        return await self._config_check.get(max_age)

    async def _check_config(self) -> ConfigCheck:
        snapshot = await self.observe()
        if snapshot.error is not None:
            return ConfigCheck(time.time(), error=snapshot.error)
        if await self.is_admin() is False:
            error = not_admin(self.access.user_name)
            if not self._told_not_admin:
                self._told_not_admin = True
                self.log.warning("homeassistant.not_admin", problem=str(error))
            return ConfigCheck(time.time(), error=error, not_admin=True)
        try:
            # HA re-reads every YAML file for this: it can take a while.
            answer = await self.client.post("config/core/check_config",
                                            timeout=max(30.0, 3 * self.client.timeout),
                                            admin_only=True)
        except HAError as exc:
            return ConfigCheck(time.time(), error=exc,
                               not_admin=self.access.is_admin is False)
        return ConfigCheck(time.time(), answer.get("result"), answer.get("errors"),
                           answer.get("warnings"))
