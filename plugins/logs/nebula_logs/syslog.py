"""A syslog receiver: RFC 5424 and RFC 3164 messages over UDP (one per datagram) and TCP
(RFC 6587: octet-counted `LEN SP MSG`, or one message per line), on loopback by default.

A datagram arrives on the event loop and cannot wait: when the store's queue is full it is
refused and counted. A TCP connection can wait: its reading is paused until there is room
(back-pressure reaches the sender), and the pause is counted.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from nebula_logs.files import SourceState
from nebula_logs.lines import Line, make_line
from nebula_logs.store import Batch

MAX_FRAME = 1 << 20  # an octet count above this is not a syslog frame: the connection is cut

_PRI = re.compile(rb"^<(\d{1,3})>")
# RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
_5424 = re.compile(rb"^1 (\S+) (\S+) (\S+) (\S+) (\S+) ")
_3164_TS = re.compile(rb"^([A-Z][a-z]{2}) ([ \d]\d) (\d\d:\d\d:\d\d) ")
_3164_TAG = re.compile(rb"^([^\s:\[]{1,48})(?:\[([^\]]{0,32})\])?: ?")
_MONTHS = {m: i + 1 for i, m in enumerate(
    (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
     b"Dec"))}


def parse(frame: bytes, source: str, max_bytes: int, now: float | None = None) -> Line:
    """One syslog message as a Line: severity from PRI, host, app as the unit, the time it
    carries (the arrival time when it carries none or one that cannot be read)."""
    now = time.time() if now is None else now
    frame = frame.rstrip(b"\r\n\x00")
    match = _PRI.match(frame)
    if not match or int(match.group(1)) > 191:
        return make_line(frame, now, source, max_bytes)  # not syslog: kept as it came
    severity = int(match.group(1)) % 8
    rest = frame[match.end():]
    if m := _5424.match(rest):
        stamp, host, app = m.group(1), m.group(2), m.group(3)
        body = _skip_structured_data(rest[m.end():])
        if body.startswith(b"\xef\xbb\xbf"):  # the BOM RFC 5424 puts before a UTF-8 MSG
            body = body[3:]
        return make_line(body, _rfc3339(stamp) or now, source, max_bytes, level=severity,
                         host=_nil(host), unit=_nil(app))
    ts, host, unit = now, "", ""
    if m := _3164_TS.match(rest):
        ts = _bsd_time(m.group(1), m.group(2), m.group(3), now) or now
        rest = rest[m.end():]
        host_end = rest.find(b" ")
        if host_end > 0 and not rest[:host_end].endswith(b":"):
            host, rest = rest[:host_end].decode("utf-8", "replace"), rest[host_end + 1:]
    if m := _3164_TAG.match(rest):
        unit, rest = m.group(1).decode("utf-8", "replace"), rest[m.end():]
    return make_line(rest, ts, source, max_bytes, level=severity, host=host, unit=unit)


def _nil(value: bytes) -> str:
    return "" if value == b"-" else value.decode("utf-8", "replace")


def _skip_structured_data(rest: bytes) -> bytes:
    """MSG after STRUCTURED-DATA (`-` or `[id k="v"]...`, `]` escaped as `\\]` in values)."""
    if rest.startswith(b"-"):
        return rest[2:]
    i = 0
    while i < len(rest) and rest[i:i + 1] == b"[":
        i += 1
        quoted = False
        while i < len(rest):
            c = rest[i:i + 1]
            if c == b"\\":
                i += 2
                continue
            if c == b'"':
                quoted = not quoted
            elif c == b"]" and not quoted:
                i += 1
                break
            i += 1
    return rest[i + 1:] if rest[i:i + 1] == b" " else rest[i:]


def _rfc3339(stamp: bytes) -> float | None:
    if stamp == b"-":
        return None
    try:
        text = stamp.decode().replace("Z", "+00:00")
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _bsd_time(month: bytes, day: bytes, clock: bytes, now: float) -> float | None:
    """RFC 3164 carries no year nor zone: the local time this year (last year when that
    would be more than a day in the future, as around New Year)."""
    try:
        local = datetime.fromtimestamp(now)
        hour, minute, second = (int(x) for x in clock.split(b":"))
        stamp = local.replace(month=_MONTHS[month], day=int(day), hour=hour, minute=minute,
                              second=second, microsecond=0)
        if stamp.timestamp() > now + 86400:
            stamp = stamp.replace(year=stamp.year - 1)
        return stamp.timestamp()
    except (KeyError, ValueError):
        return None


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, receiver: SyslogReceiver) -> None:
        self.receiver = receiver

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.receiver.take([data], can_wait=False)  # refused lines are counted


class _Tcp(asyncio.Protocol):
    def __init__(self, receiver: SyslogReceiver) -> None:
        self.receiver = receiver
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.receiver.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.receiver.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        frames: list[bytes] = []
        while self.buffer:
            if self.buffer[:1].isdigit():  # octet counting: "LEN SP MSG"
                space = self.buffer.find(b" ", 0, 8)
                if space < 0:
                    if len(self.buffer) >= 8:
                        return self._cut("bad octet count")
                    break
                length = int(self.buffer[:space]) if self.buffer[:space].isdigit() else -1
                if not 0 < length <= MAX_FRAME:
                    return self._cut("bad octet count")
                if len(self.buffer) < space + 1 + length:
                    break
                frames.append(self.buffer[space + 1:space + 1 + length])
                self.buffer = self.buffer[space + 1 + length:]
            else:
                newline = self.buffer.find(b"\n")
                if newline < 0:
                    if len(self.buffer) > MAX_FRAME:  # one over-long line: keep it cut
                        frames.append(self.buffer)
                        self.buffer = b""
                    break
                frames.append(self.buffer[:newline])
                self.buffer = self.buffer[newline + 1:]
        if frames and not self.receiver.take(frames, can_wait=True) and self.transport is not None:
            self.receiver.pause(self)

    def _cut(self, why: str) -> None:
        self.receiver.state.error = f"a TCP sender was cut off: {why}"
        if self.transport is not None:
            self.transport.close()


class SyslogReceiver:
    def __init__(self, name: str, host: str, udp_port: int | None, tcp_port: int | None,
                 offer: Callable[[Batch, bool], bool], has_room: Callable[[], bool],
                 max_line_bytes: int) -> None:
        self.name = name
        self.host, self.udp_port, self.tcp_port = host, udp_port, tcp_port
        self._offer, self._has_room = offer, has_room
        self.max_line_bytes = max_line_bytes
        self.state = SourceState(name, "syslog", f"{host} udp:{udp_port} tcp:{tcp_port}")
        self.pauses = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.base_events.Server | None = None
        self._paused: list[_Tcp] = []
        self._resume: asyncio.TimerHandle | None = None
        self._held: list[list[Line]] = []
        self.connections: set[_Tcp] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            if self.udp_port is not None:
                self._udp, _ = await loop.create_datagram_endpoint(
                    lambda: _Udp(self), local_addr=(self.host, self.udp_port))
                self.udp_port = self._udp.get_extra_info("sockname")[1]
            if self.tcp_port is not None:
                self._tcp = await loop.create_server(lambda: _Tcp(self), self.host,
                                                     self.tcp_port)
                self.tcp_port = self._tcp.sockets[0].getsockname()[1]
        except OSError as exc:
            self.state.state, self.state.error = "error", f"cannot listen: {exc}"
            await self.aclose()
            return
        self.state.target = f"{self.host} udp:{self.udp_port} tcp:{self.tcp_port}"
        self.state.state = "running"

    def take(self, frames: list[bytes], can_wait: bool) -> bool:
        """Hand frames to the store. One that `can_wait` (TCP) is held back when the queue
        is full, and False says so (its connection pauses); one that cannot (UDP) is refused
        and counted by the store."""
        now = time.time()
        lines = [parse(f, self.name, self.max_line_bytes, now) for f in frames if f.strip()]
        if not lines:
            return True
        if not can_wait:
            return self._offer(Batch(lines), True)
        if self._held:  # keep order behind what a paused connection holds
            self._held.append(lines)
            return False
        if self._offer(Batch(lines), False):  # not refused: held, and the sender paused
            return True
        self._held.append(lines)
        return False

    def pause(self, conn: _Tcp) -> None:
        assert conn.transport is not None
        conn.transport.pause_reading()
        self._paused.append(conn)
        self.pauses += 1
        self._schedule_resume()

    def _schedule_resume(self) -> None:
        if self._resume is None:
            self._resume = asyncio.get_running_loop().call_later(0.05, self._try_resume)

    def _try_resume(self) -> None:
        self._resume = None
        while self._held and self._has_room():
            if not self._offer(Batch(self._held[0]), False):
                break
            self._held.pop(0)
        if self._held:
            self._schedule_resume()
            return
        for conn in self._paused:
            if conn.transport is not None and not conn.transport.is_closing():
                conn.transport.resume_reading()
        self._paused.clear()

    async def aclose(self) -> None:
        if self._resume is not None:
            self._resume.cancel()
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            for conn in list(self.connections):
                if conn.transport is not None:
                    conn.transport.close()
            await self._tcp.wait_closed()
        self.state.state = "stopped"
