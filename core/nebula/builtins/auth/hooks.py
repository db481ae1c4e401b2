"""The auth plugin's hooks: the runtime (users, sessions, lockouts, the setup code) is what
startup returns; its authenticator, pages (/login, /setup, /security), API and the
`nebula user` commands. Nothing heavy is
imported here: the CLI reads this module at every start for its commands."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nebula.hookspecs import hookimpl

if TYPE_CHECKING:
    import click

    from nebula.builtins.auth.runtime import Auth
    from nebula.context import PluginContext
    from nebula.contributions import Action
    from nebula.surfaces import Authenticator, Endpoint, WebPage


@hookimpl
async def nebula_startup(ctx: PluginContext) -> Auth:
    from nebula.builtins import agent_of
    from nebula.builtins.auth.runtime import Auth

    auth = Auth(agent_of(ctx), ctx.config)
    await auth.start()
    return auth


@hookimpl
def nebula_reconfigure(runtime: Auth, config: Mapping[str, Any]) -> bool:
    # Sessions and lockouts in progress go on under the new limits.
    runtime.configure(config)
    return True


@hookimpl
def nebula_actions(runtime: Auth) -> Iterable[Action]:
    from nebula.builtins.auth.actions import actions

    return actions(runtime)


@hookimpl
def nebula_authenticator(runtime: Auth) -> Authenticator:
    return runtime.authenticator


@hookimpl
def nebula_api_endpoints(runtime: Auth) -> Iterable[Endpoint]:
    from nebula.builtins.auth.api import endpoints

    return endpoints(runtime)


@hookimpl
def nebula_web_pages(runtime: Auth) -> Iterable[WebPage | Endpoint]:
    from nebula.builtins.auth.account import account_pages
    from nebula.builtins.auth.login import login_routes
    from nebula.builtins.auth.setup import setup_routes

    return [*login_routes(runtime), *setup_routes(runtime), *account_pages(runtime)]


@hookimpl
def nebula_cli_commands() -> Iterable[click.Command]:
    from nebula.helpers.cli import lazy_command

    return [lazy_command("user", "nebula.builtins.auth.cli:user",
                         "Manage who can sign in to the web panel.")]
