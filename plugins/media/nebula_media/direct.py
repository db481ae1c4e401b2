"""An upload's body moved from the socket to the file inside the kernel (`splice`).

Read through aiohttp, every byte of an upload is copied three times in the agent: from the
socket into a Python bytes object, by the HTTP parser into another, and from that into the
page cache; with the Python work per 64 KiB piece, that is where the agent's time went
(bench/RESULTS.md, issue 21). `cp` copies inside the kernel. So, once the first bytes have
come through aiohttp as usual (they decide the type), the rest of a body of known length
goes as cp's does: `splice(2)` from the socket into a pipe, and from the pipe into the
file, in 1 MiB moves, one worker thread on each side of the pipe (the socket's waits
with `poll(2)`).
Only the page-cache copy is left; no byte of it enters Python.

Taken only where that is the whole story: a plain TCP connection (TLS needs the bytes
decrypted in user space), a `Content-Length` (a chunked body has framing between its
bytes), no `Content-Encoding`, and Linux (`os.splice`). Anything else reads
`request.content` as before.

Taking the socket over: aiohttp's transport stops reading (`pause_reading`) and what it
has already read, in the body stream or still held by its parser, is drained into the
file first; then the rest, `Content-Length` minus what aiohttp counted, comes from the
socket. The connection is closed after the answer (`protocol.close()`: aiohttp's parser
still expects the bytes that went past it, so the connection cannot carry another
request; the answer says `Connection: close`), and the body stream is marked complete so
aiohttp does not wait for it.

The body stays bounded as before: the rest is what the client announced, checked against
`max_bytes` before a byte is taken; its progress counts for the request's idle timeout
(`streamed_body`), and the thread stops when that expires, the client goes, or the upload
is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import select
import socket
import threading
from typing import Any

from aiohttp import hdrs, web

from nebula.helpers.bodies import BodyClock, BodyTimeout
from nebula_media.upload import Sink

BLOCK = 1 << 20   # one move: as the quarantine writes (and the most a pipe holds by default)
LOWAT = 512 << 10  # the thread wakes when this much has arrived (or after WAKE_MS)
WAKE_MS = 250      # the thread looks at the clock and for a cancel this often while idle


class ClientGone(ConnectionResetError):
    pass


class SocketBody:
    """`readany` as aiohttp's body stream; `rest_to(sink)` moves the remainder."""

    def __init__(self, request: web.Request, clock: BodyClock, length: int, sock: Any
                 ) -> None:
        self._request = request
        self._clock = clock
        self.length = length
        self._sock = sock

    async def readany(self) -> bytes:
        return await self._request.content.readany()

    def _take_over(self) -> list[bytes]:
        """Stop aiohttp reading the socket; what it read already (no await in between, so
        nothing more is read meanwhile). Draining its stream resumes its transport, and
        has its parser feed what it held back: so pause again after each drain. Then the
        connection is to close after this answer (from then on aiohttp ignores bytes)."""
        transport = self._request.transport
        content = self._request.content
        if transport is None:
            raise ClientGone("the client closed the connection")
        transport.pause_reading()
        held = []
        while data := content.read_nowait():
            held.append(data)
            transport.pause_reading()
        self._clock.close_after()
        self._request.protocol.close()
        return held

    async def rest_to(self, sink: Sink) -> int:
        """Write the rest of the body to `sink`: what aiohttp had read, then the socket's
        bytes, up to the announced `length`; returns their count."""
        content = self._request.content
        held = self._take_over()
        left = self.length - content.total_bytes
        try:
            await asyncio.to_thread(sink.write, held)
            read_end, write_end = os.pipe2(os.O_CLOEXEC)
            with contextlib.suppress(OSError):  # 64 KiB otherwise: more moves, same result
                fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, BLOCK)
            # Two threads, each closing its end of the pipe when done or failed, so the
            # other one ends too: one fills the pipe from the socket while the other
            # empties it into the file (as the event loop and the writer thread overlap
            # in the other path: on a busy machine, two runnable threads get twice the
            # share of a core that one gets).
            stop = threading.Event()
            both = asyncio.gather(
                asyncio.to_thread(_from_socket, self._sock, write_end, left, self._clock,
                                  stop),
                asyncio.to_thread(_to_file, read_end, sink), return_exceptions=True)
            try:
                received, written = await asyncio.shield(both)
            except BaseException:
                stop.set()
                # The threads cannot be stopped mid-move: let them end before fd closes.
                with contextlib.suppress(BaseException):
                    await both
                raise
        finally:
            content.feed_eof()
        # The file's failure (a full disk) first: the socket's side then only saw the
        # pipe closed under it.
        if isinstance(written, BaseException):
            raise written
        if isinstance(received, BaseException):
            raise received
        if written != received:
            raise OSError(f"{received} bytes received but {written} written")
        return sum(map(len, held)) + written


def _from_socket(sock: Any, write_end: int, left: int, clock: BodyClock,
                 stop: threading.Event) -> int:
    """Splice `left` bytes from the socket into the pipe; closes the pipe's write end."""
    waiting = select.poll()
    waiting.register(sock.fileno(), select.POLLIN | select.POLLRDHUP)
    total = 0
    try:
        while left:
            try:
                # The socket does not block (asyncio's); a full pipe does, until the
                # file's side has made room.
                count = os.splice(sock.fileno(), write_end, min(left, BLOCK),
                                  flags=os.SPLICE_F_MOVE)
            except BlockingIOError:
                if clock.expired:
                    raise BodyTimeout() from None
                if stop.is_set():
                    raise ClientGone("the upload was cancelled") from None
                # Woken when LOWAT bytes are in (fewer wake-ups, each moving more: on a
                # busy machine every wake-up waits for a core), or after WAKE_MS anyway,
                # to take what a slow client sent and count it as progress.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, min(left, LOWAT))
                waiting.poll(WAKE_MS)
                continue
            except BrokenPipeError:
                raise ClientGone("the file's side stopped") from None
            except ConnectionError as exc:
                raise ClientGone(str(exc)) from None
            if count == 0:
                raise ClientGone(f"the client closed the connection {left} bytes short")
            clock.advance(count)
            left -= count
            total += count
    finally:
        os.close(write_end)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)
    return total


def _to_file(read_end: int, sink: Sink) -> int:
    """Splice from the pipe into the file until the pipe's write end closes."""
    total = 0
    try:
        while count := os.splice(read_end, sink.fd, BLOCK, flags=os.SPLICE_F_MOVE):
            sink.wrote(count)
            total += count
    finally:
        os.close(read_end)
    return total


def socket_body(request: web.Request, clock: BodyClock) -> SocketBody | None:
    """A `SocketBody` for this request where splicing is the whole story (see above)."""
    length = request.content_length
    transport: Any = request.transport
    if (length is None or not hasattr(os, "splice") or transport is None
            or request.headers.get(hdrs.CONTENT_ENCODING, "identity") != "identity"
            or transport.get_extra_info("sslcontext") is not None):
        return None
    sock = transport.get_extra_info("socket")
    if sock is None:
        return None
    return SocketBody(request, clock, length, sock)
