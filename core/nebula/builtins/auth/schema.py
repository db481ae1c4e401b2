"""The `[auth]` section of nebula.toml (plain data, read without importing the plugin)."""

from __future__ import annotations

from typing import Any

AUTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "session_ttl": {"type": "number", "exclusiveMinimum": 0, "default": 43200,
                        "description": "seconds a panel sign-in lasts"},
        "login_window": {"type": "number", "exclusiveMinimum": 0, "default": 900,
                         "description": "seconds failed sign-ins are counted over"},
        "login_max_failures": {"type": "integer", "minimum": 1, "default": 5,
                               "description": "failures that lock one user out"},
        "login_max_failures_ip": {"type": "integer", "minimum": 1, "default": 20,
                                  "description": "failures that lock one address out"},
    },
}
# Versions before the plugin read these in [agent]; they are still accepted there.
MOVED_AGENT_KEYS = tuple(AUTH_SCHEMA["properties"])
# Its pages and endpoints keep the addresses they had in the core: /login, /logout,
# /security, /api/v1/users, /api/v1/failed-logins; and /setup, the first admin's.
CLAIMED_PATHS = ("login", "logout", "security", "users", "failed-logins", "setup")
