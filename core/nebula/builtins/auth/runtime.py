"""The auth plugin's runtime: users, sessions and the login guard over the agent's store,
the authenticator the core asks about browsers, and the `auth.failed_logins` check, which
runs while someone can sign in (added with the first user, withdrawn with the last)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nebula.builtins.auth.sessions import Sessions
from nebula.builtins.auth.users import FAILED_LOGINS, LoginGuard, Users
from nebula.scheduler import ScheduledJob
from nebula.surfaces import Authenticator

if TYPE_CHECKING:
    from nebula.agent import Agent

PLUGIN = "auth"
LOGIN_PATH, LOGOUT_PATH = "/login", "/logout"


class Auth:
    def __init__(self, agent: Agent, settings: Mapping[str, Any]) -> None:
        self._agent = agent
        # TOTP secrets and the recovery codes' key live in the secret store.
        self.users = Users(agent.store, agent.config.data_dir / "secret.key")
        self.sessions = Sessions(agent.store, float(settings["session_ttl"]))
        self.guard = LoginGuard(agent.store, settings)
        self.authenticator = Authenticator(self.sessions.authenticate, LOGIN_PATH,
                                           LOGOUT_PATH)
        self._background: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        await self.users.encrypt_plain_totp()  # earlier versions kept them in clear
        await self.watch_failed_logins()

    def configure(self, settings: Mapping[str, Any]) -> None:
        self.sessions.ttl = float(settings["session_ttl"])
        self.guard.configure(settings)

    async def aclose(self) -> None:
        """Withdraw the check and forget sign-ins half done (the plugin stops)."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._withdraw_check()
        self.sessions.pending.clear()
        self.sessions.enrolments.clear()

    # --- the failed-login check -----------------------------------------------------------

    async def watch_failed_logins(self) -> None:
        """Add `auth.failed_logins` with the first user, withdraw it with the last: it is
        about who can sign in, and nobody can without a user."""
        wanted = await self.users.exist()
        if wanted == (FAILED_LOGINS in self._agent.health.checks):
            return
        if not wanted:
            await self._withdraw_check()
            return
        check = self.guard.as_check()
        self._agent.health.add(check, PLUGIN)
        self._agent.scheduler.add(ScheduledJob(
            f"check:{FAILED_LOGINS}", lambda: self._agent.health.run(FAILED_LOGINS),
            interval=check.interval, timeout=check.timeout + 5, initial_spread=1.0))

    async def _withdraw_check(self) -> None:
        if FAILED_LOGINS in self._agent.health.checks:
            await self._agent.scheduler.remove(f"check:{FAILED_LOGINS}")
            self._agent.health.remove(FAILED_LOGINS)

    async def record_failure(self, ip: str, username: str, reason: str) -> None:
        """A failed sign-in (or password check): logged, and the check run at once, so its
        tile (and any alert on it) does not wait for the interval."""
        await self.guard.record(ip, username, reason)
        if FAILED_LOGINS in self._agent.health.checks:
            task = asyncio.get_running_loop().create_task(
                self._agent.health.run(FAILED_LOGINS))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
