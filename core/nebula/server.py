"""The one app factory: `create_app(config, plugins=...)` builds the agent and the server
that fronts it, the HTTP API (`nebula.http`) with the web panel (`nebula.web`) mounted on
it. The two interfaces meet here only: the panel uses the HTTP layer's endpoints and
helpers, and the HTTP layer is handed the panel's pages without importing them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web

from nebula.agent import Agent
from nebula.config import Config
from nebula.http.app import Panel, build_app
from nebula.web import (
    approvals_view,
    audit_view,
    check_page,
    errors,
    events_view,
    pages,
    plugin_pages,
)
from nebula.web.history import SPARKLINES, Sparklines
from nebula.web.live import FirstResults
from nebula.web.signed_out import signed_out

# Importing the panel's modules adds their pages to the endpoint table.
_PAGE_MODULES = (approvals_view, audit_view, check_page, errors, events_view, pages,
                 plugin_pages)


def create_app(
    config: Config, plugins: Mapping[str, Any] | None = None, *, discover: bool = True,
    agent: Agent | None = None, schedule: bool = True,
) -> web.Application:
    """The agent's web application; the agent starts and stops with it."""
    agent = agent or Agent(config, plugins, discover=discover)
    app = build_app(config, agent, Panel(pages.plugin_page_endpoints, signed_out),
                    schedule=schedule)
    app[SPARKLINES] = Sparklines(agent.store, agent.health)
    # Just inside the host check: it sees every problem answer the HTTP layer made and
    # gives a browser asking for a page an HTML one instead.
    app.middlewares.insert(1, errors.html_errors)

    async def panel(_app: web.Application) -> AsyncIterator[None]:
        # After the agent's start (the HTTP app's own lifecycle, first in the list).
        FirstResults(agent).start()
        yield

    app.cleanup_ctx.append(panel)
    return app
