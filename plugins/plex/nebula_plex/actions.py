"""The maintenance actions: scan a library, empty the trash, optimise the database.

Each resolves libraries from a fresh `/library/sections`, so a name typed in the dashboard
or by Jarvis is checked against what the server has right now, and answers as PMS does:
the work runs in the background on the server, the request returns at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula_plex.client import PlexClient


class UnknownLibrary(ValueError):
    pass


async def _sections(client: PlexClient, wanted: str | None) -> list[dict[str, Any]]:
    """The `Directory` entries of the sections `wanted` names (all of them when None)."""
    sections = list((await client.get("/library/sections")).get("Directory") or ())
    if wanted is None:
        return sections
    for section in sections:
        if wanted == str(section.get("key")) or \
                wanted.casefold() == str(section.get("title")).casefold():
            return [section]
    known = ", ".join(f"{s.get('title')} ({s.get('key')})" for s in sections) or "none"
    raise UnknownLibrary(f"no library {wanted!r} on this server; libraries: {known}")


async def libraries(client: PlexClient, wanted: str | None) -> list[dict[str, str]]:
    """The sections `wanted` names (all of them when None), as {key, title}."""
    return [{"key": str(d.get("key")), "title": str(d.get("title"))}
            for d in await _sections(client, wanted)]


# The items that hold files, per section type: python-plexapi's search types (movie 1,
# episode 4, track 10, photo 13); a show section's `all` lists shows, not episodes.
FILE_TYPES = {"movie": 1, "show": 4, "artist": 10, "photo": 13}
NEWEST = 50  # an item just scanned in is among the newest by addedAt


async def find_file(client: PlexClient, params: Mapping[str, Any]) -> dict[str, Any]:
    """The library item whose file is `path` (as the server sees it), looked for among the
    section's newest items; `found` false while the server does not list it (yet)."""
    [section] = await _sections(client, params["library"])
    kind = FILE_TYPES.get(str(section.get("type")), 1)
    container = await client.get(f"/library/sections/{section.get('key')}/all", {
        "type": kind, "sort": "addedAt:desc", "X-Plex-Container-Start": 0,
        "X-Plex-Container-Size": NEWEST})
    for item in container.get("Metadata") or ():
        files = [part.get("file") for media in item.get("Media") or ()
                 for part in media.get("Part") or ()]
        if params["path"] in files:
            return {"found": True, "item": {
                k: item.get(k) for k in ("ratingKey", "key", "type", "title", "year",
                                         "grandparentTitle", "addedAt") if k in item}}
    return {"found": False}


async def scan(client: PlexClient, params: Mapping[str, Any]) -> dict[str, Any]:
    query = {"path": params["path"]} if params.get("path") else None
    if params.get("library") is None:
        if query:
            raise ValueError("path needs a library: name the library the folder belongs to")
        # One request scans every library, as Plex Web's "Scan Library Files" on all does.
        await client.get("/library/sections/all/refresh")
        return {"status": "scan started", "libraries": await libraries(client, None)}
    [section] = await libraries(client, params["library"])
    await client.get(f"/library/sections/{section['key']}/refresh", query)
    return {"status": "scan started", "libraries": [section], "path": params.get("path")}


async def empty_trash(client: PlexClient, params: Mapping[str, Any]) -> dict[str, Any]:
    sections = await libraries(client, params.get("library"))
    for section in sections:
        await client.put(f"/library/sections/{section['key']}/emptyTrash")
    return {"status": "trash emptied", "libraries": sections}


async def optimize(client: PlexClient, params: Mapping[str, Any]) -> dict[str, Any]:
    if not params.get("force"):
        playing = (await client.get("/status/sessions")).get("Metadata") or ()
        if playing:
            raise RuntimeError(f"{len(playing)} stream(s) playing: optimising now could stall "
                               "them; try later, or pass force = true")
    await client.put("/library/optimize", {"async": 1})
    return {"status": "optimisation started"}
