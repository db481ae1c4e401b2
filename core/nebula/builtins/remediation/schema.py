"""The `[[remediation]]` section: one table per policy (plain data and one pure check)."""

from __future__ import annotations

from typing import Any

from nebula.manifests import SectionProblems, named_tables

ADDRESS = r"^[A-Za-z0-9_-]+\.[a-z][a-z0-9_]*$"

POLICY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "check", "action"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$",
                 "description": "Unique; audit rows name the actor remediation:<name>."},
        "check": {"type": "string", "pattern": ADDRESS, "description": "<plugin>.<check>"},
        "status": {"enum": ["critical", "warning", "unknown"], "default": "critical",
                   "description": "The result status that counts towards `cycles`."},
        "cycles": {"type": "integer", "minimum": 1, "default": 3,
                   "description": "Consecutive results in `status` before the action runs."},
        "action": {"type": "string", "pattern": ADDRESS, "description": "<plugin>.<action>"},
        "params": {"type": "object", "default": {}},
        "max_runs_per_hour": {"type": "integer", "minimum": 1, "default": 3},
        "breaker_failures": {"type": "integer", "minimum": 1, "default": 3,
                             "description": "Consecutive failed runs that open the breaker."},
        "breaker_reset": {"type": "number", "minimum": 0, "default": 3600,
                          "description": "Seconds before an open breaker allows a trial "
                                         "run; 0 keeps it open until reset by hand."},
        "enabled": {"type": "boolean", "default": True},
    },
}

SECTION_SCHEMA: dict[str, Any] = {"type": "array", "items": POLICY_SCHEMA}


def check_policies(value: Any) -> SectionProblems:
    """What the schema cannot say: the section is an array of tables, and every policy's
    name is its own."""
    return named_tables(value, "remediation", "policy")
