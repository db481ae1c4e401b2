"""The plugin's runtime: what one start shares (the tokens, the consent flow and the poll
that checks, panels and tools read), closed by the core when the plugin stops."""

from __future__ import annotations

from typing import Any

from nebula.api import PluginContext
from nebula_google import views
from nebula_google.apis import GoogleApis
from nebula_google.connect import Connector
from nebula_google.coordinator import GooglePoll
from nebula_google.errors import GoogleError, NotConnected
from nebula_google.oauth import OAuthClient
from nebula_google.tokens import TokenKeeper


class Google:
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.oauth = OAuthClient(lambda: ctx.http, ctx.config)
        self.keeper = TokenKeeper(ctx, self.oauth)
        self.connector = Connector(ctx, self.oauth, self.keeper)
        self.poll = GooglePoll(GoogleApis(lambda: ctx.http, ctx.config, self.keeper),
                               self.keeper, max_age=ctx.config["interval"], log=ctx.log)

    def consent(self) -> dict[str, Any] | None:
        pending = self.connector.pending
        return pending.describe() if pending else None

    async def status(self) -> dict[str, Any]:
        return views.status(await self.keeper.connected(), await self.keeper.health(),
                            await self.keeper.meta(), self.consent())

    async def section(self, name: str) -> Any:
        """A section of the latest poll; raises a clear error when it could not be read."""
        if not await self.keeper.connected():
            raise NotConnected()
        return (await self.poll.snapshot()).get(name)

    async def disconnect(self) -> dict[str, Any]:
        await self.connector.stop()
        tokens = await self.keeper.tokens()
        if not tokens:
            return {"disconnected": False, "message": "Google was not connected"}
        revoked, message = True, "access revoked at Google and tokens deleted"
        try:
            await self.oauth.revoke(tokens[0])
        except GoogleError as exc:
            # Deleting our copy still matters; the owner can finish at Google's side.
            revoked = False
            message = (f"tokens deleted, but revoking at Google failed ({exc}): remove "
                       "access at https://myaccount.google.com/permissions")
        await self.keeper.forget()
        self.ctx.log.info("google.disconnected", revoked=revoked)
        return {"disconnected": True, "revoked": revoked, "message": message}

    async def aclose(self) -> None:
        """Ends a consent in progress (its loopback listener, its device-flow poll) and
        the poll running now."""
        await self.connector.stop()
        await self.poll.aclose()
