"""The `[plugins.apps]` config schema and the params of the actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.helpers import nameservers
from nebula.helpers.schema import config_schema, interval, params, string, timeout
from nebula_apps.templates import NAME

CONFIG_SCHEMA = config_schema({
    "base_url": string("", "Container engine address (unix:///run/podman/podman.sock); "
                           "empty: the docker plugin's, else DOCKER_HOST, else the default "
                           "socket."),
    "templates_dir": {"type": "string", "minLength": 1,
                      "description": "A folder of your own app templates (*.toml); one "
                                     "named like a shipped template replaces it."},
    "bind": string("127.0.0.1", "Host address apps' ports are published on (Caddy in "
                                "front reaches them there)."),
    "timeout": timeout("Seconds one engine call may take.", 30),
    "interval": interval(60, "Seconds between two health checks of the apps."),
    "stacks": {"type": "array", "default": [], "description": "Compose files shown as stacks.",
               "items": {"type": "object", "additionalProperties": False,
                         "required": ["name", "file"], "properties": {
                             "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$",
                                      "description": "The compose project name."},
                             "file": {"type": "string", "minLength": 1}}}},
    "compose": {"type": "array", "items": {"type": "string", "minLength": 1}, "default": [],
                "description": "The compose command line; empty: the first found of "
                               "`docker compose`, podman-compose, docker-compose."},
    "compose_env": {"type": "object", "additionalProperties": {"type": "string"},
                    "default": {}, "description": "Environment for the compose command "
                                                  "(DOCKER_HOST for docker-compose on a "
                                                  "Podman socket)."},
    "dns": {"enum": ["", "zoneedit", "ddns", "none"], "default": "",
            "description": "The DDNS plugin that keeps an app domain's DNS record (its "
                           "add_host/remove_host actions, under the deploy's approval); "
                           "empty: zoneedit if running, else ddns if running; none: never."},
    "compose_timeout": timeout("Seconds one compose command may take.", 600),
    **nameservers.properties(["1.1.1.1", "8.8.8.8", "9.9.9.9"],
                             "Resolvers the apps.dns check asks for each app's domain; "
                             "every one must serve the public IP."),
})


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return nameservers.entry_problems(config.get("resolvers", []))

HOSTNAME = r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
APP = {"type": "string", "pattern": NAME, "description": "The app's name (its container's)."}

DEPLOY_PARAMS = params({
    "template": {"type": "string", "pattern": NAME, "description": "Template name."},
    "name": {**APP, "description": "The app's name; default: the template's."},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535,
             "description": "Host port the app is published on (on `bind`)."},
    "domain": {"type": "string", "pattern": HOSTNAME, "maxLength": 253,
               "description": "Serve it at this name through Caddy (the caddy plugin adds "
                              "the site, under this deploy's approval)."},
    "tls": {"enum": ["auto", "internal"], "default": "auto",
            "description": "The site's certificate: auto (Caddy's automatic HTTPS) or "
                           "internal (Caddy's own CA, for LAN names)."},
    "database": {"type": "boolean", "default": False,
                 "description": "Give it its own PostgreSQL database (the postgres plugin "
                                "makes it; templates with [database])."},
}, required=["template", "port"])

REMOVE_PARAMS = params({
    "name": APP,
    "volumes": {"type": "boolean", "default": False,
                "description": "Also delete its volumes and generated secrets (its data)."},
}, required=["name"])

STACK_PARAMS = params({
    "stack": {"type": "string", "description": "The stack's name (config `stacks`)."},
    "command": {"enum": ["up", "down", "pull", "restart"],
                "description": "What compose does with it."},
}, required=["stack", "command"])
