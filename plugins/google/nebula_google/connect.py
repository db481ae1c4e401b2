"""Getting the owner's consent: google.connect starts a flow and returns what the owner
must open; a background task finishes it (loopback redirect with PKCE, or device flow)."""

from __future__ import annotations

import asyncio
import contextlib
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from nebula.api import PluginContext
from nebula_google.errors import GoogleError, OAuthError
from nebula_google.oauth import OAuthClient, new_verifier
from nebula_google.tokens import TokenKeeper

WAITING, CONNECTED, FAILED = "waiting", "connected", "failed"
# RFC 8628 section 3.5: after slow_down, every later poll waits this much longer.
SLOW_DOWN_STEP = 5.0
DONE_PAGE = ("<!doctype html><title>Nebula</title><p>{}</p>"
             "<p>You can close this tab.</p>")


@dataclass
class Pending:
    """One consent flow in progress (at most one at a time)."""

    flow: str
    expires_at: float
    status: str = WAITING
    error: str = ""
    public: dict[str, Any] = field(default_factory=dict)
    state: str = ""
    verifier: str = ""
    redirect_uri: str = ""
    # Set once a redirect with the right state is being exchanged (a browser may send two).
    claimed: bool = False
    runner: web.AppRunner | None = None
    task: asyncio.Task[None] | None = None

    def describe(self) -> dict[str, Any]:
        return {"flow": self.flow, "status": self.status, "error": self.error,
                "expires_in": max(0, round(self.expires_at - time.time())), **self.public}


