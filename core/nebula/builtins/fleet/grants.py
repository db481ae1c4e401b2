"""Per-host rights on the hub: who may see, run on, or approve on which enrolled host.

A grant gives one caller a role on one host (or on `*`, every host): `viewer` sees the
host (its row, checks and pending approvals), `operator` also runs actions there (the
host's gate still decides: a destructive one waits for approval), `admin` also approves,
denies and removes it. The hub's own role stays the ceiling: a hub viewer only reads,
whatever it is granted. Callers are named as they are audited: `user:alice`, `token:ci`,
`mcp:ci`, `jarvis:<conversation>`; a grant to `jarvis:*` covers every conversation.

The hub's owner, `local-admin` (the CLI on the hub's machine), has admin on every host and
is the only one who changes grants. Everyone else has no right on a host until granted.
Grants live in the plugin's key-value area (`grants`) and in memory, so filtering the
overview costs no store read.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from nebula.tokens import LOCAL_ADMIN

if TYPE_CHECKING:
    from nebula.context import KeyValue

EVERY_HOST = "*"


class HostRole(enum.IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def named(cls, name: str) -> HostRole:
        return cls[name.upper()]

    def __str__(self) -> str:
        return self.name.lower()


ROLE_NAMES = tuple(str(r) for r in HostRole)


def principal_name(user: str) -> str:
    """What `nebula fleet grant USER` names: a panel user by name, else a caller as
    audited (`token:ci`, `jarvis:*`)."""
    return user if ":" in user or user == LOCAL_ADMIN else f"user:{user}"


class Grants:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv
        self._grants: dict[str, dict[str, str]] = {}

    async def load(self) -> None:
        self._grants = await self._kv.get("grants", {})

    def role(self, caller: str | None, host: str) -> HostRole | None:
        """The caller's role on `host` (its own grant or the `*` one, the higher), or None."""
        if caller is None:
            return None
        if caller == LOCAL_ADMIN:
            return HostRole.ADMIN
        family = caller.split(":", 1)[0] + ":*" if ":" in caller else None
        found = [HostRole.named(grants[h]) for who in (caller, family) if who
                 for grants in [self._grants.get(who, {})] for h in (host, EVERY_HOST)
                 if h in grants]
        return max(found, default=None)

    def allows(self, caller: str | None, host: str, needed: HostRole) -> bool:
        role = self.role(caller, host)
        return role is not None and role >= needed

    def listing(self) -> list[dict[str, Any]]:
        return [{"principal": who, "host": host, "role": role}
                for who, hosts in sorted(self._grants.items())
                for host, role in sorted(hosts.items())]

    async def grant(self, principal: str, host: str, role: HostRole) -> dict[str, Any]:
        self._grants.setdefault(principal, {})[host] = str(role)
        await self._kv.set("grants", self._grants)
        return {"principal": principal, "host": host, "role": str(role)}

    async def revoke(self, principal: str, host: str) -> bool:
        hosts = self._grants.get(principal, {})
        if hosts.pop(host, None) is None:
            return False
        if not hosts:
            del self._grants[principal]
        await self._kv.set("grants", self._grants)
        return True
