"""`nebula uptime [CHECK] [--window W] [--json]`."""

from __future__ import annotations

from typing import Any

import click

from nebula.cli.common import State, agent_client, json_option, output, pass_state, table
from nebula.helpers.uptime import WINDOWS
from nebula.units import duration


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def _human(data: dict[str, Any], windows: tuple[str, ...]) -> None:
    reports = data.get("checks", [data])
    table([(r["check"], *(_percent(r["uptime"][w]["uptime"]) for w in windows),
            len(r["incidents"]), duration(r["mttr"]) if r["mttr"] is not None else "-")
           for r in reports], ("CHECK", *(w.upper() for w in windows), "INCIDENTS", "MTTR"))
    if len(reports) == 1:
        for incident in reports[0]["incidents"]:
            lasted = duration(incident["duration"]) if incident["end"] else "ongoing"
            click.echo(f"  {incident['worst']:<8} {lasted:<12} {incident['summary']}")


@click.command()
@click.argument("check", required=False)
@click.option("--window", type=click.Choice(list(WINDOWS)),
              help="Only this window (default: all four).")
@json_option
@pass_state
def uptime(state: State, check: str | None, window: str | None, as_json: bool) -> None:
    """Uptime (time ok over time ok, warning or critical; unknown and maintenance apart),
    incidents and mean time to recover, from the stored history."""
    query = f"?window={window}" if window else ""
    path = f"/api/v1/uptime/checks/{check}" if check else "/api/v1/uptime"
    with agent_client(state) as client:
        data = client.get(path + query)
    windows = (window,) if window else tuple(WINDOWS)
    output(data, as_json, lambda d: _human(d, windows))
