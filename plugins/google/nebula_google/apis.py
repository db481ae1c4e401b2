"""Calendar, Gmail and Drive over their REST endpoints, read-only, with one retry after a
401 (the access token died early: refresh once, then try again)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp

from nebula_google.errors import ApiError, GoogleError
from nebula_google.tokens import TokenKeeper
from nebula_google.transport import request

Params = Sequence[tuple[str, str]]


class GoogleApis:
    def __init__(self, session: Callable[[], aiohttp.ClientSession], config: Mapping[str, Any],
                 keeper: TokenKeeper) -> None:
        self._session = session
        self._config = config
        self._keeper = keeper

    async def _get(self, service: str, url: str, params: Params) -> dict[str, Any]:
        token = await self._keeper.access_token()
        for retry in (True, False):
            status, body = await request(
                self._session(), "GET", url, service=service, timeout=self._config["timeout"],
                params=list(params), headers={"Authorization": f"Bearer {token}"})
            if status == 401 and retry:
                token = await self._keeper.access_token(stale=token)
                continue
            if status == 200 and isinstance(body, dict):
                return body
            raise _api_error(service, url, status, body)
        raise AssertionError("unreachable")

    # --- Calendar ----------------------------------------------------------------------

    async def events(self, now: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Today's and the next `days_ahead` days' events, in start order, following
        nextPageToken up to `max_events`."""
        now = now or dt.datetime.now().astimezone()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        until = midnight + dt.timedelta(days=1 + self._config["days_ahead"])
        url = f"{self._config['calendar_url']}/calendars/{self._config['calendar_id']}/events"
        limit = self._config["max_events"]
        base = [("timeMin", midnight.isoformat()), ("timeMax", until.isoformat()),
                ("singleEvents", "true"), ("orderBy", "startTime"),
                ("maxResults", str(min(self._config["page_size"], limit)))]
        events: list[dict[str, Any]] = []
        page_token = None
        while len(events) < limit:
            params = base + ([("pageToken", page_token)] if page_token else [])
            body = await self._get("Google Calendar", url, params)
            events.extend(_event(item, midnight) for item in body.get("items") or ()
                          if item.get("status") != "cancelled")
            page_token = body.get("nextPageToken")
            if not page_token:
                break
        return events[:limit]

    # --- Gmail -------------------------------------------------------------------------

    async def unread_count(self) -> int:
        """Unread messages in the inbox: the label's exact count (messages.list would give
        only an estimate)."""
        body = await self._get("Gmail", f"{self._config['gmail_url']}/users/me/labels/INBOX",
                               [])
        return int(body.get("messagesUnread", 0))

    async def newest_unread(self) -> list[dict[str, Any]]:
        """Sender, subject and date of the newest unread inbox messages. Only the metadata
        headers are asked for, and the `snippet` Google adds is dropped: no body text."""
        count = self._config["newest_unread"]
        if count == 0:
            return []
        root = f"{self._config['gmail_url']}/users/me/messages"
        listed = await self._get("Gmail", root, [("labelIds", "INBOX"), ("labelIds", "UNREAD"),
                                                 ("maxResults", str(count))])
        out = []
        for ref in listed.get("messages") or ():  # absent when nothing matches
            message = await self._get("Gmail", f"{root}/{ref['id']}", [
                ("format", "metadata"), ("metadataHeaders", "From"),
                ("metadataHeaders", "Subject")])
            headers = {h.get("name", "").lower(): h.get("value", "")
                       for h in (message.get("payload") or {}).get("headers") or ()}
            out.append({"from": headers.get("from", ""),
                        "subject": headers.get("subject", "") or "(no subject)",
                        "received": int(message.get("internalDate", 0)) / 1000})
        return out

    # --- Drive -------------------------------------------------------------------------

    async def quota(self) -> dict[str, Any]:
        body = await self._get("Google Drive", f"{self._config['drive_url']}/about", [
            ("fields", "storageQuota,user(displayName,emailAddress)")])
        quota = body.get("storageQuota") or {}
        # int64 values come as strings; `limit` is absent for unlimited accounts.
        limit = int(quota["limit"]) if quota.get("limit") else None
        usage = int(quota.get("usage", 0))
        return {"account": (body.get("user") or {}).get("emailAddress", ""),
                "usage": usage, "limit": limit,
                "usage_in_drive": int(quota.get("usageInDrive", 0)),
                "usage_in_trash": int(quota.get("usageInDriveTrash", 0)),
                "percent": round(100 * usage / limit, 2) if limit else None}


def _event(item: Mapping[str, Any], midnight: dt.datetime) -> dict[str, Any]:
    start, end = item.get("start") or {}, item.get("end") or {}
    all_day = "dateTime" not in start
    if all_day:
        begins, ends = start.get("date", ""), end.get("date", "")
        # An all-day event's end date is exclusive.
        today = begins <= midnight.date().isoformat() < ends
    else:
        begins, ends = start["dateTime"], end.get("dateTime", start["dateTime"])
        tomorrow = midnight + dt.timedelta(days=1)
        today = _instant(begins) < tomorrow and _instant(ends) > midnight
    return {"summary": item.get("summary") or "(busy)", "start": begins, "end": ends,
            "all_day": all_day, "today": today, "location": item.get("location", "")}


def _instant(text: str) -> dt.datetime:
    # fromisoformat reads a trailing Z only from Python 3.11 on.
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _api_error(service: str, url: str, status: int, body: Any) -> GoogleError:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        reasons = [e.get("reason", "") for e in error.get("errors") or ()]
        return ApiError(service, status, error.get("message", ""),
                        reasons[0] if reasons else error.get("status", ""))
    return ApiError(service, status, f"unexpected answer from {url.split('?')[0]}; is the "
                                     "URL right?")
