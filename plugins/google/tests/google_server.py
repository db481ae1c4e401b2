"""A local stand-in for Google's OAuth 2.0 endpoints and the Calendar v3, Gmail v1 and
Drive v3 calls the plugin makes, following their real requests, answers and errors
(shared/protocols.md section 4; Google's OAuth docs for installed apps and devices).

One aiohttp app serves them all on loopback; each API keeps the path below its real root:
`/token`, `/device/code`, `/revoke`, `/o/oauth2/v2/auth`, `/calendar/v3/...`,
`/gmail/v1/...`, `/drive/v3/...`."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

SCOPE = "https://www.googleapis.com/auth/"
# The device flow grants only these (anything else: invalid_scope).
DEVICE_SCOPES = {"openid", "email", "profile", f"{SCOPE}userinfo.email",
                 f"{SCOPE}userinfo.profile", f"{SCOPE}drive.file", f"{SCOPE}youtube",
                 f"{SCOPE}youtube.readonly"}
CALENDAR_SCOPES = {f"{SCOPE}calendar", f"{SCOPE}calendar.readonly",
                   f"{SCOPE}calendar.events.readonly", f"{SCOPE}calendar.events"}
GMAIL_SCOPES = {f"{SCOPE}gmail.readonly", f"{SCOPE}gmail.metadata",
                f"{SCOPE}gmail.modify", "https://mail.google.com/"}
DRIVE_SCOPES = {f"{SCOPE}drive", f"{SCOPE}drive.readonly", f"{SCOPE}drive.file",
                f"{SCOPE}drive.metadata", f"{SCOPE}drive.metadata.readonly",
                f"{SCOPE}drive.appdata"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@dataclass
class Grant:
    client_id: str
    scope: str
    refresh_token: str
    access: dict[str, float] = field(default_factory=dict)  # access token -> expiry
    revoked: bool = False


@dataclass
class DeviceRequest:
    client_id: str
    scope: str
    user_code: str
    expires_at: float
    polls: int = 0
    last_poll: float = 0.0
    decision: str = "pending"  # pending, allow, deny
    done: bool = False


@dataclass
class GoogleStandIn:
    client_id: str
    client_secret: str
    expires_in: int = 3599
    # What the owner does on the consent page: "allow" or "deny".
    consent: str = "allow"
    # Device flow: the owner approves (or denies) after this many polls.
    device_decision: str = "allow"
    device_decide_after: int = 2
    device_interval: float = 0.2
    # Polls closer together than this get slow_down (None: the advertised interval).
    device_min_spacing: float | None = None
    device_expires_in: int = 1800
    # Seconds every API (or token endpoint) answer is held back, to provoke timeouts.
    delay: float = 0.0
    token_delay: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    quota: dict[str, str] = field(default_factory=lambda: {
        "limit": "16106127360", "usage": "5368709120", "usageInDrive": "4294967296",
        "usageInDriveTrash": "104857600"})
    email: str = "owner@example.com"
    grants: list[Grant] = field(default_factory=list)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    devices: dict[str, DeviceRequest] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    slow_downs: int = 0
    # API requests answered 401 (path, time).
    refused: list[tuple[str, float]] = field(default_factory=list)
    base: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/o/oauth2/v2/auth", self.authorize)
        app.router.add_post("/token", self.token)
        app.router.add_post("/device/code", self.device_code)
        app.router.add_post("/revoke", self.revoke)
        app.router.add_get("/calendar/v3/calendars/{calendar}/events", self.calendar_events)
        app.router.add_get("/gmail/v1/users/{user}/labels/{label}", self.gmail_label)
        app.router.add_get("/gmail/v1/users/{user}/messages", self.gmail_list)
        app.router.add_get("/gmail/v1/users/{user}/messages/{id}", self.gmail_get)
        app.router.add_get("/drive/v3/about", self.drive_about)
        return app

    def urls(self) -> dict[str, str]:
        """The plugin's config keys pointing at this stand-in."""
        return {"auth_url": f"{self.base}/o/oauth2/v2/auth", "oauth_url": self.base,
                "calendar_url": f"{self.base}/calendar/v3",
                "gmail_url": f"{self.base}/gmail/v1", "drive_url": f"{self.base}/drive/v3"}

    # --- what the tests do at "Google's" side ---------------------------------------------

    def revoke_all(self) -> None:
        """The owner removes the app at myaccount.google.com/permissions."""
        for grant in self.grants:
            grant.revoked = True

    def expire_access_tokens(self) -> None:
        for grant in self.grants:
            grant.access = dict.fromkeys(grant.access, 0.0)

    def calls(self, path_part: str, **params: str) -> list[dict[str, Any]]:
        return [r for r in self.log if path_part in r["path"]
                and all(r["params"].get(k) == v for k, v in params.items())]

    def issued(self) -> list[str]:
        return [t for g in self.grants for t in (g.refresh_token, *g.access)]

    # --- OAuth ----------------------------------------------------------------------------

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        self._record(request, dict(q))
        if q.get("client_id") != self.client_id:
            return _page(401, "Error 401: invalid_client. The OAuth client was not found.")
        redirect = q.get("redirect_uri", "")
        parts = urlsplit(redirect)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            return _page(400, "Error 400: redirect_uri_mismatch")
        if q.get("response_type") != "code" or not q.get("scope"):
            return _page(400, "Error 400: invalid_request")
        if q.get("code_challenge") and q.get("code_challenge_method") != "S256":
            return _page(400, "Error 400: invalid_request (code_challenge_method)")
        if self.consent != "allow":
            raise web.HTTPFound(_with_query(redirect, error="access_denied",
                                            state=q.get("state", "")))
        code = "4/0A" + secrets.token_urlsafe(30)
        self.codes[code] = {"redirect_uri": redirect, "scope": q["scope"],
                            "challenge": q.get("code_challenge"),
                            "offline": q.get("access_type") == "offline"}
        raise web.HTTPFound(_with_query(redirect, state=q.get("state", ""), code=code,
                                        scope=q["scope"]))

    async def token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self._record(request, {k: v for k, v in form.items() if k == "grant_type"})
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if not form.get("client_id"):
            return _oauth_error(400, "invalid_request",
                                "Could not determine client ID from request.")
        if form["client_id"] != self.client_id:
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if form.get("client_secret") != self.client_secret:
            return _oauth_error(401, "invalid_client", "Unauthorized")
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            return self._exchange(form)
        if grant_type == "refresh_token":
            return self._refresh(form)
        if grant_type == "urn:ietf:params:oauth:grant-type:device_code":
            return self._device_poll(form)
        return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _exchange(self, form: dict[str, Any]) -> web.Response:
        code = self.codes.pop(form.get("code", ""), None)
        if code is None:
            return _oauth_error(400, "invalid_grant", "Malformed auth code.")
        if form.get("redirect_uri") != code["redirect_uri"]:
            return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        if code["challenge"]:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).decode().rstrip("=") != code["challenge"]:
                return _oauth_error(400, "invalid_grant", "Invalid code verifier.")
        return self._issue(code["scope"], refresh=code["offline"])

    def _refresh(self, form: dict[str, Any]) -> web.Response:
        grant = next((g for g in self.grants if g.refresh_token == form.get("refresh_token")),
                     None)
        if grant is None or grant.revoked:
            return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        if grant.client_id != form["client_id"]:
            return _oauth_error(401, "unauthorized_client", "Unauthorized")
        access = "ya29.a0" + secrets.token_urlsafe(40)
        grant.access[access] = time.time() + self.expires_in
        # A refresh answer carries no refresh_token: the client keeps its own.
        return web.json_response({"access_token": access, "expires_in": self.expires_in,
                                  "scope": grant.scope, "token_type": "Bearer"})

    def _issue(self, scope: str, refresh: bool = True) -> web.Response:
        grant = Grant(self.client_id, scope, "1//0g" + secrets.token_urlsafe(40))
        access = "ya29.a0" + secrets.token_urlsafe(40)
        grant.access[access] = time.time() + self.expires_in
        self.grants.append(grant)
        body = {"access_token": access, "expires_in": self.expires_in, "scope": scope,
                "token_type": "Bearer"}
        if refresh:
            body["refresh_token"] = grant.refresh_token
        return web.json_response(body)

    async def device_code(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self._record(request, {})
        if form.get("client_id") != self.client_id:
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        scopes = str(form.get("scope", "")).split()
        if not scopes:
            return _oauth_error(400, "invalid_scope", "Missing required parameter: scope")
        if bad := [s for s in scopes if s not in DEVICE_SCOPES]:
            return _oauth_error(400, "invalid_scope", f"Invalid device flow scope: {bad[0]}")
        device_code = "AH-1Ng" + secrets.token_urlsafe(30)
        user_code = "-".join(secrets.token_hex(2).upper() for _ in range(2))
        self.devices[device_code] = DeviceRequest(
            self.client_id, " ".join(scopes), user_code,
            time.time() + self.device_expires_in)
        return web.json_response({"device_code": device_code, "user_code": user_code,
                                  "expires_in": self.device_expires_in,
                                  "interval": self.device_interval,
                                  "verification_url": "https://www.google.com/device"})

    def _device_poll(self, form: dict[str, Any]) -> web.Response:
        req = self.devices.get(form.get("device_code", ""))
        if req is None or req.done:
            return _oauth_error(400, "invalid_grant", "Bad Request")
        now = time.time()
        if now > req.expires_at:
            return _oauth_error(400, "expired_token", "Bad Request")
        spacing = self.device_min_spacing or self.device_interval
        too_soon = now - req.last_poll < spacing * 0.9
        req.polls, req.last_poll = req.polls + 1, now
        if too_soon:
            self.slow_downs += 1
            return _oauth_error(403, "slow_down", "Forbidden")
        if req.polls >= self.device_decide_after:
            req.decision = self.device_decision
        if req.decision == "pending":
            return _oauth_error(428, "authorization_pending", "Precondition Required")
        req.done = True
        if req.decision == "deny":
            return _oauth_error(403, "access_denied", "Forbidden")
        return self._issue(req.scope)

    async def revoke(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self._record(request, {})
        token = form.get("token", "")
        for grant in self.grants:
            if not grant.revoked and (token == grant.refresh_token or token in grant.access):
                grant.revoked = True
                return web.json_response({})
        return _oauth_error(400, "invalid_token", "Token expired or revoked")

    # --- APIs -----------------------------------------------------------------------------

    async def _authorize_api(self, request: web.Request, needs: set[str]) -> str:
        """The granted scope of the request's bearer token; raises the real error answers."""
        self._record(request, dict(request.query))
        if self.delay:
            await asyncio.sleep(self.delay)
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        for grant in self.grants:
            if token in grant.access and not grant.revoked and grant.access[token] > time.time():
                if not needs & set(grant.scope.split()):
                    raise _api_error(403, "Request had insufficient authentication scopes.",
                                     "insufficientPermissions", "PERMISSION_DENIED",
                                     "Insufficient Permission")
                return grant.scope
        self.refused.append((request.path, time.time()))
        raise _api_error(401, "Request had invalid authentication credentials. Expected "
                              "OAuth 2 access token, login cookie or other valid "
                              "authentication credential.", "authError", "UNAUTHENTICATED",
                         "Invalid Credentials", location="Authorization")

    async def calendar_events(self, request: web.Request) -> web.Response:
        await self._authorize_api(request, CALENDAR_SCOPES)
        q = request.query
        if request.match_info["calendar"] not in ("primary", self.email):
            raise _api_error(404, "Not Found", "notFound")
        for key in ("timeMin", "timeMax"):
            if key in q and not RFC3339.match(q[key]):
                raise _api_error(400, "Bad Request", "badRequest")
        if q.get("orderBy") == "startTime" and q.get("singleEvents") != "true":
            raise _api_error(400, "The requested ordering is not available for the "
                                  "particular query.", "badRequest")
        size = min(int(q.get("maxResults", 250)), 2500)
        items = [e for e in self.events
                 if ("timeMin" not in q or _end(e) > _instant(q["timeMin"]))
                 and ("timeMax" not in q or _start(e) < _instant(q["timeMax"]))]
        if q.get("orderBy") == "startTime":
            items.sort(key=_start)
        offset = _page_offset(q.get("pageToken"))
        page = items[offset:offset + size]
        body: dict[str, Any] = {"kind": "calendar#events", "summary": self.email,
                                "timeZone": "UTC", "updated": _rfc3339(time.time()),
                                "items": page}
        if offset + size < len(items):
            body["nextPageToken"] = _page_token(offset + size)
        else:
            body["nextSyncToken"] = "CPDAlvWDx" + secrets.token_hex(4)
        return web.json_response(body)

    async def gmail_label(self, request: web.Request) -> web.Response:
        await self._authorize_api(request, GMAIL_SCOPES)
        self._gmail_user(request)
        label = request.match_info["label"]
        mine = [m for m in self.messages if label in m["labelIds"]]
        if label not in {lab for m in self.messages for lab in m["labelIds"]} | {"INBOX"}:
            raise _api_error(404, "Requested entity was not found.", "notFound")
        unread = [m for m in mine if "UNREAD" in m["labelIds"]]
        return web.json_response({
            "id": label, "name": label, "type": "system",
            "messagesTotal": len(mine), "messagesUnread": len(unread),
            "threadsTotal": len({m["threadId"] for m in mine}),
            "threadsUnread": len({m["threadId"] for m in unread})})

    async def gmail_list(self, request: web.Request) -> web.Response:
        scope = await self._authorize_api(request, GMAIL_SCOPES)
        self._gmail_user(request)
        q = request.query
        if "q" in q and f"{SCOPE}gmail.metadata" in scope.split():
            raise _api_error(403, "Metadata scope does not support 'q' parameter",
                             "forbidden")
        labels = q.getall("labelIds", [])
        found = sorted((m for m in self.messages if all(lab in m["labelIds"] for lab in labels)),
                       key=lambda m: -m["internalDate"])
        size = min(int(q.get("maxResults", 100)), 500)
        offset = _page_offset(q.get("pageToken"))
        body: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if page := found[offset:offset + size]:
            # With no match the key is absent altogether.
            body["messages"] = [{"id": m["id"], "threadId": m["threadId"]} for m in page]
        if offset + size < len(found):
            body["nextPageToken"] = _page_token(offset + size)
        return web.json_response(body)

    async def gmail_get(self, request: web.Request) -> web.Response:
        scope = await self._authorize_api(request, GMAIL_SCOPES)
        self._gmail_user(request)
        message = next((m for m in self.messages if m["id"] == request.match_info["id"]),
                       None)
        if message is None:
            raise _api_error(404, "Requested entity was not found.", "notFound")
        fmt = request.query.get("format", "full")
        if fmt != "metadata" and f"{SCOPE}gmail.metadata" in scope.split():
            raise _api_error(403, f"Metadata scope doesn't allow format {fmt.upper()}",
                             "forbidden")
        wanted = {h.lower() for h in request.query.getall("metadataHeaders", [])}
        headers = [{"name": "From", "value": message["from"]},
                   {"name": "To", "value": self.email},
                   {"name": "Subject", "value": message["subject"]},
                   {"name": "Date", "value": dt.datetime.fromtimestamp(
                       message["internalDate"] / 1000, dt.timezone.utc).strftime(
                       "%a, %d %b %Y %H:%M:%S +0000")}]
        payload: dict[str, Any] = {"mimeType": "text/plain", "headers": headers}
        if fmt == "metadata":
            if wanted:
                payload["headers"] = [h for h in headers if h["name"].lower() in wanted]
        else:
            payload["body"] = {"size": len(message["body"]), "data": base64.urlsafe_b64encode(
                message["body"].encode()).decode()}
        return web.json_response({
            "id": message["id"], "threadId": message["threadId"],
            "labelIds": message["labelIds"],
            # The real API sends the snippet (the body's first words) with every format.
            "snippet": message["body"][:100], "sizeEstimate": 1024 + len(message["body"]),
            "historyId": "4242", "internalDate": str(message["internalDate"]),
            "payload": payload})

    def _gmail_user(self, request: web.Request) -> None:
        if request.match_info["user"] not in ("me", self.email):
            raise _api_error(403, "Delegation denied for " + self.email, "forbidden")

    async def drive_about(self, request: web.Request) -> web.Response:
        await self._authorize_api(request, DRIVE_SCOPES)
        fields = request.query.get("fields")
        if not fields:
            message = "The 'fields' parameter is required for this method."
            raise _api_error(400, message, "required", location="fields")
        body: dict[str, Any] = {}
        if "storageQuota" in fields:
            body["storageQuota"] = dict(self.quota)
        if "user" in fields:
            body["user"] = {"displayName": "Owner", "emailAddress": self.email}
        return web.json_response(body)

    # --- helpers --------------------------------------------------------------------------

    def _record(self, request: web.Request, params: dict[str, Any]) -> None:
        self.log.append({"at": time.time(), "method": request.method, "path": request.path,
                         "params": params})

    def add_message(self, sender: str, subject: str, body: str, unread: bool = True,
                    age: float = 0.0) -> None:
        n = len(self.messages) + 1
        labels = ["INBOX", "CATEGORY_PERSONAL"] + (["UNREAD"] if unread else [])
        self.messages.append({"id": f"18f{n:013x}", "threadId": f"18f{n:013x}",
                              "labelIds": labels, "from": sender, "subject": subject,
                              "body": body,
                              "internalDate": int((time.time() - age) * 1000) + n})

    def add_event(self, summary: str | None, start: dt.datetime | dt.date,
                  end: dt.datetime | dt.date, **extra: Any) -> None:
        n = len(self.events) + 1
        event: dict[str, Any] = {"kind": "calendar#event", "id": f"evt{n:05d}",
                                 "status": "confirmed", "etag": f'"{n}"',
                                 "htmlLink": f"https://www.google.com/calendar/event?eid={n}",
                                 **extra}
        if summary is not None:
            event["summary"] = summary
        for key, when in (("start", start), ("end", end)):
            if isinstance(when, dt.datetime):
                event[key] = {"dateTime": when.isoformat(), "timeZone": "UTC"}
            else:
                event[key] = {"date": when.isoformat()}
        self.events.append(event)


def _page(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=f"<html><body><p>{text}</p></body></html>",
                        content_type="text/html")


def _with_query(url: str, **params: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description},
                             status=status)


def _api_error(code: int, message: str, reason: str, status: str = "",
               short: str = "", location: str = "") -> web.HTTPException:
    error: dict[str, Any] = {"message": short or message, "domain": "global", "reason": reason}
    if location:
        error.update(location=location,
                     locationType="header" if location == "Authorization" else "parameter")
    body = {"error": {"code": code, "message": message, "errors": [error]}}
    if status:
        body["error"]["status"] = status
    cls = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden,
           404: web.HTTPNotFound}[code]
    return cls(text=json.dumps(body), content_type="application/json")


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:"))
    except ValueError:
        raise _api_error(400, "Invalid page token value.", "invalid") from None


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _start(event: dict[str, Any]) -> dt.datetime:
    return _when(event["start"])


def _end(event: dict[str, Any]) -> dt.datetime:
    return _when(event["end"])


def _when(value: dict[str, str]) -> dt.datetime:
    if "dateTime" in value:
        return _instant(value["dateTime"])
    # All-day events are placed in the calendar's time zone (UTC here).
    return dt.datetime.fromisoformat(value["date"]).replace(tzinfo=dt.timezone.utc)


def _rfc3339(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
