"""App templates: plain TOML data, shipped in this package (`templates/*.toml`) and
addable by the owner (`templates_dir`; a file there with a shipped template's name
replaces it). Each is validated against TEMPLATE_SCHEMA when read; a broken one is
reported by name and left out, never half-used.

    name = "uptime-kuma"            # also the default app (container) name
    title = "Uptime Kuma"
    image = "docker.io/louislam/uptime-kuma:1"
    command = []                    # optional: replaces the image's command
    port = 3001                     # the container port that serves HTTP
    [env]                           # plain settings
    TZ = "UTC"
    [secrets]                       # generated at deploy (bytes of randomness), kept in the
    ADMIN_TOKEN = 32                # secret store, passed as env; never shown
    [volumes]                       # named volumes: <app>-<key>, mounted at the path
    data = "/app/data"
    [healthcheck]
    path = "/"                      # GET on the published port answers below 500
    timeout = 60
    [database]                      # optional PostgreSQL through the postgres plugin (deploy
    env = "DATABASE_URL"            # with database = true): its connection string goes here
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SHIPPED = Path(__file__).resolve().parent / "templates"
NAME = r"^[a-z][a-z0-9-]{0,40}[a-z0-9]$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

TEMPLATE_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["name", "image", "port"],
    "properties": {
        "name": {"type": "string", "pattern": NAME},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "image": {"type": "string", "minLength": 1},
        "command": {"type": "array", "items": {"type": "string"}},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "env": {"type": "object", "propertyNames": {"pattern": ENV_NAME},
                "additionalProperties": {"type": "string"}},
        "secrets": {"type": "object", "propertyNames": {"pattern": ENV_NAME},
                    "additionalProperties": {"type": "integer", "minimum": 16,
                                             "maximum": 128}},
        "volumes": {"type": "object", "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
                    "additionalProperties": {"type": "string", "pattern": "^/"}},
        "healthcheck": {"type": "object", "additionalProperties": False, "properties": {
            "path": {"type": "string", "pattern": "^/"},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600}}},
        "database": {"type": "object", "additionalProperties": False, "required": ["env"],
                     "properties": {"env": {"type": "string", "pattern": ENV_NAME}}},
    },
}


@dataclass(frozen=True)
class Template:
    name: str
    image: str
    port: int
    source: str
    title: str = ""
    description: str = ""
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, int] = field(default_factory=dict)
    volumes: Mapping[str, str] = field(default_factory=dict)
    health_path: str = "/"
    health_timeout: float = 60.0
    database_env: str | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any], source: str) -> Template:
        jsonschema.validate(dict(data), TEMPLATE_SCHEMA)
        health = data.get("healthcheck") or {}
        return cls(data["name"], data["image"], data["port"], source,
                   data.get("title", data["name"]), data.get("description", ""),
                   tuple(data.get("command") or ()), dict(data.get("env") or {}),
                   dict(data.get("secrets") or {}), dict(data.get("volumes") or {}),
                   health.get("path", "/"), float(health.get("timeout", 60)),
                   (data.get("database") or {}).get("env"))

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "description": self.description,
                "image": self.image, "port": self.port, "env": sorted(self.env),
                "secrets": sorted(self.secrets), "volumes": dict(self.volumes),
                "healthcheck": self.health_path, "database": self.database_env is not None,
                "source": self.source}


@dataclass
class Catalogue:
    templates: dict[str, Template]
    problems: dict[str, str]  # file -> why it was left out


def load(user_dir: str | None) -> Catalogue:
    """The shipped templates, then the owner's (which win on a shared name)."""
    found: dict[str, Template] = {}
    problems: dict[str, str] = {}
    folders = [SHIPPED] + ([Path(user_dir)] if user_dir else [])
    for folder in folders:
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            try:
                template = Template.parse(tomllib.loads(path.read_text(encoding="utf-8")),
                                          str(path))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                problems[str(path)] = str(exc)
                continue
            except jsonschema.ValidationError as exc:
                where = "/".join(map(str, exc.absolute_path)) or "(template)"
                problems[str(path)] = f"{where}: {exc.message}"
                continue
            found[template.name] = template
    return Catalogue(found, problems)
