"""The checks' verdicts, from a snapshot or the certificates' states (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import CheckResult, Status
from nebula.helpers.tlscert import CertState
from nebula_caddy.coordinator import Snapshot


def _worst(statuses: list[Status]) -> Status:
    return max(statuses, key=lambda s: s.severity, default=Status.OK)


def admin(snap: Snapshot) -> CheckResult:
    servers = {s.server for s in snap.sites}
    metrics = {"sites": float(len({s.host for s in snap.sites}))}
    if not (snap.version.config.get("apps") or {}):
        return CheckResult(Status.WARNING, "Caddy answers but runs no config (no apps)",
                           metrics)
    return CheckResult(Status.OK, f"Caddy answers; {int(metrics['sites'])} site(s) on "
                                  f"{len(servers)} server(s)", metrics)


def upstreams(snap: Snapshot) -> CheckResult:
    rows = snap.upstream_rows()
    problems: list[tuple[Status, str]] = []
    for row in rows:
        if not row["reachable"]:
            problems.append((Status.CRITICAL, f"{row['address']} ({row['sites'] or 'no site'})"
                                              f" unreachable: {row['error']}"))
        elif row["fails"]:
            problems.append((Status.WARNING, f"{row['address']}: Caddy counts "
                                             f"{row['fails']} recent failure(s)"))
    metrics = {"upstreams": float(len(rows)),
               "unhealthy": float(sum(1 for s, _ in problems if s is Status.CRITICAL))}
    if not problems:
        return CheckResult(Status.OK, f"{len(rows)} upstream(s) healthy", metrics)
    return CheckResult(_worst([s for s, _ in problems]), "; ".join(m for _, m in problems),
                       metrics)


def certificate(state: CertState, now: float, config: Mapping[str, Any]) -> tuple[Status, str]:
    left = state.remaining(now)
    hours = "" if state.not_after is None else f"{(state.not_after - now) / 3600:.1f} h left"
    if not state.trusted:
        return Status.CRITICAL, f"{state.host}: {state.error}"
    if left is None:
        return Status.UNKNOWN, f"{state.host}: certificate without validity dates"
    if left <= config["cert_critical"]:
        return Status.CRITICAL, f"{state.host}: expires soon ({hours}; renewal failing?)"
    if left <= config["cert_warning"]:
        return Status.WARNING, f"{state.host}: near expiry ({hours}; Caddy renews at a third)"
    return Status.OK, f"{state.host}: valid, {hours}"


def certificates(states: Mapping[str, CertState], now: float,
                 config: Mapping[str, Any]) -> CheckResult:
    verdicts = [certificate(s, now, config) for s in states.values()]
    metrics = {"certificates": float(len(verdicts)),
               "bad": float(sum(1 for s, _ in verdicts if s is not Status.OK))}
    bad = [(s, m) for s, m in verdicts if s is not Status.OK]
    if not verdicts:
        return CheckResult(Status.OK, "no HTTPS site to check", metrics)
    if not bad:
        return CheckResult(Status.OK, f"{len(verdicts)} certificate(s) valid", metrics)
    return CheckResult(_worst([s for s, _ in bad]), "; ".join(m for _, m in bad), metrics)
