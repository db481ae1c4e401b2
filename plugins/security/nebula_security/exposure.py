"""Who can reach this host: the network plugin's listeners (`network.listeners`, a
read-only action: `{proto, address, port, scope, pid, process, cmdline, container,
expected}` rows) that are bound beyond loopback and not in its expected list, and the
agent itself serving plain HTTP beyond loopback.

Without the network plugin nothing here can tell what listens, and the check says so
(unknown) instead of guessing."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Any

from nebula.api import PluginContext, Status
from nebula_security.findings import Assessment, Finding, assess, unknown

LISTENERS = "network.listeners"
CMDLINE_CHARS = 160


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def agent_finding(agent: Mapping[str, Any], caddy_running: bool) -> Finding | None:
    """The agent's own API served in clear beyond loopback. A TLS proxy in front counts
    when the agent knows of it: an https public_url and the proxy among trusted_proxies."""
    bind, port = str(agent.get("bind", "127.0.0.1")), agent.get("port", 8765)
    if is_loopback(bind):
        return None
    proxied = (str(agent.get("public_url", "")).startswith("https://")
               and bool(agent.get("trusted_proxies")))
    if proxied:
        return None
    fix = ('`bind = "127.0.0.1"` under [agent] in nebula.toml, and reach the panel through '
           "a TLS proxy (set `public_url = \"https://…\"` and `trusted_proxies`)")
    return Finding(10, f"the agent's own API and sign-in page are served in plain HTTP on "
                       f"{bind}:{port}: passwords and session cookies cross the network "
                       "unencrypted", fix, Status.CRITICAL,
                   action="caddy.add_site" if caddy_running else None)


def listener_finding(row: Mapping[str, Any], redact: Any) -> Finding:
    scope = row.get("scope")
    who = row.get("process") or "?"
    if row.get("container"):
        who = f"container {row['container']} ({who})"
    cmdline = str(redact(row.get("cmdline") or ""))
    if len(cmdline) > CMDLINE_CHARS:
        cmdline = cmdline[:CMDLINE_CHARS] + "…"
    where = f"{row.get('address')}:{row.get('port')}/{row.get('proto')}"
    reach = "every network" if scope == "all" else "the LAN"
    bind = (f"publish it on loopback only (`-p 127.0.0.1:{row.get('port')}:…`)"
            if row.get("container") else "bind it to 127.0.0.1")
    return Finding(
        10 if scope == "all" else 5,
        f"{who} (pid {row.get('pid')}) listens on {where}, reachable from {reach}, and is "
        f"not expected" + (f": {cmdline}" if cmdline else ""),
        f"{bind} or stop it; if it is meant to be reachable, add "
        f"`{{ port = {row.get('port')}, proto = \"{row.get('proto')}\" }}` to "
        "expected_ports in [plugins.network]")


async def assess_exposure(ctx: PluginContext) -> Assessment:
    agent = ctx.agent_config() or {}
    findings = []
    own = agent_finding(agent, ctx.peer_config("caddy") is not None)
    if own is not None:
        findings.append(own)
    if ctx.peer_config("network") is None:
        base = unknown("exposure", "the network plugin is not running, so what listens "
                                   "here is not known", "enable the network plugin "
                                   "([plugins.network] in nebula.toml)")
        return Assessment("exposure", Status.UNKNOWN, base.summary,
                          assess("exposure", [*base.findings, *findings], "").findings)
    outcome = await ctx.call_action(LISTENERS, {})
    if outcome.get("status") != "ok":
        return unknown("exposure", f"{LISTENERS} failed: {outcome.get('error')}",
                       "see the network plugin's log")
    rows = outcome.get("result") or []
    if isinstance(rows, Mapping):  # {"listeners": [...]} as well as a bare list
        rows = rows.get("listeners") or []
    port = agent.get("port")
    exposed = 0
    for row in rows:
        if row.get("scope") == "loopback":
            continue
        exposed += 1
        if row.get("expected"):
            continue
        # The agent's own port is judged above, with its own fix.
        if row.get("pid") == os.getpid() and row.get("port") == port:
            continue
        findings.append(listener_finding(row, ctx.redact))
    return assess("exposure", findings,
                  f"{exposed} listeners beyond loopback, all expected; the agent is on "
                  f"{agent.get('bind', '127.0.0.1')}",
                  {"listeners": float(len(rows)), "exposed": float(exposed)})
