"""Reading and validating `nebula.toml`.

Every problem is reported with the file, the line and the key path, and an unknown key
comes with the nearest valid one. No file at all is a valid start (all defaults).
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from nebula.errors import NebulaError
from nebula.manifests import BuiltinManifest, section_claims
from nebula.secrets import MASK, SECRETS, is_secret_key
from nebula.toml_lines import KeyLines

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# A value sealed with the agent's key (`<data_dir>/secret.key`), as the panel's settings
# form writes secrets: the file alone does not reveal them.
SEALED_RE = re.compile(r"^\$\{sealed:([A-Za-z0-9_=-]+)\}$")

AGENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "bind": {"type": "string", "default": "127.0.0.1"},
        "port": {"type": "integer", "minimum": 0, "maximum": 65535, "default": 8765},
        "data_dir": {"type": "string"},
        # Where the store is: empty for SQLite in the data dir (the default), or a
        # PostgreSQL URL for a fleet hub (nebula.store.postgres, docs/fleet.md).
        "store": {"type": "string", "pattern": "^((postgres|postgresql)://.*)?$",
                  "default": ""},
        "log_format": {"enum": ["auto", "console", "json"], "default": "auto"},
        "log_level": {"enum": ["debug", "info", "warning", "error"], "default": "info"},
        "flap_threshold": {"type": "integer", "minimum": 1, "default": 2},
        "retention_days": {"type": "number", "exclusiveMinimum": 0, "default": 14},
        "audit_retention_days": {"type": "number", "exclusiveMinimum": 0, "default": 365},
        "startup_timeout": {"type": "number", "exclusiveMinimum": 0, "default": 10},
        # Seconds a pending approval stays valid; past it, it can only be filed again.
        "approval_ttl": {"type": "number", "exclusiveMinimum": 0, "default": 3600},
        # Reverse proxies whose forwarding headers are believed (docs/web.md); the web
        # panel's sign-in settings are the auth plugin's, in [auth].
        "trusted_proxies": {"type": "array", "items": {"type": "string"}, "default": []},
        # What the HTTP server accepts (nebula.http.hosts, nebula.http.limits).
        "public_url": {"type": "string", "pattern": "^(https?://[^/?#]+.*)?$", "default": ""},
        "allowed_hosts": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "header_timeout": {"type": "number", "exclusiveMinimum": 0, "default": 20},
        "body_timeout": {"type": "number", "exclusiveMinimum": 0, "default": 60},
        "max_websockets": {"type": "integer", "minimum": 1, "default": 8},
        # A second listener serving the same API over mutual TLS (the fleet hub reaches an
        # enrolled agent there; `nebula fleet enroll` writes these): the server certificate
        # and key, and the CA whose client certificates are required.
        "tls_port": {"type": "integer", "minimum": 0, "maximum": 65535},
        "tls_cert": {"type": "string", "minLength": 1},
        "tls_key": {"type": "string", "minLength": 1},
        "tls_client_ca": {"type": "string", "minLength": 1},
    },
    "dependentRequired": {"tls_port": ["tls_cert", "tls_key", "tls_client_ca"]},
}
# The core's own top-level keys; built-in plugins claim more (nebula.manifests).
CORE_KEYS = ("agent", "plugins")


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in the config, where it is (file, line, key path) and why."""

    path: str
    message: str
    file: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file or "<defaults>"
        return f"{where}: {self.path or '(top)'}: {self.message}"


class ConfigError(NebulaError):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


@dataclass
class Config:
    path: Path | None
    agent: dict[str, Any]
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: KeyLines = field(default_factory=lambda: KeyLines(""))
    # Top-level sections built-in plugins claim (`[jarvis]`, `[[remediation]]`), each
    # validated against its plugin's schema, with defaults: a missing one reads as empty.
    sections: dict[str, Any] = field(default_factory=dict)
    key_path: Path = Path("secret.key")

    @property
    def data_dir(self) -> Path:
        return Path(self.agent["data_dir"]).expanduser()

    def plugin_section(self, name: str) -> dict[str, Any]:
        return self.plugins.get(name, {})

    def problem(self, path: str, message: str) -> ConfigProblem:
        return ConfigProblem(path, message, str(self.path or ""), self.lines.line_of(path))


