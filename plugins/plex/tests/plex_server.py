"""A local stand-in for Plex Media Server's HTTP API (shared/protocols.md, section 1).

It keeps only what the real server does on the paths the plugin uses: the token as the
`X-Plex-Token` header or query parameter (`/identity` needs none), XML unless the client
sends `Accept: application/json` (then `{"MediaContainer": {...}}`, items under `Metadata`,
no `Metadata` key when there are none), paging by `X-Plex-Container-Start/Size`, the 91-byte
`text/html` 401 page, `x-plex-protocol: 1.0` on every answer, and empty 200 answers to the
maintenance requests, whose work the real server then does in the background: a scan
(`refresh`) answers at once and its items show up `scan_delay` seconds later (never, when
None). A scan also finds real files: `mounts` maps a folder as the server sees it to a host
folder (PMS in a container), and media files there that no item holds become items whose
`Media[].Part[].file` is the server-side path, as in PMS's listings (docs/protocols/plex.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from aiohttp import web

UNAUTHORIZED = ("<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized"
                "</h1></body></html>")
# python-plexapi's search types: /library/sections/{key}/all?type=N.
SEARCH_TYPES = {1: "movie", 2: "show", 3: "season", 4: "episode", 8: "artist", 9: "album",
                10: "track", 13: "photo"}
TOP_TYPES = {"movie": "movie", "show": "show", "artist": "artist", "photo": "photo"}
MEDIA_EXTENSIONS = {".mkv", ".mp4", ".m4v", ".avi", ".mov", ".webm", ".ts", ".mp3", ".flac",
                    ".m4a", ".jpg", ".jpeg", ".png"}
FILE_TYPES = {"movie": "movie", "show": "episode", "artist": "track", "photo": "photo"}
XML_TAGS = {"movie": "Video", "episode": "Video", "clip": "Video", "track": "Track",
            "photo": "Photo"}


def to_xml(tag: str, data: dict[str, Any]) -> ElementTree.Element:
    """A JSON MediaContainer as PMS writes it in XML: scalars become attributes (booleans
    "1"/"0"), nested objects and lists become child elements."""
    element = ElementTree.Element(tag)
    for key, value in data.items():
        if isinstance(value, list):
            for child in value:
                name = XML_TAGS.get(child.get("type"), "Directory") if key == "Metadata" else key
                element.append(to_xml(name, child))
        elif isinstance(value, dict):
            element.append(to_xml(key, value))
        elif isinstance(value, bool):
            element.set(key, "1" if value else "0")
        elif value is not None:
            element.set(key, str(value))
    return element


@dataclass
class Library:
    key: str
    title: str
    type: str
    locations: list[str]
    scanned_at: int = field(default_factory=lambda: int(time.time()) - 86400)
    items: list[dict[str, Any]] = field(default_factory=list)
    # Files on disk the server has not scanned yet, and items whose files went missing.
    unscanned: list[dict[str, Any]] = field(default_factory=list)

    def directory(self) -> dict[str, Any]:
        return {"key": self.key, "type": self.type, "title": self.title,
                "agent": "tv.plex.agents.movie", "scanner": "Plex Movie", "language": "en-US",
                "refreshing": False, "scannedAt": self.scanned_at,
                "updatedAt": self.scanned_at, "createdAt": 1600000000,
                "Location": [{"id": i + 1, "path": p} for i, p in enumerate(self.locations)]}


@dataclass
class PlexStandIn:
    token: str
    name: str = "Nebula Test PMS"
    version: str = "1.40.2.8395-c67dce28e"
    machine_identifier: str = field(default_factory=lambda: secrets.token_hex(20))
    libraries: dict[str, Library] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    release: dict[str, Any] | None = None
    delay: float = 0.0  # seconds every answer waits, for timeouts
    scan_delay: float | None = 0.0  # seconds until a scan's items are listed; None: never
    mounts: dict[str, str] = field(default_factory=dict)  # server path -> host folder
    # Answers to these paths are computed at once but sent only when the event is set: a
    # read that saw the server as it was, still in flight while something changes it.
    holds: dict[str, asyncio.Event] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    refreshes: list[dict[str, Any]] = field(default_factory=list)
    emptied: list[str] = field(default_factory=list)
    optimized: list[dict[str, str]] = field(default_factory=list)
    _next_rating_key: int = 100

    # --- state the tests set ---------------------------------------------------------------

    def add_library(self, key: str, title: str, kind: str, *locations: str) -> Library:
        self.libraries[key] = Library(key, title, kind, list(locations))
        return self.libraries[key]

    def item(self, library: str, title: str, kind: str, **attrs: Any) -> dict[str, Any]:
        lib = self.libraries[library]
        self._next_rating_key += 1
        return {"ratingKey": str(self._next_rating_key),
                "key": f"/library/metadata/{self._next_rating_key}", "type": kind,
                "title": title, "librarySectionID": int(lib.key),
                "librarySectionTitle": lib.title,
                # Seeded items were added yesterday, one second apart, so order is stable.
                "addedAt": int(time.time()) - 86400 + self._next_rating_key, **attrs}

    def add(self, library: str, title: str, kind: str, **attrs: Any) -> dict[str, Any]:
        item = self.item(library, title, kind, **attrs)
        self.libraries[library].items.append(item)
        return item

    def land_file(self, library: str, title: str, kind: str, file: str,
                  **attrs: Any) -> None:
        """A file appears on the NAS: the library shows it only after a scan."""
        self.libraries[library].unscanned.append(
            {**self.item(library, title, kind, **attrs), "_file": file})

    def lose_file(self, library: str, title: str) -> None:
        """An item's file disappears: after a scan it sits in the trash (deletedAt)."""
        for item in self.libraries[library].items:
            if item["title"] == title:
                item["_missing"] = True

    def play(self, session_key: str, user: str, item: dict[str, Any], *, player: str,
             decision: str = "directplay", bandwidth: int = 7000, state: str = "playing",
             location: str = "lan") -> None:
        """Start a stream: `decision` is directplay, copy (direct stream) or transcode."""
        video = "transcode" if decision == "transcode" else "copy"
        session = {
            **{k: v for k, v in item.items() if not k.startswith("_")},
            "sessionKey": session_key, "viewOffset": 600000, "duration": 6000000,
            "Media": [{"id": 1, "videoResolution": "1080", "bitrate": 8000, "container": "mkv",
                       "videoCodec": "hevc", "audioCodec": "eac3",
                       "Part": [{"id": 1, "decision": decision, "container": "mkv"}]}],
            "User": {"id": str(len(self.sessions) + 1), "title": user,
                     "thumb": "https://plex.tv/users/0/avatar"},
            "Player": {"address": "192.168.1.50", "device": player, "machineIdentifier":
                       secrets.token_hex(8), "platform": "Android", "product":
                       "Plex for Android (TV)", "state": state, "title": player,
                       "local": location == "lan"},
            "Session": {"id": secrets.token_hex(12), "bandwidth": bandwidth,
                        "location": location},
        }
        if decision != "directplay":
            session["TranscodeSession"] = {
                "key": f"/transcode/sessions/{secrets.token_hex(8)}", "throttled": False,
                "progress": 12.5, "speed": 2.1, "videoDecision": video,
                "audioDecision": "copy", "transcodeHwRequested": False}
        self.sessions[session_key] = session

    def stop(self, session_key: str) -> None:
        del self.sessions[session_key]

    # --- HTTP --------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        get, put = app.router.add_get, app.router.add_put
        get("/identity", self.identity)
        get("/", self.root)
        get("/status/sessions", self.status_sessions)
        get("/library/sections", self.sections)
        get("/library/sections/all/refresh", self.refresh_all)
        get("/library/sections/{key}/all", self.section_all)
        get("/library/sections/{key}/refresh", self.refresh)
        put("/library/sections/{key}/emptyTrash", self.empty_trash)
        get("/library/recentlyAdded", self.recently_added)
        put("/library/optimize", self.optimize)
        get("/updater/status", self.updater_status)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        header, query = request.headers.get("X-Plex-Token"), request.query.get("X-Plex-Token")
        token = header or query
        self.requests.append({
            "method": request.method, "path": request.path,
            "query": {k: v for k, v in request.query.items() if k != "X-Plex-Token"},
            "token": "header" if header else "query" if query else None,
            "authorized": token == self.token, "accept": request.headers.get("Accept", ""),
            # The client's end of the connection, to tell whether the client let it go.
            "client_port": (request.transport.get_extra_info("peername") or (None, None))[1]
            if request.transport else None})
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.path != "/identity" and token != self.token:
            response: web.StreamResponse = web.Response(
                status=401, text=UNAUTHORIZED, content_type="text/html")
        else:
            response = await handler(request)
            if (hold := self.holds.get(request.path)) is not None:
                await hold.wait()
        response.headers["x-plex-protocol"] = "1.0"
        return response

    @staticmethod
    def container(request: web.Request, data: dict[str, Any]) -> web.Response:
        if "application/json" in request.headers.get("Accept", ""):
            return web.json_response({"MediaContainer": data})
        body = ElementTree.tostring(to_xml("MediaContainer", data), encoding="unicode")
        return web.Response(text='<?xml version="1.0" encoding="UTF-8"?>\n' + body,
                            content_type="text/xml")

    @staticmethod
    def page(request: web.Request, items: list[dict[str, Any]]) -> dict[str, Any]:
        """`items` cut by X-Plex-Container-Start/Size (headers or query parameters)."""
        def number(name: str, default: int) -> int:
            return int(request.headers.get(name) or request.query.get(name) or default)

        start, size = number("X-Plex-Container-Start", 0), number("X-Plex-Container-Size",
                                                                    len(items))
        shown = [{k: v for k, v in i.items() if not k.startswith("_")}
                 for i in items[start:start + size]]
        data: dict[str, Any] = {"size": len(shown), "totalSize": len(items), "offset": start}
        if shown:  # an empty page has no Metadata key at all
            data["Metadata"] = shown
        return data

    def _library(self, request: web.Request) -> Library:
        try:
            return self.libraries[request.match_info["key"]]
        except KeyError:
            raise web.HTTPNotFound(text="<html><head><title>Not Found</title></head><body>"
                                        "<h1>404 Not Found</h1></body></html>",
                                   content_type="text/html") from None

    async def identity(self, request: web.Request) -> web.Response:
        return self.container(request, {"size": 0, "claimed": True, "machineIdentifier":
                                        self.machine_identifier, "version": self.version})

    async def root(self, request: web.Request) -> web.Response:
        transcoding = sum(s.get("TranscodeSession", {}).get("videoDecision") == "transcode"
                          for s in self.sessions.values())
        return self.container(request, {
            "size": 20, "allowSync": True, "friendlyName": self.name,
            "machineIdentifier": self.machine_identifier, "version": self.version,
            "platform": "Linux", "platformVersion": "6.1.0-13-amd64", "myPlex": True,
            "myPlexSigninState": "ok", "multiuser": True, "transcoderVideo": True,
            "transcoderActiveVideoSessions": transcoding, "updatedAt": int(time.time())})

    async def status_sessions(self, request: web.Request) -> web.Response:
        data: dict[str, Any] = {"size": len(self.sessions)}
        if self.sessions:
            data["Metadata"] = list(self.sessions.values())
        return self.container(request, data)

    async def sections(self, request: web.Request) -> web.Response:
        dirs = [lib.directory() for lib in self.libraries.values()]
        return self.container(request, {"size": len(dirs), "allowSync": False,
                                        "identifier": "com.plexapp.plugins.library",
                                        "title1": "Plex Library", "Directory": dirs})

    async def section_all(self, request: web.Request) -> web.Response:
        lib = self._library(request)
        kind = SEARCH_TYPES.get(int(request.query.get("type", 0))) or TOP_TYPES[lib.type]
        # Items in the trash (files gone, deletedAt set) are listed until it is emptied.
        items = [i for i in lib.items if i["type"] == kind]
        field_name, _, order = request.query.get("sort", "").partition(":")
        if field_name:  # PMS sorts by any item field, ascending unless ":desc"
            items.sort(key=lambda i: i.get(field_name) or 0, reverse=order == "desc")
        return self.container(request, {**self.page(request, items), "librarySectionID":
                                        int(lib.key), "librarySectionTitle": lib.title})

    async def recently_added(self, request: web.Request) -> web.Response:
        items = sorted((i for lib in self.libraries.values() for i in lib.items
                        if i["type"] in ("movie", "episode", "track")),
                       key=lambda i: i["addedAt"], reverse=True)
        return self.container(request, self.page(request, items))

    async def updater_status(self, request: web.Request) -> web.Response:
        data: dict[str, Any] = {"size": 0, "canInstall": False, "checkedAt": int(time.time()),
                                "downloadURL": "", "status": 0}
        if self.release:
            data.update(size=1, Release=[{"key": "https://plex.tv/updater/releases/1",
                                          "state": "notify", "added": "New things",
                                          "fixed": "Old bugs", **self.release}])
        return self.container(request, data)

    def _found_on_disk(self, lib: Library, path: str | None) -> None:
        """Media files under the library's mounted folders that no item holds yet."""
        known = {part.get("file") for item in lib.items + lib.unscanned
                 for media in item.get("Media", ()) for part in media.get("Part", ())}
        for location in lib.locations:
            host = self.mounts.get(location)
            if host is None:
                continue
            for folder, _, files in os.walk(host):
                for name in sorted(files):
                    server_path = location + os.path.join(folder, name)[len(host):]
                    stem, ext = os.path.splitext(name)
                    if (name.startswith(".") or ext.lower() not in MEDIA_EXTENSIONS
                            or server_path in known
                            or (path is not None and not server_path.startswith(path))):
                        continue
                    size = os.path.getsize(os.path.join(folder, name))
                    lib.unscanned.append({
                        **self.item(lib.key, stem, FILE_TYPES[lib.type]), "_file": server_path,
                        "Media": [{"id": self._next_rating_key, "container": ext[1:],
                                   "Part": [{"id": self._next_rating_key, "file": server_path,
                                             "size": size, "container": ext[1:]}]}]})

    def _scan(self, lib: Library, path: str | None) -> None:
        lib.scanned_at = int(time.time())
        landed = [i for i in lib.unscanned if path is None or i["_file"].startswith(path)]
        for item in landed:
            lib.unscanned.remove(item)
            lib.items.append({**item, "addedAt": int(time.time())})
        for item in lib.items:
            if item.get("_missing"):
                item["deletedAt"] = int(time.time())

    async def refresh(self, request: web.Request) -> web.Response:
        lib = self._library(request)
        path = request.query.get("path")
        self.refreshes.append({"library": lib.key, "path": path,
                               "force": request.query.get("force")})
        self._found_on_disk(lib, path)
        if self.scan_delay == 0:
            self._scan(lib, path)
        elif self.scan_delay is not None:  # PMS scans in the background after answering
            asyncio.get_running_loop().call_later(self.scan_delay, self._scan, lib, path)
        return web.Response(status=200)

    async def refresh_all(self, request: web.Request) -> web.Response:
        self.refreshes.append({"library": "all", "path": None, "force": None})
        for lib in self.libraries.values():
            self._scan(lib, None)
        return web.Response(status=200)

    async def empty_trash(self, request: web.Request) -> web.Response:
        lib = self._library(request)
        self.emptied.append(lib.key)
        lib.items = [i for i in lib.items if "deletedAt" not in i]
        return web.Response(status=200)

    async def optimize(self, request: web.Request) -> web.Response:
        self.optimized.append(dict(request.query.items()))
        return web.Response(status=200)


class Serving:
    """The stand-in on a loopback port that survives a stop and a start, so a test can take
    the server away mid-run and bring it back where the plugin expects it."""

    def __init__(self, app: Callable[[], web.Application],
                 tls: ssl.SSLContext | None = None) -> None:
        self._app = app
        self._tls = tls
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self._tls).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@contextlib.asynccontextmanager
async def serving(app: Callable[[], web.Application], tls: ssl.SSLContext | None = None
                  ) -> AsyncIterator[Serving]:
    server = Serving(app, tls)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
