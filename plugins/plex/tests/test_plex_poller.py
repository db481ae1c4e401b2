"""The shared snapshot after an action: a read right after a scan or an emptied trash sees
what the server shows now, whatever the machine's uptime and whatever poll was in flight."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import structlog
from plex_api import panel, run_action

from nebula_plex import actions
from nebula_plex.client import PlexClient
from nebula_plex.coordinator import Poller
from nebula_plex.model import Snapshot
from tests.waiting import eventually


def _movies(snap: Snapshot) -> int | None:
    return next(lib.items for lib in snap.libraries if lib.title == "Movies")


async def _no_events(topic: str, data: dict[str, Any]) -> None:
    return None


async def test_an_invalidated_snapshot_is_polled_again_on_a_machine_just_booted(
        plex, plex_site, plex_token) -> None:
    # The monotonic clock counts from boot; a CI machine is often younger than max_age.
    now = [60.0]
    plex.land_file("1", "Tears of Steel", "movie", "/data/movies/Tears.of.Steel.mkv")
    async with aiohttp.ClientSession() as http:
        client = PlexClient(lambda: http, plex_site.url, plex_token, timeout=2, tls=False)
        poller = Poller(client, _no_events, max_age=1800, recent=5, history=10,
                        log=structlog.get_logger(), clock=lambda: now[0])
        assert _movies(await poller.snapshot()) == 3
        await actions.scan(client, {"library": "Movies"})
        now[0] += 1
        # Poll once, read many: without an invalidation the snapshot is reused...
        assert _movies(await poller.snapshot()) == 3
        poller.invalidate()
        # ...and after one the next read polls, though the clock is still below max_age.
        assert _movies(await poller.snapshot()) == 4
        now[0] += 1
        polls = sum(r["path"] == "/identity" for r in plex.requests)
        assert _movies(await poller.snapshot()) == 4
        assert sum(r["path"] == "/identity" for r in plex.requests) == polls


async def test_a_poll_in_flight_during_an_action_is_not_taken_as_fresh(start_plex,
                                                                        plex) -> None:
    plex.land_file("1", "Tears of Steel", "movie", "/data/movies/Tears.of.Steel.mkv")
    released = plex.holds["/library/sections/1/all"] = asyncio.Event()
    async with start_plex() as agent:
        # A dashboard read starts a poll that counts the Movies before the scan...
        reading = asyncio.create_task(panel(agent, "libraries"))
        await eventually(lambda: any(r["path"] == "/library/sections/1/all"
                                     for r in plex.requests))
        # ...the scan runs and finishes while that answer is still on its way...
        status, outcome = await run_action(agent, "scan_library", library="Movies")
        assert status == 200 and outcome["status"] == "ok", outcome
        released.set()
        stale = {lib["title"]: lib["items"] for lib in await reading}
        assert stale["Movies"] == 3
        # ...so the next read must not reuse it as if it were taken after the scan.
        after = {lib["title"]: lib["items"] for lib in await panel(agent, "libraries")}
        assert after["Movies"] == 4


async def test_a_read_after_an_action_waits_for_a_poll_started_after_it(
        plex, plex_site, plex_token) -> None:
    plex.land_file("1", "Tears of Steel", "movie", "/data/movies/Tears.of.Steel.mkv")
    released = plex.holds["/library/sections/1/all"] = asyncio.Event()
    async with aiohttp.ClientSession() as http:
        client = PlexClient(lambda: http, plex_site.url, plex_token, timeout=2, tls=False)
        poller = Poller(client, _no_events, max_age=1800, recent=5, history=10,
                        log=structlog.get_logger())
        # A check's poll has counted the Movies and is still on its way back...
        before = asyncio.create_task(poller.snapshot())
        await eventually(lambda: any(r["path"] == "/library/sections/1/all"
                                     for r in plex.requests))
        # ...when the scan runs, and the dashboard reads right after it.
        await actions.scan(client, {"library": "Movies"})
        poller.invalidate()
        after = asyncio.create_task(poller.snapshot())
        await asyncio.sleep(0)  # one turn of the loop: the read is waiting on the poller
        released.set()
        assert _movies(await before) == 3
        # Not the poll that was out during the scan: one started after it.
        assert _movies(await after) == 4
