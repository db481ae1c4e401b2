"""Google's OAuth 2.0 endpoints for an installed app: the loopback redirect with PKCE, the
device flow, refresh and revocation (shared/protocols.md section 4)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from nebula_google.errors import OAuthError, Revoked, Unreachable
from nebula_google.transport import request

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class Grant:
    """What a token answer gives: the refresh token is absent from refresh answers."""

    access_token: str
    expires_at: float
    scope: str
    refresh_token: str | None


@dataclass(frozen=True)
class DeviceCode:
    device_code: str
    user_code: str
    verification_url: str
    expires_at: float
    interval: float


class OAuthClient:
    def __init__(self, session: Callable[[], aiohttp.ClientSession],
                 config: Mapping[str, Any]) -> None:
        self._session = session
        self._config = config

    @property
    def _client(self) -> dict[str, str]:
        return {"client_id": self._config["client_id"],
                "client_secret": self._config["client_secret"]}

    async def _post(self, url: str, form: Mapping[str, str], service: str) -> dict[str, Any]:
        status, body = await request(self._session(), "POST", url, service=service,
                                     timeout=self._config["timeout"], data=dict(form))
        if status == 200 and isinstance(body, dict):
            return body
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            raise OAuthError(status, body["error"], body.get("error_description", ""))
        raise Unreachable(f"{service} at {url} answered {status} without an OAuth error; "
                          "is the URL right?")

    async def _token(self, form: Mapping[str, str]) -> Grant:
        body = await self._post(f"{self._config['oauth_url']}/token", {**self._client, **form},
                                "Google's token endpoint")
        return Grant(access_token=body["access_token"],
                     expires_at=time.time() + float(body.get("expires_in", 3599)),
                     scope=body.get("scope", ""), refresh_token=body.get("refresh_token"))

    # --- loopback redirect with PKCE ---------------------------------------------------

    def authorization_url(self, redirect_uri: str, state: str, verifier: str) -> str:
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        query = {"client_id": self._config["client_id"], "redirect_uri": redirect_uri,
                 "response_type": "code", "scope": " ".join(self._config["scopes"]),
                 "code_challenge": challenge, "code_challenge_method": "S256",
                 "state": state, "access_type": "offline", "prompt": "consent"}
        return f"{self._config['auth_url']}?{urlencode(query)}"

    async def exchange_code(self, code: str, redirect_uri: str, verifier: str) -> Grant:
        return await self._token({"grant_type": "authorization_code", "code": code,
                                  "redirect_uri": redirect_uri, "code_verifier": verifier})

    # --- device flow -------------------------------------------------------------------

    async def device_code(self) -> DeviceCode:
        body = await self._post(f"{self._config['oauth_url']}/device/code",
                                {"client_id": self._config["client_id"],
                                 "scope": " ".join(self._config["scopes"])},
                                "Google's device-code endpoint")
        return DeviceCode(device_code=body["device_code"], user_code=body["user_code"],
                          verification_url=body.get("verification_url")
                          or body.get("verification_uri", ""),
                          expires_at=time.time() + float(body.get("expires_in", 1800)),
                          interval=float(body.get("interval", 5)))

    async def poll_device(self, device_code: str) -> Grant:
        """One poll; raises OAuthError authorization_pending / slow_down while waiting."""
        return await self._token({"grant_type": DEVICE_GRANT, "device_code": device_code})

    # --- refresh and revocation --------------------------------------------------------

    async def refresh(self, refresh_token: str) -> Grant:
        try:
            return await self._token({"grant_type": "refresh_token",
                                      "refresh_token": refresh_token})
        except OAuthError as exc:
            if exc.error == "invalid_grant":
                raise Revoked(exc.description or "Bad Request") from None
            raise

    async def revoke(self, token: str) -> None:
        """Revoking either token ends the whole grant; an already dead one is fine."""
        try:
            await self._post(f"{self._config['oauth_url']}/revoke", {"token": token},
                             "Google's revocation endpoint")
        except OAuthError as exc:
            if exc.error != "invalid_token":
                raise


def new_verifier() -> str:
    """A PKCE code verifier: 43-128 characters from the unreserved set (RFC 7636)."""
    return secrets.token_urlsafe(64)[:96]
