"""What one client may hold: time to send a request's headers, time to send its body, and
open WebSockets per token or session (`[agent] header_timeout`, `body_timeout`,
`max_websockets`).

Headers: aiohttp arms its keep-alive timer when a connection opens and again after each
answer, and closes the connection when it fires while no complete request has arrived.
So `keepalive_timeout` is, at once, the idle keep-alive time and the bound on sending a
request line and headers: a client dribbling them (slowloris) is cut off when it fires,
however many bytes it trickles, since only a whole request counts.

Bodies: nothing in aiohttp bounds the time a handler waits for a body; a clock per request
(`nebula.helpers.bodies.BodyClock`) fails the body's stream when the body is not complete
in time, or, for a handler that streams it (`streamed_body`), when it stops coming for that
long; whatever reads it gets `BodyTimeout` and the client a 408. The stream stays failed,
so aiohttp does not linger reading the rest but closes the connection after the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import hdrs, web
from aiohttp.http import HttpProcessingError

from nebula.helpers.bodies import BODY_CLOCK, BodyClock, BodyTimeout
from nebula.http.endpoints import Handler
from nebula.http.keys import PRINCIPAL
from nebula.http.problems import Problem
from nebula.http.security import CALLER
from nebula.logs import get_logger

log = get_logger(component="http")


@dataclass(frozen=True)
class Limits:
    header_timeout: float
    body_timeout: float
    max_websockets: int

    @classmethod
    def from_config(cls, agent: Mapping[str, Any]) -> Limits:
        return cls(agent["header_timeout"], agent["body_timeout"], agent["max_websockets"])

    def handler_args(self) -> dict[str, Any]:
        """The protocol settings for `web.Application(handler_args=...)`, which override
        whatever the code starting the server passes, so every server gets them."""
        return {"keepalive_timeout": self.header_timeout, "logger": ServerLog()}


LIMITS: web.AppKey[Limits] = web.AppKey("limits")


class ServerLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server log. It logs each request it cannot even parse (a raw byte in the
    path, a second Host header, an over-long line) with a traceback at error level; those
    are the client's doing, so they get one warning line, without the request's bytes.
    aiohttp still answers them itself, with a plain-text 400: they never reach a route."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("aiohttp.server"), {})

    def exception(self, msg: object, *args: object, exc_info: Any = True,
                  **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            log.warning("http.malformed_request", status=exc_info.code,
                        reason=str(exc_info.message).split("\n", 1)[0],
                        remote=args[0] if args else None)
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)


@web.middleware
async def body_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    content = request.content
    if not request.body_exists or content.is_eof():
        return await handler(request)
    timeout = request.app[LIMITS].body_timeout
    clock = request[BODY_CLOCK] = BodyClock(content, timeout)
    try:
        return await handler(request)
    except BodyTimeout:
        raise Problem(408, f"the request body did not arrive within {timeout:g} s" if
                      clock.by_total else
                      f"the request body stopped arriving for {timeout:g} s") from None
    except web.RequestPayloadError as exc:  # a broken chunked encoding, a short body
        raise Problem(400, f"the request body is malformed: {exc}") from None
    finally:
        clock.cancel()


async def close_after_taken_bodies(request: web.Request, response: web.StreamResponse
                                   ) -> None:
    """`on_response_prepare`: `Connection: close` on the answer to a request whose body
    its handler took from the socket itself (`BodyClock.close_after`)."""
    clock = request.get(BODY_CLOCK)
    if clock is not None and clock.closing:
        response.force_close()  # aiohttp closes after it; its headers are made already:
        response.headers[hdrs.CONNECTION] = "close"


OPEN_STREAMS: web.AppKey[dict[int, web.Request]] = web.AppKey("open_streams")


@web.middleware
async def streams_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Track open WebSockets, at most `max_websockets` per token or session (each holds a
    task and a subscription for as long as it is open); and so they can be closed at
    shutdown, which would otherwise wait its whole grace for each of them."""
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return await handler(request)
    streams = request.app[OPEN_STREAMS]
    caller, limit = request.get(CALLER), request.app[LIMITS].max_websockets
    if caller is not None and sum(r.get(CALLER) == caller for r in streams.values()) >= limit:
        principal = request.get(PRINCIPAL)
        log.warning("http.websockets_refused", principal=principal and principal.name,
                    limit=limit)
        raise Problem(429, f"this token or session already has {limit} WebSockets open "
                           "([agent] max_websockets); close one first")
    streams[id(request)] = request  # requests are not hashable
    try:
        return await handler(request)
    finally:
        streams.pop(id(request), None)


async def close_streams(app: web.Application) -> None:
    for request in list(app[OPEN_STREAMS].values()):
        if request.transport is not None:
            request.transport.close()
