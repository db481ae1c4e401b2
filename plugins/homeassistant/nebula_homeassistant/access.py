"""Whether Home Assistant takes the token, and what its user may do: learnt once, kept for
the life of the runtime (a config change starts a new one).

Home Assistant counts every 401 as a failed login, a wrong token's and an admin-only
call by a non-admin user alike, and with `login_attempts_threshold` set it bans the
address for good after that many (`components/http/ban.py`). So the first rejection closes
the door for every request, REST and WebSocket: nothing is sent again until the config
changes. Until the token has been accepted once, requests that present it go one at a
time, so that two polls starting together cannot both fail."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from nebula_homeassistant.errors import HAError


class Access:
    def __init__(self) -> None:
        self.rejected: HAError | None = None   # why HA (or what answers) refused the token
        self.accepted = False                  # HA answered a request made with it
        self.user: Mapping[str, Any] | None = None  # `auth/current_user`, once known
        self._first = asyncio.Lock()

    @property
    def is_admin(self) -> bool | None:
        """Whether the token's user is an administrator; None until known."""
        return None if self.user is None else bool(self.user.get("is_admin"))

    @property
    def user_name(self) -> str | None:
        name = (self.user or {}).get("name")
        return str(name) if name else None

    @contextlib.asynccontextmanager
    async def use(self) -> AsyncIterator[None]:
        """Around one request that presents the token: raises the remembered rejection
        instead of sending anything."""
        if self.rejected is not None:
            raise self.rejected
        if self.accepted:
            yield
            return
        async with self._first:
            if self.rejected is not None:
                raise self.rejected
            yield

    def accept(self) -> None:
        self.accepted = True

    def reject(self, error: HAError) -> HAError:
        """Remember the first rejection (later ones only repeat it); returns the one kept."""
        if self.rejected is None:
            self.rejected = error
        return self.rejected

    def learn_user(self, user: Any) -> None:
        if isinstance(user, Mapping):
            self.user = dict(user)
