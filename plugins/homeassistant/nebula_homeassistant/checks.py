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


def api(snapshot: Snapshot, live: Live | None, cache: StateCache,
        interval: float) -> CheckResult:
    metrics = {"reachable": float(snapshot.reachable),
               "websocket_connected": float(live is not None and live.connected)}
    if snapshot.error is not None:
        return CheckResult(Status.CRITICAL, str(snapshot.error), metrics)
    metrics["entities"] = float(len(cache.states))
    if snapshot.response_ms is not None:
        metrics["response_ms"] = round(snapshot.response_ms, 1)
    where = f" ({snapshot.location})" if snapshot.location else ""
    if live is None:
        how = f"states polled every {interval:g}s (websocket = false)"
    elif live.connected:
        how = "states live over the WebSocket"
    else:
        why = f": {live.error}" if live.error else ""
        how = f"WebSocket down{why}; polling states every {interval:g}s meanwhile"
    return CheckResult(Status.OK, f"Home Assistant {snapshot.version}{where} answers in "
                                  f"{snapshot.response_ms or 0:.0f} ms; {how}", metrics)


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
