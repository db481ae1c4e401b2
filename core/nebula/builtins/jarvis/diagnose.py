"""Diagnose one check: gather its history, the events around it and its plugin's state,
let the model look further with read-only tools, and turn the fixes it proposes into real
action requests — a destructive one becomes a pending approval, an invalid one is dropped
with the reason, a safe one is returned ready to run (never run on the model's word)."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nebula.actions import ActionUnavailable, InvalidParams, validate_params
from nebula.builtins.jarvis.catalogue import result_text
from nebula.builtins.jarvis.engine import (
    Jarvis,
    JarvisFailure,
    estimate_tokens,
    model_errors,
    wire_body,
)
from nebula.builtins.jarvis.prompt import RULES
from nebula.errors import NebulaError
from nebula.secrets import SECRETS
from nebula.tools import function_name

if TYPE_CHECKING:
    from nebula.agent import Agent
    from nebula.contributions import Tool

HISTORY = 20
EVENTS = 20
EVIDENCE_TOOLS = 4
INSTRUCTIONS = """Diagnose the failing check below. Use the read-only tools if you need more \
evidence. Then answer with one JSON object and nothing else:
{"hypothesis": "<the most likely root cause, one or two sentences>",
 "evidence": ["<fact you saw that supports it>", ...],
 "proposed_actions": [{"action": "<plugin>.<name>", "params": {...}, "why": "<reason>"}]}
Propose only actions from this list, with params matching their schema (an empty list is \
fine):
"""
FENCE_RE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


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
    prompt = instructions(agent)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": prompt},
        {"role": "user", "content": SECRETS.redact(json.dumps(context, default=str))}]
    answer, tokens = await _converse(jarvis, messages, actor)
    parsed = _parse(answer)
    proposed, dropped = await _file(agent, parsed.get("proposed_actions"), actor)
    return {"check": check_name, "id": actor.split(":", 1)[1],
            "hypothesis": str(parsed.get("hypothesis") or answer).strip(),
            "evidence": [str(e) for e in parsed.get("evidence") or []
                         if isinstance(e, str | int | float)],
            "proposed_actions": proposed, "dropped": dropped, "tokens": tokens}


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
                        for row in await agent.health.history(check_name, limit=HISTORY)],
            "events": await _related_events(agent, check_name, cs.plugin)}


async def _related_events(agent: Agent, check_name: str, plugin: str) -> list[dict[str, Any]]:
    rows = await agent.store.fetchall(
        "SELECT ts, topic, source, data FROM events WHERE "
        "(topic = 'check.changed' AND json_extract(data, '$.check') = ?) OR "
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


async def _converse(jarvis: Jarvis, messages: list[dict[str, Any]],
                    actor: str) -> tuple[str, int]:
    """A non-streamed loop offering read-only tools only: a diagnosis looks, it does not
    act; what it would change comes back as proposals."""
    settings = jarvis.settings
    catalogue = jarvis.catalogue
    functions = [f for f in catalogue.functions()
                 if catalogue.resolve(f["function"]["name"]).action is None]
    used = 0
    for _step in range(settings.max_steps):
        with model_errors(settings):
            response = await jarvis.client().chat.completions.create(
                model=settings.model, **wire_body(SECRETS.redact(messages), functions))
        used += (response.usage.total_tokens if response.usage
                 else estimate_tokens(messages))
        if not response.choices:
            raise JarvisFailure("the model answered with no choices")
        message = response.choices[0].message
        if not message.tool_calls:
            return message.content or "", used
        if used >= settings.token_budget:
            raise JarvisFailure(f"token budget exhausted ({used} of {settings.token_budget})")
        calls = [{"id": c.id, "type": "function",
                  "function": {"name": c.function.name, "arguments": c.function.arguments}}
                 for c in message.tool_calls]
        messages.append({"role": "assistant", "content": message.content, "tool_calls": calls})
        for call in calls:
            messages.append({"role": "tool", "tool_call_id": call["id"],
                             "content": result_text(await _run_read_only(jarvis, call, actor),
                                                    settings.max_tool_output)})
    raise JarvisFailure(f"no diagnosis after {settings.max_steps} steps ([jarvis] max_steps)")


async def _run_read_only(jarvis: Jarvis, call: Mapping[str, Any], actor: str
                         ) -> dict[str, Any]:
    catalogue = jarvis.catalogue
    name = call["function"]["name"]
    try:
        tool = catalogue.resolve(name)
        arguments = json.loads(call["function"]["arguments"] or "{}")
    except (KeyError, json.JSONDecodeError) as exc:
        return {"status": "invalid", "errors": [f"{type(exc).__name__}: {exc}"]}
    if tool.action is not None:
        return {"status": "invalid", "errors": [
            f"{function_name(tool.name)} changes things; propose it in your answer instead"]}
    return await catalogue.run(tool, arguments, actor, jarvis.settings.tool_timeout)


def _parse(answer: str) -> dict[str, Any]:
    """The model's JSON, tolerating code fences and prose around it; a plain-text answer
    becomes the hypothesis with nothing proposed."""
    text = FENCE_RE.sub("", answer.strip())
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end <= start:
        return {}
    try:
        parsed = json.loads(text[start:end + 1])
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


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
