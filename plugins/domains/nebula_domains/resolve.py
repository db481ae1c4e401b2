"""Asking one resolver about one record, with every way it can go wrong told apart.

Queries go out as plain DNS messages (built and parsed by dnspython) rather than through a
stub resolver, so the answer's rcode is seen as sent: NXDOMAIN, SERVFAIL and REFUSED stay
distinct, and a silent server is a timeout, not a generic failure. Each resolver gets one
connected UDP socket shared by all queries to it (answers matched by message id), which
keeps a cycle of hundreds of hosts cheap; a truncated answer is asked again over TCP.

dnspython is imported by the first question (in the functions that use it), not when the
plugin starts: the checks ask after the agent is ready."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nebula.helpers.nameservers import Nameserver
from nebula_domains import records

if TYPE_CHECKING:
    import dns.message
    import dns.name
    import dns.rdatatype

OK, NXDOMAIN, SERVFAIL, TIMEOUT, NODATA, REFUSED, ERROR = (
    "ok", "nxdomain", "servfail", "timeout", "nodata", "refused", "error")
DESCRIBE = {NXDOMAIN: "NXDOMAIN (no such name)", SERVFAIL: "SERVFAIL (server failure)",
            TIMEOUT: "timeout", NODATA: "no record of this type", REFUSED: "REFUSED",
            ERROR: "error"}


@dataclass(frozen=True)
class Answer:
    """One resolver's answer for one name and type."""

    resolver: str  # as configured
    outcome: str
    values: tuple[str, ...] = ()  # canonical texts (records.value), sorted
    cnames: tuple[str, ...] = ()  # the chain followed to reach the values
    ms: float = 0.0
    detail: str = ""
    rdtype: str = "A"

    def describe(self) -> str:
        if self.outcome == OK:
            via = f" via {' → '.join(self.cnames)}" if self.cnames else ""
            return ", ".join(records.shown(self.rdtype, v) for v in self.values) + via
        return DESCRIBE[self.outcome] + (f": {self.detail}" if self.detail else "")


