"""A small local Home Assistant, following the real REST and WebSocket APIs (shared/
protocols.md section 2; home-assistant/core `components/api`, `components/config/core.py`,
`components/websocket_api`):

- every `/api/...` request needs `Authorization: Bearer <token>`, else 401 with the
  plain-text body `401: Unauthorized` (aiohttp's HTTPUnauthorized) and, as current HA sends
  it, `WWW-Authenticate: Bearer resource_metadata="..."`;
- HA's IP ban (`components/http/ban.py`): every 401 (a wrong token, or a valid non-admin
  token on an admin-only endpoint: `require_admin` raises Unauthorized too) and every
  WebSocket `auth_invalid` is a failed login (`failed_logins`); with
  `login_attempts_threshold` >= 1 the address is banned at that many failed logins, and a
  banned address gets `403: Forbidden` on every request, the WebSocket included, for good
  (ip_bans.yaml). Only a WebSocket `auth_ok` resets the count (`process_success_login`);
  a successful REST request does not;
- `GET /api/`, `/api/config` (with `recovery_mode` and `safe_mode`, as `hass.config.as_dict()`
  has them), `/api/states`, `/api/states/<id>` (404 `Entity not found.`),
  `/api/services` (`[{"domain", "services": {name: {"fields": ...}}}]`);
- `POST /api/services/<domain>/<service>` answers the states changed by the call; an
  unknown service or a field the service does not take gives aiohttp's bare `400: Bad
  Request`, as HA raises HTTPBadRequest; a service that refuses its data itself raises
  ServiceValidationError, which the REST API answers with 400 and `{"message": ...}`
  (home-assistant/core#181590; `legacy_service_errors` gives what older versions answer: a
  bare `500 Internal Server Error` / `Server got itself in trouble`): an `input_select`
  option that is not one of its options, an `input_number` value outside its range. A call
  on an entity id that does not exist succeeds and changes nothing, as in HA. `scene.apply`
  sets each of `data.entities` to its state (as HA's scene integration does); every call
  that arrives is kept in `received`, refused or not (`calls` holds those HA carried out);
- `POST /api/config/core/check_config` (admin only: 401 otherwise) answers `{"result",
  "errors", "warnings"}`;
- `/api/websocket`: auth_required → auth → auth_ok | auth_invalid (then closed); commands
  with increasing ids: subscribe_events, unsubscribe_events, get_states, get_config, ping,
  `auth/current_user` (`is_admin`), and the area, device and entity registry lists;
  `state_changed` events to subscribers.
  On shutdown the sockets are closed, as HA closes them when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aiohttp import WSMsgType, web

# The services the stand-in knows, with the fields each takes (HA rejects others) and the
# state it leaves its targets in.
SERVICES: dict[str, dict[str, tuple[tuple[str, ...], str | None]]] = {
    "light": {"turn_on": (("brightness", "brightness_pct", "color_name", "transition"), "on"),
              "turn_off": (("transition",), "off"), "toggle": ((), "toggle")},
    "switch": {"turn_on": ((), "on"), "turn_off": ((), "off"), "toggle": ((), "toggle")},
    "lock": {"lock": (("code",), "locked"), "unlock": (("code",), "unlocked")},
    "cover": {"open_cover": ((), "open"), "close_cover": ((), "closed")},
    "alarm_control_panel": {"alarm_disarm": (("code",), "disarmed"),
                            "alarm_arm_away": (("code",), "armed_away")},
    "homeassistant": {"turn_on": ((), "on"), "turn_off": ((), "off"), "stop": ((), None),
                      "restart": ((), None)},
    "scene": {"turn_on": (("transition",), None), "apply": (("entities", "transition"), None)},
    "hassio": {"host_shutdown": ((), None), "host_reboot": ((), None)},
    "valve": {"open_valve": ((), "open"), "close_valve": ((), "closed")},
    "siren": {"turn_on": (("tone", "duration", "volume_level"), "on"),
              "turn_off": ((), "off")},
    "update": {"install": (("version", "backup"), "installing")},
    "notify": {"notify": (("message", "title", "data"), None)},
    # Their entity's attributes bound the value (checked in `_validated`).
    "input_select": {"select_option": (("option",), None)},
    "input_number": {"set_value": (("value",), None)},
}
TARGETS = ("entity_id", "device_id", "area_id", "floor_id", "label_id")


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


def context() -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "parent_id": None, "user_id": None}


class ServiceValidationError(Exception):
    """What a service raises when the caller's data is wrong (homeassistant.exceptions)."""


