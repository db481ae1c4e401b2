"""The plugin's runtime: its libraries, the upload endpoint's work, and recent imports.

There is nothing to poll, so no coordinator: the runtime keeps the settings resolved once
and the last imports for the panel. A scan is asked of the plex plugin through its action
(`plex.scan_library` with the folder the file landed in, as Plex sees it); Plex scans in
the background, so the runtime then asks `plex.find_file` for the file, with pauses between
(asyncio sleeps: the loop goes on), until Plex lists it or `plex_wait` seconds are over.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nebula_media import names, upload
from nebula_media.upload import Body

CallAction = Callable[[str, Mapping[str, Any]], Awaitable[dict[str, Any]]]
Emit = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Library:
    name: str
    path: Path
    kinds: list[str]
    plex_library: str | None
    plex_path: str | None


NOT_YET = "scan started, not yet in Plex"
FIRST_PAUSE, LAST_PAUSE = 0.25, 2.0  # seconds between two asks of Plex, doubling


class UnknownLibrary(LookupError):
    pass


class MediaRuntime:
    def __init__(self, config: Mapping[str, Any], call_action: CallAction, emit: Emit,
                 log: Any) -> None:
        self.quarantine = Path(config["quarantine_dir"])
        self.max_bytes = int(config["max_bytes"])
        self.mode = int(config["file_mode"], 8)
        self.plex_wait = float(config["plex_wait"])
        self.libraries = {
            lib["name"].casefold(): Library(
                lib["name"], Path(lib["path"]), list(lib.get("kinds") or ["video", "subtitle"]),
                lib.get("plex_library"), lib.get("plex_path"))
            for lib in config["libraries"]}
        self._call_action = call_action
        self._emit = emit
        self._log = log
        self.recent: deque[dict[str, Any]] = deque(maxlen=50)
        self.roots = {r["name"].casefold(): Path(r["path"])
                      for r in config.get("import_roots") or ()}
        if removed := upload.prepare_quarantine(self.quarantine):
            log.warning("media.partial_uploads_removed", files=removed)

    async def aclose(self) -> None:
        """Nothing runs in the background; an upload in flight ends with its request."""

    def library(self, name: str | None) -> Library:
        found = self.libraries.get((name or "").casefold())
        if found is None:
            known = ", ".join(lib.name for lib in self.libraries.values())
            raise UnknownLibrary(f"no library {name!r}; libraries: {known}")
        return found

    def target(self, library: Library, folder: str, name: str) -> tuple[list[str], Path]:
        parts = names.folder(folder)
        return parts, library.path.joinpath(*parts, names.file_name(name))

    async def store(self, body: Body, library: Library, parts: list[str], target: Path,
                    ) -> dict[str, Any]:
        started = time.monotonic()
        received = await upload.receive(body, self.quarantine, target.name, library.kinds,
                                        self.max_bytes)
        try:
            final = await asyncio.to_thread(upload.place, received.path, target, self.mode)
        finally:
            received.path.unlink(missing_ok=True)
        record = {"library": library.name, "path": str(final), "size": received.size,
                  "type": received.mime, "time": time.time(),
                  "seconds": round(time.monotonic() - started, 3)}
        scan = await self._scan(library, parts)
        if scan["status"] == "scan started":
            scan = await self._in_plex(library, scan, final.name)
        record["scan"] = scan
        self.recent.appendleft(record)
        self._log.info("media.imported", library=library.name, path=str(final),
                       size=received.size, type=received.mime)
        await self._emit("imported", {k: record[k] for k in ("library", "path", "size",
                                                              "type")})
        return record

    async def _scan(self, library: Library, parts: list[str]) -> dict[str, Any]:
        if not library.plex_library:
            return {"status": "not asked (no plex_library)"}
        base = (library.plex_path or str(library.path)).rstrip("/")
        path = "/".join([base, *parts])
        try:
            outcome = await self._call_action("plex.scan_library",
                                              {"library": library.plex_library, "path": path})
        except Exception as exc:  # the upload is done; the scan can be asked again
            self._log.warning("media.scan_failed", library=library.name, error=str(exc))
            return {"status": "error", "error": str(exc), "path": path}
        if outcome.get("status") == "ok":
            result = outcome.get("result") or {}
            return {"status": str(result.get("status", "ok")), "path": path}
        return {"status": str(outcome.get("status")), "path": path,
                "error": str(outcome.get("error", ""))}

    async def _in_plex(self, library: Library, scan: dict[str, Any], name: str
                       ) -> dict[str, Any]:
        """The scan's answer once Plex lists the file (with its item), or "not yet" when it
        does not within `plex_wait` seconds (the scan may still add it later)."""
        file = f"{scan['path']}/{name}"
        deadline = time.monotonic() + self.plex_wait
        pause = FIRST_PAUSE
        while True:
            try:
                outcome = await self._call_action("plex.find_file",
                                                  {"library": library.plex_library,
                                                   "path": file})
            except Exception as exc:  # asked again after the pause, until the deadline
                outcome = {"status": "error", "error": str(exc)}
            found = outcome.get("result") or {}
            if outcome.get("status") == "ok" and found.get("found"):
                return {**scan, "status": "in Plex", "item": found["item"]}
            left = deadline - time.monotonic()
            if left <= 0:
                return {**scan, "status": NOT_YET, "file": file}
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, LAST_PAUSE)

    # --- imports from a folder (a NAS share's mount) -----------------------------------------

    def source(self, root: str, path: str) -> Path:
        """`path` inside import root `root`, refused when it leaves it (.., symlinks)."""
        base = self.roots.get(root.casefold())
        if base is None:
            known = ", ".join(str(p) for p in self.roots.values()) or "none configured"
            raise UnknownLibrary(f"no import root {root!r} ({known})")
        for part in path.strip("/").split("/") if path.strip("/") else []:
            names.file_name(part, "path part")
        resolved = (base / path.strip("/")).resolve()
        if resolved != base.resolve() and base.resolve() not in resolved.parents:
            raise names.BadName(f"{path!r} leads outside {root}")
        return resolved

    def browse(self, root: str, path: str) -> list[dict[str, Any]]:
        folder = self.source(root, path)
        if not folder.is_dir():
            raise names.BadName(f"{path!r} is not a folder in {root}")
        return [{"name": entry.name, "folder": entry.is_dir(),
                 "size": entry.stat().st_size if entry.is_file() else None}
                for entry in sorted(folder.iterdir(), key=lambda e: e.name)
                if not entry.name.startswith(".")]

    async def import_file(self, root: str, path: str, library: Library, folder: str
                          ) -> dict[str, Any]:
        source = self.source(root, path)
        if not source.is_file():
            raise names.BadName(f"{path!r} is not a file in {root}")
        parts, target = self.target(library, folder, source.name)
        body = upload.FileBody(source)
        try:
            return await self.store(body, library, parts, target)
        finally:
            body.close()
