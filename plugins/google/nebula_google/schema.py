"""The `[plugins.google]` config schema, and the params of its actions and tools."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.helpers.checks import ordered_limits
from nebula.helpers.schema import (
    config_schema,
    integer,
    interval,
    number,
    params,
    timeout,
    url,
)

SCOPE = "https://www.googleapis.com/auth/"
DEFAULT_SCOPES = [f"{SCOPE}calendar.readonly", f"{SCOPE}gmail.metadata",
                  f"{SCOPE}drive.metadata.readonly"]

CONFIG_SCHEMA: dict[str, Any] = config_schema({
    "client_id": {"type": "string", "minLength": 1,
                  "description": "OAuth client ID of a Google Cloud 'Desktop app' client (or "
                                 "'TVs and Limited Input devices' for flow = \"device\")."},
    "client_secret": {"type": "string", "minLength": 1,
                      "description": "That client's secret; use ${ENV} or "
                                     "client_secret_file."},
    "flow": {"enum": ["loopback", "device"], "default": "loopback",
             "description": "How google.connect obtains consent: 'loopback' (browser "
                            "redirect to this host, with PKCE) or 'device' (a code typed at "
                            "google.com/device; Google allows only a few scopes with it, "
                            "not Calendar or Gmail)."},
    "scopes": {"type": "array", "minItems": 1, "uniqueItems": True,
               "items": {"type": "string", "minLength": 1}, "default": DEFAULT_SCOPES,
               "description": "OAuth scopes asked for; read-only ones by default."},
    "auth_url": url("https://accounts.google.com/o/oauth2/v2/auth",
                    "Google's authorization (consent) endpoint."),
    "oauth_url": url("https://oauth2.googleapis.com",
                     "Root of Google's OAuth endpoints /token, /device/code and /revoke "
                     "(named so because a key with 'token' in it is masked)."),
    "calendar_url": url("https://www.googleapis.com/calendar/v3",
                        "Root of the Calendar API v3."),
    "gmail_url": url("https://gmail.googleapis.com/gmail/v1", "Root of the Gmail API v1."),
    "drive_url": url("https://www.googleapis.com/drive/v3", "Root of the Drive API v3."),
    "redirect_host": {"type": "string", "enum": ["127.0.0.1", "localhost", "::1"],
                      "default": "127.0.0.1",
                      "description": "Loopback address the consent redirect comes back to "
                                     "(Google allows only loopback for desktop apps)."},
    "redirect_port": integer(0, "Port of the loopback redirect listener (0: any free port; "
                                "fix one to forward it over SSH).", maximum=65535),
    "connect_timeout": number(600, "Seconds google.connect waits for the owner's consent "
                                   "before giving up.", minimum=1),
    "calendar_id": {"type": "string", "minLength": 1, "default": "primary",
                    "description": "Calendar whose events are shown."},
    "days_ahead": number(7, "Days of upcoming events shown after today."),
    "max_events": integer(50, "Most events read (pages are followed up to this).",
                          minimum=1, maximum=2500),
    "page_size": integer(250, "Events asked for per page (Calendar's maxResults).",
                         minimum=1, maximum=2500),
    "newest_unread": integer(5, "Newest unread subjects shown.", maximum=50),
    "quota_warning": number(85, "Drive storage use (percent of the quota) that warns."),
    "quota_critical": number(95, "Drive storage use (percent) that is critical."),
    "interval": interval(300, "Seconds between two polls of Calendar, Gmail and Drive."),
    "refresh_margin": number(300, "Refresh the access token this many seconds before it "
                                  "expires."),
    "refresh_interval": number(60, "Seconds between two looks at the token's expiry.",
                               minimum=0.1),
    "timeout": timeout("Seconds for one request to Google."),
}, required=["client_id", "client_secret"])

# --- action and tool params ------------------------------------------------------------------

FINISH_PARAMS = params({"redirect_url": {
    "type": "string", "minLength": 1, "title": "Address the browser ended on",
    "description": "After allowing access, Google sends the browser to "
                   "http://127.0.0.1:<port>/?state=…&code=…; when that page does not load "
                   "(the browser runs on another machine), paste its address."}},
    required=["redirect_url"])
EVENTS_PARAMS = params({
    "today_only": {"type": "boolean", "default": False,
                   "description": "Only events happening today."},
    "limit": integer(20, "Most events returned.", minimum=1, maximum=100)})


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A quota warning past its critical limit would never warn (the plugin's
    `nebula_validate_config`: before every start, and in `nebula config validate`)."""
    return ordered_limits(config, ["quota"])
