"""The media plugin's hooks: `POST /api/v1/media/upload` and the recent imports panel.
Startup returns the `MediaRuntime`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from nebula.api import (
    ADMIN,
    Action,
    Endpoint,
    Field,
    Panel,
    ParamError,
    PluginContext,
    WebPage,
    hookimpl,
)
from nebula.helpers.bodies import streamed_body
from nebula.helpers.packages import require
from nebula_media import names, sniff, upload
from nebula_media.direct import ClientGone, socket_body
from nebula_media.runtime import MediaRuntime, UnknownLibrary
from nebula_media.schema import BROWSE_PARAMS, IMPORT_PARAMS
from nebula_media.web import page as web_page

BINARY = "application/octet-stream"

# Imported by the first upload (sniff.check); missing, the plugin fails here, naming the extra.
require("filetype")


@hookimpl
def nebula_startup(ctx: PluginContext) -> MediaRuntime:
    return MediaRuntime(ctx.config, ctx.call_action, ctx.emit, ctx.log)


class TooLarge(web.HTTPClientError):
    # aiohttp's own HTTPRequestEntityTooLarge wants sizes a chunked upload does not announce.
    status_code = 413


def _refuse(status: type[web.HTTPException], reason: str) -> web.HTTPException:
    return status(text=reason)


DRAIN_BYTES, DRAIN_SECONDS = 16 << 20, 2.0


async def _drain(request: web.Request) -> None:
    """After a refusal, read (and drop) a little more of the body before answering: a
    client still sending reads the answer only once it has sent, and a refused small file
    then costs nothing more. A big one is left to aiohttp, which drains for up to 10 s
    after the answer, then closes."""
    content = request.content

    async def drop() -> None:
        left = DRAIN_BYTES
        while left > 0 and (chunk := await content.readany()):
            left -= len(chunk)

    with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
        await asyncio.wait_for(drop(), DRAIN_SECONDS)


def _handler(runtime: MediaRuntime) -> Any:
    async def upload_file(request: web.Request) -> web.Response:
        try:
            return await _upload(request)
        except web.HTTPException:
            await _drain(request)
            raise

    async def _upload(request: web.Request) -> web.Response:
        if request.content_type != BINARY:
            raise _refuse(web.HTTPUnsupportedMediaType, f"send the file itself as the body, "
                                                        f"Content-Type: {BINARY}")
        query = request.query
        try:
            library = runtime.library(query.get("library"))
            parts, target = runtime.target(library, query.get("folder", ""),
                                           query.get("name", ""))
        except (UnknownLibrary, names.BadName) as exc:
            raise _refuse(web.HTTPUnprocessableEntity, str(exc)) from None
        length = request.content_length
        if length is not None and length > runtime.max_bytes:
            raise _refuse(TooLarge, f"{length} bytes is more than "
                                                         f"max_bytes ({runtime.max_bytes})")
        if target.exists():
            raise _refuse(web.HTTPConflict, f"{target.name} is already in that folder")
        # Bounded by progress, not a total deadline: a big file over a slow link takes
        # as long as it takes while it keeps coming (`[agent] body_timeout` without a byte).
        clock = streamed_body(request)
        try:
            record = await runtime.store(socket_body(request, clock) or request.content,
                                         library, parts, target)
        except sniff.Refused as exc:
            raise _refuse(web.HTTPUnsupportedMediaType, str(exc)) from None
        except upload.TooLarge as exc:
            raise _refuse(TooLarge, str(exc)) from None
        except upload.Taken as exc:
            raise _refuse(web.HTTPConflict, str(exc)) from None
        except ClientGone as exc:  # as aiohttp's stream says of a body cut short
            raise _refuse(web.HTTPBadRequest, f"the request body is incomplete: {exc}"
                          ) from None
        return web.json_response(record, status=201)

    return upload_file


UPLOADED = {"type": "object", "properties": {
    "library": {"type": "string"}, "path": {"type": "string"}, "size": {"type": "integer"},
    "type": {"type": "string"}, "scan": {"type": "object"}}}


def _checked(run: Any) -> Any:
    """The import actions' errors, as a 422 naming the param where it is the caller's."""
    async def action(params: Mapping[str, Any]) -> Any:
        try:
            return await run(params)
        except UnknownLibrary as exc:
            raise ParamError("root" if "import root" in str(exc) else "library",
                             str(exc)) from None
        except names.BadName as exc:
            raise ParamError("path", str(exc)) from None
    return action


@hookimpl
def nebula_actions(runtime: MediaRuntime) -> list[Action]:
    async def browse(params: Mapping[str, Any]) -> Any:
        return {"entries": await asyncio.to_thread(runtime.browse, params["root"],
                                                   params.get("path", ""))}

    async def plan_import(params: Mapping[str, Any]) -> Any:
        # Resolved before anything runs, so a path out of the folder, a missing file or an
        # unknown library is a 422 naming the param.
        library = runtime.library(params["library"])
        source = runtime.source(params["root"], params["path"])
        if not source.is_file():
            raise names.BadName(f"{params['path']!r} is not a file in {params['root']}")
        _, target = runtime.target(library, params.get("folder", ""), source.name)
        return {"root": params["root"], "path": params["path"], "library": library.name,
                "folder": params.get("folder", ""), "target": str(target)}

    async def import_file(plan: Mapping[str, Any]) -> Any:
        library = runtime.library(plan["library"])
        return await runtime.import_file(plan["root"], plan["path"], library, plan["folder"])

    return [
        Action(name="browse", run=_checked(browse), params=BROWSE_PARAMS, read_only=True,
               title="Browse an import folder",
               description="The files and folders in one of import_roots (a NAS mount)."),
        Action(name="import_file", run=_checked(import_file),
               prepare=_checked(plan_import), params=IMPORT_PARAMS,
               title="Import from a folder", timeout=3600,
               description="Copy a file from an import root into a library as an upload "
                           "is: checked by content in quarantine, never replacing a file, "
                           "then scanned by Plex."),
    ]


@hookimpl
def nebula_web_pages(runtime: MediaRuntime) -> list[WebPage]:
    return [web_page(runtime)]


@hookimpl
def nebula_web_assets() -> list[Path]:
    return [Path(__file__).parent / "static" / "media.js"]


@hookimpl
def nebula_api_endpoints(runtime: MediaRuntime) -> list[Endpoint]:
    return [Endpoint(
        "POST", "/upload", _handler(runtime),
        "Upload a media file into a library (the body is the file, streamed)",
        role=ADMIN, tag="media", statuses=(201,), problems=(409, 413, 415),
        query={"library": "The library's name (config `libraries`).",
               "name": "The file's name; a plain name (no /, \\, .., NUL).",
               "folder": "A folder inside the library, made if missing (optional)."},
        response=UPLOADED)]


IMPORT_FIELDS = (Field("time", "When", "epoch s"), Field("library", "Library"),
                 Field("path", "File"), Field("type", "Type"), Field("size", "Size", "bytes"),
                 Field("scan", "Plex scan"), Field("plex_item", "In Plex as"))


@hookimpl
def nebula_panels(runtime: MediaRuntime) -> list[Panel]:
    async def imports() -> list[dict[str, Any]]:
        return [{**{k: r[k] for k in ("time", "library", "path", "type", "size")},
                 "scan": r["scan"].get("status", ""),
                 "plex_item": (r["scan"].get("item") or {}).get("title", "")}
                for r in runtime.recent]

    return [Panel(name="imports", kind="table", title="Recent media imports", data=imports,
                  fields=IMPORT_FIELDS,
                  description="Uploads placed in a library, newest first, with the Plex "
                              "scan asked for each and the item once Plex lists it.")]
