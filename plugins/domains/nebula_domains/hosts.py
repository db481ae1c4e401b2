"""Each configured host with its defaults applied and its expectations in canonical form
(records.py), the check named after it, and the settings that fail the plugin at start."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nebula.helpers import nameservers
from nebula.helpers.checks import ordered_limits
from nebula.helpers.net import tls_problems
from nebula_domains import records
from nebula_domains.schema import PUBLIC_IP, RECORD_TYPES


@dataclass(frozen=True)
class Host:
    name: str
    records: tuple[str, ...] = ("A",)
    # Per type, the canonical values expected (PUBLIC_IP stands for our public IP).
    expect: Mapping[str, frozenset[str]] = field(default_factory=dict)
    https: bool = True
    path: str = "/"
    keyword: str | None = None
    expect_status: tuple[int, ...] = ()
    http_redirect: bool = True
    tls: bool = True

    @property
    def wants_public_ip(self) -> bool:
        return any(PUBLIC_IP in self.expect.get(t, ()) for t in records.ADDRESS_TYPES)


def host(item: str | Mapping[str, Any]) -> Host:
    """One entry of `hosts`; ValueError names the host and the setting that is wrong."""
    spec: dict[str, Any] = {"name": item} if isinstance(item, str) else dict(item)
    name = spec["name"] = spec["name"].lower().rstrip(".")
    expect = spec.get("expect") or {}
    if "records" in spec:
        if missing := [kind for kind in expect if kind not in spec["records"]]:
            raise ValueError(f"{name}: expect has {', '.join(missing)} but records does not "
                             f"list {'it' if len(missing) == 1 else 'them'}")
    else:  # the default: what is expected, else the address
        spec["records"] = [kind for kind in RECORD_TYPES if kind in expect] or ["A"]
    spec["expect"] = {kind: _expected(name, kind, values) for kind, values in expect.items()}
    for key in ("records", "expect_status"):
        if key in spec:
            spec[key] = tuple(spec[key])
    return Host(**spec)


def _expected(name: str, kind: str, values: str | list[str]) -> frozenset[str]:
    out = set()
    for text in [values] if isinstance(values, str) else values:
        if text == PUBLIC_IP and kind in records.ADDRESS_TYPES:
            out.add(PUBLIC_IP)
            continue
        try:
            out.add(records.expected(kind, text))
        except ValueError as exc:
            raise ValueError(f"{name}: expect.{kind}: {exc}") from None
    return frozenset(out)


def hosts(config: Mapping[str, Any]) -> list[Host]:
    return [host(item) for item in config["hosts"]]


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


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`(key path, why)` for what the schema cannot say (the plugin's
    `nebula_validate_config`: before every start, and in `nebula config validate`)."""
    # Fewer days left is worse: a warning below the critical limit would never warn.
    found = ordered_limits(config, ["tls"], below=True, warning="{key}_warning_days",
                           critical="{key}_critical_days")
    found += tls_problems(config)
    found += nameservers.entry_problems(config["resolvers"])
    names = []
    for index, item in enumerate(config["hosts"]):
        try:
            names.append(host(item).name)
        except ValueError as exc:
            found.append((f"hosts.{index}", str(exc)))
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        found.append(("hosts", f"hosts listed twice: {', '.join(dupes)}"))
    return found
