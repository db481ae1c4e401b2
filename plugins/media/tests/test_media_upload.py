"""`POST /api/v1/media/upload` in a real agent: streamed into the library and scanned by
the plex plugin (against the Plex stand-in); refused by content, by name, by size and when
the name is taken; an interrupted upload leaves nothing behind."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import stat
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from media_files import ELF_HEADER, MKV_HEADER, MP3_HEADER, blocks, stream
from plex_server import PlexStandIn

from tests.waiting import eventually

MB = 1 << 20


async def _upload(agent: Any, name: str, body: Any, *, library: str = "Movies",
                  folder: str = "", content_type: str = "application/octet-stream",
                  ) -> tuple[int, Any]:
    query = f"library={quote(library)}&name={quote(name)}" + (
        f"&folder={quote(folder)}" if folder else "")
    async with agent.session.post(f"{agent.url}/api/v1/media/upload?{query}", data=body,
                                  headers={"Authorization": f"Bearer {agent.token}",
                                           "Content-Type": content_type}) as resp:
        return resp.status, await resp.json(content_type=None)


def _left(folders: dict[str, Path]) -> list[str]:
    return sorted(str(p.relative_to(p.parents[1])) for key in ("quarantine", "movies")
                  if folders[key].exists() for p in folders[key].rglob("*") if p.is_file())


async def test_an_upload_lands_in_the_library_and_plex_scans_its_folder(
        start_media, folders: dict[str, Path], plex: PlexStandIn) -> None:
    size = 5 * MB + 123
    sha = hashlib.sha256()
    chunks = list(blocks(MKV_HEADER, size))
    for chunk in chunks:
        sha.update(chunk)
    async with start_media() as agent:
        status, body = await _upload(agent, "Sintel.mkv", _iterate(chunks),
                                     folder="Sintel (2010)")
        assert status == 201, body
        final = folders["movies"] / "Sintel (2010)" / "Sintel.mkv"
        assert body["path"] == str(final) and body["size"] == size
        assert body["type"] == "video/x-matroska"
        assert hashlib.sha256(final.read_bytes()).hexdigest() == sha.hexdigest()
        assert stat.S_IMODE(final.stat().st_mode) == 0o644
        assert stat.S_IMODE(folders["quarantine"].stat().st_mode) == 0o700
        assert list(folders["quarantine"].iterdir()) == []
        assert plex.refreshes == [{"library": "1", "path": "/data/movies/Sintel (2010)",
                                   "force": None}]
        # Plex listed the file a second after the scan started: the answer has its item.
        item = body["scan"].pop("item")
        assert body["scan"] == {"status": "in Plex", "path": "/data/movies/Sintel (2010)"}
        assert item["title"] == "Sintel" and item["type"] == "movie"
        [listed] = plex.libraries["1"].items
        assert item["ratingKey"] == listed["ratingKey"]
        assert listed["Media"][0]["Part"][0]["file"] == "/data/movies/Sintel (2010)/Sintel.mkv"
        # It asked more than once (before the scan's items were listed, then after), by
        # the newest items of the section as python-plexapi's recentlyAdded does.
        finds = [r for r in plex.requests if r["path"] == "/library/sections/1/all"]
        assert len(finds) >= 2 and finds[0]["query"]["sort"] == "addedAt:desc"
        panel = await agent.panel("media.imports")
        assert panel[0]["path"] == str(final) and panel[0]["scan"] == "in Plex"
        assert panel[0]["plex_item"] == "Sintel"


async def test_a_file_plex_does_not_list_in_time_is_said_pending(
        start_media, folders: dict[str, Path], plex: PlexStandIn) -> None:
    plex.scan_delay = None  # the scan never lists it (a busy or stuck scanner)
    # Long enough for the /healthz below under load; the wait's end is the same path.
    async with start_media(plex_wait=2.5) as agent:
        upload = asyncio.ensure_future(_upload(agent, "Sintel.mkv",
                                               _iterate(list(blocks(MKV_HEADER, MB)))))
        # While it waits for Plex the agent answers other requests: the wait is no block.
        await eventually(lambda: any(r["path"] == "/library/sections/1/all"
                                     for r in plex.requests))
        async with agent.session.get(f"{agent.url}/healthz") as resp:
            assert resp.status == 200
        assert not upload.done()
        status, body = await upload
        assert status == 201, body
        assert body["scan"] == {"status": "scan started, not yet in Plex",
                                "path": "/data/movies", "file": "/data/movies/Sintel.mkv"}
        assert plex.refreshes == [{"library": "1", "path": "/data/movies", "force": None}]
        panel = await agent.panel("media.imports")
        assert panel[0]["scan"] == "scan started, not yet in Plex"
        assert panel[0]["plex_item"] == ""


async def _iterate(chunks: list[bytes]) -> Any:
    for chunk in chunks:
        yield chunk


@pytest.mark.parametrize(("header", "name", "reason"), [
    (ELF_HEADER, "Movie.mkv", "executable content (application/x-executable)"),
    (b"#!/bin/sh\nrm -rf ~\n", "Movie.mkv", "executable content (a script (#!))"),
    (MP3_HEADER, "Movie.mkv", "named as video but holds audio/mpeg"),
    (MKV_HEADER, "Movie.exe", "this library takes video and subtitle files"),
    (b"\x00\x01\x02" * 100, "Movie.srt", "a subtitle file is text"),
])
async def test_content_decides_not_the_name(start_media, folders: dict[str, Path],
                                            header: bytes, name: str, reason: str) -> None:
    async with start_media() as agent:
        status, body = await _upload(agent, name, stream(header, 3 * MB))
        assert status == 415, body
        assert reason in body["detail"], body["detail"]
        assert _left(folders) == []


@pytest.mark.parametrize(("name", "folder", "reason"), [
    ("../escape.mkv", "", "is a path"),
    ("a\x00b.mkv", "", "NUL"),
    ("Movie.mkv", "../../etc", "folder part '..' is not a name"),
    ("Movie.mkv", "ok/\x00", "NUL"),
    (".hidden.mkv", "", "starts with a dot"),
    ("", "", "name is empty"),
])
async def test_names_are_refused_not_rewritten(start_media, folders: dict[str, Path],
                                               name: str, folder: str, reason: str) -> None:
    async with start_media() as agent:
        status, body = await _upload(agent, name, stream(MKV_HEADER, MB), folder=folder)
        assert status == 422, body
        assert reason in body["detail"], body["detail"]
        assert _left(folders) == []


async def test_unknown_library_and_wrong_content_type(start_media) -> None:
    async with start_media() as agent:
        status, body = await _upload(agent, "a.mkv", stream(MKV_HEADER, MB), library="TV")
        assert status == 422 and "no library 'TV'" in body["detail"]
        status, body = await _upload(agent, "a.mkv", b"{}", content_type="application/json")
        assert status == 415 and "application/octet-stream" in body["detail"]


async def test_too_large_is_refused_with_and_without_a_length(
        start_media, folders: dict[str, Path]) -> None:
    async with start_media(max_bytes=2 * MB) as agent:
        # Chunked: no length announced, refused once 2 MiB have arrived.
        status, body = await _upload(agent, "big.mkv", stream(MKV_HEADER, 3 * MB))
        assert status == 413 and "larger than max_bytes" in body["detail"]
        # With a Content-Length: refused before the body is read.
        status, body = await _upload(agent, "big.mkv", b"".join(blocks(MKV_HEADER, 3 * MB)))
        assert status == 413 and "more than max_bytes" in body["detail"]
        assert _left(folders) == []


async def test_a_taken_name_is_a_conflict(start_media, folders: dict[str, Path]) -> None:
    async with start_media() as agent:
        assert (await _upload(agent, "One.mkv", stream(MKV_HEADER, MB)))[0] == 201
        before = (folders["movies"] / "One.mkv").read_bytes()
        status, body = await _upload(agent, "One.mkv", stream(MKV_HEADER, MB))
        assert status == 409, body
        assert (folders["movies"] / "One.mkv").read_bytes() == before


async def test_an_interrupted_upload_leaves_nothing(start_media,
                                                    folders: dict[str, Path]) -> None:
    async with start_media() as agent:
        url = urlsplit(agent.url)
        sent = asyncio.Event()

        def send_half() -> None:
            with socket.create_connection((url.hostname, url.port)) as sock:
                sock.sendall((f"POST /api/v1/media/upload?library=Movies&name=Cut.mkv "
                              f"HTTP/1.1\r\nHost: {url.netloc}\r\n"
                              f"Authorization: Bearer {agent.token}\r\n"
                              "Content-Type: application/octet-stream\r\n"
                              f"Content-Length: {20 * MB}\r\n\r\n").encode())
                for chunk in blocks(MKV_HEADER, 6 * MB):
                    sock.sendall(chunk)
                sent.set()
            # The connection closes here, 14 MiB short.

        writing = asyncio.ensure_future(asyncio.to_thread(send_half))
        # The partial file exists while the body arrives...
        await eventually(lambda: any(folders["quarantine"].glob(".upload-*.part")),
                         timeout=10)
        await writing
        # ... and is gone once the client is.
        await eventually(lambda: _left(folders) == [], timeout=10)
        assert not (folders["movies"] / "Cut.mkv").exists()


async def test_without_plex_the_upload_still_lands(start_media,
                                                   folders: dict[str, Path]) -> None:
    async with start_media(with_plex=False) as agent:
        status, body = await _upload(agent, "Solo.mkv", stream(MKV_HEADER, MB))
        assert status == 201, body
        assert body["scan"]["status"] == "error"
        assert (folders["movies"] / "Solo.mkv").exists()


async def test_partial_uploads_of_a_dead_agent_are_removed_at_start(
        start_media, folders: dict[str, Path]) -> None:
    folders["quarantine"].mkdir(mode=0o755)
    (folders["quarantine"] / ".upload-0123456789abcdef.part").write_bytes(b"x" * 100)
    async with start_media():
        assert list(folders["quarantine"].iterdir()) == []
        assert stat.S_IMODE(folders["quarantine"].stat().st_mode) == 0o700


@pytest.fixture
def tmpfs_quarantine(tmp_path: Path) -> Any:
    path = tmp_path / "tmpfs-quarantine"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


async def test_across_file_systems_the_file_is_copied_then_linked(
        start_media, folders: dict[str, Path], tmpfs_quarantine: Path) -> None:
    folders["quarantine"] = tmpfs_quarantine
    async with start_media(quarantine_dir=str(tmpfs_quarantine)) as agent:
        data = b"".join(blocks(MKV_HEADER, 3 * MB))
        status, body = await _upload(agent, "Far.mkv", data)
        assert status == 201, body
        final = folders["movies"] / "Far.mkv"
        assert final.read_bytes() == data
        assert os.stat(final).st_dev != os.stat(tmpfs_quarantine).st_dev
        assert sorted(p.name for p in folders["movies"].iterdir()) == ["Far.mkv"]
        assert os.listdir(tmpfs_quarantine) == []


async def test_the_panel_has_an_upload_page_and_its_script(start_media) -> None:
    async with start_media() as agent:
        status, html = await agent.get("/media/upload")
        assert status == 200, html
        assert 'data-media-upload' in html and '<option value="Movies">' in html
        status, script = await agent.get("/static/media/media.js")
        assert status == 200 and "application/octet-stream" in script


async def test_a_body_with_a_length_arrives_whole(start_media, folders: dict[str, Path]
                                                  ) -> None:
    """A Content-Length body is moved from the socket to the file by the kernel once its
    head is in (nebula_media/direct.py): what aiohttp had read by then, in its body stream
    and held back by its parser, comes first, then the socket's bytes, none twice or lost.
    Sent as fast as the client can, so aiohttp is ahead of the upload when it hands over."""
    data = b"".join(blocks(MKV_HEADER, 48 * MB + 4321))
    async with start_media(with_plex=False) as agent:
        for name in ("Whole.mkv", "Again.mkv"):
            status, body = await _upload(agent, name, data)
            assert status == 201, body
            assert body["size"] == len(data)
            final = folders["movies"] / name
            assert hashlib.sha256(final.read_bytes()).digest() == \
                hashlib.sha256(data).digest()
        assert list(folders["quarantine"].iterdir()) == []