def _follow(response: dns.message.Message, qname: dns.name.Name,
            rdtype: dns.rdatatype.RdataType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The values for `qname`, following CNAMEs inside the answer section."""
    import dns.rdataclass
    import dns.rdatatype

    name, chain = qname, list[str]()
    for _ in range(16):  # a CNAME loop must not hang the check
        found = response.get_rrset(response.answer, name, dns.rdataclass.IN, rdtype)
        if found is not None:
            return tuple(sorted(records.value(r) for r in found)), tuple(chain)
        alias = response.get_rrset(response.answer, name, dns.rdataclass.IN,
                                   dns.rdatatype.CNAME)
        if alias is None:
            break
        name = alias[0].target
        chain.append(name.to_text())
    return (), tuple(chain)


class _Socket(asyncio.DatagramProtocol):
    """One resolver's UDP socket; answers go to the query waiting for their id."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[int, asyncio.Future[bytes]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        waiter = self.waiting.pop(int.from_bytes(data[:2], "big"), None) if len(data) > 2 else None
        if waiter is not None and not waiter.done():
            waiter.set_result(data)

    def error_received(self, exc: Exception) -> None:
        # A connected socket hears ICMP errors (port unreachable): every query fails fast.
        for waiter in self.waiting.values():
            if not waiter.done():
                waiter.set_exception(exc)
        self.waiting.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        self.error_received(exc or ConnectionError("socket closed"))
        self.transport = None


class Client:
    """Sends queries to resolvers over shared sockets; `close()` releases them."""

    def __init__(self) -> None:
        self._sockets: dict[tuple[str, int], _Socket] = {}
        self._opening: dict[tuple[str, int], asyncio.Future[_Socket]] = {}

    async def _socket(self, host: str, port: int) -> _Socket:
        key = (host, port)
        sock = self._sockets.get(key)
        if sock is not None and sock.transport is not None:
            return sock
        opening = self._opening.get(key)
        if opening is None or opening.done():  # first use, or the socket was lost
            opening = self._opening[key] = asyncio.ensure_future(self._open(host, port))
        return await asyncio.shield(opening)

    async def _open(self, host: str, port: int) -> _Socket:
        loop = asyncio.get_running_loop()
        _, sock = await loop.create_datagram_endpoint(_Socket, remote_addr=(host, port))
        self._sockets[(host, port)] = sock
        return sock

    def close(self) -> None:
        for sock in self._sockets.values():
            if sock.transport is not None:
                sock.transport.close()
        self._sockets.clear()
        self._opening.clear()

    async def _exchange(self, query: dns.message.Message, host: str, port: int,
                        timeout: float) -> dns.message.Message:
        import dns.asyncquery
        import dns.exception
        import dns.flags
        import dns.message

        sock = await self._socket(host, port)
        while True:  # an id not in flight on this socket
            query.id = secrets.randbelow(65536)
            if query.id not in sock.waiting:
                break
        waiter: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        sock.waiting[query.id] = waiter
        assert sock.transport is not None
        sock.transport.sendto(query.to_wire())
        try:
            wire = await asyncio.wait_for(waiter, timeout)
        finally:
            sock.waiting.pop(query.id, None)
        response = dns.message.from_wire(wire, ignore_trailing=True)
        if not query.is_response(response):
            raise dns.exception.FormError("the answer does not match the question")
        if response.flags & dns.flags.TC:
            response = await dns.asyncquery.tcp(query, host, timeout=timeout, port=port)
        return response

    async def ask(self, server: Nameserver, name: str, rdtype: str,
                  timeout: float) -> Answer:
        import dns.exception
        import dns.message
        import dns.name
        import dns.rdatatype

        qname = dns.name.from_text(name)
        kind = dns.rdatatype.from_text(rdtype)
        query = dns.message.make_query(qname, kind)
        started = time.perf_counter()
        try:
            response = await self._exchange(query, server.address, server.port, timeout)
        except asyncio.TimeoutError:
            return Answer(server.label, TIMEOUT, detail=f"no answer within {timeout:g}s",
                          ms=timeout * 1000, rdtype=rdtype)
        except (OSError, dns.exception.DNSException) as exc:
            return Answer(server.label, ERROR, detail=f"{type(exc).__name__}: {exc}",
                          ms=round((time.perf_counter() - started) * 1000, 1), rdtype=rdtype)
        return _answer(server.label, response, qname, kind, rdtype,
                       round((time.perf_counter() - started) * 1000, 1))


def _answer(resolver: str, response: dns.message.Message, qname: dns.name.Name,
            kind: dns.rdatatype.RdataType, rdtype: str, ms: float) -> Answer:
    import dns.rcode
    import dns.rdataclass
    import dns.rdatatype

    rcode = response.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return Answer(resolver, NXDOMAIN, ms=ms, rdtype=rdtype)
    if rcode == dns.rcode.SERVFAIL:
        return Answer(resolver, SERVFAIL, ms=ms, rdtype=rdtype)
    if rcode == dns.rcode.REFUSED:
        return Answer(resolver, REFUSED, ms=ms, rdtype=rdtype)
    if rcode != dns.rcode.NOERROR:
        return Answer(resolver, ERROR, detail=dns.rcode.to_text(rcode), ms=ms, rdtype=rdtype)
    if kind == dns.rdatatype.CNAME:
        alias = response.get_rrset(response.answer, qname, dns.rdataclass.IN, kind)
        values: tuple[str, ...] = (records.value(alias[0]),) if alias is not None else ()
        chain: tuple[str, ...] = ()
    else:
        values, chain = _follow(response, qname, kind)
    if not values:
        return Answer(resolver, NODATA, cnames=chain, ms=ms, rdtype=rdtype)
    return Answer(resolver, OK, values, chain, ms, rdtype=rdtype)
