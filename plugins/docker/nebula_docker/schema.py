"""The plugin's config schema and the parameter schemas of its actions and tools (plain
data: plugin.py imports this for the manifest)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.helpers.checks import ordered_limits
from nebula.helpers.schema import config_schema, integer, number, params, string

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

CONFIG_SCHEMA: dict[str, Any] = config_schema({
    "base_url": string("", "engine address (unix:///run/podman/podman.sock, "
                           "tcp://host:2375); empty: DOCKER_HOST, else the default socket"),
    "timeout": number(10, "seconds one engine call may take", minimum=1, maximum=300),
    "interval": number(30, "seconds between two readings of the containers",
                       minimum=0.1, maximum=3600),
    "expected": {"type": "array", "items": {"type": "string"}, "default": [],
                 "description": "containers that must be running (and healthy)"},
    "restart_loop_count": integer(3, minimum=1),
    "restart_loop_minutes": {"type": "number", "exclusiveMinimum": 0, "default": 10},
    "ignore_exited": {"type": "array", "items": {"type": "string"}, "default": [],
                      "description": "glob patterns of container names the exited check "
                                     "leaves out"},
    "disk_warning_gb": number(50, "engine disk use (GB) that warns"),
    "disk_critical_gb": number(100, "engine disk use (GB) that is critical"),
    "stats_history": integer(120, minimum=2, maximum=10000),
    "logs_max_bytes": integer(65536, minimum=1024, maximum=10_000_000),
    "bind_address": string("127.0.0.1", "host address one-click databases publish on"),
    "templates": {"type": "object", "default": {},
                  "additionalProperties": TEMPLATE_SCHEMA,
                  "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"}},
})

def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the schema cannot say (the plugin's `nebula_validate_config`: before every
    start, and in `nebula config validate`)."""
    # The limit pair checked at start: a warning above its critical limit would never warn.
    return ordered_limits(config, ["disk"], warning="{key}_warning_gb",
                          critical="{key}_critical_gb")

# Docker's own rule for names (ids are hex): anything else names no container, and a
# slash would reach another engine endpoint through the SDK's URL.
CONTAINER_PARAM = {"type": "string", "minLength": 1, "maxLength": 255,
                   "pattern": NAME_PATTERN, "description": "container name or id"}


def container_params(*, row: bool = True, **extra: Any) -> dict[str, Any]:
    """`container` offered from the containers panel: a drop-down in the action's form
    and, with `row`, the action's button on each of the panel's rows (x-choices,
    docs/plugins.md)."""
    choices = {"panel": "containers", "value": "name", "row": row}
    return params({"container": {**CONTAINER_PARAM, "x-choices": choices}, **extra},
                  required=["container"])


STOP_TIMEOUT = integer(10, "seconds to wait after SIGTERM before killing", maximum=600)


# The most lines one logs answer asks of the engine (action, route).
MAX_LOG_LINES = 10000


def logs_params(max_lines: int = MAX_LOG_LINES) -> dict[str, Any]:
    return container_params(tail=integer(100, "last N lines", minimum=1, maximum=max_lines))


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
    return params({"volumes": volumes})


DATABASE_NAME = {"type": "string", "pattern": NAME_PATTERN, "maxLength": 63,
                 "description": "container name of the deployment"}

DEPLOY_PARAMS: dict[str, Any] = params({
    "template": string(description="postgres, mariadb, redis, mongo, or a template from "
                                   "config"),
    "name": DATABASE_NAME,
    "host_port": integer(None, "published port; default the template's; 0 lets the "
                               "engine pick", maximum=65535),
}, required=["template", "name"])

DATABASE_PARAMS: dict[str, Any] = params({"name": DATABASE_NAME}, required=["name"])
