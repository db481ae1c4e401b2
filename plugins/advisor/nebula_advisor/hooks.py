"""The advisor plugin's hooks: startup returns the `Advisor`; the check, panel, action,
tool and weekly job read its passes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Field,
    Job,
    Panel,
    PluginContext,
    Status,
    Tool,
    hookimpl,
)
from nebula.helpers.schema import EMPTY_PARAMS
from nebula_advisor.coordinator import Advisor

FIELDS = (Field("severity", "Severity"), Field("title", "Suggestion"),
          Field("evidence", "Evidence"), Field("gain", "Estimated gain"),
          Field("action", "Applies it"), Field("chart", "History"))


@hookimpl
def nebula_startup(ctx: PluginContext) -> Advisor:
    return Advisor(ctx)


@hookimpl
def nebula_checks(ctx: PluginContext, runtime: Advisor) -> list[Check]:
    async def run() -> CheckResult:
        found = await runtime.suggestions()
        warnings = [s for s in found if s.severity == "warning"]
        metrics = {"suggestions.count": float(len(found)), "warnings.count": float(len(warnings))}
        if warnings:
            return CheckResult(Status.WARNING, "; ".join(s.title for s in warnings), metrics)
        return CheckResult(Status.OK, f"{len(found)} suggestions, none urgent" if found
                           else "Nothing to suggest", metrics)

    return [Check("advisor.forecast", run, title="Advisor",
                  description="Trouble seen coming: warning when a suggestion is urgent "
                              "(a disk full within warning_days, connections nearly used up).",
                  interval=ctx.config["interval"], timeout=60)]


async def _public(runtime: Advisor, fresh: bool = False) -> list[dict[str, Any]]:
    return [s.public() for s in await runtime.suggestions(fresh)]


@hookimpl
def nebula_panels(runtime: Advisor) -> list[Panel]:
    return [Panel("suggestions", "table", lambda: _public(runtime), "Suggestions",
                  "Computed from the stored history and the docker and postgres plugins; "
                  "each names its evidence, gain and the action that applies it.", FIELDS)]


@hookimpl
def nebula_actions(runtime: Advisor) -> list[Action]:
    async def now(params: Mapping[str, Any]) -> Any:
        return {"suggestions": await _public(runtime, fresh=True)}

    return [Action("suggestions", now, "Advise now",
                   "A fresh pass over the history and the peers; changes nothing.",
                   EMPTY_PARAMS, read_only=True, timeout=120)]


@hookimpl
def nebula_tools(runtime: Advisor) -> list[Tool]:
    async def run(params: Mapping[str, Any]) -> Any:
        return await _public(runtime)

    return [Tool("advisor_suggestions", "What the advisor suggests: disks full soon, "
                 "growing databases, containers without limits, leftovers, database "
                 "upkeep; each with evidence, gain and the action that applies it.",
                 EMPTY_PARAMS, run=run)]


@hookimpl
def nebula_jobs(ctx: PluginContext, runtime: Advisor) -> list[Job]:
    # Opt-in: a cron job loads croniter (and dateutil), which an agent without one never does.
    if not ctx.config.get("digest_cron"):
        return []
    return [Job("digest", runtime.digest, cron=ctx.config["digest_cron"], timeout=300)]
