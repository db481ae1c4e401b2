"""What the agent's interfaces serve, and what a plugin adds to them: API endpoints under
`/api/v1/<plugin>/...` (`nebula_api_endpoints`) and web panel pages under `/<plugin>/...`
(`nebula_web_pages`). The core's own routes are `Endpoint`s too (nebula.http.endpoints).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

Handler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]
PUBLIC, VIEWER, ADMIN = "public", "viewer", "admin"
ROLES = (PUBLIC, VIEWER, ADMIN)


@dataclass(frozen=True)
class Endpoint:
    """One HTTP route with what OpenAPI needs to know about it.

    A plugin's `path` is relative to `/api/v1/<plugin>` ("" for that path itself, else
    starting with "/", aiohttp placeholders allowed: "/conversations/{id}"). `role` is who
    may call it (a write needs an admin whatever it says, unless the core marks it as a
    session write); `body` is the JSON Schema of its request body (the handler validates
    it, `nebula.http.endpoints.json_body`); `query` documents its query parameters."""

    method: str
    path: str
    handler: Handler
    summary: str
    role: str = VIEWER
    body: Mapping[str, Any] | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    tag: str = "agent"


# Where a page's HTML goes: its own page in the panel's frame, or a section of the
# overview's side column (the Jarvis chat pane).
PAGE, OVERVIEW = "page", "overview"
SLOTS = (PAGE, OVERVIEW)


@dataclass(frozen=True)
class WebPage:
    """A page of the web panel, or a section of one, rendered by the core's frame.

    `render(request)` returns the HTML of the page's main area (or of the section); the
    plugin escapes what it puts in it, and adds no inline script or style (the panel's
    Content-Security-Policy refuses them: behaviour goes in a `nebula_web_assets` script).
    A page lives at `/<plugin><path>` and, with `nav`, is listed in the panel's navigation
    under its `title`; `role` is who may see it (anyone signed in, by default; a signed-out
    visitor is sent to the login page)."""

    title: str
    render: Callable[[web.Request], Awaitable[str]]
    path: str = ""
    nav: bool = False
    role: str = VIEWER
    slot: str = PAGE
