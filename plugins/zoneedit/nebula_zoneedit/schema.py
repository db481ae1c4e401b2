"""The `[plugins.zoneedit]` config schema and the params of the actions and tools."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.helpers import nameservers
from nebula.helpers.schema import config_schema, integer, interval, params, timeout
from nebula_zoneedit.answers import ZONEEDIT_MIN_INTERVAL

HOSTNAME = r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$"


def _urls(default: list[str], what: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string", "pattern": "^https?://"},
            "default": default, "description": what}


CONFIG_SCHEMA = config_schema(required=["username", "token", "hosts"], properties={
    "username": {"type": "string", "minLength": 1, "writeOnly": True,
                 "description": "ZoneEdit account name (use ${ENV} or username_file)."},
    "token": {"type": "string", "minLength": 1,
              "description": "The zone's dynamic authentication token (not the account "
                             "password); use ${ENV} or token_file."},
    "hosts": {"type": "array", "minItems": 1, "description": "Host names to keep "
              "updated, or tables {host, zone} for hosts deeper than one label under "
              "their zone.",
              "items": {"oneOf": [
                  {"type": "string", "pattern": HOSTNAME},
                  {"type": "object", "additionalProperties": False, "required": ["host"],
                   "properties": {"host": {"type": "string", "pattern": HOSTNAME},
                                  "zone": {"type": "string", "pattern": HOSTNAME}}}]}},
    "ipv6": {"type": "boolean", "default": False,
             "description": "Also keep AAAA records on the public IPv6 address."},
    "ipv4_services": _urls(["https://api.ipify.org/", "https://checkip.amazonaws.com/",
                            "https://ipv4.icanhazip.com/"],
                           "Echo services that tell the public IPv4 address."),
    "ipv6_services": _urls(["https://api6.ipify.org/", "https://ipv6.icanhazip.com/"],
                           "Echo services that tell the public IPv6 address."),
    "min_agreeing": {"type": "integer", "minimum": 1, "default": 2,
                     "description": "Echo services that must give the same address "
                                    "(and none may give another) before acting."},
    "update_url": {"type": "string", "pattern": "^https?://",
                   "default": "https://dynamic.zoneedit.com/auth/dynamic.html",
                   "description": "ZoneEdit's dynamic-update endpoint."},
    "resolvers": nameservers.schema(["1.1.1.1", "8.8.8.8"],
                                    "DNS servers asked what the records serve; ZoneEdit's "
                                    "own name servers give the freshest answer."),
    "dns_port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 53,
                 "description": "Port of the resolvers listed without one."},
    "interval": interval(300, "Seconds between two comparisons (and updates when "
                              "needed)."),
    "min_interval": {"type": "number", "minimum": 0, "default": ZONEEDIT_MIN_INTERVAL,
                     "description": "Seconds between two update requests for one host; "
                                    "ZoneEdit refuses more often than every 600 s."},
    "timeout": timeout("Seconds for one echo, DNS or ZoneEdit request."),
    "verify_timeout": {"type": "number", "minimum": 0, "default": 30,
                       "description": "Seconds to wait for DNS to serve a new address "
                                      "after an update."},
    "history_size": integer(500, "Update records kept in the store.", minimum=1),
})

UPDATE_PARAMS = params({
    "force": {"type": "boolean", "default": False,
              "description": "Send the update even where DNS already serves the public IP. "
                             "The minimum interval and backoff still apply."},
    "hosts": {"type": "array", "items": {"type": "string"},
              "description": "Only these configured hosts (default: all)."},
})
HISTORY_PARAMS = params({"limit": integer(20, "Most recent records to return.", minimum=1,
                                          maximum=500)})


def host_zones(config: Mapping[str, Any]) -> dict[str, str | None]:
    """Each configured host with its zone (None: ZoneEdit works it out)."""
    out: dict[str, str | None] = {}
    for item in config["hosts"]:
        if isinstance(item, str):
            out[item.lower().rstrip(".")] = None
        else:
            out[item["host"].lower().rstrip(".")] = item.get("zone")
    return out


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`(key path, why)` for settings that could never lead to an update (the plugin's
    `nebula_validate_config`: before every start, and in `nebula config validate`)."""
    found = nameservers.entry_problems(config["resolvers"])
    families = [("ipv4", config["ipv4_services"])]
    if config["ipv6"]:
        families.append(("ipv6", config["ipv6_services"]))
    for family, services in families:
        if len(services) < config["min_agreeing"]:
            found.append(("min_agreeing", f"min_agreeing is {config['min_agreeing']} but only "
                                          f"{len(services)} {family} echo service(s) are "
                                          "configured"))
    return found
