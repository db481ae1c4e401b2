"""remediation list|reset: the self-healing policies of [[remediation]] and their state."""

from __future__ import annotations

from typing import Any

import click

from nebula.cli.common import State, agent_client, json_option, output, pass_state, table


@click.group()
def remediation() -> None:
    """Self-healing policies ([[remediation]] in the config)."""


def _state(policy: dict[str, Any]) -> str:
    if not policy["enabled"]:
        return "disabled"
    if not policy["valid"]:
        return "invalid: " + "; ".join(policy["problems"])
    return f"breaker {policy['breaker']}"


def _last(policy: dict[str, Any]) -> str:
    last = policy["last_run"]
    return last["status"] if last else "never"


@remediation.command(name="list")
@json_option
@pass_state
def list_policies(state: State, as_json: bool) -> None:
    """Every policy: what it watches and runs, its runs this hour and its breaker."""
    with agent_client(state) as client:
        data = client.get("/api/v1/remediation")
    output(data, as_json, lambda d: table(
        [(p["name"], f"{p['check']} {p['status']} x{p['cycles']}", p["action"],
          f"{p['runs_last_hour']}/{p['max_runs_per_hour']}", _last(p), _state(p))
         for p in d["policies"]],
        ("POLICY", "WHEN", "ACTION", "RUNS/H", "LAST RUN", "STATE")))


@remediation.command()
@click.argument("name")
@json_option
@pass_state
def reset(state: State, name: str, as_json: bool) -> None:
    """Close policy NAME's circuit breaker."""
    with agent_client(state) as client:
        data = client.post(f"/api/v1/remediation/{name}/reset")
    output(data, as_json, lambda d: click.echo(f"{d['name']}: breaker {d['breaker']}"))
