"""The live tail's WebSocket (`/plugins/logs/tail`): the same filters as a search, each
line redacted before it is sent. The client may send `{"pause": true|false}` (answered
`{"control": "paused"|"following"}`); while paused nothing is sent and nothing is lost:
on resume the tail goes on from the last line it sent, at most BACKLOG lines a turn."""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import WSMsgType, web

from nebula_logs.api import filters_of
from nebula_logs.coordinator import Logs
from nebula_logs.present import present
from nebula_logs.query import BadParam
from nebula_logs.store import QueryError

BACKLOG = 1000  # lines sent at most per wake-up; a client further behind skips ahead


def routes(logs: Logs) -> web.RouteTableDef:
    table = web.RouteTableDef()

    @table.get("/tail")
    async def tail(request: web.Request) -> web.StreamResponse:
        try:
            filters = filters_of(request)
        except BadParam as exc:
            raise web.HTTPUnprocessableEntity(text=str(exc)) from None
        # Taken before the handshake: a line committed once the client is connected is
        # always past it.
        after = logs.last_id
        socket = web.WebSocketResponse(heartbeat=30)
        await socket.prepare(request)
        running = asyncio.Event()
        running.set()
        reader = asyncio.ensure_future(_read_controls(socket, running))
        with logs.follower.watching():  # files polled at the tail's pace meanwhile
            try:
                while not socket.closed and not reader.done():
                    if not running.is_set():  # paused: wait for resume (or the client leaving)
                        resumed = asyncio.ensure_future(running.wait())
                        await asyncio.wait([reader, resumed], return_when=asyncio.FIRST_COMPLETED)
                        resumed.cancel()
                        continue
                    waiting = asyncio.ensure_future(logs.wait_beyond(after, 15))
                    await asyncio.wait([reader, waiting], return_when=asyncio.FIRST_COMPLETED)
                    waiting.cancel()
                    if socket.closed or reader.done() or not running.is_set():
                        continue
                    seen = logs.last_id
                    try:
                        rows, _ = await logs.search(filters, BACKLOG, after=after)
                    except QueryError as exc:
                        await socket.send_json({"error": str(exc)})
                        break
                    for row in rows:
                        if not running.is_set():
                            break
                        await socket.send_str(json.dumps(present(row, logs.ctx.redact)))
                        after = row["id"]
                    else:
                        if len(rows) < BACKLOG:
                            after = max(after, seen)  # nothing else up to `seen` matches
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
                await socket.close()
        return socket

    return table


async def _read_controls(socket: web.WebSocketResponse, running: asyncio.Event) -> None:
    async for message in socket:
        if message.type == WSMsgType.TEXT:
            try:
                pause = bool(json.loads(message.data).get("pause", False))
            except (ValueError, AttributeError):
                continue
            # Acknowledged in order: nothing is sent after "paused", nor before "following".
            if pause:
                running.clear()
                await socket.send_json({"control": "paused"})
            else:
                await socket.send_json({"control": "following"})
                running.set()
