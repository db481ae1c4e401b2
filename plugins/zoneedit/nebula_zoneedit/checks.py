"""The "records match public IP" verdict, a pure function of one observation."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from nebula.api import CheckResult, Status
from nebula_zoneedit.coordinator import AUTH_RETRY, AuthFailure, Observation


def records_match(obs: Observation, auth: AuthFailure | None,
                  states: Mapping[str, Mapping[str, Any]]) -> CheckResult:
    hosts = sorted({host for host, _ in obs.published})
    matching, differing, unreadable, unknown_ip = [], [], [], []
    for family, consensus in sorted(obs.consensus.items()):
        if not consensus.agreed:
            unknown_ip.append(f"IPv{family}: {consensus.reason}")
            continue
        assert consensus.ip is not None
        for host in hosts:
            pub = obs.published[(host, family)]
            label = host if len(obs.consensus) == 1 else f"{host} (IPv{family})"
            if not pub.readable:
                unreadable.append(f"{label}: {pub.describe()}")
            elif pub.matches(consensus.ip):
                matching.append(label)
            else:
                until = states.get(f"{host}/ipv{family}", {}).get("backoff_until", 0)
                wait = f", backing off {until - time.time():.0f}s" if until > time.time() else ""
                differing.append(f"{label} serves {pub.describe()}{wait}")
    metrics = {"records": float(len(hosts) * len(obs.consensus)),
               "matching": float(len(matching)), "differing": float(len(differing)),
               "unreadable": float(len(unreadable))}
    problems, status = [], Status.OK
    if auth and time.time() - auth.at < AUTH_RETRY:
        status, problems = Status.CRITICAL, [auth.message]
    if differing:
        status = Status.CRITICAL
        ips = ", ".join(c.ip for c in obs.consensus.values() if c.ip)
        problems.append(f"{len(differing)} record(s) differ from public IP {ips}: "
                        + "; ".join(differing))
    if unknown_ip or unreadable:
        status = max(status, Status.WARNING, key=lambda s: s.severity)
        problems += unknown_ip + [f"cannot read DNS for {u}" for u in unreadable]
    if problems:
        return CheckResult(status, "; ".join(problems), metrics)
    ips = ", ".join(c.ip for c in obs.consensus.values() if c.ip)
    return CheckResult(Status.OK, f"{len(matching)} record(s) match public IP {ips}", metrics)
