"""Home Assistant's WebSocket API: authenticate, subscribe to `state_changed`, load every
state with `get_states`, then keep the StateCache current from the events. Reconnects with
a doubling backoff; while it is down the coordinator polls REST instead.

Protocol: the server sends `auth_required`; we send `{"type": "auth", "access_token"}`; it
answers `auth_ok` or `auth_invalid` (and closes). Then every command carries a rising `id`
and gets `{"id", "type": "result", "success", "result" | "error"}`; subscriptions push
`{"id": <subscription id>, "type": "event", "event": {...}}`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from nebula.helpers.net import FailureKind
from nebula_homeassistant.client import Client
from nebula_homeassistant.errors import HAError, from_exception
from nebula_homeassistant.states import StateCache

HEARTBEAT = 30.0


class Live:
    def __init__(self, client: Client, cache: StateCache, config: Mapping[str, Any],
                 log: Any) -> None:
        self.client, self.cache, self.log = client, cache, log
        self.min_backoff = float(config["ws_min_backoff"])
        self.max_backoff = float(config["ws_max_backoff"])
        self.auth_retry = float(config["auth_retry"])
        self.connected = False
        self.error: HAError | None = None
        self.ha_version: str | None = None
        self.since: float | None = None
        self.connects = 0
        self.next_attempt: float | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        # HA refuses an id that is not above the last one: number and send in one step.
        self._sending = asyncio.Lock()
        # state_changed events held back while the full state list loads.
        self._hold: list[Mapping[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="homeassistant.websocket")

    @property
    def running(self) -> bool:
        """The connect/reconnect task is alive (until `stop`)."""
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._ws is not None:
            await self._ws.close()

    async def command(self, kind: str, **fields: Any) -> Any:
        """Send one command on the live connection and return its result."""
        ws = self._ws
        if ws is None or not self.connected:
            raise HAError(FailureKind.DISCONNECTED,
                          "the WebSocket to Home Assistant is not connected")
        return await asyncio.wait_for(self._send(ws, kind, **fields), self.client.timeout)

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, kind: str,
                    **fields: Any) -> Any:
        async with self._sending:
            msg_id = next(self._ids)
            future = self._pending[msg_id] = asyncio.get_running_loop().create_future()
            await ws.send_json({"id": msg_id, "type": kind, **fields})
        try:
            return await future
        finally:
            self._pending.pop(msg_id, None)

    async def _run(self) -> None:
        delay = self.min_backoff
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except HAError as exc:
                self.error = exc
            except Exception as exc:
                self.error = from_exception(exc, self.client.base, self.client.timeout)
            finally:
                self._close_pending()
            if self.since is not None:  # it was up: start the backoff again from the bottom
                delay, self.since = self.min_backoff, None
            if self.error is not None and self.error.kind is FailureKind.AUTH:
                # Retrying a refused token feeds HA's IP ban: wait as the REST side does.
                delay = max(self.max_backoff, self.auth_retry)
            self.log.info("homeassistant.websocket_down", error=str(self.error),
                          retry_in=round(delay, 2))
            self.next_attempt = time.time() + delay
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_backoff)

    async def _session(self) -> None:
        session = self.client.session
        self._ids = itertools.count(1)
        async with session.ws_connect(self.client.websocket_url, ssl=self.client.ssl,
                                      heartbeat=HEARTBEAT, max_msg_size=0,
                                      timeout=aiohttp.ClientWSTimeout(ws_close=2)) as ws:
            self._ws = ws
            try:
                await asyncio.wait_for(self._authenticate(ws), self.client.timeout)
                reader = asyncio.create_task(self._read(ws))
                try:
                    await self._subscribe(ws)
                    self.connected, self.since, self.error = True, time.time(), None
                    self.connects += 1
                    self.log.info("homeassistant.websocket_up", ha_version=self.ha_version)
                    await reader
                finally:
                    reader.cancel()
                    self.connected = False
            finally:
                self._ws = None
        raise HAError(FailureKind.DISCONNECTED,
                      f"Home Assistant closed the WebSocket (code {ws.close_code})")

    async def _authenticate(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        hello = await ws.receive_json()
        if hello.get("type") != "auth_required":
            raise HAError(FailureKind.HTTP, f"{self.client.websocket_url} did not greet with "
                                            f"auth_required: not Home Assistant's WebSocket "
                                            f"API")
        await ws.send_json({"type": "auth", "access_token": self.client.token})
        answer = await ws.receive_json()
        if answer.get("type") != "auth_ok":
            why = answer.get("message", answer.get("type"))
            raise HAError(FailureKind.AUTH, f"Home Assistant rejected the access token on the "
                                            f"WebSocket ({why})")
        self.ha_version = answer.get("ha_version")

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        # Subscribing before loading the states means no change can fall in between;
        # events that arrive first are applied again after the load (the same new state).
        held: list[Mapping[str, Any]] = []
        self._hold = held
        subscribed = asyncio.ensure_future(self._send(ws, "subscribe_events",
                                                      event_type="state_changed"))
        states = await asyncio.wait_for(self._send(ws, "get_states"), self.client.timeout)
        await asyncio.wait_for(subscribed, self.client.timeout)
        self.cache.replace(states, "websocket")
        self._hold = None
        for data in held:
            self.cache.apply(data)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            data = msg.json()
            # With coalescing, HA sends several messages as one JSON array.
            for item in data if isinstance(data, list) else [data]:
                self._dispatch(item)

    def _dispatch(self, msg: Mapping[str, Any]) -> None:
        if msg.get("type") == "event":
            event = msg.get("event") or {}
            if event.get("event_type") == "state_changed":
                data = event.get("data") or {}
                if self._hold is not None:
                    self._hold.append(data)
                else:
                    self.cache.apply(data)
            return
        future = self._pending.get(msg.get("id", -1))
        if future is None or future.done():
            return
        if msg.get("type") == "result" and not msg.get("success", False):
            error = msg.get("error") or {}
            future.set_exception(HAError(FailureKind.HTTP, f"Home Assistant refused "
                                                           f"{error.get('code', 'the command')}"
                                                           f": {error.get('message', '')}"))
        else:
            future.set_result(msg.get("result"))

    def _close_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(HAError(FailureKind.DISCONNECTED, "the WebSocket closed"))
        self._pending.clear()