class Connector:
    def __init__(self, ctx: PluginContext, oauth: OAuthClient, keeper: TokenKeeper) -> None:
        self._ctx = ctx
        self._oauth = oauth
        self._keeper = keeper
        self.pending: Pending | None = None

    async def start(self) -> dict[str, Any]:
        await self.stop()
        if self._ctx.config["flow"] == "device":
            self.pending = await self._start_device()
        else:
            self.pending = await self._start_loopback()
        self._ctx.log.info("google.connect_started", flow=self.pending.flow)
        return self.pending.describe()

    async def stop(self) -> None:
        pending, self.pending = self.pending, None
        if pending is None:
            return
        if pending.task is not None:
            pending.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending.task
        await _close(pending)

    # --- loopback redirect with PKCE ---------------------------------------------------

    async def _start_loopback(self) -> Pending:
        config = self._ctx.config
        pending = Pending(flow="loopback",
                          expires_at=time.time() + config["connect_timeout"],
                          state=secrets.token_urlsafe(24), verifier=new_verifier())
        app = web.Application()

        async def redirected(request: web.Request) -> web.Response:
            return await self._redirected(pending, request)

        app.router.add_get("/", redirected)
        pending.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await pending.runner.setup()
        host = config["redirect_host"]
        try:
            await web.TCPSite(pending.runner, host, config["redirect_port"]).start()
        except OSError as exc:
            await pending.runner.cleanup()
            raise GoogleError(f"cannot listen for the consent redirect on {host}:"
                              f"{config['redirect_port']}: {exc.strerror}") from None
        port = pending.runner.addresses[0][1]
        pending.redirect_uri = f"http://{'[::1]' if host == '::1' else host}:{port}/"
        url = self._oauth.authorization_url(pending.redirect_uri, pending.state,
                                            pending.verifier)
        pending.public = {
            "authorization_url": url, "redirect_uri": pending.redirect_uri,
            "instructions": "Open authorization_url in a browser on this machine (or "
                            f"forward port {port} here with ssh -L {port}:{host}:{port}) "
                            "and allow access. If the browser ends on a page that does "
                            "not load, copy that page's address into the google.finish "
                            "action."}
        pending.task = asyncio.create_task(self._expire(pending))
        return pending

    async def _redirected(self, pending: Pending, request: web.Request) -> web.Response:
        message = await self.finish_with(pending, dict(request.query))
        return web.Response(text=DONE_PAGE.format(html.escape(message)),
                            content_type="text/html",
                            status=200 if pending.status == CONNECTED else 400)

    async def finish(self, redirect_url: str) -> dict[str, Any]:
        """Complete a loopback flow with the address the browser was sent to (for when the
        browser runs elsewhere and could not reach this host's loopback listener)."""
        pending = self.pending
        if pending is None or pending.flow != "loopback" or pending.status != WAITING:
            raise GoogleError("no loopback consent is waiting; run google.connect first")
        query = {k: v[0] for k, v in parse_qs(urlsplit(redirect_url).query).items()}
        message = await self.finish_with(pending, query)
        if pending.status != CONNECTED:
            raise GoogleError(message)
        return pending.describe()

    async def finish_with(self, pending: Pending, query: dict[str, str]) -> str:
        if pending.status != WAITING:
            return f"This consent request is already {pending.status}."
        if pending.claimed:
            return "This consent request is already being completed."
        if not secrets.compare_digest(query.get("state", "").encode(), pending.state.encode()):
            # Not ours (or forged): leave the flow waiting for the real redirect.
            return "This redirect does not belong to the consent request in progress."
        pending.claimed = True
        if "error" in query:
            return self._failed(pending, f"Google answered {query['error']}: consent was "
                                         "not given")
        try:
            grant = await self._oauth.exchange_code(query.get("code", ""),
                                                    pending.redirect_uri, pending.verifier)
            await self._keeper.store(grant)
        except GoogleError as exc:
            return self._failed(pending, f"exchanging the code failed: {exc}")
        self._connected(pending)
        return "Nebula is now connected to Google."

    # --- device flow -------------------------------------------------------------------

    async def _start_device(self) -> Pending:
        try:
            code = await self._oauth.device_code()
        except OAuthError as exc:
            raise GoogleError(_device_failure(exc)) from None
        pending = Pending(flow="device", expires_at=code.expires_at)
        pending.public = {
            "verification_url": code.verification_url, "user_code": code.user_code,
            "instructions": f"Open {code.verification_url} on any device and enter the "
                            f"code {code.user_code}."}
        pending.task = asyncio.create_task(self._poll(pending, code.device_code,
                                                      code.interval))
        return pending

    async def _poll(self, pending: Pending, device_code: str, interval: float) -> None:
        while time.time() < pending.expires_at:
            await asyncio.sleep(interval)
            try:
                grant = await self._oauth.poll_device(device_code)
            except OAuthError as exc:
                if exc.error == "authorization_pending":
                    continue
                if exc.error == "slow_down":
                    interval += SLOW_DOWN_STEP
                    continue
                self._failed(pending, _device_failure(exc))
                return
            except GoogleError as exc:
                # A network blip must not end a flow the owner is busy approving.
                self._ctx.log.warning("google.device_poll_failed", error=str(exc))
                continue
            try:
                await self._keeper.store(grant)
            except GoogleError as exc:
                self._failed(pending, str(exc))
                return
            self._connected(pending)
            return
        self._failed(pending, "the code expired before it was approved; run "
                              "google.connect again")

    # --- outcome -----------------------------------------------------------------------

    async def _expire(self, pending: Pending) -> None:
        try:
            await asyncio.sleep(max(0.0, pending.expires_at - time.time()))
            self._failed(pending, "no consent arrived in time; run google.connect again")
        finally:
            if pending.status != WAITING:
                # Waits for the redirect request that finished the flow to be answered.
                await _close(pending)

    def _connected(self, pending: Pending) -> None:
        pending.status, pending.error = CONNECTED, ""
        self._ctx.log.info("google.connected", flow=pending.flow)
        self._done(pending)

    def _failed(self, pending: Pending, message: str) -> str:
        if pending.status == WAITING:
            pending.status, pending.error = FAILED, message
            self._ctx.log.warning("google.connect_failed", flow=pending.flow, error=message)
            self._done(pending)
        return message

    def _done(self, pending: Pending) -> None:
        task = pending.task
        if (pending.flow == "loopback" and task is not None and not task.done()
                and task is not asyncio.current_task()):
            task.cancel()  # its `finally` closes the listener


def _device_failure(exc: OAuthError) -> str:
    if exc.error == "access_denied":
        return "the owner refused access at Google (access_denied)"
    if exc.error == "expired_token":
        return "the code expired before it was approved; run google.connect again"
    if exc.error == "invalid_scope":
        return (f"Google's device flow refused a scope ({exc}); it allows only a few "
                "(not Calendar or Gmail): use flow = \"loopback\"")
    return f"Google refused the device flow: {exc}"


async def _close(pending: Pending) -> None:
    runner, pending.runner = pending.runner, None
    if runner is not None:
        await runner.cleanup()
