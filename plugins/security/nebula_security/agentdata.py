"""The agent's own data: its data dir owner-only (0700), the store, its WAL, the secret key
and the run file owner-only (0600), and every admin with a second factor.

The agent makes these private when it starts; a mode loosened since (a restore by hand, a
`chmod -R`, a backup tool) is found here and fixed by `security.fix_permissions`, which
waits for an admin's approval of exactly the paths it will change."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nebula.api import ParamError, PluginContext, Status
from nebula_security.findings import Assessment, Finding, assess, unknown

FIX_ACTION = "security.fix_permissions"
DIR_MODE, FILE_MODE = 0o700, 0o600
# What the agent keeps directly in its data dir (nebula.filemodes.DATA_FILES in the core).
DATA_FILES = ("nebula.db", "nebula.db-wal", "nebula.db-shm", "nebula.db-journal",
              "secret.key", "agent.json")
SECRET_KEY = "secret.key"


def loose(data_dir: Path) -> list[dict[str, Any]]:
    """Each agent path readable or writable by anyone but its owner, with the mode it
    has and the mode it should have."""
    wanted = [(data_dir, DIR_MODE), (data_dir / "plugins", DIR_MODE),
              *((data_dir / name, FILE_MODE) for name in DATA_FILES)]
    found = []
    for path, mode in wanted:
        try:
            now = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if now & 0o077:
            found.append({"path": str(path), "mode": f"{now:04o}", "to": f"{mode:04o}"})
    return found


def data_dir_of(ctx: PluginContext) -> Path | None:
    agent = ctx.agent_config() or {}
    if agent.get("data_dir"):
        return Path(str(agent["data_dir"])).expanduser()
    return None


def mode_findings(items: list[dict[str, Any]]) -> list[Finding]:
    findings = []
    for item in items:
        name = Path(item["path"]).name
        critical = name == SECRET_KEY or name.startswith("nebula.db") or item["to"] == "0700"
        what = ("the key that decrypts every stored secret" if name == SECRET_KEY
                else "the agent's store (tokens, audit, encrypted secrets)"
                if name.startswith("nebula.db") else "the agent's data dir"
                if item["to"] == "0700" else "the agent's run file (an admin token)")
        findings.append(Finding(
            4 if critical else 3, f"{item['path']} ({what}) is mode {item['mode']}: others "
                                  "can read it", f"`chmod {item['to'][1:]} {item['path']}`",
            Status.CRITICAL if critical else Status.WARNING, action=FIX_ACTION,
            params={}))
    return findings


async def assess_agent(ctx: PluginContext) -> Assessment:
    data_dir = data_dir_of(ctx)
    if data_dir is None:
        return unknown("agent", "no agent data dir to look at", "run inside the agent")
    findings = mode_findings(loose(data_dir))
    try:
        outcome = await ctx.call_action("auth.users", {})
    except KeyError:  # the auth built-in is off: nobody signs in to judge
        outcome = {}
    users = (outcome.get("result") or {}).get("users", []) if outcome.get(
        "status") == "ok" else []
    admins = [u for u in users if u.get("role") == "admin"]
    for user in admins:
        if not user.get("totp"):
            findings.append(Finding(3, f"admin {user['name']} signs in without a second "
                                       "factor", f"`nebula user totp {user['name']}` (or "
                                                 "Account → Two-factor in the web panel)"))
    return assess("agent", findings, f"{data_dir} private; {len(admins)} admins, all with "
                                     "a second factor",
                  {"loose_paths": float(sum(1 for f in findings if f.action)),
                   "admins_without_2fa": float(sum(1 for f in findings if not f.action))})


async def plan_fix(ctx: PluginContext, _params: Mapping[str, Any]) -> dict[str, Any]:
    """What `fix_permissions` will change: shown to the approver, and all it may change."""
    data_dir = data_dir_of(ctx)
    items = loose(data_dir) if data_dir is not None else []
    if not items:
        raise ParamError("(params)", "every agent file is already owner-only")
    return {"chmod": items}


async def fix(plan: Mapping[str, Any]) -> dict[str, Any]:
    return {"changed": await asyncio.to_thread(_chmod, plan.get("chmod", []))}


def _chmod(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    changed = []
    for item in items:
        path = Path(item["path"])
        # Only what was approved, and only while it is still the loose mode it was.
        try:
            if f"{stat.S_IMODE(path.lstat().st_mode):04o}" != item["mode"] or path.is_symlink():
                continue
            os.chmod(path, int(item["to"], 8))
        except OSError:
            continue
        changed.append(item)
    return changed
