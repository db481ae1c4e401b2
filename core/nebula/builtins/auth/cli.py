"""user add|passwd|remove|list|totp: the web panel's sign-in accounts."""

from __future__ import annotations

import sys
from typing import Any

import click

from nebula.cli.common import State, agent_client, json_option, output, pass_state, table
from nebula.roles import ACCOUNT_ROLES, Role


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group()
def user() -> None:
    """Manage who can sign in to the web panel."""


@user.command()
@click.argument("name")
@click.option("--role", type=click.Choice([str(r) for r in ACCOUNT_ROLES]),
              default=str(Role.ADMIN),
              show_default=True, help="viewers can look but not act.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@json_option
@pass_state
def add(state: State, name: str, role: str, password_stdin: bool, as_json: bool) -> None:
    """Add user NAME (asks for a password; stored as an argon2 hash)."""
    password = _password(password_stdin)
    with agent_client(state) as client:
        data = client.post("/api/v1/users", {"name": name, "password": password, "role": role})
    output(data, as_json, lambda d: click.echo(f"added {d['name']} ({d['role']})"))


@user.command()
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@json_option
@pass_state
def passwd(state: State, name: str, password_stdin: bool, as_json: bool) -> None:
    """Set NAME's password; every session of theirs ends."""
    password = _password(password_stdin)
    with agent_client(state) as client:
        data = client.request("PUT", f"/api/v1/users/{name}/password", {"password": password})
    output(data, as_json, lambda d: click.echo(f"password changed for {d['name']}; "
                                               "their sessions ended"))


@user.command()
@click.argument("name")
@json_option
@pass_state
def remove(state: State, name: str, as_json: bool) -> None:
    """Remove NAME and end their sessions."""
    with agent_client(state) as client:
        data = client.request("DELETE", f"/api/v1/users/{name}")
    output(data, as_json, lambda d: click.echo(f"removed {d['removed']}"))


@user.command(name="list")
@json_option
@pass_state
def list_users(state: State, as_json: bool) -> None:
    """Users, their role and whether they use a second factor."""
    with agent_client(state) as client:
        data = client.get("/api/v1/users")
    output(data, as_json, lambda d: table(
        [(u["name"], u["role"], "yes" if u["totp"] else "no") for u in d["users"]],
        ("USER", "ROLE", "TOTP")))


@user.command()
@click.argument("name")
@click.option("--off", is_flag=True, help="Turn the second factor off instead.")
@json_option
@pass_state
def totp(state: State, name: str, off: bool, as_json: bool) -> None:
    """Turn on a TOTP second factor for NAME: prints the secret, an otpauth:// URI for an
    authenticator app, and ten single-use recovery codes (shown this once).

    Unlike the panel's /security page, this does not ask for NAME's password: it runs as
    this host's admin (the agent's runtime file, or its store when no agent runs), who
    could set any password anyway."""
    with agent_client(state) as client:
        if off:
            data = client.request("DELETE", f"/api/v1/users/{name}/totp")
            output(data, as_json, lambda d: click.echo(f"second factor off for {d['name']}"))
            return
        data = client.post(f"/api/v1/users/{name}/totp")

    def human(d: dict[str, Any]) -> None:
        click.echo(f"TOTP on for {d['user']}. Add it to an authenticator app:\n  {d['uri']}\n"
                   f"  (secret {d['secret']})\nRecovery codes, each usable once:")
        for c in d["recovery_codes"]:
            click.echo(f"  {c}")

    output(data, as_json, human)

