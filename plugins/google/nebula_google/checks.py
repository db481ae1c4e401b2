"""Verdicts: the token's health and the Drive storage quota."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from nebula.api import CheckResult, Status
from nebula.helpers.checks import level
from nebula_google.errors import RECONNECT
from nebula_google.tokens import CLIENT_REJECTED, OK, REVOKED


def token_health(connected: bool, health: Mapping[str, Any], meta: Mapping[str, Any],
                 consent: Mapping[str, Any] | None) -> CheckResult:
    if not connected:
        if consent and consent["status"] == "waiting":
            return CheckResult(Status.WARNING, "not connected yet: waiting for the owner's "
                                               f"consent ({consent['flow']} flow)")
        failed = f" (last attempt: {consent['error']})" if consent and consent["error"] else ""
        return CheckResult(Status.WARNING, f"Google is not connected{failed}: {RECONNECT}")
    if health["state"] == REVOKED:
        return CheckResult(Status.CRITICAL, health["message"], {"connected": 0})
    if health["state"] == CLIENT_REJECTED:
        return CheckResult(Status.CRITICAL, health["message"], {"connected": 1})
    expires_in = meta.get("expires_at", 0) - time.time()
    metrics = {"connected": 1, "access_expires_in": round(expires_in)}
    if health["state"] != OK:
        status = Status.WARNING if expires_in > 0 else Status.CRITICAL
        return CheckResult(status, health["message"], metrics)
    minutes = max(0.0, expires_in) / 60
    return CheckResult(Status.OK, f"connected; access token valid for {minutes:.0f} min",
                       metrics)


def quota(values: Mapping[str, Any], warning: float, critical: float) -> CheckResult:
    percent = values["percent"]
    used = _gib(values["usage"])
    if percent is None:
        return CheckResult(Status.OK, f"{used} used of an unlimited quota",
                           {"usage_bytes": values["usage"]})
    metrics = {"usage_bytes": values["usage"], "limit_bytes": values["limit"],
               "percent": percent}
    summary = f"{percent:.1f}% of Drive storage used ({used} of {_gib(values['limit'])})"
    status = level(percent, warning, critical)
    reached = {Status.CRITICAL: critical, Status.WARNING: warning}.get(status)
    if reached is not None:
        summary += f", at or over {reached:g}%"
    return CheckResult(status, summary, metrics)


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"
