"""Who may do what: the one `Role` enum and the `Principal` a request acts as.

`admin` reads and writes (runs actions, approves, manages users and tokens), `viewer` only
reads, `public` is no one in particular: an endpoint or page with that role needs no
credential at all. Tokens and web panel users have one of `ACCOUNT_ROLES`.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from nebula.enums import StrEnum

# Whom the action or tool call under way acts for (the audited actor: `user:alice`,
# `token:ci`, `jarvis:<id>`…), set by the action and tool runners: a contribution that
# decides per caller (the fleet hub's per-host rights) reads it; None outside a call.
CALLER: ContextVar[str | None] = ContextVar("nebula_caller", default=None)


class Role(StrEnum):
    PUBLIC = "public"
    VIEWER = "viewer"
    ADMIN = "admin"


# What an API token or a web panel user may be.
ACCOUNT_ROLES = (Role.ADMIN, Role.VIEWER)


@dataclass(frozen=True)
class Principal:
    """Whom a request acts as: `token:<name>`, `user:<name>`, `local-admin`…"""

    name: str
    role: Role

    def __post_init__(self) -> None:
        # Rows and configs carry the role as text; one type from here on.
        object.__setattr__(self, "role", Role(self.role))

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
