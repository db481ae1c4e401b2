"""How long a request's body may take to arrive (`[agent] body_timeout`).

Every request body gets `body_timeout` seconds in all (the core's body middleware arms a
`BodyClock` per request): a client trickling a small JSON body holds nothing for long.
That total deadline is wrong for a streamed upload of several gigabytes over a slow link,
which takes as long as it takes while it keeps coming: a handler that streams its body
calls `streamed_body(request)`, and from then on the body is bounded by progress instead,
cut off only after `body_timeout` seconds without a byte arriving.

Either way, on expiry the body's stream fails with `BodyTimeout`, which the core answers
with a 408 and a closed connection. A handler that moves the bytes itself rather than
reading `request.content` (straight from the socket to a file, say) reports them with
`clock.advance(n)`, stops when `clock.expired` turns true, and calls `clock.close_after()`.
"""

from __future__ import annotations

import asyncio
import math

from aiohttp import web
from aiohttp.streams import StreamReader


class BodyTimeout(asyncio.TimeoutError):
    """The body did not arrive in time. A TimeoutError, because that is what aiohttp's
    lingering read after the answer tolerates: it stops reading and closes."""


class BodyClock:
    """One request body's deadline: `timeout` seconds in all, or, after `by_progress()`,
    `timeout` seconds without progress. The check runs once per `timeout` (a timer on the
    loop, nothing per chunk): progress is the body stream's byte count plus `advance`d
    bytes, compared with what it was at the last check."""

    def __init__(self, content: StreamReader, timeout: float) -> None:
        self.timeout = timeout
        self.expired = False
        self.by_total = True  # False once bounded by progress
        self.closing = False
        self._content = content
        self._moved = 0
        self._seen = -1
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = (
            self._loop.call_later(timeout, self._expire) if math.isfinite(timeout) else None)

    def by_progress(self) -> BodyClock:
        self.by_total = False
        if self._timer is not None:
            self._timer.cancel()
            self._seen = self._progress()
            self._timer = self._loop.call_later(self.timeout, self._check)
        return self

    def close_after(self) -> None:
        """The connection carries no request after this one (a handler that took the body
        from the socket itself left aiohttp's parser behind): the answer, whatever it is,
        says `Connection: close` and the connection closes after it."""
        self.closing = True

    def advance(self, count: int) -> None:
        """`count` more bytes of the body arrived outside `request.content` (thread-safe
        enough: one writer, and the check only compares)."""
        self._moved += count

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _progress(self) -> int:
        return self._content.total_bytes + self._moved

    def _check(self) -> None:
        now = self._progress()
        if now == self._seen:
            self._expire()
        else:
            self._seen = now
            self._timer = self._loop.call_later(self.timeout, self._check)

    def _expire(self) -> None:
        self._timer = None
        self.expired = True
        if not self._content.is_eof():
            self._content.set_exception(BodyTimeout())


BODY_CLOCK: web.RequestKey[BodyClock] = web.RequestKey("body_clock")


def streamed_body(request: web.Request) -> BodyClock:
    """Bound this request's body by progress rather than by a total deadline (see above);
    returns its clock. A request without a pending body gets one that never expires."""
    clock = request.get(BODY_CLOCK)
    if clock is None:
        return BodyClock(request.content, math.inf)
    return clock.by_progress()
