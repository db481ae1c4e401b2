"""The "records match public IP" verdict, a pure function of one observation, the accounts
whose credentials were refused, and what the store remembers per host."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from nebula.api import CheckResult, Status
from nebula.helpers.ddns.updater import AuthFailure, Observation, state_key


def records_match(obs: Observation, auth: Sequence[AuthFailure],
                  states: Mapping[str, Mapping[str, Any]],
                  min_interval: Mapping[str, float]) -> CheckResult:
    """`auth`: the refusals still pausing an account; `min_interval`: per host."""
    hosts = sorted({host for host, _ in obs.published})
    matching: list[str] = []
    differing: list[str] = []
    unreadable: list[str] = []
    unknown_ip: list[str] = []
    now = time.time()
    for family, consensus in sorted(obs.consensus.items()):
        if not consensus.agreed:
            unknown_ip.append(f"IPv{family}: {consensus.reason}")
            continue
        assert consensus.ip is not None
        for host in hosts:
            pub = obs.published[(host, family)]
            label = host if len(obs.consensus) == 1 else f"{host} (IPv{family})"
            if pub.readable and pub.matches(consensus.ip):
                matching.append(label)
                continue
            notes = _notes(states.get(state_key(host, family), {}), min_interval[host], now)
            (differing if pub.readable else unreadable).append(
                f"{label}: {pub.describe()}{notes}")
    metrics = {"records": float(len(hosts) * len(obs.consensus)),
               "matching": float(len(matching)), "differing": float(len(differing)),
               "unreadable": float(len(unreadable))}
    problems, status = [], Status.OK
    if auth:
        status, problems = Status.CRITICAL, [a.message for a in auth]
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


def _notes(state: Mapping[str, Any], min_interval: float, now: float) -> str:
    """Why a record that differs has not been fixed: a backoff, and the last update that
    failed (which otherwise shows only in the history panel) with when the next may go."""
    notes = []
    if (until := state.get("backoff_until", 0)) > now:
        notes.append(f"backing off {until - now:.0f}s")
    if failure := state.get("failure"):
        notes.append(f"last update failed {now - failure['at']:.0f}s ago: {failure['message']}")
        if (wait := state.get("last_request", 0) + min_interval - now) > 0 and until <= now:
            notes.append(f"next attempt in {wait:.0f}s")
    return " — " + ", ".join(notes) if notes else ""
