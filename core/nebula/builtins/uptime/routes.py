"""The uptime plugin's routes: uptime and incidents in the API (`/api/v1/uptime…`), incident
notes for admins, and the status pages (`/status/<slug>`, `/status/<slug>.json`).

A status page route is open to everyone and decides for itself: a page the admin marked
public is served to anyone; any other only to someone signed in, and to a visitor it does
not exist (404), so a private page's name and checks are not revealed either.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from nebula.builtins.uptime.pages import note_key
from nebula.helpers.uptime import WINDOWS, report, reports
from nebula.http.app import find_principal
from nebula.http.endpoints import json_body, ok
from nebula.http.keys import agent_of, principal_of
from nebula.http.problems import Problem
from nebula.http.schemas import OBJECT
from nebula.surfaces import ADMIN, PUBLIC, Endpoint
from nebula.web.html import ASSET_VERSION, e

if TYPE_CHECKING:
    from nebula.builtins.uptime.pages import StatusPages

NOTE_BODY = {"type": "object", "additionalProperties": False,
             "required": ["check", "start", "text"],
             "properties": {"check": {"type": "string", "minLength": 1},
                            "start": {"type": "number"},
                            "text": {"type": "string", "minLength": 1, "maxLength": 2000}}}


def _windows(request: web.Request) -> tuple[str, ...]:
    asked = request.query.get("window")
    if asked is None:
        return tuple(WINDOWS)
    if asked not in WINDOWS:
        raise Problem(422, f"window must be one of {', '.join(WINDOWS)}")
    return (asked,)


def api_endpoints(pages: StatusPages) -> list[Endpoint]:
    async def all_checks(request: web.Request) -> web.Response:
        agent, windows = agent_of(request), _windows(request)
        await agent.health.flush()
        now = time.time()
        return ok({"checks": await reports(agent.history, sorted(agent.health.checks), now,
                                           windows)})

    async def one_check(request: web.Request) -> web.Response:
        agent, name = agent_of(request), request.match_info["check"]
        if name not in agent.health.checks:
            raise Problem(404, f"no check named {name!r}")
        await agent.health.flush()
        return ok(await report(agent.history, name, windows=_windows(request)))

    async def add_note(request: web.Request) -> web.Response:
        body = await json_body(request, NOTE_BODY)
        key = note_key(body["check"], body["start"])
        notes = await pages.kv.get(key, [])
        notes.append({"ts": time.time(), "by": principal_of(request).name,
                      "text": body["text"]})
        await pages.kv.set(key, notes)
        await pages.agent.actions.audit(principal_of(request).name, "uptime.note",
                                        {"check": body["check"], "start": body["start"]},
                                        "ok", None, None)
        pages.invalidate()
        return ok({"notes": notes}, status=201)

    query = {"window": f"one of {', '.join(WINDOWS)} (default: all)"}
    return [
        Endpoint("GET", "", all_checks, "Uptime of every check over 24 h, 7 d, 30 d and 90 d, "
                 "with incidents and mean time to recover", query=query, response=OBJECT,
                 problems=(422,)),
        Endpoint("GET", "/checks/{check}", one_check, "One check's uptime and incidents",
                 query=query, response=OBJECT, problems=(422,)),
        Endpoint("POST", "/notes", add_note, "Add a note to an incident (shown on status "
                 "pages that list its check)", role=ADMIN, body=NOTE_BODY, response=OBJECT,
                 statuses=(201,)),
    ]


def _document(title: str, body: str) -> str:
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="color-scheme" content="dark">'
            f"<title>{e(title)}</title>"
            f'<link rel="stylesheet" href="/static/nebula.css?v={ASSET_VERSION}"></head>'
            f'<body class="status-page"><main id="main">{body}</main></body></html>')


def page_endpoints(pages: StatusPages) -> list[Endpoint]:
    async def visible(request: web.Request, slug: str) -> bool:
        page = pages.pages.get(slug)
        if page is None:
            return False
        if page["public"]:
            return True
        try:
            return await find_principal(request) is not None
        except Problem:
            return False

    async def html_page(request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        if slug.endswith(".json"):
            return await json_page(request, slug.removesuffix(".json"))
        if not await visible(request, slug):
            raise Problem(404, "no status page here")
        built = await pages.get(slug)
        return web.Response(text=_document(built.data["title"], built.html),
                            content_type="text/html",
                            headers={"Cache-Control": _caching(pages, slug)})

    async def json_page(request: web.Request, slug: str) -> web.Response:
        if not await visible(request, slug):
            raise Problem(404, "no status page here")
        built = await pages.get(slug)
        return web.Response(body=built.json, content_type="application/json",
                            headers={"Cache-Control": _caching(pages, slug)})

    return [Endpoint("GET", "/status/{slug}", html_page, "A status page (HTML; with .json, "
                     "its data): public when its admin says so, else for signed-in users",
                     role=PUBLIC, tag="status", response={"type": "string",
                                                          "contentMediaType": "text/html"})]


def _caching(pages: StatusPages, slug: str) -> str:
    # A public page may be kept by a proxy as long as the agent keeps it itself; a private
    # one by nobody.
    page: dict[str, Any] = pages.pages[slug]
    return f"public, max-age={int(page['cache_seconds'])}" if page["public"] else "no-store"
