"""The `[plugins.plex]` config schema."""

from __future__ import annotations

from typing import Any

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["token"],
    "properties": {
        "url": {"type": "string", "pattern": "^https?://[^/?#]+/?$",
                "default": "http://127.0.0.1:32400",
                "description": "The server's base URL, scheme, host and port only "
                               "(https://<ip-dashed>.<hash>.plex.direct:32400 for TLS)."},
        "token": {"type": "string", "minLength": 1,
                  "description": "The server owner's X-Plex-Token; use ${ENV} or token_file, "
                                 "never a literal."},
        "verify_tls": {"type": "boolean", "default": True,
                       "description": "Verify the server's TLS certificate (https URLs)."},
        "ca_bundle": {"type": "string", "minLength": 1,
                      "description": "PEM file of the CA certificates to trust instead of "
                                     "the system's, for a server with its own CA."},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 10,
                    "description": "Seconds for one request to the server."},
        "interval": {"type": "number", "minimum": 1, "default": 60,
                     "description": "Seconds between two polls of the server; checks, "
                                    "panels and tools share a poll for half of it."},
        "max_transcodes": {"type": "integer", "minimum": 0, "default": 2,
                           "description": "Transcoding sessions above which the transcodes "
                                          "check warns."},
        "recently_added": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20,
                           "description": "Recently added items fetched per poll."},
        "history_size": {"type": "integer", "minimum": 2, "default": 120,
                         "description": "Polls kept for the streams timeseries panel."},
    },
}
