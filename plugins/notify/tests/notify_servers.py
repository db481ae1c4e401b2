"""Local stand-ins for the services notify talks to, each speaking the real wire format:
a Discord webhook (JSON `content`, 204; 429 with `retry_after`), an ntfy server (text body,
Title/Priority/Tags headers, Bearer auth), a generic JSON webhook, and an SMTP server
(aiosmtpd, optionally with STARTTLS and AUTH). Each records exactly what it received."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.agent_process import free_port


@dataclass
class Received:
    """What one stand-in got, plus the answers it should give next (status codes; the
    default answer is the service's success)."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    base: str = ""

    def next_status(self, success: int) -> int:
        return self.script.pop(0) if self.script else success

    def raw(self) -> str:
        """Everything received, for "the secret never arrived" assertions."""
        return json.dumps(self.messages, default=str)


class Discord(Received):
    """`POST /api/webhooks/<id>/<token>`: 204 on success, 429 + retry_after when scripted."""

    webhook_id, webhook_token = "1234567890", "discord-webhook-token-abcdefghijklmnop"

    @property
    def url(self) -> str:
        return f"{self.base}/api/webhooks/{self.webhook_id}/{self.webhook_token}"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/webhooks/{id}/{token}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        if (request.match_info["id"], request.match_info["token"]) != (
                self.webhook_id, self.webhook_token):
            return web.json_response({"message": "Unknown Webhook", "code": 10015}, status=404)
        status = self.next_status(204)
        if status == 429:
            return web.json_response({"message": "You are being rate limited.",
                                      "retry_after": 0.2, "global": False}, status=429,
                                     headers={"Retry-After": "1"})
        if status >= 400:
            return web.json_response({"message": "server error"}, status=status)
        body = await request.json()
        if not body.get("content"):
            return web.json_response({"message": "Cannot send an empty message",
                                      "code": 50006}, status=400)
        self.messages.append(body)
        return web.Response(status=204)

    def contents(self) -> list[str]:
        return [m["content"] for m in self.messages]


class Ntfy(Received):
    """`POST /<topic>` with a text body; with `token` set, requires `Bearer <token>`."""

    token: str | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{topic}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"code": 40101, "http": 401,
                                      "error": "unauthorized"}, status=401)
        status = self.next_status(200)
        if status >= 400:
            return web.json_response({"http": status, "error": "failed"}, status=status)
        self.messages.append({
            "topic": request.match_info["topic"], "body": await request.text(),
            **{h.lower(): request.headers.get(h) for h in ("Title", "Priority", "Tags",
                                                           "Authorization")}})
        return web.json_response({"id": f"m{len(self.messages)}", "event": "message",
                                  "topic": request.match_info["topic"]})

    def titles(self) -> list[str]:
        return [m["title"] for m in self.messages]


class Webhook(Received):
    """`POST /hook`: JSON, answered 200; records the headers a secret may travel in."""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        status = self.next_status(200)
        if status >= 400:
            return web.Response(status=status, text="nope")
        self.messages.append({"json": await request.json(),
                              "secret": request.headers.get("X-Nebula-Secret")})
        return web.json_response({"ok": True})

    def titles(self) -> list[str]:
        return [m["json"]["title"] for m in self.messages]


class Mailbox:
    """aiosmtpd handler: keeps each message (parsed) with its envelope and login."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content or envelope.content,
                                          policy=email.policy.default)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "subject": str(parsed["Subject"]),
                              "body": parsed.get_content(), "raw": envelope.content,
                              "login": session.auth_data, "tls": session.ssl is not None})
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        return [m["subject"] for m in self.messages]

    def raw(self) -> str:
        return json.dumps(self.messages, default=str)


@contextlib.contextmanager
def smtp_server(user: str | None = None, password: str | None = None,
                tls: ssl.SSLContext | None = None,
                implicit_tls: bool = False) -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on 127.0.0.1 (in aiosmtpd's own thread); with `tls`, STARTTLS is
    required (or, with `implicit_tls`, TLS from the first byte, as on port 465), and with a
    user, AUTH is required (over TLS only when `tls` is given)."""
    box = Mailbox()

    def authenticate(_server: Any, _session: Any, _envelope: Any, _mechanism: str,
                     data: Any) -> AuthResult:
        ok = (isinstance(data, LoginPassword)
              and (data.login.decode(), data.password.decode()) == (user, password))
        return AuthResult(success=ok, auth_data=data.login.decode() if ok else None)

    port = free_port()
    options: dict[str, Any] = {}
    if tls is not None and implicit_tls:
        options.update(ssl_context=tls)
    elif tls is not None:
        options.update(tls_context=tls, require_starttls=True)
    if user is not None:
        options.update(authenticator=authenticate, auth_required=True,
                       auth_require_tls=tls is not None)
    controller = Controller(box, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
