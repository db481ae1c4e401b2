"""A big upload over a slow link is bounded by progress, not by a total deadline: a client
that keeps sending for longer than `[agent] body_timeout` gets its file in the library; one
that stops sending for that long is cut off with a 408 and leaves nothing behind. Both body
forms: with a Content-Length (received straight from the socket) and chunked (read through
aiohttp's body stream)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from media_files import MKV_HEADER, blocks

from tests.waiting import eventually

TIMEOUT = 1.0          # [agent] body_timeout for these tests
SENDING = 3 * TIMEOUT  # the slow client keeps sending for this long
PIECE = 32 * 1024


def _head(agent: Any, name: str, length: int | None) -> bytes:
    url = urlsplit(agent.url)
    framing = f"Content-Length: {length}" if length is not None else \
        "Transfer-Encoding: chunked"
    return (f"POST /api/v1/media/upload?library=Movies&name={name} HTTP/1.1\r\n"
            f"Host: {url.netloc}\r\nAuthorization: Bearer {agent.token}\r\n"
            f"Content-Type: application/octet-stream\r\n{framing}\r\n\r\n").encode()


def _framed(piece: bytes, chunked: bool) -> bytes:
    return b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece


async def _answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, Any]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    body = await reader.readexactly(int(headers["content-length"]))
    return int(lines[0].split()[1]), json.loads(body)


def _connect(agent: Any) -> Any:
    url = urlsplit(agent.url)
    return asyncio.open_connection(url.hostname, url.port)


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
async def test_a_slow_upload_that_keeps_coming_outlasts_body_timeout(
        start_media, folders: dict[str, Path], chunked: bool) -> None:
    data = b"".join(blocks(MKV_HEADER, 2 << 20))
    async with start_media(with_plex=False, agent={"body_timeout": TIMEOUT}) as agent:
        reader, writer = await _connect(agent)
        try:
            writer.write(_head(agent, "Slow.mkv", None if chunked else len(data)))
            pieces = [data[i:i + PIECE] for i in range(0, len(data), PIECE)]
            pace = SENDING / len(pieces)  # the client's speed under test, not a wait
            started = time.monotonic()
            for piece in pieces:
                writer.write(_framed(piece, chunked))
                await writer.drain()
                await asyncio.sleep(pace)
            if chunked:
                writer.write(b"0\r\n\r\n")
            status, body = await asyncio.wait_for(_answer(reader), 30)
            assert time.monotonic() - started > 2 * TIMEOUT
        finally:
            writer.close()
        assert status == 201, body
        final = folders["movies"] / "Slow.mkv"
        assert hashlib.sha256(final.read_bytes()).digest() == hashlib.sha256(data).digest()


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
async def test_a_stalled_upload_is_cut_off_and_leaves_nothing(
        start_media, folders: dict[str, Path], chunked: bool) -> None:
    async with start_media(with_plex=False, agent={"body_timeout": TIMEOUT}) as agent:
        reader, writer = await _connect(agent)
        try:
            writer.write(_head(agent, "Stalled.mkv", None if chunked else 8 << 20))
            for piece in blocks(MKV_HEADER, 1 << 20, PIECE):
                writer.write(_framed(piece, chunked))
            await writer.drain()
            await eventually(lambda: any(folders["quarantine"].glob(".upload-*.part")),
                             timeout=10)
            # Then nothing more, the connection held open.
            started = time.monotonic()
            status, body = await asyncio.wait_for(_answer(reader), 10 * TIMEOUT + 10)
            waited = time.monotonic() - started
        finally:
            writer.close()
        assert status == 408, body
        assert "stopped arriving" in body["detail"]
        # Cut off after about body_timeout without a byte: at most two of its checks.
        assert waited < 2 * TIMEOUT + 5
        await eventually(lambda: not any(folders["quarantine"].iterdir()), timeout=10)
        assert not any(folders["movies"].rglob("*"))
