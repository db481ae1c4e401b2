"""The event stream: a WebSocket of every event, or recent events as JSON."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch

from aiohttp import WSMsgType, web

from nebula.http.endpoints import dumps, endpoint, ok, query_number
from nebula.http.keys import agent_of, principal_of
from nebula.http.schemas import OBJECT


@endpoint("GET", "/api/v1/events",
          "WebSocket stream of every event (or, without an Upgrade, the recent ones as JSON)",
          query={"topic": "fnmatch pattern, e.g. check.*", "limit": "recent events (1-200)"},
          tag="events", response=OBJECT)
async def events(request: web.Request) -> web.StreamResponse:
    bus = agent_of(request).bus
    pattern = request.query.get("topic", "*")
    caller = principal_of(request).name
    ws = web.WebSocketResponse(heartbeat=30)
    if not ws.can_prepare(request).ok:
        limit = int(query_number(request, "limit", 50, minimum=1, maximum=200))
        recent = [e for e in bus.recent if fnmatch.fnmatchcase(e["topic"], pattern)
                  and bus.visible(caller, e)]
        return ok({"events": recent[-limit:]})
    await ws.prepare(request)
    subscriber = bus.subscribe(pattern)
    reader = asyncio.create_task(_drain(ws))
    try:
        while not ws.closed and not reader.done():
            get = asyncio.create_task(subscriber.queue.get())
            done, _ = await asyncio.wait((get, reader), return_when=asyncio.FIRST_COMPLETED)
            if get not in done:
                get.cancel()
                break
            event = get.result()
            if not bus.visible(caller, event):
                continue
            if subscriber.dropped:
                event = {**event, "dropped_before": subscriber.dropped}
                subscriber.dropped = 0
            await ws.send_str(dumps(event))
    finally:
        bus.unsubscribe(subscriber)
        reader.cancel()
        with contextlib.suppress(Exception):
            await ws.close()
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) client messages so pings, pongs and close frames are handled."""
    async for msg in ws:
        if msg.type == WSMsgType.ERROR:
            break

