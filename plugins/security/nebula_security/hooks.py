"""The security plugin's hooks, imported and registered when the plugin first starts.
Startup returns the `Security` runtime; the core hands it to the other hooks and closes it
on stop."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from nebula.api import Action, Check, CheckResult, Panel, PluginContext, Tool, Unit, hookimpl
from nebula_security import agentdata, rows
from nebula_security.coordinator import SCAN, Security
from nebula_security.findings import TITLES, WEIGHTS
from nebula_security.schema import FIX_PARAMS, INPUT_PARAMS, SCORE_PARAMS

# Every metric an input reports is a count (points, findings, packages, containers, ...);
# `applicable` is 0 where the input had nothing to judge.
COUNTS = ("points_lost", "findings", "listeners", "exposed", "hosts", "security_updates",
          "updates", "containers", "agent_failed", "sshd_failed", "loose_paths",
          "admins_without_2fa", "critical", "high", "medium", "low", "images")
UNITS = {**{name: Unit.COUNT for name in COUNTS}, "applicable": Unit.NONE}


@hookimpl
def nebula_validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    if config.get("score_critical", 50) > config.get("score_warning", 80):
        return [("score_critical", "must not be above score_warning")]
    return []


@hookimpl
def nebula_startup(ctx: PluginContext) -> Security:
    return Security(ctx)


@hookimpl
def nebula_checks(ctx: PluginContext, runtime: Security) -> list[Check]:
    config = ctx.config

    async def one(name: str) -> CheckResult:
        found = await runtime.assessment(name)
        return CheckResult(found.status, found.summary,
                           {"points_lost": float(found.lost), **found.metrics})

    async def score() -> CheckResult:
        result = await runtime.score()
        lines = rows.findings(result)
        worst = "; ".join(f"-{r['points']} {r['input']}: {r['reason']}" for r in lines[:3])
        return CheckResult(runtime.status_of(result),
                           f"security score {result.value}/100" + (f" ({worst})" if worst
                                                                   else ""),
                           {"score": float(result.value),
                            **{f"{a.input}_lost": float(a.lost) for a in result.assessments}})

    timeout = config["command_timeout"] * 2 + 10
    checks = [Check(name, partial(one, name), title=TITLES[name],
                    description=f"Input of the security score (weight {WEIGHTS[name]}).",
                    interval=config["scan_interval"] if name == SCAN else config["interval"],
                    timeout=config["scan_timeout"] + 60 if name == SCAN else timeout,
                    flap_threshold=1, units=UNITS)
              for name in WEIGHTS]
    checks.append(Check("score", score, title="Security score",
                        description="0-100; every lost point has its reason and fix (the "
                                    "security.score panel and tool).",
                        interval=config["interval"], timeout=timeout, flap_threshold=1,
                        units={"score": Unit.NONE,
                               **{f"{name}_lost": Unit.COUNT for name in WEIGHTS}}))
    return checks


@hookimpl
def nebula_actions(ctx: PluginContext, runtime: Security) -> list[Action]:
    async def score(_params: Mapping[str, Any]) -> dict[str, Any]:
        return (await runtime.score()).public()

    async def fix(plan: Mapping[str, Any]) -> dict[str, Any]:
        done = await agentdata.fix(plan)
        runtime.polls["agent"].invalidate()
        return done

    return [
        Action("score", score, "Security score",
               "The score with every input and every lost point's reason and fix.",
               params=SCORE_PARAMS, read_only=True),
        Action("fix_permissions", fix, "Make the agent's files owner-only",
               "chmod the agent's data dir to 0700 and its store, secret key and run file "
               "to 0600 where they are looser; the approver sees each path and mode.",
               params=FIX_PARAMS, destructive=True, prepare=partial(agentdata.plan_fix, ctx)),
    ]


@hookimpl
def nebula_panels(runtime: Security) -> list[Panel]:
    # Panels answer from the last readings at once (refreshing stale ones behind).
    async def overview() -> dict[str, Any]:
        return rows.overview(await runtime.score(wait=False))

    async def findings() -> list[dict[str, Any]]:
        return rows.findings(await runtime.score(wait=False))

    async def inputs() -> list[dict[str, Any]]:
        return rows.inputs(await runtime.score(wait=False))

    return [
        Panel("score", "keyvalue", overview, "Security score",
              "The score, each input's points and why points were lost."),
        Panel("findings", "table", findings, "Why points were lost",
              "Each lost point group with its reason, the fix and the action that applies "
              "it.", rows.FINDING_FIELDS),
        Panel("inputs", "table", inputs, "Security inputs", "Each input of the score.",
              rows.INPUT_FIELDS),
    ]


@hookimpl
def nebula_tools(runtime: Security) -> list[Tool]:
    async def score(_params: Mapping[str, Any]) -> dict[str, Any]:
        found = await runtime.score(wait=False)
        return {"score": found.value, "explanation": rows.findings(found),
                "inputs": rows.inputs(found)}

    async def one(params: Mapping[str, Any]) -> dict[str, Any]:
        return (await runtime.current(params["input"])).public()

    return [
        Tool("score", "The host's security score (0-100) with every lost point: its reason, "
                      "the exact fix and the action that applies it. Read-only.",
             SCORE_PARAMS, run=score),
        Tool("input", "One input of the security score (exposure, tls, ssh, updates, "
                      "containers, logins, agent, vulnerabilities) in detail. Read-only.",
             INPUT_PARAMS, run=one),
        Tool("fix_permissions", "Make the agent's own files owner-only (needs an admin's "
                                "approval).", FIX_PARAMS, action="security.fix_permissions"),
    ]
