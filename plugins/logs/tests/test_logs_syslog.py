"""The syslog receiver's parsing of both RFCs, and its back-pressure: with the store's
queue full, a TCP sender is paused (counted) and loses nothing; a UDP datagram is refused
(counted)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from nebula_logs.store import Filters, LogStore
from nebula_logs.syslog import SyslogReceiver, parse
from tests.waiting import eventually


def test_rfc5424_with_structured_data_and_bom() -> None:
    line = parse(b'<165>1 2026-12-08T10:00:00.5Z web nginx 42 ID7 [ex@1 a="x\\]y" b="2"]'
                 b'[other@1 c="3"] \xef\xbb\xbfGET / 502', "sys", 1000)
    assert (line.message, line.host, line.unit, line.level) == ("GET / 502", "web", "nginx", 5)
    assert line.ts == 1796724000.5


def test_rfc3164_and_things_that_are_not_syslog() -> None:
    line = parse(b"<28>Dec  8 10:00:00 box sshd[99]: Failed password", "sys", 1000)
    assert (line.message, line.host, line.unit, line.level) == (
        "Failed password", "box", "sshd", 4)
    assert parse(b"<999>nonsense", "sys", 1000).message == "<999>nonsense"
    assert parse(b"\xff\xfe\x00garbage", "sys", 1000).message == "\ufffd\ufffd\ufffdgarbage"
    assert len(parse(b"<13>" + b"x" * 100000, "sys", 1000).message) < 1100


async def test_a_full_queue_pauses_tcp_and_refuses_udp(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "s.db", queue_lines=10, batch_lines=5)  # writer not started
    receiver = SyslogReceiver("syslog", "127.0.0.1", 0, 0, store.offer,
                              lambda: store.queued_lines < store.queue_capacity, 1000)
    await receiver.start()
    try:
        assert receiver.state.state == "running"
        _, writer = await asyncio.open_connection("127.0.0.1", receiver.tcp_port)
        writer.write(b"".join(b"<14>Dec  8 10:00:00 h app: tcp %d\n" % i for i in range(20)))
        await eventually(lambda: store.queued_lines >= 10, timeout=10)  # the queue is full
        writer.write(b"".join(b"<14>Dec  8 10:00:00 h app: tcp %d\n" % i
                              for i in range(20, 30)))
        await eventually(lambda: receiver.pauses >= 1, timeout=10)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(b"<14>udp while full", ("127.0.0.1", receiver.udp_port))
        await eventually(lambda: store.counters.refused == 1, timeout=10)
        await asyncio.to_thread(store.open)  # the writer drains; the sender goes on
        await eventually(lambda: store.counters.committed == 30, timeout=20)
        rows = store.search(Filters(), 100)
        assert sorted(r["message"] for r in rows) == sorted(f"tcp {i}" for i in range(30))
        writer.close()
    finally:
        await receiver.aclose()
        await asyncio.to_thread(store.close)
