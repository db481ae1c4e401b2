"""The plugin's HTTP routes under /plugins/docker/: a live log follow, per-container stats
history, and the one-time view of a database's connection string."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from typing import TYPE_CHECKING, Any

from aiohttp import web

from nebula.api import reveal
from nebula_docker import operations, rows
from nebula_docker.databases import DeployError
from nebula_docker.schema import MAX_LOG_LINES, NAME_PATTERN

if TYPE_CHECKING:
    from nebula_docker.runtime import Runtime

# Chunks buffered between the engine's log stream and a slow HTTP client; past it, the
# reading thread waits, so a chatty container cannot fill the agent's memory.
FOLLOW_BUFFER = 256
# Seconds a quiet follow waits before looking whether its client is still there.
CLIENT_CHECK = 1.0
# Answer headers that say the logs are shorter than asked: the lines asked of the engine
# when `tail` was above the cap, and that the answer was cut to `logs_max_bytes`.
TAIL_CAPPED = "X-Nebula-Tail-Capped"
TRUNCATED = "X-Nebula-Truncated"


def _tail(request: web.Request, default: int = 100) -> tuple[int, bool]:
    """The lines asked for, at most MAX_LOG_LINES, and whether the cap cut them."""
    wanted = "tail must be a whole number of lines, 0 or more"
    try:
        lines = int(request.query.get("tail", default))
    except ValueError:
        raise web.HTTPUnprocessableEntity(text=wanted) from None
    if lines < 0:
        raise web.HTTPUnprocessableEntity(text=wanted)
    return min(lines, MAX_LOG_LINES), lines > MAX_LOG_LINES


def _ref(request: web.Request) -> str:
    ref = request.match_info["ref"]
    # The actions' rule for a container name: a dot-dot or a slash would take the engine
    # call to another endpoint.
    if not re.match(NAME_PATTERN, ref) or len(ref) > 255:
        raise web.HTTPNotFound(text=f"no container {ref!r}")
    return ref


async def _next(queue: asyncio.Queue[bytes | None], request: web.Request) -> bytes | None:
    """The next log chunk; None at the end of the stream or once the client has gone.
    aiohttp does not cancel a handler whose client left, and a quiet container would hold
    the follow (its thread and engine connection) until its next line: so look."""
    while True:
        try:
            return await asyncio.wait_for(queue.get(), CLIENT_CHECK)
        except asyncio.TimeoutError:
            if _gone(request):
                return None


def _gone(request: web.Request) -> bool:
    """Whether the client closed its connection."""
    return request.transport is None or request.transport.is_closing()


def _relay(stream: Any, queue: asyncio.Queue[bytes | None],
           loop: asyncio.AbstractEventLoop, done: threading.Event) -> None:
    """Worker thread: engine log chunks into the queue, then None at the end; stops as
    soon as `done` says nobody reads any more (what the stream still had buffered when it
    was closed would otherwise fill the queue, and the thread wait on it)."""
    def put(item: bytes | None) -> None:
        asyncio.run_coroutine_threadsafe(queue.put(item), loop).result(timeout=60)

    try:
        for chunk in stream:
            if done.is_set():
                return
            put(chunk)
    except Exception:  # closed from the loop side, or the engine went away
        pass
    finally:
        if not done.is_set():
            with contextlib.suppress(Exception):
                put(None)


def build(runtime: Runtime) -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get("/containers/{ref}/logs")
    async def logs(request: web.Request) -> web.StreamResponse:
        """Plain-text logs; `?follow=1` keeps the answer open and streams new lines until
        the container stops or the client goes. Every byte is redacted here: the core
        masks a whole body again, but a stream only the plugin can (`Runtime.log_stream`)."""
        ref, (tail, capped) = _ref(request), _tail(request)
        headers = {TAIL_CAPPED: str(tail)} if capped else {}
        if request.query.get("follow") not in ("1", "true", "yes"):
            result = await runtime.http_call(lambda c: operations.tail(
                c, ref, tail, runtime.ctx.config["logs_max_bytes"], runtime.redact_log))
            if result["truncated"]:
                headers[TRUNCATED] = f"cut to the last {runtime.ctx.config['logs_max_bytes']}" \
                                     " bytes (logs_max_bytes)"
            text = "\n".join(result["lines"]) + "\n"
            return web.Response(text=text, content_type="text/plain", charset="utf-8",
                                headers=headers)
        stream = await runtime.http_call(lambda c: operations.follow(c, ref, tail))
        runtime.follows.add(stream)  # closed by the runtime if the plugin stops first
        response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8",
                                               "Cache-Control": "no-cache", **headers})
        await response.prepare(request)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(FOLLOW_BUFFER)
        done = threading.Event()
        thread = threading.Thread(target=_relay, name="nebula-docker-logs", daemon=True,
                                  args=(stream, queue, asyncio.get_running_loop(), done))
        thread.start()
        redactor = runtime.log_stream()
        ended = "the log stream ended"  # the container stopped, or the plugin is stopping
        try:
            while (chunk := await _next(queue, request)) is not None:
                await response.write(redactor.feed(chunk))
            if _gone(request):
                ended = "the client left"
            else:
                await response.write(redactor.flush())
        except ConnectionError:
            # The client left while a chunk was on its way: how a follow ends when the
            # browser tab closes, not an error.
            ended = "the client left"
        finally:
            done.set()
            runtime.follows.discard(stream)
            while not queue.empty():  # unblock a put the thread waits in
                queue.get_nowait()
            await asyncio.to_thread(stream.close)
        runtime.ctx.log.info("docker.logs_follow_ended", container=ref, why=ended)
        return response

    @routes.get("/containers/{ref}/stats")
    async def stats(request: web.Request) -> web.Response:
        snapshot = await runtime.snapshot_or_http_error()
        container = snapshot.find(request.match_info["ref"])
        if container is None:
            raise web.HTTPNotFound(text=f"no container {request.match_info['ref']!r}")
        return web.json_response({"container": container.name, "fields": [
            f.__dict__ for f in rows.STATS_FIELDS],
            "points": rows.points(runtime.monitor.history(container.id))})

    @routes.post("/databases/{name}/credentials")
    async def credentials(request: web.Request) -> web.Response:
        """The one answer that shows a secret on purpose, once: marked a reveal, so the
        core sends it unredacted and only to an admin (a POST from anyone else is refused
        before it gets here, so it cannot use up the one showing)."""
        try:
            connection = await runtime.databases.credentials(request.match_info["name"])
        except DeployError as exc:
            raise web.HTTPConflict(text=str(exc)) from None
        return reveal(web.json_response(
            {"name": request.match_info["name"], "connection_string": connection,
             "note": "shown once; the agent will not show it again"},
            headers={"Cache-Control": "no-store"}))

    return routes
