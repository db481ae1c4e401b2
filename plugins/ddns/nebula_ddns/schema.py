"""The `[plugins.ddns]` config schema: the keys every `nebula.helpers.ddns` plugin shares,
and one array of tables per provider type (`[[plugins.ddns.rfc2136]]`,
`[[plugins.ddns.cloudflare]]`, `[[plugins.ddns.duckdns]]`), each entry an account with its
hosts."""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from nebula.helpers import nameservers
from nebula.helpers.ddns import schema as ddns_schema
from nebula.helpers.schema import config_schema

PROVIDERS = ("rfc2136", "cloudflare", "duckdns")
TSIG_ALGORITHMS = ["hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1",
                   "hmac-md5"]
# DuckDNS's own install page runs its updater every five minutes; asking more often gains
# nothing and burdens a free service.
DUCKDNS_MIN_INTERVAL = 300.0


def _hosts(what: str) -> dict[str, Any]:
    return {"type": "array", "minItems": 1, "description": what,
            "items": {"type": "string", "pattern": ddns_schema.HOSTNAME}}


def _common(min_interval: float) -> dict[str, Any]:
    return {
        "resolvers": {k: v for k, v in nameservers.schema(
            [], "DNS servers asked what this entry's records serve (default: the "
                "plugin's; an rfc2136 entry's server).").items() if k != "default"},
        "min_interval": {"type": "number", "minimum": 0, "default": min_interval,
                         "description": "Seconds between two update requests for one "
                                        "host."},
    }


def _entry(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                       "required": required, "properties": properties}}


RFC2136 = _entry(["server", "zone", "key_name", "key_secret", "hosts"], {
    "server": {"type": "string", "minLength": 1,
               "description": "The primary server that takes updates: address, "
                              "address:port or [IPv6]:port (port 53 when not given)."},
    "zone": {"type": "string", "pattern": ddns_schema.HOSTNAME,
             "description": "The zone the hosts are in (the update's zone section)."},
    "key_name": {"type": "string", "minLength": 1, "description": "The TSIG key's name, as "
                                                                  "the server knows it."},
    "key_algorithm": {"type": "string", "enum": TSIG_ALGORITHMS, "default": "hmac-sha256"},
    "key_secret": {"type": "string", "minLength": 1,
                   "description": "The TSIG key's secret (base64, as tsig-keygen prints "
                                  "it); use ${ENV} or key_secret_file."},
    "hosts": _hosts("Names in the zone whose A (and AAAA) records follow the public IP."),
    "ttl": {"type": "integer", "minimum": 0, "default": 60,
            "description": "TTL of the records written."},
    **_common(0.0),
})
CLOUDFLARE = _entry(["api_token", "hosts"], {
    "api_token": {"type": "string", "minLength": 1,
                  "description": "An API token with Zone:Read and DNS:Edit on the zones "
                                 "(not the global API key); use ${ENV} or api_token_file."},
    "hosts": _hosts("Names whose existing A (and AAAA) records follow the public IP; "
                    "their proxied setting is left as it is."),
    "zone": {"type": "string", "pattern": ddns_schema.HOSTNAME,
             "description": "The zone of every host (default: looked up per host)."},
    "api_url": {"type": "string", "pattern": "^https?://",
                "default": "https://api.cloudflare.com/client/v4",
                "description": "Cloudflare's API base URL."},
    **_common(0.0),
})
DUCKDNS = _entry(["token", "hosts"], {
    "token": {"type": "string", "minLength": 1,
              "description": "The account's token; use ${ENV} or token_file."},
    "hosts": {"type": "array", "minItems": 1, "items": {"type": "string",
                                                        "pattern": r"^[A-Za-z0-9-]+$"},
              "description": "Sub-names (\"myhome\" for myhome.duckdns.org)."},
    "domain": {"type": "string", "pattern": ddns_schema.HOSTNAME, "default": "duckdns.org",
               "description": "The domain the sub-names are under."},
    "update_url": {"type": "string", "pattern": "^https?://",
                   "default": "https://www.duckdns.org/update",
                   "description": "DuckDNS's update endpoint."},
    **_common(DUCKDNS_MIN_INTERVAL),
})

CONFIG_SCHEMA = config_schema(properties={
    **ddns_schema.common_properties(
        resolvers_default=["1.1.1.1", "8.8.8.8"],
        resolvers_help="DNS servers asked what the records serve (an entry's own "
                       "`resolvers` replace them; an rfc2136 entry asks its server)."),
    "concurrency": {"type": "integer", "minimum": 1, "default": 8,
                    "description": "Update requests in flight to one provider at once."},
    "rfc2136": RFC2136, "cloudflare": CLOUDFLARE, "duckdns": DUCKDNS,
})


def entries(config: Mapping[str, Any]) -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    for kind in PROVIDERS:
        for index, entry in enumerate(config.get(kind) or []):
            yield kind, index, entry


def fqdn(kind: str, entry: Mapping[str, Any], host: str) -> str:
    host = host.lower().rstrip(".")
    domain = entry.get("domain", "duckdns.org").lower().rstrip(".")
    return f"{host}.{domain}" if kind == "duckdns" else host


def _base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = ddns_schema.config_problems(config)
    listed = list(entries(config))
    if not listed:
        found.append(("", "no provider configured: add [[plugins.ddns.rfc2136]], "
                          "[[plugins.ddns.cloudflare]] or [[plugins.ddns.duckdns]]"))
    seen = Counter(fqdn(kind, entry, h) for kind, _, entry in listed for h in entry["hosts"])
    for kind, index, entry in listed:
        where = f"{kind}.{index}"
        if entry.get("resolvers"):
            found += [(f"{where}.{path}", why)
                      for path, why in nameservers.entry_problems(entry["resolvers"])]
        if kind == "rfc2136":
            found += [(f"{where}.server", why)
                      for _, why in nameservers.entry_problems([entry["server"]])]
            if not _base64(entry["key_secret"]):
                found.append((f"{where}.key_secret", "the TSIG secret is not base64 (copy "
                                                     "it as tsig-keygen printed it)"))
        for n, host in enumerate(entry["hosts"]):
            name = fqdn(kind, entry, host)
            if seen[name] > 1:
                found.append((f"{where}.hosts.{n}", f"{name} is configured more than once"))
            zone = (entry.get("zone") or "").lower().rstrip(".")
            if zone and name != zone and not name.endswith(f".{zone}"):
                found.append((f"{where}.hosts.{n}", f"{name} is not in zone {zone}"))
    return found
