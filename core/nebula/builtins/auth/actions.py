"""Read-only actions over who can sign in, for plugins that judge the agent's own security
(the security plugin's `security.agent` and `security.logins`) and for the CLI and API:
plugins reach the core only through actions, and these write no audit row when a plugin
calls them. Neither answer holds a password hash, a TOTP secret or a recovery code."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nebula.contributions import Action

if TYPE_CHECKING:
    from nebula.builtins.auth.runtime import Auth

FAILED_PARAMS = {"type": "object", "additionalProperties": False, "properties": {
    "hours": {"type": "number", "exclusiveMinimum": 0, "maximum": 24 * 30, "default": 24,
              "description": "How far back to count (at most the 30 days kept)."}}}


def actions(auth: Auth) -> list[Action]:
    async def users(_params: Mapping[str, Any]) -> dict[str, Any]:
        return {"users": [{"name": u["name"], "role": u["role"], "totp": u["totp"]}
                          for u in await auth.users.list()]}

    async def failed_logins(params: Mapping[str, Any]) -> dict[str, Any]:
        hours = float(params.get("hours", 24))
        since = time.time() - hours * 3600
        rows = await auth.guard.since(since)
        failed = [r for r in rows if r["reason"] != auth.guard.LOCKED]
        per_ip: dict[str, int] = {}
        for row in failed:
            per_ip[row["ip"]] = per_ip.get(row["ip"], 0) + 1
        top = sorted(per_ip.items(), key=lambda kv: -kv[1])[:10]
        return {"hours": hours, "failed": len(failed), "locked": len(rows) - len(failed),
                "by_ip": [{"ip": ip, "failed": n} for ip, n in top]}

    return [
        Action("users", users, "Web panel users",
               "Each user's name, role and whether a second factor (TOTP) is on.",
               params={"type": "object", "additionalProperties": False, "properties": {}},
               read_only=True),
        Action("failed_logins", failed_logins, "Failed web panel logins",
               "Failed sign-ins over the last hours: how many, refused while locked, and "
               "the addresses they came from.", params=FAILED_PARAMS, read_only=True),
    ]
