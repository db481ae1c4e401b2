"""What the agent's interfaces serve, and what a plugin adds to them: API endpoints under
`/api/v1/<plugin>/...` (`nebula_api_endpoints`), web panel pages under `/<plugin>/...`
(`nebula_web_pages`) and a way to sign browsers in (`nebula_authenticator`). The core's own
routes are `Endpoint`s too (nebula.http.endpoints).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nebula.enums import StrEnum
from nebula.roles import Principal, Role

if TYPE_CHECKING:
    from aiohttp import web

Handler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]
# The role names as nebula.api has exported them since 1.2.
PUBLIC, VIEWER, ADMIN = Role.PUBLIC, Role.VIEWER, Role.ADMIN

# Endpoint tags the core reads: a page of the panel (a signed-out browser asking for one is
# sent to sign in), and a write any signed-in role may make (their own logout), not only
# an admin. Any other tag only groups the endpoint in the OpenAPI document.
PAGE_TAG = "web"
SESSION_TAG = "session"


@dataclass(frozen=True)
class Endpoint:
    """One HTTP route with what OpenAPI needs to know about it.

    A plugin's `path` is relative to `/api/v1/<plugin>` ("" for that path itself, else
    starting with "/", aiohttp placeholders allowed: "/conversations/{id}"), or to
    `/<plugin>` for a page route (`nebula_web_pages`). `role` is who may call it (a write
    needs an admin whatever it says, unless it is tagged `SESSION_TAG`); `body` is the JSON
    Schema of its request body (the handler validates it,
    `nebula.http.endpoints.json_body`); `query` documents its query parameters.
    `response` is the JSON Schema of its answer's body (any JSON when None; a
    `contentMediaType` in it names a media type other than JSON), answered with one of
    `statuses`; `problems` lists the problem statuses it answers beyond those every route
    may (400; 401 and 403 unless public; 404 with path parameters; 422 with a body; 503
    for a plugin's), such as 409 or 502. All of it is what OpenAPI documents."""

    method: str
    path: str
    handler: Handler
    summary: str
    role: Role = Role.VIEWER
    body: Mapping[str, Any] | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    tag: str = "agent"
    response: Mapping[str, Any] | None = None
    statuses: tuple[int, ...] = (200,)
    problems: tuple[int, ...] = ()


class Slot(StrEnum):
    """Where a page's HTML goes: its own page in the panel's frame, or a section of the
    overview's side column (the Jarvis chat pane)."""

    PAGE = "page"
    OVERVIEW = "overview"


PAGE, OVERVIEW = Slot.PAGE, Slot.OVERVIEW


@dataclass(frozen=True)
class WebPage:
    """A page of the web panel, or a section of one, rendered by the core's frame.

    `render(request)` returns the HTML of the page's main area (or of the section); the
    plugin escapes what it puts in it, and adds no inline script or style (the panel's
    Content-Security-Policy refuses them: behaviour goes in a `nebula_web_assets` script).
    A page lives at `/<plugin><path>` and, with `nav`, is listed in the panel's navigation
    under its `title`; `role` is who may see it (anyone signed in, by default; a signed-out
    visitor is sent to sign in)."""

    title: str
    render: Callable[[web.Request], Awaitable[str]]
    path: str = ""
    nav: bool = False
    role: Role = Role.VIEWER
    slot: Slot = Slot.PAGE


@dataclass(frozen=True)
class SignedIn:
    """Who a browser's credential (a session cookie, say) belongs to, as its authenticator
    found it. `csrf` is the token the panel's pages carry for writes made with it (sent
    back as `X-CSRF-Token` or a `csrf` form field, which the authenticator checks);
    `caller` is whom per-client limits count against (one session, not one user)."""

    principal: Principal
    csrf: str = ""
    caller: str = ""


@dataclass(frozen=True)
class Authenticator:
    """A way for browsers to sign in, contributed by a plugin (`nebula_authenticator`); the
    built-in `auth` plugin's sessions are one.

    The core asks a request without `Authorization: Bearer …` (bearer tokens are the
    core's) of every running authenticator in turn: `authenticate(request)` returns a
    `SignedIn`, or None when the request carries no credential of its kind. A credential
    that is there but must not be honoured (a write without its CSRF token, a WebSocket or
    write from another site) raises an `aiohttp.web.HTTPForbidden` (the core answers it
    as a 403 problem). A signed-out browser asking for a page is sent to `login_path`
    (with `?next=` the page); the panel's "Log out" button posts to `logout_path`."""

    authenticate: Callable[[web.Request], Awaitable[SignedIn | None]]
    login_path: str
    logout_path: str = ""
