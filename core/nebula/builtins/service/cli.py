"""service install|uninstall: run the agent as a systemd service (docs/service.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from nebula.builtins.service.systemd import Plan, Target

_root_option = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"),
    show_default=True, help="Install into this staging root (packaging, images, tests); "
                            "the unit still names the real paths.")
_print_option = click.option(
    "--print", "--dry-run", "dry_run", is_flag=True,
    help="Print what would be done (and the unit) and change nothing.")


@click.group()
def service() -> None:
    """Run the agent as a systemd service: a unit, a system user, /etc/nebula."""


@service.command()
@_root_option
@_print_option
@click.option("--user", default="nebula", show_default=True,
              help="The system user the service runs as (created if missing).")
@click.option("--exec", "exec_path", metavar="PATH",
              help="The nebula executable the unit runs (default: this installation's).")
@click.option("--credential", "credentials", multiple=True, metavar="ID=FILE",
              help="Also hand the service FILE as $CREDENTIALS_DIRECTORY/ID (LoadCredential=)"
                   "; IDs a *_file key of the config names are added by themselves.")
def install(root: Path, dry_run: bool, user: str, exec_path: str | None,
            credentials: tuple[str, ...]) -> None:
    """Write the systemd unit and /etc/nebula/nebula.toml, create the user, start it."""
    from nebula.builtins.service.systemd import ServiceError, Target, default_exec, install_plan

    given = {}
    for item in credentials:
        name, sep, source = item.partition("=")
        if not sep or not name or not source.startswith("/"):
            raise click.BadParameter(f"{item!r} is not ID=/absolute/file",
                                     param_hint="--credential")
        given[name] = source
    target = Target(root)
    _need_root(target, dry_run)
    try:
        plan = install_plan(target, [exec_path] if exec_path else default_exec(), user, given)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    _carry_out(plan, dry_run)


@service.command()
@_root_option
@_print_option
@click.option("--purge", is_flag=True,
              help="Also remove /etc/nebula, /var/lib/nebula (all the agent's data) and the "
                   "user install created.")
def uninstall(root: Path, dry_run: bool, purge: bool) -> None:
    """Stop and disable the service and remove its unit; the data stays unless --purge."""
    from nebula.builtins.service.systemd import Target, uninstall_plan

    target = Target(root)
    _need_root(target, dry_run)
    _carry_out(uninstall_plan(target, purge), dry_run)


def _need_root(target: Target, dry_run: bool) -> None:
    if target.live and not dry_run and os.geteuid() != 0:
        raise click.ClickException("this changes the system: run it as root (sudo), or "
                                   "see what it would do with --print")


def _carry_out(plan: Plan, dry_run: bool) -> None:
    from nebula.builtins.service.systemd import ServiceError, carry_out

    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    if dry_run:
        if plan.unit is not None:
            click.echo(plan.unit)
        click.echo("Would:")
        for step in plan.steps:
            click.echo(f"  {step.says}")
        return
    try:
        carry_out(plan, lambda says: click.echo(f"  {says}"))
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
