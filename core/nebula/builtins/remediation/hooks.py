"""The remediation plugin's hooks: the policy engine is its runtime; its API and CLI."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nebula.hookspecs import hookimpl

if TYPE_CHECKING:
    import click

    from nebula.builtins.remediation.engine import Remediation
    from nebula.context import PluginContext
    from nebula.http.endpoints import Endpoint


@hookimpl
async def nebula_startup(ctx: PluginContext) -> Remediation:
    from nebula.builtins import agent_of
    from nebula.builtins.remediation.engine import Remediation

    agent = agent_of(ctx)
    remediation = Remediation(agent.health, agent.actions, ctx.emit)
    await remediation.configure(ctx.config["remediation"])
    return remediation


@hookimpl
async def nebula_reconfigure(runtime: Remediation, config: Mapping[str, Any]) -> bool:
    # In place: an unchanged policy keeps its counters, rate window and breaker.
    await runtime.configure(config["remediation"])
    return True


@hookimpl
def nebula_api_endpoints(runtime: Remediation) -> Iterable[Endpoint]:
    from nebula.builtins.remediation.api import endpoints

    return endpoints(runtime)


@hookimpl
def nebula_cli_commands() -> Iterable[click.Command]:
    from nebula.helpers.cli import lazy_command

    return [lazy_command("remediation", "nebula.builtins.remediation.cli:remediation",
                         "Self-healing policies ([[remediation]] in the config).")]
