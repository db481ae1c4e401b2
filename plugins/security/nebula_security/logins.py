"""Failed logins: the agent's own (the auth built-in's `auth.failed_logins`) and sshd's,
counted in the logs plugin's store (`logs.search`) when that plugin runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import PluginContext
from nebula_security.findings import Assessment, Finding, assess, unknown

# What sshd logs for each refused password, a known user's or not ("Failed password for
# invalid user bob from 203.0.113.9 port 52086 ssh2"), in auth.log, the journal or its own
# stderr alike; one line per attempt ("Invalid user" lines would count unknown users twice).
SSHD_QUERY = '"Failed password"'
SEARCH_LIMIT = 50  # logs.search answers at most this many lines


async def _agent(ctx: PluginContext, hours: float) -> Mapping[str, Any] | str:
    try:
        outcome = await ctx.call_action("auth.failed_logins", {"hours": hours})
    except KeyError:
        return "the auth built-in is off, so the agent's own sign-ins are not counted"
    if outcome.get("status") != "ok":
        return f"auth.failed_logins failed: {outcome.get('error')}"
    return dict(outcome.get("result") or {})


async def _sshd(ctx: PluginContext, hours: float) -> int | str:
    if ctx.peer_config("logs") is None:
        return "the logs plugin is not running, so sshd's failed logins are not counted"
    outcome = await ctx.call_action("logs.search", {
        "query": SSHD_QUERY, "since": f"{hours:g}h", "limit": SEARCH_LIMIT})
    result = outcome.get("result") or {}
    if outcome.get("status") != "ok" or "error" in result:
        return f"logs.search failed: {outcome.get('error') or result.get('error')}"
    return sum(1 for line in result.get("lines", [])
               if "Failed password" in str(line.get("message", "")))


async def assess_logins(ctx: PluginContext) -> Assessment:
    hours, limit = ctx.config["failed_logins_hours"], ctx.config["failed_logins_warning"]
    agent, sshd = await _agent(ctx, hours), await _sshd(ctx, hours)
    findings = []
    notes = []
    metrics: dict[str, float] = {}
    if isinstance(agent, str):
        notes.append(agent)
    else:
        metrics["agent_failed"] = float(agent["failed"])
        if agent["failed"] >= limit:
            top = ", ".join(f"{r['ip']} ({r['failed']})" for r in agent["by_ip"][:3])
            findings.append(Finding(
                3, f"{agent['failed']} failed sign-ins to the agent in {hours:g} h "
                   f"(from {top})",
                "turn on a second factor for every user (`nebula user totp NAME`) and keep "
                "the panel off the internet ([agent] bind = \"127.0.0.1\"); lower "
                "[auth] login_max_failures_ip to lock guessers out sooner"))
    if isinstance(sshd, str):
        notes.append(sshd)
    else:
        metrics["sshd_failed"] = float(sshd)
        if sshd >= limit:
            many = f"at least {sshd}" if sshd >= SEARCH_LIMIT else str(sshd)
            findings.append(Finding(
                2, f"{many} failed sshd logins in {hours:g} h",
                "`PasswordAuthentication no` in /etc/ssh/sshd_config (keys only), and "
                "fail2ban (`apt-get install fail2ban`) to ban guessers"))
    seen = ", ".join(f"{k.split('_')[0]} {v:.0f}" for k, v in metrics.items())
    clean = f"failed logins in {hours:g} h: {seen or 'none counted'}"
    if notes:
        clean += "; " + "; ".join(notes)
    result = assess("logins", findings, clean, metrics)
    if not metrics:
        return unknown("logins", "; ".join(notes), "enable the auth built-in and the logs "
                                                   "plugin")
    return result
