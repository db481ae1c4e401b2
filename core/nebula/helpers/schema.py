"""JSON Schema pieces every plugin's config and params repeat, as plain data.

    CONFIG_SCHEMA = config_schema({
        "url": url("http://127.0.0.1:32400", "The server's base URL."),
        **tls_options("the server"),
        "timeout": timeout("Seconds for one request to the server."),
        "interval": interval(60, "Seconds between two polls of the server."),
        **limit_pair("disk", 80, 90, "Used percent of a disk"),
    }, required=["token"])

    Tool(name="status", params=EMPTY_PARAMS, run=status)
    Action("restart", run, ..., params({"timeout": integer(10, "Grace period (s).")}))

Every function returns a new dict, so a plugin may extend what it gets. `EMPTY_PARAMS` is
one shared dict: read it, never change it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Schema = dict[str, Any]

# The params of an action or tool that takes none: any property is refused.
EMPTY_PARAMS: Schema = {"type": "object", "additionalProperties": False, "properties": {}}


def params(properties: Mapping[str, Any] | None = None,
           required: Iterable[str] = ()) -> Schema:
    """An action's or tool's params: an object with exactly these properties."""
    schema: Schema = {"type": "object", "additionalProperties": False,
                      "properties": dict(properties or {})}
    if required := list(required):
        schema["required"] = required
    return schema


def config_schema(properties: Mapping[str, Any], required: Iterable[str] = ()) -> Schema:
    """A plugin's `[plugins.<name>]` schema: these keys and no others (a misspelt key is
    an error at validation, not silently ignored)."""
    return params(properties, required)


def _described(schema: Schema, description: str, default: Any) -> Schema:
    if default is not None:
        schema["default"] = default
    if description:
        schema["description"] = description
    return schema


def _bounded(kind: str, default: float | None, description: str, minimum: float,
             maximum: float | None) -> Schema:
    schema: Schema = {"type": kind, "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    return _described(schema, description, default)


def number(default: float | None, description: str = "", minimum: float = 0,
           maximum: float | None = None) -> Schema:
    return _bounded("number", default, description, minimum, maximum)


def integer(default: int | None, description: str = "", minimum: int = 0,
            maximum: int | None = None) -> Schema:
    return _bounded("integer", default, description, minimum, maximum)


def string(default: str | None = None, description: str = "", *,
           min_length: int = 0) -> Schema:
    schema: Schema = {"type": "string"}
    if min_length:
        schema["minLength"] = min_length
    return _described(schema, description, default)


def url(default: str | None, description: str, *, base_only: bool = False) -> Schema:
    """An http(s) URL; `base_only`: scheme, host and port, no path (the plugin adds it)."""
    pattern = "^https?://[^/?#]+/?$" if base_only else "^https?://[^/?#]+([/?#].*)?$"
    return _described({"type": "string", "pattern": pattern}, description, default)


def timeout(description: str, default: float = 10) -> Schema:
    """Seconds one request may take: more than 0."""
    return _described({"type": "number", "exclusiveMinimum": 0}, description, default)


def interval(default: float, description: str, minimum: float = 1) -> Schema:
    """Seconds between two polls or checks."""
    return number(default, description, minimum)


def tls_options(peer: str) -> Schema:
    """`verify_tls` and `ca_bundle`, the two settings `nebula.helpers.net.tls_context`
    reads; `peer` names who presents the certificate ("Home Assistant")."""
    return {
        "verify_tls": {"type": "boolean", "default": True,
                       "description": f"Verify {peer}'s TLS certificate (https URLs). Turn "
                                      f"off only for a test instance."},
        "ca_bundle": {"type": "string", "minLength": 1,
                      "description": f"PEM file of the CA certificates that signed {peer}'s "
                                     f"certificate, trusted instead of the system's."},
    }


def limit_pair(key: str, warning: float, critical: float, what: str, *,
               minimum: float = 0, maximum: float | None = None) -> Schema:
    """`<key>_warning` and `<key>_critical`, the pair `nebula.helpers.checks.Threshold.of`
    and `limit_problems` read; `what` is the measured value ("Used percent of a disk")."""
    return {
        f"{key}_warning": number(warning, f"{what} that warns.", minimum, maximum),
        f"{key}_critical": number(critical, f"{what} that is critical.", minimum, maximum),
    }
