"""maintenance list|start|stop: the windows of [[maintenance]] and ad-hoc ones."""

from __future__ import annotations

import time
from typing import Any

import click

from nebula.cli.common import State, agent_client, json_option, output, pass_state, table


@click.group()
def maintenance() -> None:
    """Maintenance windows: checks run and are kept, marked; alerts and fixes wait."""


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


def _targets(window: dict[str, Any]) -> str:
    targets = window["targets"]
    if targets["all"]:
        return "all checks"
    return " ".join([*targets["checks"], *(f"plugin:{p}" for p in targets["plugins"])])


def _state(window: dict[str, Any]) -> str:
    if not window["enabled"]:
        return "disabled"
    if window["open"]:
        return f"open until {_when(window['end'])}"
    return f"next {_when(window['next_start'])}" if window["next_start"] else "over"


@maintenance.command(name="list")
@json_option
@pass_state
def list_windows(state: State, as_json: bool) -> None:
    """Every window: configured or ad-hoc, open or next, and what it covers."""
    with agent_client(state) as client:
        data = client.get("/api/v1/maintenance")
    output(data, as_json, lambda d: table(
        [(w["name"], w["source"], w["cron"] or "once", _state(w), _targets(w), w["reason"])
         for w in d["windows"]],
        ("WINDOW", "SOURCE", "WHEN", "STATE", "COVERS", "REASON")))


@maintenance.command()
@click.option("--duration", default="1h", show_default=True,
              help="How long: seconds, or like 30m, 2h, 1h30m.")
@click.option("--check", "checks", multiple=True,
              help="A check (name or pattern, docker.*) to cover; repeatable.")
@click.option("--plugin", "plugins", multiple=True,
              help="A plugin whose checks to cover; repeatable.")
@click.option("--reason", default="", help="Why (shown in the panel and the events).")
@click.option("--name", default=None, help="The window's name (default adhoc-<time>).")
@json_option
@pass_state
def start(state: State, duration: str, checks: tuple[str, ...], plugins: tuple[str, ...],
          reason: str, name: str | None, as_json: bool) -> None:
    """Open a window now (every check, unless --check or --plugin narrow it)."""
    body: dict[str, Any] = {"duration": duration, "checks": list(checks),
                            "plugins": list(plugins), "reason": reason}
    if name:
        body["name"] = name
    with agent_client(state) as client:
        data = client.post("/api/v1/maintenance/start", body)
    output(data, as_json, lambda w: click.echo(
        f"{w['name']}: open until {_when(w['end'])}, covering {_targets(w)} "
        f"({len(w['checks'])} checks now)"))


@maintenance.command()
@click.argument("name")
@json_option
@pass_state
def stop(state: State, name: str, as_json: bool) -> None:
    """Close window NAME now (a configured one: its current occurrence)."""
    with agent_client(state) as client:
        data = client.post(f"/api/v1/maintenance/{name}/stop")
    output(data, as_json, lambda w: click.echo(f"{w['name']}: closed"))
