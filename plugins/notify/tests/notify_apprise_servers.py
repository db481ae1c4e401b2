"""Local receivers for Apprise URLs, driven through the real apprise library: one HTTP
app that takes Apprise's JSON webhook (`json://`), its form webhook (`form://`) and a
Gotify-protocol stand-in (`gotify://`). The Gotify part follows gotify/server's wire
format (docs/protocols/gotify.md): `POST /message` with an application token in the
`token` query parameter, the `X-Gotify-Key` header or `Authorization: Bearer`; a JSON or
form body with `message` (required), `title`, `priority`, `extras`; 200 with the stored
message; 401/400 as gin's error object."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

UNAUTHORIZED = "you need to provide a valid access token or user credentials to access this api"


def _error(status: int, text: str, description: str) -> web.Response:
    return web.json_response({"error": text, "errorCode": status,
                              "errorDescription": description}, status=status)


@dataclass
class Receivers:
    gotify_token: str
    base: str = ""
    hooks: list[dict[str, Any]] = field(default_factory=list)  # json:// and form://
    gotify: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/message", self.gotify_message)
        app.router.add_post("/{kind:json|form}/{path:.*}", self.hook)
        return app

    def raw(self) -> str:
        return json.dumps([self.hooks, self.gotify], default=str)

    async def hook(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        body = (await request.json() if kind == "json"
                else dict(await request.post()))
        self.hooks.append({"kind": kind, "path": request.path,
                           "content_type": request.content_type, "body": body,
                           "authorization": request.headers.get("Authorization")})
        return web.json_response({"ok": True})

    @staticmethod
    def _token(request: web.Request) -> str:
        bearer = request.headers.get("Authorization", "")
        return (request.query.get("token") or request.headers.get("X-Gotify-Key")
                or (bearer[7:] if bearer[:7].lower() == "bearer " else ""))

    async def gotify_message(self, request: web.Request) -> web.Response:
        token = self._token(request)
        if token != self.gotify_token:
            return _error(401, "Unauthorized", UNAUTHORIZED)
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.post())
        if not body.get("message"):
            return _error(400, "Bad Request",
                          "Field 'message' is required")
        stored = {"id": len(self.gotify) + 1, "appid": 1, "message": body["message"],
                  "title": body.get("title") or "nebula", "priority": body.get("priority", 0),
                  "extras": body.get("extras"),
                  "date": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        self.gotify.append({**stored, "key_header": request.headers.get("X-Gotify-Key"),
                            "content_type": request.content_type})
        return web.json_response({k: v for k, v in stored.items() if v is not None})
