"""The `[plugins.notify]` config schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.helpers.schema import integer, params

SEVERITIES = ("info", "ok", "warning", "unknown", "critical")
CHANNEL_TYPES = ("discord", "ntfy", "webhook", "email", "apprise")
CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"

QUIET_HOURS: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["start", "end"],
    "description": "A daily window in the host's local time when only critical messages "
                   "(if `critical_bypass`) are sent; check problems still failing when it "
                   "ends are sent then.",
    "properties": {
        "start": {"type": "string", "pattern": CLOCK, "description": "HH:MM (or HH:MM:SS)."},
        "end": {"type": "string", "pattern": CLOCK,
                "description": "HH:MM; before `start` means the window spans midnight."},
        "critical_bypass": {"type": "boolean", "default": True,
                            "description": "Critical messages are sent even in the window."},
    },
}

DEFAULT_EVENTS = ["check.changed", "approval.requested", "remediation.*"]
REQUIRED_BY_TYPE = {"discord": ["url"], "ntfy": ["topic"], "webhook": ["url"],
                    "email": ["host", "sender", "to"], "apprise": ["urls"]}
# An Apprise URL names the service and holds its credentials (gotify://host/TOKEN,
# mailto://user:password@host): the whole URL is a secret.
APPRISE_URL: dict[str, Any] = {
    "type": "string", "minLength": 3, "pattern": "^[A-Za-z][A-Za-z0-9+.-]*://",
    "writeOnly": True,
    "description": "An Apprise URL (json://, form://, mailto://, gotify://, tgram://, …)."}

CHANNEL: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["name", "type"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$",
                 "description": "Unique; names the channel in the panel and notify.test."},
        "type": {"enum": list(CHANNEL_TYPES)},
        "enabled": {"type": "boolean", "default": True},
        "events": {"type": "array", "items": {"type": "string", "minLength": 1},
                   "default": DEFAULT_EVENTS,
                   "description": "Event topics (fnmatch patterns) sent to this channel."},
        "severities": {"type": "array", "items": {"enum": list(SEVERITIES)},
                       "default": list(SEVERITIES),
                       "description": "Severities sent; `ok` is the recovery messages."},
        "quiet_hours": {"oneOf": [QUIET_HOURS, {"const": False}],
                        "description": "This channel's own quiet hours, or false for none "
                                       "(default: the plugin's `quiet_hours`)."},
        # discord and webhook
        "url": {"type": "string", "pattern": "^https?://", "writeOnly": True,
                "description": "Discord: the webhook URL (it holds the webhook's token: use "
                               "${ENV} or url_file). Webhook: where the JSON is POSTed."},
        "username": {"type": "string",
                     "description": "Discord: the name shown as sender. E-mail: SMTP login."},
        # ntfy
        "server": {"type": "string", "pattern": "^https?://", "default": "https://ntfy.sh",
                   "description": "ntfy: the server."},
        "topic": {"type": "string", "pattern": "^[-_A-Za-z0-9]{1,64}$",
                  "description": "ntfy: the topic (anyone who knows it can read it)."},
        "token": {"type": "string", "description": "ntfy: an access token (Bearer)."},
        # webhook
        "secret": {"type": "string",
                   "description": "Webhook: sent in `secret_header` so the receiver can "
                                  "tell the agent's calls from anyone else's."},
        "secret_header": {"type": "string", "default": "X-Nebula-Secret"},
        # email
        "host": {"type": "string", "description": "E-mail: the SMTP server."},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535,
                 "description": "E-mail: default 587 (starttls), 465 (ssl) or 25 (none)."},
        "security": {"enum": ["starttls", "ssl", "none"], "default": "starttls"},
        "password": {"type": "string", "description": "E-mail: SMTP password."},
        "sender": {"type": "string", "minLength": 3, "description": "E-mail: From address."},
        "to": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 3},
               "description": "E-mail: recipients."},
        "ca_bundle": {"type": "string",
                      "description": "E-mail: a CA file to trust instead of the system's."},
        # apprise
        "urls": {"type": "array", "minItems": 1, "items": APPRISE_URL, "writeOnly": True,
                 "description": "Apprise: one URL per service, each told every message "
                                "(write them as ${ENV}: they hold credentials). Needs "
                                "nebula-command[apprise]."},
    },
    "allOf": [{"if": {"properties": {"type": {"const": kind}}},
               "then": {"required": required}} for kind, required in REQUIRED_BY_TYPE.items()],
}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["channels"],
    "properties": {
        "channels": {"type": "array", "minItems": 1, "items": CHANNEL,
                     "description": "Where messages go: one [[plugins.notify.channels]] "
                                    "table each."},
        "repeat_interval": {"type": "number", "minimum": 0, "default": 3600,
                            "description": "Seconds between reminders for a check that is "
                                           "still failing; 0 sends none."},
        "quiet_hours": QUIET_HOURS,
        "event_severity": {
            "type": "object", "additionalProperties": {"enum": list(SEVERITIES)},
            "default": {"approval.requested": "warning", "remediation.ran": "warning",
                        "remediation.breaker_opened": "critical",
                        "remediation.skipped": "info"},
            "description": "Severity of events other than check.changed, by topic pattern "
                           "(first match; anything else is info). A check's severity is "
                           "its status."},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 10,
                    "description": "Seconds for one delivery attempt."},
        "retries": {"type": "integer", "minimum": 0, "maximum": 5, "default": 2,
                    "description": "Further attempts after a failed delivery (429 answers "
                                   "wait as long as the service asks, up to 60 s)."},
        "history_size": {"type": "integer", "minimum": 1, "default": 200,
                         "description": "Notifications kept for the panel."},
    },
}

RECENT_PARAMS = params({"limit": integer(20, "Most recent notifications to return.", minimum=1,
                                         maximum=200)})


NAME: dict[str, Any] = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$", "maxLength": 64,
                        "title": "Name", "description": "The channel's name."}

# The channel is checked when the action runs (a 422 naming the channels there are): an
# admin may add one after the action's schema was made.
SEND_TEST_PARAMS = params({
    "channel": {"type": "string", "title": "Channel",
                "description": "Only this channel (default: every channel)."},
    "message": {"type": "string", "title": "Message", "maxLength": 1000,
                "description": "The text to send."}})

ADD_CHANNEL_PARAMS = params({
    "name": NAME,
    "url": {**APPRISE_URL, "title": "Apprise URL", "maxLength": 2000,
            "description": "Where to send, as an Apprise URL (gotify://host/TOKEN, "
                           "tgram://BOT/CHAT, mailto://user:pass@host, json://host/path…); "
                           "kept encrypted, never shown again."},
    "events": {"type": "array", "items": {"type": "string", "minLength": 1},
               "title": "Events", "description": "Event topic patterns (default: check "
               "changes, approvals, remediation)."},
    "severities": {"type": "array", "items": {"enum": list(SEVERITIES)},
                   "title": "Severities", "description": "Severities sent (default: all)."},
    "test": {"type": "boolean", "default": True, "title": "Send a test",
             "description": "Send a test message at once and answer its outcome."},
}, required=["name", "url"])

REMOVE_CHANNEL_PARAMS = params({"name": NAME}, required=["name"])


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`(key path, why)` for what the schema cannot say: a channel name used twice, at
    the second use (the plugin's `nebula_validate_config`: before every start, and in
    `nebula config validate`)."""
    seen: set[str] = set()
    found = []
    for index, channel in enumerate(config["channels"]):
        if channel["name"] in seen:
            found.append((f"channels.{index}.name",
                          f"channel name {channel['name']!r} is used twice"))
        seen.add(channel["name"])
    return found