@dataclass
class HomeAssistant:
    token: str
    version: str = "2024.5.3"
    location_name: str = "Home"
    admin: bool = True
    user_name: str = "Nebula"
    # Started with a configuration that failed to load: only the core integrations run.
    recovery_mode: bool = False
    safe_mode: bool = False
    # http: login_attempts_threshold (HA's default -1: no bans).
    login_attempts_threshold: int = -1
    failed_logins: list[dict[str, Any]] = field(default_factory=list)
    banned: set[str] = field(default_factory=set)
    attempts: dict[str, int] = field(default_factory=dict)   # address → failed since reset
    legacy_service_errors: bool = False
    # Seconds every REST answer waits (a stalled instance).
    stall: float = 0.0
    # A reverse proxy in front that drops the Upgrade header: HA's aiohttp then answers
    # the WebSocket request with 400.
    strip_upgrade: bool = False
    check: dict[str, Any] = field(default_factory=lambda: {
        "result": "valid", "errors": None, "warnings": None})
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    areas: dict[str, str] = field(default_factory=dict)            # area id → name
    devices: dict[str, str | None] = field(default_factory=dict)   # device id → area id
    registry: dict[str, dict[str, Any]] = field(default_factory=dict)  # entity → entry
    calls: list[dict[str, Any]] = field(default_factory=list)     # carried out
    received: list[dict[str, Any]] = field(default_factory=list)  # every service request
    requests: list[dict[str, Any]] = field(default_factory=list)
    sockets: set[web.WebSocketResponse] = field(default_factory=set)
    subscribers: dict[web.WebSocketResponse, set[int]] = field(default_factory=dict)

    # --- the world ------------------------------------------------------------------------

    def add(self, entity_id: str, state: str, area: str | None = None,
            device: str | None = None, **attributes: Any) -> None:
        stamp = now()
        self.states[entity_id] = {
            "entity_id": entity_id, "state": state,
            "attributes": {"friendly_name": entity_id.split(".")[1].replace("_", " ").title(),
                           **attributes},
            "last_changed": stamp, "last_reported": stamp, "last_updated": stamp,
            "context": context()}
        self.registry[entity_id] = {"entity_id": entity_id, "area_id": area,
                                    "device_id": device, "platform": "demo",
                                    "id": uuid.uuid4().hex, "disabled_by": None}

    async def set_state(self, entity_id: str, state: str) -> dict[str, Any]:
        old = self.states[entity_id]
        stamp = now()
        new = {**old, "state": state, "last_reported": stamp, "last_updated": stamp,
               "context": context()}
        if state != old["state"]:
            new["last_changed"] = stamp
        self.states[entity_id] = new
        await self._state_changed(entity_id, old, new)
        return new

    async def appear(self, entity_id: str, state: str, **attributes: Any) -> None:
        """A new entity, announced as HA does: `state_changed` with no old state."""
        self.add(entity_id, state, **attributes)
        await self._state_changed(entity_id, None, self.states[entity_id])

    async def _state_changed(self, entity_id: str, old: dict[str, Any] | None,
                             new: dict[str, Any]) -> None:
        event = {"event_type": "state_changed", "time_fired": new["last_updated"],
                 "origin": "LOCAL", "context": new["context"],
                 "data": {"entity_id": entity_id, "old_state": old, "new_state": new}}
        for ws, subscriptions in list(self.subscribers.items()):
            for sub in subscriptions:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_json({"id": sub, "type": "event", "event": event})

    def area_of(self, entity_id: str) -> str | None:
        entry = self.registry.get(entity_id, {})
        return entry.get("area_id") or self.devices.get(entry.get("device_id") or "")

    async def drop_websockets(self) -> None:
        for ws in list(self.sockets):
            await ws.close()

    # --- HTTP -----------------------------------------------------------------------------

    def process_wrong_login(self, request: web.Request) -> None:
        remote = request.remote or ""
        self.failed_logins.append({"path": request.path, "remote": remote})
        if self.login_attempts_threshold < 1:
            return
        self.attempts[remote] = self.attempts.get(remote, 0) + 1
        if self.attempts[remote] >= self.login_attempts_threshold:
            self.banned.add(remote)

    def process_success_login(self, request: web.Request) -> None:
        self.attempts.pop(request.remote or "", None)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._ban, self._auth])
        app.router.add_get("/api/", self.status)
        app.router.add_get("/api/config", self.config)
        app.router.add_get("/api/states", self.all_states)
        app.router.add_get("/api/states/{entity_id}", self.one_state)
        app.router.add_get("/api/services", self.services)
        app.router.add_post("/api/services/{domain}/{service}", self.call_service)
        app.router.add_post("/api/config/core/check_config", self.check_config)
        app.router.add_get("/api/websocket", self.websocket)
        app.on_shutdown.append(lambda _: self.drop_websockets())
        return app

    @web.middleware
    async def _ban(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if (request.remote or "") in self.banned:
            self.requests.append({"method": request.method, "path": request.path,
                                  "authorized": None})
            raise web.HTTPForbidden()
        try:
            return await handler(request)
        except web.HTTPUnauthorized:
            self.process_wrong_login(request)
            raise

    def unauthorized(self, request: web.Request) -> web.HTTPUnauthorized:
        # Current HA points at its OAuth resource metadata (RFC 9728); the body stays
        # aiohttp's plain `401: Unauthorized`.
        return web.HTTPUnauthorized(headers={"WWW-Authenticate": (
            f'Bearer resource_metadata="http://{request.host}/.well-known/'
            f'oauth-protected-resource"')})

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        authorized = request.headers.get("Authorization") == f"Bearer {self.token}"
        self.requests.append({"method": request.method, "path": request.path,
                              "authorized": authorized})
        if request.path == "/api/websocket":  # authenticates inside the socket
            return await handler(request)
        if request.match_info.http_exception is not None:  # no such route: 404, as in HA
            return await handler(request)
        if self.stall:
            await asyncio.sleep(self.stall)
        if not authorized:
            raise self.unauthorized(request)
        return await handler(request)

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response({"message": "API running."})

    def _config(self) -> dict[str, Any]:
        return {"location_name": self.location_name, "version": self.version,
                "time_zone": "Europe/London", "unit_system": {"temperature": "°C"},
                "components": sorted({e.split(".")[0] for e in self.states} | {"api"}),
                "state": "RUNNING", "safe_mode": self.safe_mode,
                "recovery_mode": self.recovery_mode}

    async def config(self, request: web.Request) -> web.Response:
        return web.json_response(self._config())

    async def all_states(self, request: web.Request) -> web.Response:
        return web.json_response(list(self.states.values()))

    async def one_state(self, request: web.Request) -> web.Response:
        state = self.states.get(request.match_info["entity_id"])
        if state is None:
            return web.json_response({"message": "Entity not found."}, status=404)
        return web.json_response(state)

    async def services(self, request: web.Request) -> web.Response:
        return web.json_response([
            {"domain": domain, "services": {
                name: {"name": name.replace("_", " "), "description": "",
                       "fields": {f: {"selector": {"text": None}} for f in fields}}
                for name, (fields, _) in services.items()}}
            for domain, services in SERVICES.items()])

    async def call_service(self, request: web.Request) -> web.Response:
        domain, service = request.match_info["domain"], request.match_info["service"]
        body = await request.text()
        self.received.append({"domain": domain, "service": service, "body": body})
        try:
            data = await request.json() if body else {}
        except ValueError:
            return web.json_response({"message": "Data should be valid JSON."}, status=400)
        if service not in SERVICES.get(domain, {}):
            raise web.HTTPBadRequest()
        fields, result = SERVICES[domain][service]
        if set(data) - set(fields) - set(TARGETS):
            raise web.HTTPBadRequest()
        try:
            values = self._validated(domain, data)
        except ServiceValidationError as exc:
            if self.legacy_service_errors:  # aiohttp's answer to the uncaught exception
                return web.Response(status=500, text="500 Internal Server Error\n\n"
                                                     "Server got itself in trouble")
            return web.json_response({"message": str(exc)}, status=400)
        self.calls.append({"domain": domain, "service": service, "data": data})
        changed = []
        for entity_id, value in values.items():
            changed.append(await self.set_state(entity_id, value))
        if (domain, service) == ("scene", "apply"):
            for entity_id, state in (data.get("entities") or {}).items():
                entity_id = entity_id.lower()
                if entity_id in self.states:
                    changed.append(await self.set_state(entity_id, str(state)))
        for entity_id in self._targets(domain, data):
            if result is None or entity_id not in self.states:
                continue
            # An entity service acts on its own domain's entities only; the homeassistant
            # domain's on any.
            if domain != "homeassistant" and not entity_id.startswith(f"{domain}."):
                continue
            state = result
            if result == "toggle":
                state = "off" if self.states[entity_id]["state"] == "on" else "on"
            changed.append(await self.set_state(entity_id, state))
        return web.json_response(changed)

    def _validated(self, domain: str, data: dict[str, Any]) -> dict[str, str]:
        """The new state of each input_select/input_number target, as those integrations
        check it (ServiceValidationError with their message when it does not fit)."""
        values: dict[str, str] = {}
        for entity_id in self._targets(domain, data):
            if entity_id not in self.states or not entity_id.startswith(f"{domain}."):
                continue
            attrs = self.states[entity_id]["attributes"]
            if domain == "input_select":
                option = data.get("option")
                if option not in attrs.get("options", []):
                    raise ServiceValidationError(
                        f"Invalid option: {option} (possible options: "
                        f"{', '.join(attrs.get('options', []))})")
                values[entity_id] = str(option)
            if domain == "input_number":
                try:  # the service schema's vol.Coerce(float): vol.Invalid is a bare 400
                    value = float(data["value"])
                except (KeyError, TypeError, ValueError):
                    raise web.HTTPBadRequest() from None
                low, high = float(attrs.get("min", 0)), float(attrs.get("max", 100))
                if not low <= value <= high:
                    raise ServiceValidationError(
                        f"Invalid value for {entity_id}: {data.get('value')} (range {low} - "
                        f"{high})")
                values[entity_id] = str(value)
        return values

    def _targets(self, domain: str, data: dict[str, Any]) -> list[str]:
        def ids(value: Any) -> list[str]:
            return [value] if isinstance(value, str) else list(value or [])
        entity_ids = [e.lower() for e in ids(data.get("entity_id"))]  # as cv.entity_id
        if entity_ids == ["all"]:  # every entity of the service's domain; any for these
            entity_ids = [e for e in self.states
                          if domain == "homeassistant" or e.startswith(f"{domain}.")]
        areas = set(ids(data.get("area_id")))
        entity_ids += [e for e in self.states if areas and self.area_of(e) in areas]
        return list(dict.fromkeys(entity_ids))

    async def check_config(self, request: web.Request) -> web.Response:
        if not self.admin:  # require_admin raises Unauthorized: a failed login to the ban
            raise self.unauthorized(request)
        return web.json_response(self.check)

    # --- WebSocket ------------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if self.strip_upgrade:
            raise web.HTTPBadRequest(text="No WebSocket UPGRADE hdr: None\n Can \"Upgrade\" "
                                          "only to \"WebSocket\".")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.add(ws)
        try:
            await ws.send_json({"type": "auth_required", "ha_version": self.version})
            auth = await ws.receive_json()
            if auth.get("type") != "auth" or auth.get("access_token") != self.token:
                await ws.send_json({"type": "auth_invalid",
                                    "message": "Invalid access token or password"})
                self.process_wrong_login(request)
                await ws.close()
                return ws
            self.process_success_login(request)
            await ws.send_json({"type": "auth_ok", "ha_version": self.version})
            await self._commands(ws)
        finally:
            self.sockets.discard(ws)
            self.subscribers.pop(ws, None)
        return ws

    async def _commands(self, ws: web.WebSocketResponse) -> None:
        last_id = 0
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            cmd = msg.json()
            msg_id = cmd.get("id", 0)
            if not isinstance(msg_id, int) or msg_id <= last_id:
                await ws.send_json({"id": msg_id, "type": "result", "success": False,
                                    "error": {"code": "id_reuse", "message":
                                              "Identifier values have to increase."}})
                continue
            last_id = msg_id
            if cmd.get("type") == "ping":
                await ws.send_json({"id": msg_id, "type": "pong"})
                continue
            try:
                result = self._command(ws, cmd)
            except LookupError:
                await ws.send_json({"id": msg_id, "type": "result", "success": False,
                                    "error": {"code": "unknown_command",
                                              "message": "Unknown command."}})
                continue
            await ws.send_json({"id": msg_id, "type": "result", "success": True,
                                "result": result})

    def _command(self, ws: web.WebSocketResponse, cmd: dict[str, Any]) -> Any:
        kind = cmd.get("type")
        if kind == "subscribe_events":
            if cmd.get("event_type") in (None, "state_changed"):
                self.subscribers.setdefault(ws, set()).add(cmd["id"])
            return None
        if kind == "unsubscribe_events":
            self.subscribers.get(ws, set()).discard(cmd.get("subscription"))
            return None
        if kind == "get_states":
            return list(self.states.values())
        if kind == "get_config":
            return self._config()
        if kind == "auth/current_user":
            return {"id": "9b1d4f0c2e7a4c55", "name": self.user_name, "is_owner": False,
                    "is_admin": self.admin, "credentials": [], "mfa_modules": []}
        if kind == "config/area_registry/list":
            return [{"area_id": a, "name": n, "aliases": [], "floor_id": None, "icon": None,
                     "labels": [], "picture": None} for a, n in self.areas.items()]
        if kind == "config/device_registry/list":
            return [{"id": d, "area_id": a, "name": d, "disabled_by": None}
                    for d, a in self.devices.items()]
        if kind == "config/entity_registry/list":
            return list(self.registry.values())
        raise LookupError(kind)
