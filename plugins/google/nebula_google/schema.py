"""The `[plugins.google]` config schema."""

from __future__ import annotations

from typing import Any

SCOPE = "https://www.googleapis.com/auth/"
DEFAULT_SCOPES = [f"{SCOPE}calendar.readonly", f"{SCOPE}gmail.metadata",
                  f"{SCOPE}drive.metadata.readonly"]


def _url(default: str, what: str) -> dict[str, Any]:
    return {"type": "string", "pattern": "^https?://", "default": default, "description": what}


def _number(default: float, what: str, minimum: float = 0) -> dict[str, Any]:
    return {"type": "number", "minimum": minimum, "default": default, "description": what}


def _integer(default: int, what: str, minimum: int = 1, maximum: int = 2500) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": maximum, "default": default,
            "description": what}


CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["client_id", "client_secret"],
    "properties": {
        "client_id": {"type": "string", "minLength": 1,
                      "description": "OAuth client ID of a Google Cloud 'Desktop app' "
                                     "client (or 'TVs and Limited Input devices' for "
                                     "flow = \"device\")."},
        "client_secret": {"type": "string", "minLength": 1,
                          "description": "That client's secret; use ${ENV} or "
                                         "client_secret_file."},
        "flow": {"enum": ["loopback", "device"], "default": "loopback",
                 "description": "How google.connect obtains consent: 'loopback' (browser "
                                "redirect to this host, with PKCE) or 'device' (a code "
                                "typed at google.com/device; Google allows only a few "
                                "scopes with it, not Calendar or Gmail)."},
        "scopes": {"type": "array", "minItems": 1, "uniqueItems": True,
                   "items": {"type": "string", "minLength": 1}, "default": DEFAULT_SCOPES,
                   "description": "OAuth scopes asked for; read-only ones by default."},
        "auth_url": _url("https://accounts.google.com/o/oauth2/v2/auth",
                         "Google's authorization (consent) endpoint."),
        "oauth_url": _url("https://oauth2.googleapis.com",
                          "Root of Google's OAuth endpoints /token, /device/code and "
                          "/revoke (named so because a key with 'token' in it is masked)."),
        "calendar_url": _url("https://www.googleapis.com/calendar/v3",
                             "Root of the Calendar API v3."),
        "gmail_url": _url("https://gmail.googleapis.com/gmail/v1", "Root of the Gmail API v1."),
        "drive_url": _url("https://www.googleapis.com/drive/v3", "Root of the Drive API v3."),
        "redirect_host": {"type": "string", "enum": ["127.0.0.1", "localhost", "::1"],
                          "default": "127.0.0.1",
                          "description": "Loopback address the consent redirect comes back "
                                         "to (Google allows only loopback for desktop apps)."},
        "redirect_port": _integer(0, "Port of the loopback redirect listener (0: any free "
                                     "port; fix one to forward it over SSH).", 0, 65535),
        "connect_timeout": _number(600, "Seconds google.connect waits for the owner's "
                                        "consent before giving up.", 1),
        "calendar_id": {"type": "string", "minLength": 1, "default": "primary",
                        "description": "Calendar whose events are shown."},
        "days_ahead": _number(7, "Days of upcoming events shown after today.", 0),
        "max_events": _integer(50, "Most events read (pages are followed up to this)."),
        "page_size": _integer(250, "Events asked for per page (Calendar's maxResults)."),
        "newest_unread": _integer(5, "Newest unread subjects shown.", 0, 50),
        "quota_warning": _number(85, "Drive storage use (percent of the quota) that warns."),
        "quota_critical": _number(95, "Drive storage use (percent) that is critical."),
        "interval": _number(300, "Seconds between two polls of Calendar, Gmail and Drive.",
                            1),
        "refresh_margin": _number(300, "Refresh the access token this many seconds before "
                                       "it expires."),
        "refresh_interval": _number(60, "Seconds between two looks at the token's expiry.",
                                    0.1),
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 10,
                    "description": "Seconds for one request to Google."},
    },
}

# --- action and tool params ------------------------------------------------------------------

EMPTY: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
FINISH_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["redirect_url"],
    "properties": {"redirect_url": {
        "type": "string", "minLength": 1, "title": "Address the browser ended on",
        "description": "After allowing access, Google sends the browser to "
                       "http://127.0.0.1:<port>/?state=…&code=…; when that page does not "
                       "load (the browser runs on another machine), paste its address."}},
}
EVENTS_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "today_only": {"type": "boolean", "default": False,
                       "description": "Only events happening today."},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20,
                  "description": "Most events returned."}},
}
