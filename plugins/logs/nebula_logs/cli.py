"""`nebula logs search|tail|sources`: the logs plugin's commands, through the agent's API
(a running agent, or a one-shot one for the command)."""

from __future__ import annotations

import json
import sys
import urllib.parse
from collections.abc import Iterable
from typing import Any

import click

from nebula.helpers.cli import agent_api

TAIL_WAIT = 20  # seconds one long poll of /api/v1/logs/tail waits for a line


def _filters(func: Any) -> Any:
    for option in reversed((
        click.option("--since", help="an age (30m, 2h, 1d) or an ISO time"),
        click.option("--until", help="an age or an ISO time"),
        click.option("--source", "sources", multiple=True,
                     help="a source name or glob (repeatable)"),
        click.option("--unit", "units", multiple=True,
                     help="a unit, container or app name or glob (repeatable)"),
        click.option("--level", help="this level or worse: emerg alert crit err warning "
                                     "notice info debug"),
        click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts."),
    )):
        func = option(func)
    return func


def _query(q: str, since: str | None, until: str | None, sources: Iterable[str],
           units: Iterable[str], level: str | None, **extra: Any) -> str:
    pairs: list[tuple[str, Any]] = [("q", q)] if q else []
    pairs += [(k, v) for k, v in (("since", since), ("until", until), ("level", level))
              if v]
    pairs += [("source", s) for s in sources] + [("unit", u) for u in units]
    pairs += [(k, v) for k, v in extra.items() if v is not None]
    return urllib.parse.urlencode(pairs)


def _show(line: dict[str, Any], color: bool) -> str:
    message, at, parts = line["message"], 0, []
    for start, end in line.get("highlights", []):
        parts += [message[at:start], click.style(message[start:end], bold=True, fg="yellow")
                  if color else message[start:end]]
        at = end
    parts.append(message[at:])
    where = line["source"] + (f"/{line['unit']}" if line["unit"] else "")
    return f"{line['time']} {where} {line['level_name'] or '-'}: {''.join(parts)}"


@click.group()
def logs() -> None:
    """Search and tail the server's logs (the logs plugin)."""


@logs.command()
@click.argument("query", required=False, default="")
@_filters
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("-C", "--context", type=click.IntRange(0, 20), default=0,
              help="lines of context before and after each hit")
@click.option("--cursor", type=int, help="next_cursor of a previous page")
def search(query: str, since: str | None, until: str | None, sources: tuple[str, ...],
           units: tuple[str, ...], level: str | None, as_json: bool, limit: int, context: int,
           cursor: int | None) -> None:
    """Search stored lines, newest first. QUERY uses FTS5 syntax: words, "a phrase",
    OR, NOT, prefix*."""
    path = "/api/v1/logs?" + _query(query, since, until, sources, units, level, limit=limit,
                                    context=context or None, cursor=cursor)
    with agent_api() as api:
        data = api.get(path)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    color = sys.stdout.isatty()
    for line in reversed(data["lines"]):  # oldest first, as a terminal reads
        for near in line.get("before", []):
            click.echo("  " + _show(near, False))
        click.echo(_show(line, color))
        for near in line.get("after", []):
            click.echo("  " + _show(near, False))
        if context:
            click.echo("--")
    if data["next_cursor"]:
        click.echo(f"(older lines: --cursor {data['next_cursor']})", err=True)
    if not data["lines"]:
        click.echo("no matching lines", err=True)


@logs.command()
@click.argument("query", required=False, default="")
@_filters
@click.option("--count", type=int, help="stop after this many lines (for scripts)")
def tail(query: str, since: str | None, until: str | None, sources: tuple[str, ...],
         units: tuple[str, ...], level: str | None, as_json: bool, count: int | None) -> None:
    """Follow new lines as they arrive (Ctrl-C stops), with the same filters as search."""
    shown = 0
    color = sys.stdout.isatty()
    with agent_api() as api:
        last = api.get("/api/v1/logs/tail?" + _query(query, since, until, sources,
                                                      units, level))["last_id"]
        while count is None or shown < count:
            data = api.get("/api/v1/logs/tail?" + _query(query, since, until, sources, units,
                                                          level, after=last, wait=TAIL_WAIT))
            for line in data["lines"]:
                click.echo(json.dumps(line) if as_json else _show(line, color))
                shown += 1
                if count is not None and shown >= count:
                    break
            last = data["last_id"]


@logs.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def sources(as_json: bool) -> None:
    """The sources, their states, and the store's figures (back-pressure included)."""
    with agent_api() as api:
        data = api.get("/api/v1/logs/sources")
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for s in data["sources"]:
        problem = f"  {s['error']}" if s["error"] else ""
        click.echo(f"{s['name']:<16} {s['kind']:<7} {s['state']:<8} {s['lines']:>10} lines"
                   f"{problem}")
    f = data["store"]
    click.echo(f"store: {f['lines']} lines, {f['bytes'] / 1e6:.1f} MB; queue "
               f"{f['queued']}/{f['queue_capacity']}; refused {f['refused']}; "
               f"waits {f['waits']} ({f['waited_seconds']} s)")
