"""Diagnose one check: gather its history, the events around it and its plugin's state,
let the model look further with read-only tools, and turn the fixes it proposes into real
action requests — a destructive one becomes a pending approval, an invalid one is dropped
with the reason, a safe one is returned ready to run (never run on the model's word)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nebula.actions import ActionUnavailable, InvalidParams, validate_params
from nebula.builtins.jarvis.catalogue import result_text
from nebula.builtins.jarvis.engine import Jarvis
from nebula.builtins.jarvis.looking import Spend, converse, parse_answer, read_only_answer
from nebula.builtins.jarvis.prompt import RULES
from nebula.builtins.jarvis.team import Team
from nebula.errors import NebulaError
from nebula.secrets import SECRETS

if TYPE_CHECKING:
    from nebula.agent import Agent
    from nebula.contributions import Tool

HISTORY = 20
EVENTS = 20
EVIDENCE_TOOLS = 4
TEAM_TASK = "Diagnose the failing check below (its state, history, events, plugin state):"
INSTRUCTIONS = """Diagnose the failing check below. Use the read-only tools if you need more \
evidence. Then answer with one JSON object and nothing else:
{"hypothesis": "<the most likely root cause, one or two sentences>",
 "evidence": ["<fact you saw that supports it>", ...],
 "proposed_actions": [{"action": "<plugin>.<name>", "params": {...}, "why": "<reason>"}]}
Propose only actions from this list, with params matching their schema (an empty list is \
fine):
"""


class CheckNotFound(NebulaError, KeyError):
    pass


async def diagnose(agent: Agent, jarvis: Jarvis, check_name: str) -> dict[str, Any]:
    settings = jarvis.require_enabled()
    cs = agent.health.checks.get(check_name)
    if cs is None:
        raise CheckNotFound(check_name)
    actor = f"jarvis:diagnose-{secrets.token_hex(4)}"
    context = {
        **await check_context(agent, check_name),
        "plugin_state": await _plugin_state(jarvis, cs.plugin, actor, settings.tool_timeout,
                                            settings.max_tool_output),
    }
    task = SECRETS.redact(json.dumps(context, default=str))
    return {"check": check_name, **await _answer(agent, jarvis, actor, task,
                                                 f"{TEAM_TASK}\n{task}")}


async def investigate(agent: Agent, jarvis: Jarvis, question: str) -> dict[str, Any]:
    """A question rather than a check: the same look, with the same proposals filed."""
    jarvis.require_enabled()
    actor = f"jarvis:diagnose-{secrets.token_hex(4)}"
    return {"question": SECRETS.redact(question),
            **await _answer(agent, jarvis, actor, question, question)}


async def _answer(agent: Agent, jarvis: Jarvis, actor: str, task: str, team_task: str
                  ) -> dict[str, Any]:
    """The coordinator and its specialists when the host's tools span two domains or more
    (and [jarvis] specialists is on), else one model over every read-only tool; then the
    proposals filed. `team_task` is what the coordinator is handed."""
    team = Team(agent, jarvis, actor)
    if jarvis.settings.specialists and team.worth_it():
        answer = await team.investigate(team_task)
        spend = team.spend
    else:
        spend = Spend()
        catalogue = jarvis.catalogue
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": instructions(agent)},
            {"role": "user", "content": SECRETS.redact(task)}]
        answer = await converse(
            jarvis, "jarvis", messages,
            catalogue.functions([t for t in catalogue.tools() if t.action is None]),
            read_only_answer(jarvis, actor), spend)
    parsed = parse_answer(answer)
    proposed, dropped = await _file(agent, parsed.get("proposed_actions"), actor)
    return {"id": actor.split(":", 1)[1],
            "hypothesis": str(parsed.get("hypothesis") or answer).strip(),
            "evidence": [str(e) for e in parsed.get("evidence") or []
                         if isinstance(e, str | int | float)],
            "proposed_actions": proposed, "dropped": dropped, "tokens": spend.tokens,
            "specialists": team.consultations, "model_calls": spend.summary()}


def instructions(agent: Agent) -> str:
    """The diagnosis instructions, with the actions a fix may propose (the MCP server's
    `diagnose` prompt says the same)."""
    actions = [{"action": a.name, "destructive": a.destructive,
                "description": a.description or a.title, "params": a.params}
               for a in sorted(agent.actions.actions.values(), key=lambda a: a.name)]
    return SECRETS.redact(f"{RULES}\n\n{INSTRUCTIONS}{json.dumps(actions, default=str)}")


async def check_context(agent: Agent, check_name: str) -> dict[str, Any]:
    """A check now, its recent history and the events around it."""
    cs = agent.health.checks.get(check_name)
    if cs is None:
        raise CheckNotFound(check_name)
    return {"check": cs.public(),
            "history": [{k: row[k] for k in ("ts", "status", "state", "summary")}
                        for row in await agent.health.results(check_name, limit=HISTORY)],
            "events": await _related_events(agent, check_name, cs.plugin)}


async def _related_events(agent: Agent, check_name: str, plugin: str) -> list[dict[str, Any]]:
    rows = await agent.store.fetchall(
        "SELECT ts, topic, source, data FROM events WHERE "
        f"(topic = 'check.changed' AND {agent.store.json_text('data', 'check')} = ?) OR "
        "(source = ? AND topic != 'check.changed') ORDER BY id DESC LIMIT ?",
        (check_name, plugin, EVENTS))
    return [{**row, "data": json.loads(row["data"])} for row in rows]


def _read_only(jarvis: Jarvis, plugin: str) -> list[Tool]:
    return [t for t in jarvis.catalogue.tools()
            if t.action is None and t.name.split(".")[0] == plugin]


async def _plugin_state(jarvis: Jarvis, plugin: str, actor: str, timeout: float,
                        limit: int) -> dict[str, str]:
    """What the plugin's argument-free read-only tools say now (its logs, its state)."""
    out: dict[str, str] = {}
    for tool in _read_only(jarvis, plugin):
        if len(out) >= EVIDENCE_TOOLS:
            break
        if tool.params.get("required"):
            continue
        outcome = await jarvis.catalogue.run(tool, {}, actor, timeout)
        out[tool.name] = result_text(outcome, limit)
    return out


async def _file(agent: Agent, proposals: Any, actor: str
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    proposed: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    for item in proposals if isinstance(proposals, list) else []:
        if not isinstance(item, Mapping) or not isinstance(item.get("action"), str):
            dropped.append({"proposal": SECRETS.redact(item), "reason": "not an action"})
            continue
        name, params = item["action"], item.get("params") or {}
        entry = {"action": name, "params": SECRETS.redact(params),
                 "why": str(item.get("why", ""))}
        action = agent.actions.actions.get(name)
        if action is None:
            dropped.append({**entry, "reason": f"no action named {name}"})
            continue
        if not isinstance(params, Mapping):
            dropped.append({**entry, "reason": "params must be an object"})
            continue
        if problems := validate_params(action, params):
            dropped.append({**entry, "reason": "; ".join(
                f"{p.path}: {p.message}" for p in problems)})
            continue
        entry["destructive"] = action.destructive
        if action.destructive:
            try:
                outcome = await agent.actions.request(name, params, actor)
            except (InvalidParams, ActionUnavailable) as exc:
                dropped.append({**entry, "reason": SECRETS.redact(str(exc))})
                continue
            entry["approval_id"] = outcome["approval"]["id"]
        proposed.append(entry)
    return proposed, dropped
