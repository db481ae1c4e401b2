"""The score as panel rows and tool answers: human-readable, every lost point with its
reason and fix."""

from __future__ import annotations

from typing import Any

from nebula.api import Field
from nebula_security.findings import TITLES, WEIGHTS, Score, explain

FINDING_FIELDS = (
    Field("points", "Points lost"), Field("input", "Input"), Field("severity", "Severity"),
    Field("reason", "Why"), Field("fix", "Fix", description="The exact config line or "
                                  "command"),
    Field("action", "Action", description="The agent action that applies the fix "
                                          "(waits for an admin's approval)"))
INPUT_FIELDS = (Field("title", "Input"), Field("status", "Status"),
                Field("points", "Points", description="earned / weight"),
                Field("summary", "Summary"))


def overview(score: Score) -> dict[str, Any]:
    """keyvalue: the score, each input's points, and one line per lost point group."""
    return {"score": f"{score.value}/100",
            **{a.input: f"{WEIGHTS[a.input] - a.lost}/{WEIGHTS[a.input]} ({a.status.value})"
               for a in score.assessments},
            "explanation": " · ".join(explain(score)) or "no point lost"}


def findings(score: Score) -> list[dict[str, Any]]:
    rows = [{"points": f.points, "input": a.input, "severity": f.severity.value,
             "reason": f.reason, "fix": f.fix, "action": f.action or ""}
            for a in score.assessments for f in a.findings]
    return sorted(rows, key=lambda r: -r["points"])


def inputs(score: Score) -> list[dict[str, Any]]:
    return [{"title": TITLES[a.input], "status": a.status.value,
             "points": f"{WEIGHTS[a.input] - a.lost}/{WEIGHTS[a.input]}",
             "summary": a.summary} for a in score.assessments]
