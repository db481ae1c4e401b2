"""Home Assistant's WebSocket API: authenticate, subscribe to `state_changed`, load every
state with `get_states`, then keep the StateCache current from the events. Reconnects with
a doubling backoff from `ws_min_backoff` up to `ws_max_backoff`, and at once when the REST
poll finds Home Assistant answering again (`wake`); while it is down the coordinator polls
REST instead. After a rejected token it stops for good (see access.py).

Protocol: the server sends `auth_required`; we send `{"type": "auth", "access_token"}`; it
answers `auth_ok` or `auth_invalid` (and closes). Then every command carries a rising `id`
and gets `{"id", "type": "result", "success", "result" | "error"}`; subscriptions push
`{"id": <subscription id>, "type": "event", "event": {...}}`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from nebula.helpers.net import FailureKind
from nebula_homeassistant.client import Client
from nebula_homeassistant.errors import HAError, from_exception, token_rejected_on_websocket
from nebula_homeassistant.states import StateCache

HEARTBEAT = 30.0


def connect(client: Client) -> Any:
    """`async with connect(client) as ws:` a WebSocket to Home Assistant, not yet
    authenticated."""
    return client.session.ws_connect(client.websocket_url, ssl=client.ssl,
                                     heartbeat=HEARTBEAT, max_msg_size=0,
                                     timeout=aiohttp.ClientWSTimeout(ws_close=2))


async def authenticate(ws: aiohttp.ClientWebSocketResponse, client: Client) -> str | None:
    """The auth phase, through the runtime's Access (a refused token is remembered and
    never presented again); returns HA's version."""
    async with client.access.use():
        hello = await asyncio.wait_for(ws.receive_json(), client.timeout)
        if hello.get("type") != "auth_required":
            raise HAError(FailureKind.HTTP, f"{client.websocket_url} did not greet with "
                                            f"auth_required: not Home Assistant's WebSocket "
                                            f"API")
        await ws.send_json({"type": "auth", "access_token": client.token})
        answer = await asyncio.wait_for(ws.receive_json(), client.timeout)
        if answer.get("type") != "auth_ok":
            why = answer.get("message", answer.get("type"))
            raise client.access.reject(token_rejected_on_websocket(str(why)))
        client.access.accept()
        version = answer.get("ha_version")
        return str(version) if version else None


async def ask_once(client: Client, kind: str) -> Any:
    """One command on a connection of its own (when the live one is off or not up): the
    token's user (`auth/current_user`) with `websocket = false`."""
    try:
        async with connect(client) as ws:
            await authenticate(ws, client)
            await ws.send_json({"id": 1, "type": kind})
            while True:
                msg = await asyncio.wait_for(ws.receive_json(), client.timeout)
                if msg.get("id") == 1 and msg.get("type") == "result":
                    break
    except HAError:
        raise
    except Exception as exc:
        raise from_exception(exc, client.base, client.timeout) from None
    if not msg.get("success", False):
        raise refused(msg)
    return msg.get("result")


def refused(msg: Mapping[str, Any]) -> HAError:
    error = msg.get("error") or {}
    return HAError(FailureKind.HTTP, f"Home Assistant refused "
                                     f"{error.get('code', 'the command')}: "
                                     f"{error.get('message', '')}")


class Live:
    def __init__(self, client: Client, cache: StateCache, config: Mapping[str, Any],
                 log: Any, on_connect: Callable[[], Awaitable[None]] | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        self.client, self.cache, self.log = client, cache, log
        self.access = client.access
        self.max_backoff = float(config["ws_max_backoff"])
        self.min_backoff = min(float(config["ws_min_backoff"]), self.max_backoff)
        # What to do on each connect (areas, the token's user) before it counts as
        # settled, and whom to tell when the connection comes or goes.
        self.on_connect, self.on_change = on_connect, on_change
        self.connected = False
        self.error: HAError | None = None
        self.ha_version: str | None = None
        self.since: float | None = None
        self.changed_at = time.time()   # when `connected` last flipped
        self.connects = 0
        self.next_attempt: float | None = None
        # Set once the first attempt is over, connected or not (the start waits for it).
        self.settled = asyncio.Event()
        self._wake = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        # HA refuses an id that is not above the last one: number and send in one step.
        self._sending = asyncio.Lock()
        # state_changed events held back while the full state list loads.
        self._hold: list[Mapping[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="homeassistant.websocket")

    @property
    def running(self) -> bool:
        """The connect/reconnect task is alive (until `stop`, or a rejected token)."""
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Home Assistant answers again: the next attempt need not wait out its backoff."""
        if not self.connected:
            self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            # Closing the socket ends the session even when the cancellation was lost: a
            # `wait_for` whose inner await finishes as the cancellation arrives returns
            # its result instead (Python < 3.12), and the task would read on for good.
            if self._ws is not None:
                await self._ws.close()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

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
        while not self._stopping:
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
                self._set_connected(False)
                self.settled.set()
            if self._stopping:
                return
            if self.error is not None and self.error.kind is FailureKind.AUTH:
                self.access.reject(self.error)  # a proxy's 401 on the upgrade, say
            if self.access.rejected is not None:
                # Another try would be another failed login towards HA's IP ban.
                self.log.warning("homeassistant.websocket_stopped",
                                 error=str(self.access.rejected))
                return
            if self.since is not None:  # it was up: start the backoff again from the bottom
                delay, self.since = self.min_backoff, None
            self.log.info("homeassistant.websocket_down", error=str(self.error),
                          retry_in=round(delay, 2))
            self.next_attempt = time.time() + delay
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            delay = min(delay * 2, self.max_backoff)

    def _set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected, self.changed_at = connected, time.time()
            if self.on_change is not None:
                self.on_change()

    async def _session(self) -> None:
        if self.access.rejected is not None:
            raise self.access.rejected
        self._ids = itertools.count(1)
        async with connect(self.client) as ws:
            self._ws = ws
            try:
                self.ha_version = await authenticate(ws, self.client)
                reader = asyncio.create_task(self._read(ws))
                try:
                    await self._subscribe(ws)
                    self.since, self.error = time.time(), None
                    self.connects += 1
                    self._set_connected(True)
                    self.log.info("homeassistant.websocket_up", ha_version=self.ha_version)
                    await self._set_up()
                    await reader
                finally:
                    # Ended before the socket closes: a close that races a reader waits
                    # for the reader, which made stopping hang.
                    reader.cancel()
                    await asyncio.wait([reader])
            finally:
                self._ws = None
        raise HAError(FailureKind.DISCONNECTED,
                      f"Home Assistant closed the WebSocket (code {ws.close_code})")

    async def _set_up(self) -> None:
        try:
            if self.on_connect is not None:
                await self.on_connect()
        except HAError as exc:  # the states are live all the same
            self.log.warning("homeassistant.websocket_setup_failed", error=str(exc))
        finally:
            self.settled.set()

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
            future.set_exception(refused(msg))
        else:
            future.set_result(msg.get("result"))

    def _close_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(HAError(FailureKind.DISCONNECTED, "the WebSocket closed"))
        self._pending.clear()
