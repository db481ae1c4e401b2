"""What every input of the score reports: an assessment (a check's status and summary) and
its findings, each a number of lost points with the reason and the fix.

The score is 100 minus the points lost. Each input has a weight (WEIGHTS, documented in the
README) and never loses more than it: findings are counted worst first until the weight is
used up, so every lost point belongs to exactly one finding. An input that cannot be
assessed (the network plugin is off, no scanner is installed) loses its whole weight with
one finding saying so and how to assess it: an unverified input never scores as safe."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from nebula.api import Status

# The inputs and their weights; they add up to 100.
WEIGHTS: dict[str, int] = {
    "exposure": 20, "tls": 10, "ssh": 15, "updates": 15, "containers": 15,
    "logins": 5, "agent": 10, "vulnerabilities": 10,
}
assert sum(WEIGHTS.values()) == 100

TITLES = {
    "exposure": "Exposed listeners", "tls": "TLS of the domains", "ssh": "SSH daemon",
    "updates": "Pending updates", "containers": "Container settings",
    "logins": "Failed logins", "agent": "The agent's own data",
    "vulnerabilities": "Image vulnerabilities",
}


@dataclass(frozen=True)
class Finding:
    """`points` lost for `reason`; `fix` is the exact config line or command, and `action`
    (with `params`) the agent action that applies it through the approval gate, if any."""

    points: int
    reason: str
    fix: str
    severity: Status = Status.WARNING
    action: str | None = None
    params: Mapping[str, Any] | None = None

    def public(self) -> dict[str, Any]:
        return {"points": self.points, "reason": self.reason, "fix": self.fix,
                "severity": self.severity.value, "action": self.action,
                "params": dict(self.params) if self.params is not None else None}


@dataclass(frozen=True)
class Assessment:
    """One input's verdict. `findings` hold the points as counted (capped at the weight)."""

    input: str
    status: Status
    summary: str
    findings: tuple[Finding, ...] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return sum(f.points for f in self.findings)

    def public(self) -> dict[str, Any]:
        return {"input": self.input, "title": TITLES[self.input], "status": self.status.value,
                "summary": self.summary, "weight": WEIGHTS[self.input],
                "lost": self.lost, "findings": [f.public() for f in self.findings]}


_ORDER = {Status.CRITICAL: 0, Status.UNKNOWN: 1, Status.WARNING: 2, Status.OK: 3}


def assess(name: str, findings: Sequence[Finding], clean: str,
           metrics: Mapping[str, float] | None = None) -> Assessment:
    """The assessment of input `name` from its findings (none: `clean` is the summary).
    Worst findings are counted first and the total is capped at the input's weight."""
    left = WEIGHTS[name]
    counted: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (_ORDER[f.severity], -f.points)):
        points = min(finding.points, left)
        left -= points
        counted.append(replace(finding, points=points))
    if not counted:
        return Assessment(name, Status.OK, clean, (), dict(metrics or {}))
    worst = min((f.severity for f in counted), key=lambda s: _ORDER[s])
    status = Status.CRITICAL if worst is Status.CRITICAL else Status.WARNING
    head = counted[0].reason
    more = f" (+{len(counted) - 1} more)" if len(counted) > 1 else ""
    return Assessment(name, status, head + more, tuple(counted),
                      {"findings": float(len(counted)), **(metrics or {})})


def unknown(name: str, why: str, fix: str) -> Assessment:
    """Input `name` cannot be assessed: it loses its weight, with why and how to fix it."""
    finding = Finding(WEIGHTS[name], f"not assessed: {why}", fix, Status.UNKNOWN)
    return Assessment(name, Status.UNKNOWN, f"{why}; {fix}", (finding,))


def not_applicable(name: str, why: str) -> Assessment:
    """Nothing to judge here (no sshd installed, no container engine): full points."""
    return Assessment(name, Status.OK, why, (), {"applicable": 0.0})


@dataclass(frozen=True)
class Score:
    value: int
    assessments: tuple[Assessment, ...]

    def public(self) -> dict[str, Any]:
        return {"score": self.value, "max": 100,
                "inputs": [a.public() for a in self.assessments],
                "explanation": explain(self)}


def combine(assessments: Sequence[Assessment]) -> Score:
    lost = sum(a.lost for a in assessments)
    return Score(max(0, 100 - lost), tuple(assessments))


def explain(score: Score) -> list[str]:
    """One human-readable line per lost point group, largest first: '-10 exposure: …; fix:
    …'."""
    rows = [(f.points, a.input, f) for a in score.assessments for f in a.findings]
    rows.sort(key=lambda r: -r[0])
    lines = []
    for points, name, finding in rows:
        via = f" (action {finding.action})" if finding.action else ""
        lines.append(f"-{points} {name}: {finding.reason}. Fix: {finding.fix}{via}")
    return lines