def default_config_path() -> Path | None:
    """`NEBULA_CONFIG`, then `./nebula.toml`, then the user's config dir; None if none exists."""
    if env := os.environ.get("NEBULA_CONFIG"):
        return Path(env)
    for candidate in config_candidates():
        if candidate.is_file():
            return candidate
    return None


def config_candidates() -> list[Path]:
    """Where a config file is looked for when neither --config nor NEBULA_CONFIG names one."""
    from platformdirs import user_config_dir

    return [Path("nebula.toml"), Path(user_config_dir("nebula")) / "nebula.toml"]


def default_data_dir() -> str:
    from platformdirs import user_state_dir

    return user_state_dir("nebula")


def load(path: Path | None) -> Config:
    """Parse, interpolate and validate the `[agent]` section; plugin sections are validated
    later against each plugin's own schema (`validate_section`)."""
    config, problems = read(path)
    if problems or config is None:
        raise ConfigError(problems)
    return config


def read(path: Path | None, *, agent_only: bool = False,
         ) -> tuple[Config | None, list[ConfigProblem]]:
    """The config and every problem found in it, not just the first, so `config validate`
    can go on to check the plugin sections of a file whose `[agent]` is wrong too. The
    config is None only when the file cannot be read or is not TOML at all.

    `agent_only` reads `[agent]` alone (the CLI finding a running agent by its data dir):
    the other sections, and the `${ENV}` and `*_file` secrets in them, are left unread."""
    if path is None:
        return _build(None, {}, KeyLines(""))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [ConfigProblem("", f"cannot read config: {exc.strerror}", str(path))]
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        return None, [ConfigProblem("", f"invalid TOML: {exc}", str(path), line)]
    if agent_only:
        raw = {key: value for key, value in raw.items() if key == "agent"}
    return _build(path, raw, KeyLines(text))


def _line_from_message(message: str) -> int | None:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else None


def _build(
    path: Path | None, raw: dict[str, Any], lines: KeyLines
) -> tuple[Config, list[ConfigProblem]]:
    config = Config(path, {}, {}, lines, key_path=key_path(raw.get("agent")))
    problems: list[ConfigProblem] = []
    claims = section_claims()
    for key in raw:
        if key not in CORE_KEYS and key not in claims:
            problems.append(config.problem(key, _unknown(key, [*CORE_KEYS, *claims])))
    resolved = _resolve(raw, "", config, problems)
    agent = resolved.get("agent", {})
    if not isinstance(agent, dict):
        problems.append(config.problem("agent", "must be a table"))
        agent = {}
    for key, manifest in claims.items():
        resolved[key] = _moved_from_agent(config, key, agent, resolved.get(key), manifest,
                                          problems)
    agent.update(_agent_from_environment(problems))
    problems += validate_section(config, "agent", agent, AGENT_SCHEMA)
    config.agent = with_defaults(agent, AGENT_SCHEMA)
    config.agent.setdefault("data_dir", default_data_dir())
    for key, manifest in claims.items():
        config.sections[key] = _claimed(config, key, resolved.get(key), manifest, problems)
    plugins = resolved.get("plugins", {})
    for name, section in plugins.items() if isinstance(plugins, dict) else ():
        if not isinstance(section, dict):
            problems.append(config.problem(f"plugins.{name}", "must be a table"))
            continue
        config.plugins[name] = section
    return config, problems


