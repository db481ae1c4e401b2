"""DNS servers as a plugin's config names them: `address`, `address:port` or
`[IPv6]:port`, each entry with its own port or the plugin's default one.

    RESOLVERS = nameservers.schema(["1.1.1.1", "8.8.8.8"], "DNS servers asked.")
    servers = [nameservers.parse(spec, config["dns_port"]) for spec in config["resolvers"]]
    found = nameservers.problems(config["resolvers"])   # at start: what cannot be parsed

A bare IPv6 address takes the default port (its colons are the address's own): a port on
an IPv6 server needs the brackets, as in a URL.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from nebula.helpers.schema import timeout

FORMS = "an IP address, address:port or [IPv6]:port"


@dataclass(frozen=True)
class Nameserver:
    address: str  # an IP address, as a socket takes it
    port: int
    label: str  # the entry as configured, which is how messages name the server

    def __str__(self) -> str:
        return self.label


def parse(spec: str, default_port: int) -> Nameserver:
    """`spec` as a server; ValueError names the entry and what it should look like."""
    text = spec.strip()
    try:
        return Nameserver(str(ipaddress.ip_address(text)), default_port, text)
    except ValueError:
        pass
    parts = urlsplit(f"//{text}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{spec!r}: the port must be a number from 1 to 65535")
    host = parts.hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{spec!r} is not {FORMS}") from None
    if parts.path or parts.query or parts.fragment or parts.username is not None \
            or (address.version == 6 and not text.startswith("[")):
        raise ValueError(f"{spec!r} is not {FORMS}")
    return Nameserver(str(address), port or default_port, text)


def entry_problems(specs: Iterable[str], key: str = "resolvers") -> list[tuple[str, str]]:
    """`(key.<index>, why)` per entry that `parse` refuses: what a plugin's
    `nebula_validate_config` returns for its list of servers."""
    found = []
    for index, spec in enumerate(specs):
        try:
            parse(spec, 53)
        except ValueError as exc:
            found.append((f"{key}.{index}", str(exc)))
    return found


def problems(specs: Iterable[str], key: str = "resolvers") -> list[str]:
    """One message per entry that `parse` refuses (`entry_problems` as phrases)."""
    return [f"{key}: {why}" for _, why in entry_problems(specs, key)]


def schema(default: list[str], description: str) -> dict[str, Any]:
    """The config schema of a list of servers (`problems` checks each entry's form)."""
    return {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1},
            "default": default,
            "description": f"{description} Each is {FORMS}; without a port, dns_port."}


def properties(default: list[str], description: str) -> dict[str, Any]:
    """The config keys of a plugin that asks DNS servers itself: `resolvers` (`schema`),
    `dns_port` (of entries without one) and `dns_timeout` (seconds per query)."""
    return {"resolvers": schema(default, description),
            "dns_port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 53,
                         "description": "Port of the resolvers listed without one."},
            "dns_timeout": timeout("Seconds for one DNS query.", default=3)}
