"""token create|list|revoke."""

from __future__ import annotations

import click

from nebula.cli.common import (
    CoreGroup,
    State,
    agent_client,
    json_option,
    output,
    pass_state,
    table,
)
from nebula.roles import ACCOUNT_ROLES, Role


@click.group(cls=CoreGroup)
def token() -> None:
    """Manage API tokens for scripts and other machines."""


@token.command()
@click.argument("name")
@click.option("--role", type=click.Choice([str(r) for r in ACCOUNT_ROLES]),
              default=str(Role.ADMIN),
              show_default=True, help="viewer tokens can only read.")
@json_option
@pass_state
def create(state: State, name: str, role: str, as_json: bool) -> None:
    """Create a token called NAME; its value is shown this once."""
    with agent_client(state) as client:
        data = client.post("/api/v1/tokens", {"name": name, "role": role})
    output(data, as_json, lambda d: click.echo(
        f"token {d['id']} ({d['name']}, {d['role']}), shown once:\n  {d['token']}"))


@token.command(name="list")
@json_option
@pass_state
def list_tokens(state: State, as_json: bool) -> None:
    """Tokens and their state (values are never shown again)."""
    with agent_client(state) as client:
        data = client.get("/api/v1/tokens")
    output(data, as_json, lambda d: table(
        [(t["id"], t["name"], t["role"], "revoked" if t["revoked"] else "active")
         for t in d["tokens"]], ("ID", "NAME", "ROLE", "STATE")))


@token.command()
@click.argument("token_id", type=int)
@json_option
@pass_state
def revoke(state: State, token_id: int, as_json: bool) -> None:
    """Revoke token TOKEN_ID at once."""
    with agent_client(state) as client:
        data = client.request("DELETE", f"/api/v1/tokens/{token_id}")
    output(data, as_json, lambda d: click.echo(f"revoked token {d['revoked']}"))


COMMANDS = (token,)