def _agent_from_environment(problems: list[ConfigProblem]) -> dict[str, Any]:
    """`NEBULA_<KEY>` (`NEBULA_PORT=9000`, `NEBULA_DATA_DIR=/data`) overrides `[agent] <key>`:
    how a container or a service manager changes a setting without a file. A list is
    comma-separated. A wrong value is reported against the variable, not the file."""
    found: dict[str, Any] = {}
    for key, schema in AGENT_SCHEMA["properties"].items():
        name = f"NEBULA_{key.upper()}"
        if (raw := os.environ.get(name)) is None:
            continue
        value: Any = raw
        with contextlib.suppress(ValueError):
            value = {"integer": int, "number": float}.get(schema.get("type"), str)(raw)
        if schema.get("type") == "array":
            value = [item.strip() for item in raw.split(",") if item.strip()]
        errors = [error.message for error in
                  jsonschema.Draft202012Validator(schema).iter_errors(value)]
        if errors:
            problems.append(ConfigProblem(f"agent.{key}", f"{name}: {errors[0]}", "environment"))
        else:
            found[key] = value
    return found


def _moved_from_agent(config: Config, key: str, agent: dict[str, Any], value: Any,
                      manifest: BuiltinManifest, problems: list[ConfigProblem]) -> Any:
    """Keys of `[agent]` that a built-in took into its own section (`[auth] session_ttl`,
    once `[agent] session_ttl`): taken out of `agent` and read as if written in the
    section, so files from before still mean what they meant; a problem with one points
    at the line in `[agent]`. Set in both places is a problem."""
    moved = [name for name in manifest.moved_agent_keys if name in agent]
    if not moved or not isinstance(value, dict | None):
        return value
    section = dict(value or {})
    for name in moved:
        if name in section:
            problems.append(config.problem(f"agent.{name}", f"moved to [{key}] {name}, "
                                           "which is set too; keep that one"))
            agent.pop(name)
            continue
        section[name] = agent.pop(name)
        config.lines.alias(f"{key}.{name}", f"agent.{name}")
    return section


def _claimed(config: Config, key: str, value: Any, manifest: BuiltinManifest,
             problems: list[ConfigProblem]) -> Any:
    """A section a built-in plugin claims, checked against the plugin's own schema (and
    its extra rules), with defaults filled in; an absent section reads as empty."""
    schema: Mapping[str, Any] = manifest.config_schema or {"type": "object"}
    is_array = schema.get("type") == "array"
    if value is None:
        value = [] if is_array else {}
    found = [config.problem(f"{key}.{where}" if where else key, message)
             for where, message in (manifest.config_check(value) if manifest.config_check
                                    else ())]
    if not isinstance(value, list if is_array else dict):
        if not found:
            found.append(config.problem(key, "must be an array of tables" if is_array
                                        else "must be a table"))
        problems += found
        return [] if is_array else with_defaults({}, schema)
    problems += found + validate_section(config, key, value, schema)
    for secret in write_only_values(value, schema):
        SECRETS.add(secret)
    if isinstance(value, list):
        items = schema.get("items", {})
        return [with_defaults(item, items) if isinstance(item, dict) else item
                for item in value]
    return with_defaults(value, schema)


