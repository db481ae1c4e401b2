"""Every hook a Nebula plugin can implement.

Hooks are synchronous and *declare*: they return contributions (see `nebula.contributions`).
The callables inside contributions are `async def` and are run by the core under a timeout.
The core calls each plugin's implementation on its own, so everything a hook returns is
attributed to the plugin that returned it, and a hook that raises marks only that plugin
`failed` (with the reason); the agent and the other plugins go on.

Hooks only ever gain arguments; an implementation may take any subset of them.
Each hook is documented in docs/plugins.md (a test keeps the two in step).
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from aiohttp import web

    from nebula.context import PluginContext
    from nebula.contributions import (
        Action,
        Check,
        Job,
        Panel,
        Subscription,
        Tool,
        Webhook,
    )

hookspec = pluggy.HookspecMarker("nebula")


# --- configuration -------------------------------------------------------------------------


@hookspec
def nebula_config_schema() -> Mapping[str, Any] | None:
    """JSON Schema (an object schema) for the plugin's `[plugins.<name>]` section.

    Called once at load time, before startup. `enabled` is added by the core. Keys marked
    `"writeOnly": true`, or named like a secret (password, token, secret, api_key), are
    treated as secrets: masked in `config show` and redacted from logs and API answers.
    Raising marks the plugin failed."""


# --- lifecycle -----------------------------------------------------------------------------


@hookspec
def nebula_startup(ctx: PluginContext) -> Awaitable[None] | None:
    """Called when the plugin starts (agent start, or enable/reconfigure on reload).

    May be `async def`; the core awaits it under `[agent].startup_timeout`. Raising or
    timing out marks the plugin failed and skips its contributions."""


@hookspec
def nebula_shutdown(ctx: PluginContext) -> Awaitable[None] | None:
    """Called when the plugin stops (agent shutdown, or disable/reconfigure on reload).

    May be `async def`; awaited under a timeout. Errors are logged and otherwise ignored."""


# --- contributions -------------------------------------------------------------------------


@hookspec
def nebula_checks(ctx: PluginContext) -> Iterable[Check]:
    """Health checks the plugin contributes. Called after a successful startup."""


@hookspec
def nebula_actions(ctx: PluginContext) -> Iterable[Action]:
    """Actions the plugin contributes. Destructive ones always go through approval."""


@hookspec
def nebula_panels(ctx: PluginContext) -> Iterable[Panel]:
    """Dashboard panels the plugin contributes (data, not HTML)."""


@hookspec
def nebula_tools(ctx: PluginContext) -> Iterable[Tool]:
    """Jarvis tools the plugin contributes: read-only queries, or actions exposed to the model."""


@hookspec
def nebula_jobs(ctx: PluginContext) -> Iterable[Job]:
    """Scheduled jobs (interval or cron) the plugin contributes."""


@hookspec
def nebula_routes(ctx: PluginContext) -> web.RouteTableDef | None:
    """HTTP routes, mounted under `/plugins/<name>/` behind the agent's authentication."""


@hookspec
def nebula_subscriptions(ctx: PluginContext) -> Iterable[Subscription]:
    """Event subscriptions: each handler is awaited for every event whose topic matches."""


@hookspec
def nebula_webhooks(ctx: PluginContext) -> Iterable[Webhook]:
    """Webhooks: routes other systems call with a shared secret instead of a token."""
