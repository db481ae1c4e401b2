"""Config schema pieces every DDNS plugin shares: how the public IP is found, how DNS is
read, and the cycle's timing. A plugin adds its provider's keys (`common_properties()` gives
the rest) and returns `config_problems` from its `nebula_validate_config`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.helpers import nameservers
from nebula.helpers.schema import integer, interval, timeout

HOSTNAME = r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$"
IPV4_SERVICES = ["https://api.ipify.org/", "https://checkip.amazonaws.com/",
                 "https://ipv4.icanhazip.com/"]
IPV6_SERVICES = ["https://api6.ipify.org/", "https://ipv6.icanhazip.com/"]


def urls(default: list[str], what: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string", "pattern": "^https?://"},
            "default": default, "description": what}


def common_properties(*, resolvers_default: list[str], resolvers_help: str,
                      history_size: int = 500) -> dict[str, Any]:
    return {
        "ipv6": {"type": "boolean", "default": False,
                 "description": "Also keep AAAA records on the public IPv6 address."},
        "ipv4_services": urls(IPV4_SERVICES, "Echo services that tell the public IPv4 "
                                             "address."),
        "ipv6_services": urls(IPV6_SERVICES, "Echo services that tell the public IPv6 "
                                             "address."),
        "ipv6_interface": {"type": "string", "minLength": 1,
                           "description": "Count this interface's stable global IPv6 "
                                          "address (\"*\": any interface's) as one more "
                                          "voice beside the IPv6 echo services."},
        "min_agreeing": {"type": "integer", "minimum": 1, "default": 2,
                         "description": "Sources that must give the same address (and none "
                                        "may give another) before acting."},
        "resolvers": nameservers.schema(resolvers_default, resolvers_help),
        "dns_port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 53,
                     "description": "Port of the resolvers listed without one."},
        "interval": interval(300, "Seconds between two comparisons (and updates when "
                                  "needed)."),
        "timeout": timeout("Seconds for one echo, DNS or provider request."),
        "verify_timeout": {"type": "number", "minimum": 0, "default": 30,
                           "description": "Seconds to wait for DNS to serve a new address "
                                          "after an update."},
        "history_size": integer(history_size, "Update records kept in the store.", minimum=1),
    }


def host_item(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A host: a name, or a table {host, zone} for one deeper than a label under its zone."""
    return {"oneOf": [
        {"type": "string", "pattern": HOSTNAME},
        {"type": "object", "additionalProperties": False, "required": ["host"],
         "properties": {"host": {"type": "string", "pattern": HOSTNAME},
                        "zone": {"type": "string", "pattern": HOSTNAME}, **(extra or {})}}]}


def host_zones(items: list[Any]) -> dict[str, str | None]:
    """Each configured host with its zone (None: the provider works it out)."""
    out: dict[str, str | None] = {}
    for item in items:
        if isinstance(item, str):
            out[item.lower().rstrip(".")] = None
        else:
            zone = item.get("zone")
            out[item["host"].lower().rstrip(".")] = zone.lower().rstrip(".") if zone else None
    return out


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`(key path, why)` for settings that could never lead to an update."""
    found = nameservers.entry_problems(config["resolvers"])
    families = [("ipv4", len(config["ipv4_services"]))]
    if config["ipv6"]:
        families.append(("ipv6", len(config["ipv6_services"])
                         + (1 if config.get("ipv6_interface") else 0)))
    for family, sources in families:
        if sources < config["min_agreeing"]:
            found.append(("min_agreeing", f"min_agreeing is {config['min_agreeing']} but only "
                                          f"{sources} {family} echo service(s) are "
                                          "configured"))
    return found
