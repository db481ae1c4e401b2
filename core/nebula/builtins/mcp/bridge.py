"""One aiohttp request served by an ASGI application: the MCP SDK's streamable HTTP
transport is written for ASGI, the agent's server is aiohttp. The request's body is read
here (under the agent's body limits); the answer streams back as the SDK writes it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from aiohttp import web

Message = MutableMapping[str, Any]
ASGIApp = Callable[[Message, Callable[[], Awaitable[Message]],
                    Callable[[Message], Awaitable[None]]], Awaitable[None]]


def scope_of(request: web.Request, extra: Mapping[str, Any]) -> Message:
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": f"{request.version.major}.{request.version.minor}",
        "method": request.method, "scheme": request.scheme, "path": request.path,
        "raw_path": request.raw_path.split("?", 1)[0].encode(),
        "query_string": request.query_string.encode(), "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.raw_headers],
        "client": (request.remote or "", 0), "server": tuple(sockname[:2]) if sockname else None,
        "state": {}, **extra}


async def serve_asgi(app: ASGIApp, request: web.Request,
                     extra: Mapping[str, Any]) -> web.StreamResponse:
    body = await request.read()
    done = asyncio.Event()
    delivered = False
    response: web.StreamResponse | None = None

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()  # an app listening for the client leaving hears it at the end
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal response
        if message["type"] == "http.response.start":
            response = web.StreamResponse(status=message["status"])
            for name, value in message.get("headers", ()):
                response.headers.add(name.decode("latin-1"), value.decode("latin-1"))
            await response.prepare(request)
        elif message["type"] == "http.response.body" and response is not None:
            if chunk := message.get("body", b""):
                await response.write(chunk)
            if not message.get("more_body", False):
                await response.write_eof()

    try:
        await app(scope_of(request, extra), receive, send)
    finally:
        done.set()
    if response is None:
        raise web.HTTPInternalServerError(text="the MCP transport sent no answer")
    return response
