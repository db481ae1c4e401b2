"""What is said: a Message (title, body, severity) for each kind of thing worth telling."""

from __future__ import annotations

import fnmatch
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Rank for "at least as bad as"; only critical may pass quiet hours.
RANK = {"info": 0, "ok": 0, "warning": 1, "unknown": 2, "critical": 3}
MAX_BODY = 1800  # Discord's limit is 2000 characters for the whole content


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    severity: str
    kind: str  # problem, reminder, recovery, event, test, digest
    topic: str
    subject: str = ""  # the check, policy or approval it is about
    data: Mapping[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)
    parts: tuple[Message, ...] = ()  # a digest's messages, each told by telling it

    def text(self) -> str:
        return f"{self.title}\n{self.body}" if self.body else self.title


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_BODY else text[:MAX_BODY - 1] + "…"


def check_problem(check: str, state: Mapping[str, Any], kind: str, now: float) -> Message:
    status = state["status"]
    if kind == "reminder":
        title = f"Still {status.upper()}: {check}"
        body = f"{state.get('summary', '')} (for {_ago(now - _failing_since(state))})"
    else:
        title = f"{status.upper()}: {check}"
        was = f"was {state['old']}" if state.get("old") else "first result"
        body = f"{state.get('summary', '')} ({was})"
    return Message(title, _clip(body), status, kind, "check.changed", check,
                   {"check": check, "status": status, "summary": state.get("summary", "")})


def _failing_since(state: Mapping[str, Any]) -> float:
    return state.get("failing_since") or state["since"]


def check_recovery(check: str, state: Mapping[str, Any], was: str, now: float) -> Message:
    body = f"{state.get('summary', '')} (was {was} for {_ago(now - _failing_since(state))})"
    return Message(f"RECOVERED: {check}", _clip(body), "ok", "recovery", "check.changed",
                   check, {"check": check, "status": "ok", "was": was,
                           "summary": state.get("summary", "")})


def severity_of(topic: str, rules: Mapping[str, str]) -> str:
    for pattern, severity in rules.items():
        if fnmatch.fnmatchcase(topic, pattern):
            return severity
    return "info"


def _params(params: Any) -> str:
    return json.dumps(params, sort_keys=True, default=str) if params else "no parameters"


def event_message(event: Mapping[str, Any], severity: str) -> Message:
    topic, data = event["topic"], event.get("data") or {}
    if topic == "approval.requested":
        title = f"Approval needed: {data.get('action')}"
        body = (f"Requested by {data.get('requested_by')} with {_params(data.get('params'))}.\n"
                f"Approve: nebula approvals approve {data.get('id')} (or deny it).")
        subject = str(data.get("id", ""))
    elif topic.startswith("remediation."):
        subject = str(data.get("policy", ""))
        title, body = _remediation(topic.removeprefix("remediation."), data)
    else:
        subject = ""
        title = f"{topic} ({event.get('source', 'core')})"
        body = json.dumps(data, sort_keys=True, default=str)
    return Message(title, _clip(body), severity, "event", topic, subject, dict(data),
                   event.get("ts", time.time()))


def _remediation(what: str, data: Mapping[str, Any]) -> tuple[str, str]:
    policy, action, check = data.get("policy"), data.get("action"), data.get("check")
    if what == "ran":
        status = data.get("status")
        if status == "pending_approval":
            return (f"Remediation {policy} waits for approval",
                    f"{check} is failing ({data.get('check_summary', '')}); {action} is "
                    f"destructive. Approve: nebula approvals approve {data.get('approval')}")
        outcome = f"failed: {data.get('error', '')}" if status == "error" else "succeeded"
        return (f"Remediation {policy} ran {action}: {status}",
                f"{check} was failing ({data.get('check_summary', '')}); the action {outcome}")
    if what == "breaker_opened":
        return (f"Remediation {policy} stopped (circuit breaker open)",
                f"{action} failed {data.get('failures')} times in a row; last error: "
                f"{data.get('error', '')}")
    if what == "skipped":
        return (f"Remediation {policy} skipped: {data.get('reason')}",
                f"{check} is failing ({data.get('check_summary', '')}); {action} not run")
    return f"Remediation {policy}: {what}", json.dumps(data, sort_keys=True, default=str)


def digest(parts: Sequence[Message], down_for: float, now: float) -> Message:
    """One message for what a channel missed while it was down: a line per message, at
    the severity of the worst."""
    worst = max(parts, key=lambda part: RANK[part.severity]).severity
    lines = [f"{part.title}: {part.body.splitlines()[0]}" if part.body else part.title
             for part in parts]
    items = [{"title": part.title, "severity": part.severity, "kind": part.kind,
              "topic": part.topic, "subject": part.subject} for part in parts]
    return Message(f"{len(parts)} notifications held while unreachable for {_ago(down_for)}",
                   _clip("\n".join(lines)), worst, "digest", "notify.digest",
                   data={"items": items}, ts=now, parts=tuple(parts))


def fingerprint(message: Message) -> str:
    """Events that say the same thing share this, so a repeat within the window is dropped."""
    if message.topic.startswith(("approval.", "remediation.")):
        detail = message.data.get("status") or message.data.get("reason") or ""
        return f"{message.topic}|{message.subject}|{detail}"
    return f"{message.topic}|{json.dumps(message.data, sort_keys=True, default=str)}"


def test_message(text: str) -> Message:
    return Message("Nebula test notification", text, "info", "test", "notify.test")
