"""The OAuth tokens: kept encrypted in the agent's secret store, refreshed before they
expire, and the verdict of the last refresh remembered for the token-health check."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nebula.api import PluginContext
from nebula_google.errors import (
    RECONNECT,
    GoogleError,
    NotConnected,
    OAuthError,
    Revoked,
)
from nebula_google.oauth import Grant, OAuthClient

# Health states after the last refresh attempt.
OK, REVOKED, CLIENT_REJECTED, FAILING = "ok", "revoked", "client_rejected", "failing"


class TokenKeeper:
    """The one owner of the tokens: every API call asks it for a fresh access token."""

    def __init__(self, ctx: PluginContext, oauth: OAuthClient) -> None:
        self._ctx = ctx
        self._oauth = oauth
        self._lock = asyncio.Lock()
        self._access: str | None = None
        # Bumped on every new consent or disconnect: what was read before is stale.
        self.generation = 0

    async def meta(self) -> dict[str, Any]:
        return await self._ctx.kv.get("grant") or {}

    async def health(self) -> dict[str, Any]:
        return await self._ctx.kv.get("health") or {"state": OK, "message": ""}

    async def _set_health(self, state: str, message: str = "") -> None:
        await self._ctx.kv.set("health", {"state": state, "message": message,
                                          "at": time.time()})

    async def connected(self) -> bool:
        return await self._ctx.secrets.get("refresh_token") is not None

    async def store(self, grant: Grant) -> None:
        """Keep a new grant from the consent flow (which must carry a refresh token)."""
        if not grant.refresh_token:
            raise GoogleError("Google gave no refresh token; remove this app's access at "
                              "https://myaccount.google.com/permissions, then "
                              f"{RECONNECT}")
        self._ctx.add_secret(grant.refresh_token)
        async with self._lock:
            await self._ctx.secrets.set("refresh_token", grant.refresh_token)
            await self._keep_access(grant, connected_at=time.time())
            await self._set_health(OK)
            self.generation += 1

    async def _keep_access(self, grant: Grant, **extra: Any) -> None:
        self._ctx.add_secret(grant.access_token)
        await self._ctx.secrets.set("access_token", grant.access_token)
        self._access = grant.access_token
        meta = await self.meta()
        meta.update(expires_at=grant.expires_at, scope=grant.scope or meta.get("scope", ""),
                    refreshed_at=time.time(), **extra)
        await self._ctx.kv.set("grant", meta)

    async def access_token(self, *, stale: str | None = None) -> str:
        """A valid access token, refreshed first when it is within `refresh_margin` of its
        expiry, or when Google just refused `stale` (401) and no one has replaced it yet:
        several calls refused at once cause one refresh."""
        async with self._lock:
            refresh_token = await self._ctx.secrets.get("refresh_token")
            if refresh_token is None:
                raise NotConnected()
            health = await self.health()
            if health["state"] == REVOKED:
                # Asking again cannot help: only new consent brings a new refresh token.
                raise GoogleError(health["message"])
            meta = await self.meta()
            margin = self._ctx.config["refresh_margin"]
            if self._access is None:
                self._access = await self._ctx.secrets.get("access_token")
            refused = stale is not None and stale == self._access
            if (refused or self._access is None
                    or meta.get("expires_at", 0) - time.time() <= margin):
                await self._refresh(refresh_token)
            if self._access is None:
                raise NotConnected()
            return self._access

    async def _refresh(self, refresh_token: str) -> None:
        try:
            grant = await self._oauth.refresh(refresh_token)
        except Revoked as exc:
            self._access = None
            await self._ctx.secrets.delete("access_token")
            await self._set_health(REVOKED, str(exc))
            self._ctx.log.error("google.token_revoked", reason=exc.description)
            raise
        except OAuthError as exc:
            state = CLIENT_REJECTED if exc.error in ("invalid_client",
                                                     "unauthorized_client") else FAILING
            message = (f"Google rejected the OAuth client ({exc}): check client_id and "
                       "client_secret in [plugins.google]" if state == CLIENT_REJECTED
                       else f"token refresh failed: {exc}")
            await self._set_health(state, message)
            raise GoogleError(message) from None
        except GoogleError as exc:
            await self._set_health(FAILING, f"token refresh failed: {exc}")
            raise
        await self._keep_access(grant)
        await self._set_health(OK)
        self._ctx.log.info("google.token_refreshed", expires_in=round(
            grant.expires_at - time.time()))

    async def tokens(self) -> list[str]:
        found = [await self._ctx.secrets.get(k) for k in ("refresh_token", "access_token")]
        return [t for t in found if t]

    async def forget(self) -> None:
        async with self._lock:
            self._access = None
            for key in ("refresh_token", "access_token"):
                await self._ctx.secrets.delete(key)
            await self._ctx.kv.delete("grant")
            await self._ctx.kv.delete("health")
            self.generation += 1
