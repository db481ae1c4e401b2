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
    from pathlib import Path

    import click
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
    from nebula.surfaces import Authenticator, Endpoint, WebPage

hookspec = pluggy.HookspecMarker("nebula")
# The core's built-in plugins mark their hooks with this (plugins use nebula.api.hookimpl,
# the same marker); importing it costs no more than pluggy.
hookimpl = pluggy.HookimplMarker("nebula")


# --- configuration -------------------------------------------------------------------------


@hookspec
def nebula_config_schema() -> Mapping[str, Any] | None:
    """JSON Schema (an object schema) for the plugin's `[plugins.<name>]` section.

    For plugins handed in as objects (and API 1.0/1.1); a 1.2 plugin states its schema in
    its manifest (`Manifest.config_schema`), which the agent reads without importing the
    plugin. Called once at load time, before startup. `enabled` is added by the core. Keys marked
    `"writeOnly": true`, or named like a secret (password, token, secret, api_key), are
    treated as secrets: masked in `config show` and redacted from logs and API answers.
    Raising marks the plugin failed."""


@hookspec
def nebula_validate_config(config: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """What is wrong in the plugin's config that its schema cannot say (a warning limit
    past its critical one, a name that cannot be used, a file that cannot be read), as
    `(key path inside the section, message)` pairs; an empty path means the section.

    Called with the section as the plugin gets it (validated, with its defaults) before
    every start, where a problem fails the start, and by `nebula config validate`, which
    prints each with its file and line: both run this one function. Must not reach any
    service (no I/O beyond reading files the config names)."""


# --- lifecycle -----------------------------------------------------------------------------


@hookspec
def nebula_startup(ctx: PluginContext) -> Any:
    """Called when the plugin starts (agent start, or enable/reconfigure on reload).

    May be `async def`; the core awaits it under `[agent].startup_timeout`. What it returns
    is the plugin's running state (its clients, its coordinator): the core keeps it as
    `ctx.runtime`, hands it to every other hook as `runtime`, and closes it when the plugin
    stops (`await runtime.aclose()`, or `runtime.close()`, whichever it has). Raising or
    timing out marks the plugin failed and skips its contributions."""


@hookspec
def nebula_shutdown(ctx: PluginContext, runtime: Any) -> Awaitable[None] | None:
    """Called when the plugin stops (agent shutdown, or disable/reconfigure on reload),
    before the core closes `runtime`.

    May be `async def`; awaited under a timeout. Errors are logged and otherwise ignored."""


@hookspec
def nebula_reconfigure(ctx: PluginContext, runtime: Any,
                       config: Mapping[str, Any]) -> Awaitable[bool] | bool | None:
    """Called on a reload that changed the running plugin's config section, with the new
    section, validated and with its defaults.

    May be `async def`. Return True when the runtime took the new config as it is (the
    plugin keeps running, and keeps its state; `ctx.config` becomes `config`); anything
    else, or no implementation, and the core restarts the plugin (shutdown, then startup
    with the new config). Raising counts as False, after a warning in the log."""


# --- contributions -------------------------------------------------------------------------
# Called once after a successful startup, each with the plugin's context and its runtime.


@hookspec
def nebula_checks(ctx: PluginContext, runtime: Any) -> Iterable[Check]:
    """Health checks the plugin contributes."""


@hookspec
def nebula_actions(ctx: PluginContext, runtime: Any) -> Iterable[Action]:
    """Actions the plugin contributes. Destructive ones always go through approval."""


@hookspec
def nebula_panels(ctx: PluginContext, runtime: Any) -> Iterable[Panel]:
    """Dashboard panels the plugin contributes (data, not HTML)."""


@hookspec
def nebula_tools(ctx: PluginContext, runtime: Any) -> Iterable[Tool]:
    """Jarvis tools the plugin contributes: read-only queries, or actions exposed to the model."""


@hookspec
def nebula_jobs(ctx: PluginContext, runtime: Any) -> Iterable[Job]:
    """Scheduled jobs (interval or cron) the plugin contributes."""


@hookspec
def nebula_routes(ctx: PluginContext, runtime: Any) -> web.RouteTableDef | None:
    """HTTP routes, mounted under `/plugins/<name>/` behind the agent's authentication.
    Whole bodies are redacted by the core; a streamed answer goes through
    `StreamRedactor`."""


@hookspec
def nebula_subscriptions(ctx: PluginContext, runtime: Any) -> Iterable[Subscription]:
    """Event subscriptions: each handler is awaited for every event whose topic matches."""


@hookspec
def nebula_webhooks(ctx: PluginContext, runtime: Any) -> Iterable[Webhook]:
    """Webhooks: routes other systems call with a shared secret instead of a token."""


# --- interfaces ----------------------------------------------------------------------------
# What a plugin adds to the CLI, the HTTP API and the web panel, as the core's own commands,
# endpoints and pages are.


@hookspec
def nebula_cli_commands() -> Iterable[click.Command]:
    """Commands added to the `nebula` group (`nebula <name> ...`).

    Called by the CLI at every start, without a context (the plugin is not running there),
    so it should return `nebula.helpers.cli.lazy_command`s, which import the real command's
    module only when it runs. A name the core or an earlier plugin already uses is skipped
    with a warning; so is every command of a plugin whose hook raises."""


@hookspec
def nebula_api_endpoints(ctx: PluginContext, runtime: Any) -> Iterable[Endpoint]:
    """HTTP API endpoints under `/api/v1/<plugin>`, each with its summary, role and body
    schema, so they are in the OpenAPI document and behind the API's authentication (roles,
    CSRF, problem+json errors) like the core's."""


@hookspec
def nebula_web_pages(ctx: PluginContext, runtime: Any) -> Iterable[WebPage | Endpoint]:
    """Pages of the web panel, at `/<plugin><path>`, rendered inside the panel's frame (and
    listed in its navigation with `nav=True`), or sections of the overview's side column
    (`slot="overview"`). An `Endpoint` among them is a panel route that makes its own
    answer (a form post, a page that sets a cookie or redirects)."""


@hookspec
def nebula_web_assets(ctx: PluginContext, runtime: Any) -> Iterable[Path]:
    """Scripts (`.js`) and stylesheets (`.css`) of the plugin's package, served at
    `/static/<plugin>/<file name>` and linked from every page of the panel."""


@hookspec
def nebula_authenticator(ctx: PluginContext, runtime: Any) -> Authenticator | None:
    """A way for browsers to sign in to the panel and the API (`nebula.surfaces.
    Authenticator`): asked, after bearer tokens, who a request's own credential (a session
    cookie) belongs to. The built-in `auth` plugin's users and sessions are one."""
