"""What a browser gets when a page goes wrong: an HTML page in the panel's theme (404,
403, 500…), not a problem+json document. The API, plugin routes and webhooks, and any
client that does not ask for HTML keep their RFC 9457 answers; the middleware only
rewrites those answers, after the HTTP layer made them."""

from __future__ import annotations

import contextlib
import json
from http import HTTPStatus
from pathlib import Path

from aiohttp import web

from nebula.http.endpoints import PUBLIC, endpoint
from nebula.http.problems import PROBLEM_TYPE
from nebula.surfaces import PAGE_TAG, Handler
from nebula.web.html import bare_page, e

FAVICON = (Path(__file__).parent / "static" / "favicon.svg").read_bytes()
# Paths that are never pages, whatever the client accepts.
NOT_PAGES = ("/api/", "/plugins/", "/static/", "/healthz", "/metrics")
WHAT = {404: "There is no page here.", 403: "This page is for admins.",
        405: "That is not how this page is used.",
        500: "Something went wrong on the agent; its log has the details."}


def wants_page(request: web.Request) -> bool:
    return (request.method in ("GET", "HEAD") and not request.path.startswith(NOT_PAGES)
            and "text/html" in request.headers.get("Accept", ""))


def error_page(status: int, detail: str) -> str:
    phrase = HTTPStatus(status).phrase
    what = WHAT.get(status, "The agent could not answer this page.")
    said = f'<p class="muted detail">{e(detail)}</p>' if detail and status != 500 else ""
    return bare_page(phrase, f'<h1><span aria-hidden="true">✦</span> {status}</h1>'
                             f"<h2>{e(phrase)}</h2><p>{e(what)}</p>{said}"
                             '<p><a class="btn primary" href="/">Back to the overview</a></p>')


@web.middleware
async def html_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if response.status < 400 or response.content_type != PROBLEM_TYPE \
            or not wants_page(request) or not isinstance(response, web.Response):
        return response
    detail = ""
    with contextlib.suppress(ValueError):
        detail = str(json.loads(response.text or "{}").get("detail") or "")
    page = web.Response(text=error_page(response.status, detail), status=response.status,
                        content_type="text/html", headers={"Cache-Control": "no-store"})
    if "Allow" in response.headers:
        page.headers["Allow"] = response.headers["Allow"]
    return page


def _icon(_request: web.Request) -> web.Response:
    return web.Response(body=FAVICON, content_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


@endpoint("GET", "/favicon.svg", "The panel's icon (public)", role=PUBLIC, tag=PAGE_TAG)
async def favicon(request: web.Request) -> web.Response:
    return _icon(request)


@endpoint("GET", "/favicon.ico", "The panel's icon where browsers look unasked (public)",
          role=PUBLIC, tag=PAGE_TAG)
async def favicon_ico(request: web.Request) -> web.Response:
    return _icon(request)
