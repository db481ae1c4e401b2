"""The openapi plugin's hooks: one API endpoint, the document of what is served now."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from nebula.hookspecs import hookimpl

if TYPE_CHECKING:
    from nebula.surfaces import Endpoint


@hookimpl
def nebula_api_endpoints() -> Iterable[Endpoint]:
    from aiohttp import web

    from nebula.builtins.openapi.document import document
    from nebula.http.endpoints import Endpoint, ok
    from nebula.http.keys import ROUTE_TABLE
    from nebula.http.schemas import OBJECT

    async def serve(request: web.Request) -> web.Response:
        # Plugins' endpoints come and go with them: the document says what is served now.
        table = request.app[ROUTE_TABLE]
        return ok(document(table.core, table.plugins()))

    return [Endpoint("GET", "/openapi.json", serve, "This document: every route of the agent",
                     response=OBJECT, tag="agent")]
