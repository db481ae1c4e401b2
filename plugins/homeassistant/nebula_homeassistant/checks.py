"""The verdicts of the checks: pure functions of a poll, the state cache and the config
check, so the check and the Jarvis tools say the same thing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nebula.api import CheckResult, Status
from nebula_homeassistant.coordinator import ConfigCheck, Snapshot
from nebula_homeassistant.live import Live
from nebula_homeassistant.states import State, StateCache, name_of

LISTED = 10  # entities named in a summary; the panels list them all


def api(snapshot: Snapshot, live: Live | None, cache: StateCache, interval: float,
        area_problem: str | None = None) -> CheckResult:
    metrics = {"reachable": float(snapshot.reachable),
               "websocket_connected": float(live is not None and live.connected)}
    if snapshot.error is not None:
        return CheckResult(Status.CRITICAL, str(snapshot.error), metrics)
    metrics["entities"] = float(len(cache.states))
    metrics["recovery_mode"] = float(snapshot.recovery_mode)
    if snapshot.response_ms is not None:
        metrics["response_ms"] = round(snapshot.response_ms, 1)
    where = f" ({snapshot.location})" if snapshot.location else ""
    if snapshot.recovery_mode:
        return CheckResult(Status.CRITICAL, f"Home Assistant {snapshot.version}{where} is in "
                                            f"recovery mode: its configuration failed to "
                                            f"load, so only a minimal Home Assistant runs "
                                            f"(no automations, most integrations missing); "
                                            f"its notifications and log say what failed: "
                                            f"fix the configuration, check it "
                                            f"(homeassistant.check_config) and restart HA",
                           metrics)
    if live is None:
        how = f"states polled every {interval:g}s (websocket = false)"
    elif live.connected:
        how = "states live over the WebSocket"
    else:
        why = f": {live.error}" if live.error else ""
        how = f"WebSocket down{why}; polling states every {interval:g}s meanwhile"
    summary = (f"Home Assistant {snapshot.version}{where} answers in "
               f"{snapshot.response_ms or 0:.0f} ms; {how}")
    problems = [p for p in (
        "it runs in safe mode: custom integrations and frontend resources are off until it "
        "restarts normally" if snapshot.safe_mode else None, area_problem) if p]
    if problems:
        return CheckResult(Status.WARNING, f"{summary}; but {'; and '.join(problems)}",
                           metrics)
    return CheckResult(Status.OK, summary, metrics)


def entities(snapshot: Snapshot, cache: StateCache, threshold: int,
             ignore: Sequence[str]) -> CheckResult:
    if snapshot.error is not None:
        return CheckResult(Status.UNKNOWN, f"cannot judge the entities: {snapshot.error}")
    missing = cache.missing(ignore)
    unavailable = sum(s["state"] == "unavailable" for s in missing)
    metrics = {"entities": float(len(cache.states)), "unavailable": float(unavailable),
               "unknown": float(len(missing) - unavailable)}
    if not missing:
        return CheckResult(Status.OK, f"all {len(cache.states)} entities available", metrics)
    status = Status.WARNING if len(missing) > threshold else Status.OK
    return CheckResult(status, f"{len(missing)} of {len(cache.states)} entities unavailable "
                               f"or unknown (warning above {threshold}): "
                               f"{_listing(missing, state=True)}", metrics)


def automations(snapshot: Snapshot, cache: StateCache) -> CheckResult:
    if snapshot.error is not None:
        return CheckResult(Status.UNKNOWN, f"cannot judge the automations: {snapshot.error}")
    all_ = cache.domain("automation")
    failed = [s for s in all_ if s.get("state") == "unavailable"]
    on = sum(s.get("state") == "on" for s in all_)
    metrics = {"automations": float(len(all_)), "failed": float(len(failed)),
               "enabled": float(on)}
    if failed:
        return CheckResult(Status.WARNING, f"{len(failed)} of {len(all_)} automations failed "
                                           f"to load (their config is invalid; see HA's "
                                           f"Repairs): {_listing(failed)}", metrics)
    return CheckResult(Status.OK, f"{len(all_)} automations loaded ({on} on, "
                                  f"{len(all_) - on} off)", metrics)


def config(check: ConfigCheck) -> CheckResult:
    if check.not_admin:
        return CheckResult(Status.WARNING, f"configuration not checked: {check.error}")
    if check.error is not None:
        return CheckResult(Status.UNKNOWN, f"configuration not checked: {check.error}")
    if check.result == "valid":
        if check.warnings:
            return CheckResult(Status.WARNING, f"configuration valid, with warnings: "
                                               f"{_clip(check.warnings)}", {"valid": 1.0})
        return CheckResult(Status.OK, "configuration valid", {"valid": 1.0})
    return CheckResult(Status.CRITICAL, f"configuration invalid (Home Assistant would start "
                                        f"in recovery mode after a restart): "
                                        f"{_clip(check.errors or 'no details given')}",
                       {"valid": 0.0})


def _listing(states: Sequence[State], state: bool = False) -> str:
    shown = [f"{s['entity_id']} ({s['state']})" if state else
             f"{name_of(s)} ({s['entity_id']})" for s in states[:LISTED]]
    more = f" and {len(states) - LISTED} more" if len(states) > LISTED else ""
    return ", ".join(shown) + more


def _clip(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def verdict(result: CheckResult) -> Mapping[str, Any]:
    return {"status": result.status.value, "summary": result.summary}
