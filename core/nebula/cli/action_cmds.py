"""action list|run and approvals list|approve|deny."""

from __future__ import annotations

import json
import time
from typing import Any

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

# Each request waits this long for the outcome before following the run (with progress):
# quick actions answer at once, and nothing long ever rests on one HTTP request.
REQUEST_WAIT = 2.0
POLL_INTERVAL = 0.5


@click.group(cls=CoreGroup)
def action() -> None:
    """List and run actions."""


@action.command(name="list")
@json_option
@pass_state
def list_actions(state: State, as_json: bool) -> None:
    """Every action, with (!) marking destructive ones."""
    with agent_client(state) as client:
        data = client.get("/api/v1/actions")
    output(data, as_json, lambda d: table(
        [(a["name"], "yes" if a["destructive"] else "", a["description"] or a["title"])
         for a in d["actions"]], ("ACTION", "DESTRUCTIVE", "DESCRIPTION")))


def parse_params(pairs: tuple[str, ...], raw: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if raw:
        try:
            params = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--params") from None
        if not isinstance(params, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--params")
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="-p")
        try:  # numbers, booleans and JSON literals keep their type; anything else is text
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


@action.command(name="run")
@click.argument("name")
@click.option("-p", "--param", "pairs", multiple=True, metavar="KEY=VALUE",
              help="A parameter; repeat for more. VALUE is parsed as JSON when it can be.")
@click.option("--params", "raw", metavar="JSON", help="All parameters as a JSON object.")
@click.option("--yes", is_flag=True,
              help="Approve a destructive action now (local admin on the host only; audited).")
@click.option("--no-wait", is_flag=True,
              help="Print the run's id and return; follow it with `nebula action status ID` "
                   "(needs a running agent: a one-shot agent stops with the command).")
@json_option
@pass_state
def run_action(state: State, name: str, pairs: tuple[str, ...], raw: str | None, yes: bool,
               no_wait: bool, as_json: bool) -> None:
    """Run action NAME and wait for it, showing progress; a destructive one waits for
    approval unless --yes."""
    body = {"params": parse_params(pairs, raw), "approve": yes,
            "wait": 0 if no_wait else REQUEST_WAIT}
    with agent_client(state) as client:
        outcome = client.post(f"/api/v1/actions/{name}/run", body)
        if not no_wait:
            outcome = follow(client, outcome, show_progress=not as_json)
    output(outcome, as_json, _print_outcome)
    if outcome["status"] in ("error", "interrupted"):
        raise SystemExit(1)


@action.command(name="status")
@click.argument("run_id")
@click.option("--wait", "wait_for_end", is_flag=True, help="Follow the run until it ends.")
@json_option
@pass_state
def run_status(state: State, run_id: str, wait_for_end: bool, as_json: bool) -> None:
    """A run's status, progress and outcome (from `action run --no-wait`)."""
    with agent_client(state) as client:
        run = client.get(f"/api/v1/runs/{run_id}")
        outcome = run["outcome"] or {"status": "running", "run": run}
        if wait_for_end:
            outcome = follow(client, outcome, show_progress=not as_json)
    output(outcome, as_json, _print_outcome)
    if outcome["status"] in ("error", "interrupted"):
        raise SystemExit(1)


def follow(client: Any, outcome: dict[str, Any], show_progress: bool) -> dict[str, Any]:
    """Poll a run until it ends, however long that takes, drawing its progress on stderr."""
    shown = False
    while outcome["status"] == "running":
        run = outcome["run"]
        if show_progress:
            click.echo(f"\r\033[K{_progress_line(run)}", nl=False, err=True)
            shown = True
        time.sleep(POLL_INTERVAL)
        run = client.get(f"/api/v1/runs/{run['id']}")
        outcome = run["outcome"] or {"status": "running", "run": run}
    if shown:
        click.echo("", err=True)
    return outcome


def _progress_line(run: dict[str, Any]) -> str:
    elapsed = time.time() - run["started"]
    done = "" if run["progress"] is None else f" {run['progress'] * 100:.0f}%"
    message = f" {run['message']}" if run["message"] else ""
    return f"{run['action']}: running {elapsed:.0f}s{done}{message}"


def _print_outcome(outcome: dict[str, Any]) -> None:
    if outcome["status"] == "pending_approval":
        approval = outcome["approval"]
        click.echo(f"{approval['action']} is destructive: approval {approval['id']} is pending.")
        if approval.get("plan") is not None:
            click.echo(f"It will act on: {json.dumps(approval['plan'])}")
        click.echo(f"An admin approves it with: nebula approvals approve {approval['id']}")
    elif outcome["status"] == "running":
        click.echo(f"{outcome['run']['action']} is running as run {outcome['run']['id']}; "
                   f"follow it with: nebula action status {outcome['run']['id']} --wait")
    elif outcome["status"] in ("error", "interrupted"):
        click.echo(f"failed: {outcome['error']}", err=True)
    else:
        result = outcome.get("result")
        click.echo(result if isinstance(result, str) else json.dumps(result, indent=2))


@click.group(cls=CoreGroup)
def approvals() -> None:
    """Review, approve and deny destructive actions."""


@approvals.command(name="list")
@click.option("--status",
              type=click.Choice(["pending", "approved", "denied", "expired", "all"]),
              default="pending", show_default=True)
@json_option
@pass_state
def list_approvals(state: State, status: str, as_json: bool) -> None:
    """Approvals (pending ones by default)."""
    query = "" if status == "all" else f"?status={status}"
    with agent_client(state) as client:
        data = client.get(f"/api/v1/approvals{query}")
    output(data, as_json, lambda d: table(
        [(a["id"], a["status"], a["action"], a["requested_by"],
          json.dumps(a["plan"] if a["plan"] is not None else a["params"]))
         for a in d["approvals"]], ("ID", "STATUS", "ACTION", "REQUESTED BY", "ACTS ON")))


@approvals.command()
@click.argument("approval_id")
@click.option("--digest", help="Approve only if the approval's digest (from `approvals list "
                               "--json`) still matches what you reviewed.")
@json_option
@pass_state
def approve(state: State, approval_id: str, digest: str | None, as_json: bool) -> None:
    """Approve APPROVAL_ID and run exactly what it lists under ACTS ON."""
    body: dict[str, Any] = {"wait": REQUEST_WAIT}
    if digest:
        body["digest"] = digest
    with agent_client(state) as client:
        outcome = follow(client, client.post(f"/api/v1/approvals/{approval_id}/approve", body),
                         show_progress=not as_json)
    output(outcome, as_json, _print_outcome)
    if outcome["status"] in ("error", "interrupted"):
        raise SystemExit(1)


@approvals.command()
@click.argument("approval_id")
@click.option("--reason", default="", help="Why (kept in the audit log).")
@json_option
@pass_state
def deny(state: State, approval_id: str, reason: str, as_json: bool) -> None:
    """Deny APPROVAL_ID; its action does not run."""
    with agent_client(state) as client:
        data = client.post(f"/api/v1/approvals/{approval_id}/deny", {"reason": reason})
    output(data, as_json, lambda d: click.echo(f"denied {d['id']} ({d['action']})"))


COMMANDS = (action, approvals)
