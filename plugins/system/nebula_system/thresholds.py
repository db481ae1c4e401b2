"""Turning a number into a status and a one-line summary: the one rule every check uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from nebula.api import Status


class Verdict(NamedTuple):
    status: Status
    summary: str


@dataclass(frozen=True)
class Threshold:
    """`warning` and `critical` are reached at the value itself (>=), so 0 always warns."""

    warning: float
    critical: float
    unit: str = "%"
    digits: int = 1

    @classmethod
    def of(cls, config: Mapping[str, Any], key: str, unit: str = "%",
           digits: int = 1) -> Threshold:
        """The `<key>_warning` / `<key>_critical` pair from the plugin's config."""
        return cls(float(config[f"{key}_warning"]), float(config[f"{key}_critical"]),
                   unit, digits)

    def status(self, value: float) -> Status:
        if value >= self.critical:
            return Status.CRITICAL
        if value >= self.warning:
            return Status.WARNING
        return Status.OK

    def judge(self, label: str, value: float) -> Verdict:
        """E.g. `CPU 12.3% (warning at 85%)`; the note names the limit that matters now."""
        status = self.status(value)
        warning, critical = f"{self.warning:g}{self.unit}", f"{self.critical:g}{self.unit}"
        note = {
            Status.OK: f"warning at {warning}",
            Status.WARNING: f"warning at {warning}, critical at {critical}",
        }.get(status, f"critical at {critical}")
        return Verdict(status, f"{label} {value:.{self.digits}f}{self.unit} ({note})")


def worst(verdicts: list[tuple[float, Verdict]]) -> tuple[float, Verdict]:
    """The most severe verdict, the highest value breaking ties (so an all-ok disk check
    names the fullest mount)."""
    return max(verdicts, key=lambda item: (item[1].status.severity, item[0]))
