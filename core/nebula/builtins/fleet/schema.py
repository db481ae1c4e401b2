"""The `[fleet]` section: whether this agent is a hub, and how it reads its agents."""

from __future__ import annotations

from typing import Any

NAME_PATTERN = "^[a-z0-9][a-z0-9_.-]{0,62}$"

SSH_HOST: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["name", "host", "user", "key", "host_key"],
    "properties": {
        "name": {"type": "string", "pattern": NAME_PATTERN},
        "host": {"type": "string", "minLength": 1},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 22},
        "user": {"type": "string", "minLength": 1},
        "key": {"type": "string", "minLength": 1, "writeOnly": True,
                "description": "the private key the hub signs in with (written as "
                               "key_file = PATH, as every secret)"},
        "host_key": {"type": "string", "pattern": "^(ssh-|ecdsa-)[a-z0-9-]+ [A-Za-z0-9+/=]+",
                     "description": "the host's public key as ssh-keyscan prints it "
                                    "(TYPE BASE64): the only key accepted"},
        "interval": {"type": "number", "minimum": 5},
    },
}

SECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "hub": {"type": "boolean", "default": False,
                "description": "this agent is a fleet hub: it enrolls agents and reads them"},
        "poll_interval": {"type": "number", "minimum": 1, "default": 15,
                          "description": "seconds between two polls of an agent"},
        "max_backoff": {"type": "number", "minimum": 1, "default": 120,
                        "description": "longest wait between polls of an agent that is down"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 5,
                    "description": "seconds one request to an agent may take"},
        "code_ttl": {"type": "number", "minimum": 60, "default": 3600,
                     "description": "seconds an enrollment code stays valid"},
        "ssh": {"type": "array", "default": [], "items": SSH_HOST,
                "description": "agentless hosts read over SSH, read-only"},
    },
}

CODE_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False,
                               "properties": {}}

ENROLL_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["code", "name", "url", "csr", "token", "token_id"],
    "properties": {
        "code": {"type": "string", "minLength": 1, "maxLength": 200, "writeOnly": True},
        "name": {"type": "string", "pattern": NAME_PATTERN},
        "url": {"type": "string", "pattern": "^https://[^/?#]+$", "maxLength": 300},
        "csr": {"type": "string", "minLength": 1, "maxLength": 20000},
        "token": {"type": "string", "minLength": 1, "maxLength": 200, "writeOnly": True},
        "token_id": {"type": "integer"},
    },
}

# What a hub forwards to an agent's action run: never `approve` (a pre-approval is the
# local admin's alone, on the host), so the target's gate always decides.
RUN_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {"params": {"type": "object"},
                   "wait": {"type": "number", "minimum": 0, "maximum": 60}},
}

APPROVE_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {"digest": {"type": "string", "maxLength": 128},
                   "wait": {"type": "number", "minimum": 0, "maximum": 60}},
}

DENY_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {"reason": {"type": "string", "maxLength": 1000}},
}

GRANT_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["principal", "host", "role"],
    "properties": {
        "principal": {"type": "string", "pattern": "^[A-Za-z0-9_.@*:-]{1,200}$",
                      "description": "a panel user's name, or a caller as audited "
                                     "(token:NAME, mcp:NAME, jarvis:*)"},
        "host": {"type": "string", "pattern": "^([a-z0-9][a-z0-9_.-]{0,62}|[*])$"},
        "role": {"enum": ["viewer", "operator", "admin"]},
    },
}

PROMETHEUS_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["csr"],
    "properties": {"csr": {"type": "string", "minLength": 1, "maxLength": 20000}},
}
