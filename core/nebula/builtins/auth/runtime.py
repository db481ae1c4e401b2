"""The auth plugin's runtime: users, sessions and the login guard over the agent's store,
the authenticator the core asks about browsers, the `auth.failed_logins` check, which runs
while someone can sign in (added with the first user, withdrawn with the last), and while
nobody can, the setup code that lets the first admin in through `/setup`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nebula.bootstrap import panel_url
from nebula.builtins.auth.sessions import Sessions
from nebula.builtins.auth.setup_code import SETUP_CODE_TTL, SetupCode
from nebula.builtins.auth.users import FAILED_LOGINS, LoginGuard, Users
from nebula.logs import get_logger
from nebula.scheduler import ScheduledJob
from nebula.surfaces import Authenticator

if TYPE_CHECKING:
    from nebula.agent import Agent

PLUGIN = "auth"
LOGIN_PATH, LOGOUT_PATH, SETUP_PATH = "/login", "/logout", "/setup"
SETUP_JOB = "auth.setup_code"
log = get_logger(component="auth")


class Auth:
    def __init__(self, agent: Agent, settings: Mapping[str, Any]) -> None:
        self._agent = agent
        # TOTP secrets and the recovery codes' key live in the secret store.
        self.users = Users(agent.store, agent.config.data_dir / "secret.key")
        self.sessions = Sessions(agent.store, float(settings["session_ttl"]))
        self.guard = LoginGuard(agent.store, settings)
        self.authenticator = Authenticator(self.sessions.authenticate, LOGIN_PATH,
                                           LOGOUT_PATH)
        self.setup = SetupCode()
        self._background: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        await self.users.encrypt_plain_totp()  # earlier versions kept them in clear
        await self.users_changed()

    def configure(self, settings: Mapping[str, Any]) -> None:
        self.sessions.ttl = float(settings["session_ttl"])
        self.guard.configure(settings)

    async def aclose(self) -> None:
        """Withdraw the check and forget sign-ins half done (the plugin stops)."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._withdraw_check()
        await self._withdraw_setup()
        self.sessions.pending.clear()
        self.sessions.enrolments.clear()

    async def users_changed(self) -> None:
        """After users were added or removed: with none, the setup code; with some, the
        failed-login check."""
        anyone = await self.users.exist()
        await self._watch_failed_logins(anyone)
        if anyone:
            await self._withdraw_setup()
        elif SETUP_JOB not in self._agent.scheduler.jobs:
            # A job, so only a serving agent makes a code: the CLI's one-shot agent runs
            # no jobs, and nobody could read a code it made.
            self._agent.scheduler.add(ScheduledJob(
                SETUP_JOB, self._announce_setup_code, interval=SETUP_CODE_TTL, timeout=30))

    # --- the setup code -------------------------------------------------------------------

    async def _announce_setup_code(self) -> None:
        """A new code (the last one lapses), in one log line with where to enter it. This
        line is meant to carry it: the code is the way in for whoever reads this agent's
        log (its owner), good once, until a user exists or for SETUP_CODE_TTL."""
        code = self.setup.issue()
        log.warning("auth.setup_code", url=panel_url(self._agent.config) + SETUP_PATH,
                    code=code, valid_hours=round(SETUP_CODE_TTL / 3600),
                    hint="nobody can sign in yet: open the url and enter this code to "
                         "create the first admin (or run `nebula user add NAME`)")

    async def _withdraw_setup(self) -> None:
        self.setup.forget()
        if SETUP_JOB in self._agent.scheduler.jobs:
            await self._agent.scheduler.remove(SETUP_JOB)

    # --- the failed-login check -----------------------------------------------------------

    async def _watch_failed_logins(self, wanted: bool) -> None:
        """Add `auth.failed_logins` with the first user, withdraw it with the last: it is
        about who can sign in, and nobody can without a user."""
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
