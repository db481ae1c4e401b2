"""Jarvis's read-only tools over the logs, their answers bounded (lines and characters), so
"why did the ticket bot crash last night?" is answered from real, redacted lines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import Action, Tool
from nebula_logs.coordinator import Logs
from nebula_logs.present import present
from nebula_logs.query import BadParam, filters_from
from nebula_logs.schema import CONTEXT_PARAMS, SEARCH_PARAMS
from nebula_logs.store import QueryError

MESSAGE_CHARS = 500  # per line handed to the model


def _short(row: dict[str, Any], logs: Logs) -> dict[str, Any]:
    line = present(row, logs.ctx.redact)
    message = line["message"]
    return {"id": line["id"], "time": line["time"], "source": line["source"],
            "unit": line["unit"], "level": line["level_name"],
            "message": message if len(message) <= MESSAGE_CHARS
            else message[:MESSAGE_CHARS] + "…"}


def tools(logs: Logs) -> list[Tool]:
    async def search(params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            filters = filters_from(params, [params["source"]] if params.get("source") else [],
                                   [params["unit"]] if params.get("unit") else [])
            rows, used = await logs.search(filters, params.get("limit", 20))
        except (BadParam, QueryError) as exc:
            return {"error": str(exc)}
        return {"query": used, "lines": [_short(r, logs) for r in rows],
                "note": "newest first; logs.context gives the lines around one id"}

    async def context(params: Mapping[str, Any]) -> dict[str, Any]:
        around = params.get("lines", 5)
        try:
            near = await logs.read(logs.store.context, params["id"], around, around)
        except KeyError:
            return {"error": f"no line {params['id']}"}
        return {"before": [_short(r, logs) for r in near["before"]],
                "line": _short(near["line"], logs),
                "after": [_short(r, logs) for r in near["after"]]}

    return [
        Tool("search", "Search the server's logs (files, syslog, containers, the journal): "
                       "words or a phrase, optionally a time range (since/until: 2h, 1d or "
                       "ISO), a source, a unit or container (the ticket bot's container: "
                       "unit 'discordbot*') and a minimum level. Read-only; at most 50 "
                       "lines.", SEARCH_PARAMS, run=search),
        Tool("context", "The lines just before and after one log line (by the id "
                        "logs.search gave), from the same source. Read-only.",
             CONTEXT_PARAMS, run=context),
    ]


def actions(logs: Logs) -> list[Action]:
    """`logs.search` as a read-only action too: other plugins reach it this way (the
    security plugin counts sshd's failed logins with it); same params and answer."""
    search = next(tool for tool in tools(logs) if tool.name == "search")
    assert search.run is not None
    return [Action("search", search.run, "Search the logs", search.description,
                   params=SEARCH_PARAMS, read_only=True)]
