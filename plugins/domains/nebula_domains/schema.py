"""The `[plugins.domains]` config schema, each host's settings with defaults applied, and
the params of the tools."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nebula.helpers.checks import limit_problems
from nebula.helpers.schema import config_schema, interval, params, timeout

HOSTNAME = r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$"
RECORD_TYPES = ("A", "AAAA", "CNAME")
PUBLIC_IP = "public_ip"

_HOST_PROPERTIES: dict[str, Any] = {
    "name": {"type": "string", "pattern": HOSTNAME, "description": "The host name."},
    "records": {"type": "array", "items": {"enum": list(RECORD_TYPES)}, "uniqueItems": True,
                "description": "Record types to resolve (default: A)."},
    "expect": {"type": "object", "additionalProperties": False,
               "description": "Expected answers per type: addresses or \"public_ip\" for "
                              "A/AAAA, the target name for CNAME.",
               "properties": {
                   "A": {"type": "array", "items": {"type": "string"}},
                   "AAAA": {"type": "array", "items": {"type": "string"}},
                   "CNAME": {"type": "string", "pattern": HOSTNAME}}},
    "https": {"type": "boolean", "description": "Fetch https://<name><path> (default true)."},
    "path": {"type": "string", "pattern": "^/", "description": "Path fetched (default /)."},
    "keyword": {"type": "string", "minLength": 1,
                "description": "Text the final page must contain."},
    "expect_status": {"type": "array", "items": {"type": "integer"},
                      "description": "Acceptable final statuses (default: any below 400)."},
    "http_redirect": {"type": "boolean",
                      "description": "http:// must redirect to https:// (default true)."},
    "tls": {"type": "boolean", "description": "Judge the certificate (default true)."},
}

CONFIG_SCHEMA = config_schema(required=["hosts"], properties={
    "hosts": {"type": "array", "minItems": 1,
              "description": "Hosts to watch: names, or tables with per-host settings.",
              "items": {"oneOf": [
                  {"type": "string", "pattern": HOSTNAME},
                  {"type": "object", "additionalProperties": False, "required": ["name"],
                   "properties": _HOST_PROPERTIES}]}},
    "interval": interval(300, "Seconds between two checks of every host."),
    "resolvers": {"type": "array", "minItems": 1,
                  "items": {"type": "string", "minLength": 2},
                  "default": ["1.1.1.1", "8.8.8.8", "9.9.9.9"],
                  "description": "Resolver IP addresses; each is asked, and they must "
                                 "agree (propagation)."},
    "dns_port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 53,
                 "description": "Port the resolvers answer on."},
    "dns_timeout": timeout("Seconds for one DNS query.", default=3),
    "http_timeout": timeout("Seconds for one HTTP(S) request, connect included."),
    "concurrency": {"type": "integer", "minimum": 1, "default": 20,
                    "description": "Hosts checked at once."},
    "https_port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 443},
    "http_port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 80},
    "ca_bundle": {"type": "string", "minLength": 1,
                "description": "PEM bundle the certificate chain must validate against "
                               "(default: the system store)."},
    "tls_warning_days": {"type": "number", "minimum": 0, "default": 21,
                         "description": "Days before expiry that warn."},
    "tls_critical_days": {"type": "number", "minimum": 0, "default": 7,
                          "description": "Days before expiry that are critical."},
    "slow_ms": {"type": "number", "exclusiveMinimum": 0, "default": 3000,
                "description": "HTTPS latency (all redirects included) that warns."},
    "max_redirects": {"type": "integer", "minimum": 0, "default": 10},
    "public_ip_action": {"type": "string", "default": "zoneedit.public_ip",
                         "description": "The action that tells our public IP, for "
                                        "expectations written \"public_ip\"."},
})

HOST_PARAMS = params({"host": {"type": "string", "description": "A configured host name."}},
                     required=["host"])
WHY_PARAMS = params({"host": {"type": "string", "description": "A configured host name; "
                              "without it, every host that is not ok."}})


@dataclass(frozen=True)
class Host:
    name: str
    records: tuple[str, ...] = ("A",)
    expect: Mapping[str, Any] | None = None
    https: bool = True
    path: str = "/"
    keyword: str | None = None
    expect_status: tuple[int, ...] = ()
    http_redirect: bool = True
    tls: bool = True

    @property
    def wants_public_ip(self) -> bool:
        return any(PUBLIC_IP in (self.expect or {}).get(t, ()) for t in ("A", "AAAA"))


def hosts(config: Mapping[str, Any]) -> list[Host]:
    out = []
    for item in config["hosts"]:
        spec = {"name": item} if isinstance(item, str) else dict(item)
        spec["name"] = spec["name"].lower().rstrip(".")
        for key in ("records", "expect_status"):
            if key in spec:
                spec[key] = tuple(spec[key])
        out.append(Host(**spec))
    return out


def check_name(host: str, taken: set[str]) -> str:
    """A check name for `host` (`rig-city.com` → `rig_city_com`), unique among `taken`."""
    base = re.sub(r"[^a-z0-9]+", "_", host.lower()).strip("_")
    if not base[:1].isalpha():
        base = f"host_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def problems(config: Mapping[str, Any]) -> list[str]:
    # Fewer days left is worse: a warning below the critical limit would never warn.
    found = limit_problems(config, ["tls"], below=True, warning="{key}_warning_days",
                           critical="{key}_critical_days")
    names = [h.name for h in hosts(config)]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        found.append(f"hosts listed twice: {', '.join(dupes)}")
    return found