def _resolve(value: Any, path: str, config: Config, problems: list[ConfigProblem]) -> Any:
    """Interpolate `${ENV}` / `${ENV:-default}` and read `*_file` secrets, recursively."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            if key.endswith("_file") and isinstance(item, str):
                target = key.removesuffix("_file")
                target_path = f"{path}.{target}" if path else target
                # Errors about the secret (its type, say) point at the `_file` line.
                config.lines.alias(target_path, sub)
                if target in value:
                    problems.append(config.problem(
                        sub, f"both {target!r} and {key!r} are set; keep one"))
                out[target] = _read_secret_file(_resolve(item, sub, config, problems), sub,
                                                config, problems)
            else:
                out[key] = _resolve(item, sub, config, problems)
                if is_secret_key(key) and isinstance(out[key], str):
                    SECRETS.add(out[key])
        return out
    if isinstance(value, list):
        return [_resolve(v, f"{path}.{i}", config, problems) for i, v in enumerate(value)]
    if isinstance(value, str):
        if sealed := SEALED_RE.match(value):
            return _unseal(sealed.group(1), path, config, problems)
        return ENV_RE.sub(lambda m: _env(m, path, config, problems), value)
    return value


def key_path(raw_agent: Any) -> Path:
    """The agent's key file, known before `[agent]` is validated (sealed values are read
    while the file is): the data dir as the environment or the file names it."""
    data_dir = os.environ.get("NEBULA_DATA_DIR") or (
        raw_agent.get("data_dir") if isinstance(raw_agent, dict) else None)
    return Path(data_dir if isinstance(data_dir, str) else default_data_dir()
                ).expanduser() / "secret.key"


def _unseal(token: str, path: str, config: Config, problems: list[ConfigProblem]) -> str:
    from nebula.secret_store import Sealer, SecretStoreError

    try:
        secret = Sealer(config.key_path).unseal(token, f"the sealed value of {path}")
    except SecretStoreError as exc:
        problems.append(config.problem(path, str(exc)))
        return ""
    SECRETS.add(secret)
    return secret


def _env(match: re.Match[str], path: str, config: Config, problems: list[ConfigProblem]) -> str:
    name, default = match.group(1), match.group(2)
    if name in os.environ:
        value = os.environ[name]
        # `url = "postgres://app:${PG_PASSWORD}@db/app"`: the key is not secret-named, the
        # variable is.
        if is_secret_key(name):
            SECRETS.add(value)
        return value
    if default is not None:
        return default
    problems.append(config.problem(path, f"environment variable {name} is not set"))
    return ""


def _read_secret_file(file: str, path: str, config: Config, problems: list[ConfigProblem]) -> str:
    try:
        secret = Path(file).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        problems.append(config.problem(path, f"cannot read secret file {file}: {exc.strerror}"))
        return ""
    SECRETS.add(secret)
    return secret


def _unknown(key: str, valid: Iterator[str] | tuple[str, ...] | list[str]) -> str:
    near = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return f"unknown key {key!r}{hint}"


def validate_section(
    config: Config, prefix: str, section: Mapping[str, Any] | list[Any],
    schema: Mapping[str, Any],
) -> list[ConfigProblem]:
    """Every schema violation in `section`, each with its line and key path."""
    problems = []
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(section), key=lambda e: list(map(str, e.path))):
        where = ".".join([prefix, *map(str, error.path)])
        if error.validator == "additionalProperties":
            props = error.schema.get("properties", {})
            for key in sorted(set(error.instance) - set(props)):
                problems.append(config.problem(f"{where}.{key}", _unknown(key, list(props))))
            continue
        problems.append(config.problem(where, SECRETS.redact(error.message)))
    return problems


def with_defaults(section: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """`section` with the schema's top-level defaults filled in."""
    out = {
        key: prop["default"]
        for key, prop in schema.get("properties", {}).items()
        if "default" in prop
    }
    out.update(section)
    return out


def plugin_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """A plugin's schema with the core's `enabled` key added."""
    merged: dict[str, Any] = dict(schema or {"type": "object", "properties": {}})
    merged["properties"] = {"enabled": {"type": "boolean"}, **merged.get("properties", {})}
    return merged


def _mask_write_only(value: Any, schema: Mapping[str, Any]) -> Any:
    """`value` with every part its schema marks writeOnly masked, at any depth (a secret
    inside an array of tables, such as a notification channel's webhook URL)."""
    if schema.get("writeOnly") and value not in (None, ""):
        return MASK
    if isinstance(value, Mapping):
        props = schema.get("properties", {})
        return {k: _mask_write_only(v, props.get(k, {})) for k, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items", {})
        return [_mask_write_only(v, items if isinstance(items, Mapping) else {})
                for v in value]
    return value


def write_only_values(value: Any, schema: Mapping[str, Any]) -> Iterator[str]:
    """The strings a schema marks writeOnly in `value`, at any depth."""
    if schema.get("writeOnly") and isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        props = schema.get("properties", {})
        for k, v in value.items():
            yield from write_only_values(v, props.get(k, {}))
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for v in value:
            yield from write_only_values(v, schema["items"])


def masked(section: Any, schema: Mapping[str, Any] | None = None) -> Any:
    """A section as `config show` prints it: secrets masked, whatever their key name."""
    return SECRETS.redact(_mask_write_only(section, schema or {}))
