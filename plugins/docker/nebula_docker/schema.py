"""The plugin's config schema and the parameter schemas of its actions and tools."""

from __future__ import annotations

from typing import Any

NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"

TEMPLATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["image", "port", "volume_path", "connection"],
    "properties": {
        "image": {"type": "string", "minLength": 1},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535,
                 "description": "the port the service listens on inside the container"},
        "volume_path": {"type": "string", "pattern": "^/"},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "command": {"type": "array", "items": {"type": "string"}},
        "healthcheck": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                        "description": "Docker healthcheck test, e.g. [\"CMD\", \"true\"]"},
        "user": {"type": "string"},
        "database": {"type": "string"},
        "connection": {"type": "string",
                       "description": "format with {user} {password} {host} {port} "
                                      "{database} {name}"},
    },
}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "base_url": {"type": "string", "default": "",
                     "description": "engine address (unix:///run/podman/podman.sock, "
                                    "tcp://host:2375); empty: DOCKER_HOST, else the "
                                    "default socket"},
        "timeout": {"type": "number", "minimum": 1, "maximum": 300, "default": 10},
        "interval": {"type": "number", "minimum": 0.1, "maximum": 3600, "default": 30},
        "expected": {"type": "array", "items": {"type": "string"}, "default": [],
                     "description": "containers that must be running (and healthy)"},
        "restart_loop_count": {"type": "integer", "minimum": 1, "default": 3},
        "restart_loop_minutes": {"type": "number", "exclusiveMinimum": 0, "default": 10},
        "ignore_exited": {"type": "array", "items": {"type": "string"}, "default": [],
                          "description": "glob patterns of container names the exited "
                                        "check leaves out"},
        "disk_warning_gb": {"type": "number", "minimum": 0, "default": 50},
        "disk_critical_gb": {"type": "number", "minimum": 0, "default": 100},
        "stats_history": {"type": "integer", "minimum": 2, "maximum": 10000, "default": 120},
        "logs_max_bytes": {"type": "integer", "minimum": 1024, "maximum": 10_000_000,
                           "default": 65536},
        "bind_address": {"type": "string", "default": "127.0.0.1",
                         "description": "host address one-click databases publish on"},
        "templates": {"type": "object", "default": {},
                      "additionalProperties": TEMPLATE_SCHEMA,
                      "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"}},
    },
}

# Docker's own rule for names (ids are hex): anything else names no container, and a
# slash would reach another engine endpoint through the SDK's URL.
CONTAINER_PARAM = {"type": "string", "minLength": 1, "maxLength": 255,
                   "pattern": NAME_PATTERN, "description": "container name or id"}


def container_params(**extra: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": ["container"],
            "properties": {"container": CONTAINER_PARAM, **extra}}


STOP_TIMEOUT = {"type": "integer", "minimum": 0, "maximum": 600, "default": 10,
                "description": "seconds to wait after SIGTERM before killing"}


def logs_params(max_lines: int = 10000) -> dict[str, Any]:
    return container_params(tail={"type": "integer", "minimum": 1, "maximum": max_lines,
                                  "default": 100, "description": "last N lines"})


EMPTY = {"type": "object", "additionalProperties": False, "properties": {}}

# The schema annotation the web panel shows in red: a param that, when set, destroys data.
DANGER = "x-danger"


def prune_params(*, danger: bool) -> dict[str, Any]:
    """Prune and its dry run take the same flags; only the real prune marks them red."""
    volumes: dict[str, Any] = {
        "type": "boolean", "default": False,
        "description": "also remove unused volumes, named ones included: their data is "
                       "lost (as after `compose down`, a volume is unused but not litter)"}
    if danger:
        volumes[DANGER] = True
    return {"type": "object", "additionalProperties": False,
            "properties": {"volumes": volumes}}

DEPLOY_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["template", "name"],
    "properties": {
        "template": {"type": "string", "description": "postgres, mariadb, redis, mongo, or "
                                                      "a template from config"},
        "name": {"type": "string", "pattern": NAME_PATTERN, "maxLength": 63,
                 "description": "container name of the deployment"},
        "host_port": {"type": "integer", "minimum": 0, "maximum": 65535,
                      "description": "published port; default the template's; 0 lets the "
                                     "engine pick"},
    },
}

DATABASE_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["name"],
    "properties": {"name": DEPLOY_PARAMS["properties"]["name"]},
}
