"""`nebula notify channels|test|add|remove`: the notify plugin's channels, through the
agent's API (a running agent, or a one-shot one for the command). Each is the panel's
table or one of the plugin's actions (notify.test, notify.add_channel,
notify.remove_channel), so the API, the panel and the CLI do the same thing."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from nebula.helpers.cli import agent_api

WAIT = 120  # seconds the agent holds the answer while a test goes out


def _json_option(func: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(
        func)


def _run(action: str, params: dict[str, Any]) -> Any:
    with agent_api() as api:
        outcome = api.post(f"/api/v1/actions/notify.{action}/run",
                           {"params": params, "wait": WAIT})
    if outcome.get("status") != "ok":
        raise click.ClickException(f"notify.{action}: {outcome.get('status')}: "
                                   f"{outcome.get('error', '')}")
    return outcome["result"]


def _print_outcomes(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        click.echo(f"{row['channel']}: {row['outcome']} ({row['detail']})")


@click.group()
def notify() -> None:
    """Notification channels (the notify plugin): list, test, add, remove."""


@notify.command()
@_json_option
def channels(as_json: bool) -> None:
    """Every channel, its type and last delivery."""
    with agent_api() as api:
        rows = api.get("/api/v1/panels/notify.channels")["data"]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "down" if row["down_since"] else (row["last_outcome"] or "unused")
        extra = f": {row['last_error']}" if row["last_error"] else ""
        click.echo(f"{row['channel']:<16} {row['type']:<8} "
                   f"{'added' if row['added'] else 'config':<7} {state}{extra}")


@notify.command()
@click.argument("channel", required=False)
@click.option("--message", default="This is a test message from Nebula Command.",
              help="The text to send.")
@_json_option
def test(channel: str | None, message: str, as_json: bool) -> None:
    """Send a test message to CHANNEL (default: every channel); exits 1 if one failed."""
    params: dict[str, Any] = {"message": message}
    if channel:
        params["channel"] = channel
    rows = _run("test", params)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _print_outcomes(rows)
    if any(row["outcome"] != "sent" for row in rows):
        sys.exit(1)


@notify.command()
@click.argument("name")
@click.option("--url-file", type=click.File("r"),
              help="Read the Apprise URL from this file ('-' for stdin) instead of a "
                   "hidden prompt: it holds credentials, keep it out of shell history.")
@click.option("--event", "events", multiple=True, help="An event topic pattern (repeatable).")
@click.option("--severity", "severities", multiple=True,
              type=click.Choice(["info", "ok", "warning", "unknown", "critical"]),
              help="A severity to send (repeatable; default all).")
@click.option("--no-test", is_flag=True, help="Do not send a test message.")
@_json_option
def add(name: str, url_file: Any, events: tuple[str, ...], severities: tuple[str, ...],
        no_test: bool, as_json: bool) -> None:
    """Add channel NAME from an Apprise URL (kept encrypted by the agent) and test it."""
    url = (url_file.read() if url_file else
           click.prompt("Apprise URL", hide_input=True, err=True)).strip()
    params: dict[str, Any] = {"name": name, "url": url, "test": not no_test}
    if events:
        params["events"] = list(events)
    if severities:
        params["severities"] = list(severities)
    result = _run("add_channel", params)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f"added {result['channel']['channel']}")
        if "test" in result:
            _print_outcomes([result["test"]])
    if result.get("test", {}).get("outcome", "sent") != "sent":
        sys.exit(1)


@notify.command()
@click.argument("name")
@_json_option
def remove(name: str, as_json: bool) -> None:
    """Remove channel NAME (one added with `nebula notify add`)."""
    result = _run("remove_channel", {"name": name})
    click.echo(json.dumps(result) if as_json else f"removed {result['removed']}")
