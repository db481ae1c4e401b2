"""The `[plugins.network]` config schema and the params of the listeners query."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from nebula.helpers import nameservers
from nebula.helpers.checks import ordered_limits
from nebula.helpers.schema import config_schema, integer, interval, limit_pair, params, timeout

SCOPES = ("loopback", "lan", "all")
PROTOS = ("tcp", "udp")


def _globs(default: list[str], what: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string", "minLength": 1}, "default": default,
            "description": what}


EXPECTED_PORT = {
    "type": "object", "additionalProperties": False, "required": ["port"],
    "properties": {
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "proto": {"enum": list(PROTOS), "default": "tcp"},
        "process": {"type": "string", "minLength": 1,
                    "description": "Only when this process (its name, a glob) holds the "
                                   "port; another process on it is an exposure."},
    },
}

_DNS = nameservers.properties(
    [], "DNS servers whose resolution latency is measured; empty: the host's own "
        "(the nameserver lines of /etc/resolv.conf).")
_DNS["resolvers"]["minItems"] = 0

CONFIG_SCHEMA: dict[str, Any] = config_schema({
    "interval": interval(30, "Seconds between checks; socket and counter readings are "
                             "shared for half of it."),
    "ignore_interfaces": _globs(["lo", "veth*"], "Interfaces left out of the counters "
                                                  "(globs)."),
    "required_interfaces": _globs([], "Interfaces (globs) that must be up: one that is "
                                      "not makes network.interfaces critical."),
    "expected_ports": {"type": "array", "items": EXPECTED_PORT, "default": [],
                       "description": "Ports that may listen on a non-loopback address. "
                                      "Any other is an exposure (network.exposure warns, "
                                      "naming the process and its command line)."},
    "top_peers": integer(10, "Remote addresses in the top-peers panel and tool.",
                         minimum=1, maximum=100),
    **limit_pair("conntrack", 80, 95, "Used percent of the connection-tracking table",
                 maximum=100),
    **_DNS,
    "dns_name": {"type": "string", "minLength": 1, "default": "example.com",
                 "description": "The name (A record) each resolver is asked for."},
    "dns_slow_ms": {"type": "number", "exclusiveMinimum": 0, "default": 500,
                    "description": "Resolution latency (ms) that warns."},
    "gateway": {"type": "string", "minLength": 1,
                "description": "IPv4 address checked instead of the default route's "
                               "gateway (from /proc/net/route)."},
    "gateway_method": {"enum": ["auto", "icmp", "tcp"], "default": "auto",
                       "description": "auto: ICMP echo, then a TCP connection to "
                                      "gateway_port when ICMP is not allowed or gets no "
                                      "reply."},
    "gateway_port": integer(80, "TCP port tried on the gateway (a refusal counts as up).",
                            minimum=1, maximum=65535),
    "gateway_timeout": timeout("Seconds to wait for the gateway.", default=2),
    "public_ip_action": {"type": "string",
                         "pattern": r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$",
                         "default": "zoneedit.public_ip",
                         "description": "The DDNS plugin's read-only action (and event of "
                                        "the same name) that says our public IP; this "
                                        "plugin never looks it up itself."},
})

LISTENERS_PARAMS = params({
    "scope": {"enum": list(SCOPES),
              "description": "Only listeners bound to loopback, one LAN address or all "
                             "addresses."},
    "unexpected_only": {"type": "boolean", "default": False,
                        "description": "Only listeners that are exposures (not loopback "
                                       "and not in expected_ports)."},
})


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the schema cannot say (the plugin's `nebula_validate_config`)."""
    found = ordered_limits(config, ("conntrack",))
    found += nameservers.entry_problems(config.get("resolvers", ()))
    if (gateway := config.get("gateway")) is not None:
        try:
            ipaddress.IPv4Address(gateway)
        except ValueError:
            found.append(("gateway", f"{gateway!r} is not an IPv4 address"))
    return found
