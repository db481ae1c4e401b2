"""Media files for the tests: real container headers (EBML/Matroska, ISO-BMFF, ID3) in
front of random payload, generated in blocks so a big one never sits in memory."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

# An EBML header with DocType "matroska", as mkvmerge writes it.
MKV_HEADER = bytes.fromhex("1a45dfa3a34286810142f7810142f2810442f381084282886d6174726f736b61"
                           "42878104428581021853806701000000")
MP3_HEADER = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 100
ELF_HEADER = bytes.fromhex("7f454c4602010100000000000000000003003e00010000004010000000000000")


def blocks(header: bytes, size: int, block: int = 1 << 20) -> Iterator[bytes]:
    yield header
    left = size - len(header)
    while left > 0:
        n = min(block, left)
        yield os.urandom(n)
        left -= n


async def stream(header: bytes, size: int) -> AsyncIterator[bytes]:
    for chunk in blocks(header, size):
        yield chunk
