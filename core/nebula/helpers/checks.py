"""Checks as data and numbers judged against limits: what every plugin's checks repeat.

    CHECKS = (CheckSpec("cpu", "CPU", "Busy CPU percent.", cpu), ...)

    def cpu(sample: Sample, config: Config) -> CheckResult:
        verdict = Threshold.of(config, "cpu").judge("CPU", sample.cpu_percent)
        return CheckResult(*verdict, {"cpu.percent": sample.cpu_percent})

    # at start (or in config validation): a warning past its critical limit never warns
    if problems := limit_problems(config, ("cpu", "memory")):
        raise ValueError("; ".join(problems))

A limit is reached at the value itself (`>=`), so a limit of 0 always fires; with
`below=True` lower is worse (free space, connected replicas) and a limit is reached at
`<=`. A limit of None is never reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from nebula.contributions import CheckResult, Status, Unit

Config = Mapping[str, Any]
R = TypeVar("R")


@dataclass(frozen=True)
class CheckSpec(Generic[R]):
    """One check of a plugin that polls: a pure function of the latest reading (`R`: the
    plugin's snapshot type) and the plugin's config. The plugin turns each spec into a
    `Check` that reads its coordinator and calls `evaluate`."""

    name: str
    title: str
    description: str
    evaluate: Callable[[R, Config], CheckResult]
    # The unit of each metric `evaluate` reports (Check.units), or a function of the
    # reading when the metrics' names come from it (one per mount, per database).
    units: Mapping[str, Unit] | Callable[[R], Mapping[str, Unit]] = field(
        default_factory=dict, hash=False)

    def units_for(self, reading: R | None) -> Mapping[str, Unit]:
        """The units to declare, for the metrics of `reading` (None: not read yet)."""
        if not callable(self.units):
            return self.units
        return {} if reading is None else self.units(reading)


def reached(value: float, limit: float | None, *, below: bool = False) -> bool:
    """Whether `value` has reached `limit` (>=, or <= when lower is worse)."""
    if limit is None:
        return False
    return value <= limit if below else value >= limit


def level(value: float, warning: float | None, critical: float | None, *,
          below: bool = False) -> Status:
    """OK, WARNING or CRITICAL for `value` against its two limits."""
    if reached(value, critical, below=below):
        return Status.CRITICAL
    if reached(value, warning, below=below):
        return Status.WARNING
    return Status.OK


class Verdict(NamedTuple):
    """A status and its one-line summary: `CheckResult(*verdict, metrics)`."""

    status: Status
    summary: str


@dataclass(frozen=True)
class Threshold:
    """A warning and a critical limit with the unit and precision to show a value in."""

    warning: float | None
    critical: float | None
    unit: str = "%"
    digits: int = 1
    below: bool = False

    @classmethod
    def of(cls, config: Config, key: str, unit: str = "%", digits: int = 1, *,
           below: bool = False) -> Threshold:
        """The `<key>_warning` / `<key>_critical` pair from a plugin's config."""
        def limit(name: str) -> float | None:
            value = config.get(name)
            return None if value is None else float(value)

        return cls(limit(f"{key}_warning"), limit(f"{key}_critical"), unit, digits, below)

    def status(self, value: float) -> Status:
        return level(value, self.warning, self.critical, below=self.below)

    def judge(self, label: str, value: float) -> Verdict:
        """E.g. `CPU 12.3% (warning at 85%)`: the note names the limit that matters now
        (the next one to reach, or the one reached)."""
        status = self.status(value)
        at = "at ≤" if self.below else "at"
        limits = {name: f"{name} {at} {limit:g}{self.unit}" for name, limit in
                  (("warning", self.warning), ("critical", self.critical))
                  if limit is not None}
        if status is Status.OK:
            notes = [limits.get("warning") or limits.get("critical")]
        elif status is Status.WARNING:
            notes = [limits.get("warning"), limits.get("critical")]
        else:
            notes = [limits.get("critical")]
        note = ", ".join(n for n in notes if n)
        shown = f"{label} {value:.{self.digits}f}{self.unit}"
        return Verdict(status, f"{shown} ({note})" if note else shown)


def worst(verdicts: Iterable[tuple[float, Verdict]]) -> tuple[float, Verdict]:
    """The most severe verdict, the highest value breaking ties (so an all-ok disk check
    names the fullest mount)."""
    return max(verdicts, key=lambda item: (item[1].status.severity, item[0]))


# --- config validation -----------------------------------------------------------------------


def limit_order_problem(warning_name: str, warning: float | None, critical_name: str,
                        critical: float | None, *, below: bool = False) -> str | None:
    """Why a warning limit would never warn (it lies past its critical limit), or None.

    `below`: lower is worse, so the warning limit must not be under the critical one."""
    if warning is None or critical is None:
        return None
    if critical > warning if below else warning > critical:
        side = "below" if below else "above"
        return f"{warning_name} ({warning:g}) is {side} {critical_name} ({critical:g})"
    return None


def ordered_limits(config: Config, keys: Sequence[str], *, below: bool = False,
                   warning: str = "{key}_warning",
                   critical: str = "{key}_critical") -> list[tuple[str, str]]:
    """`(warning key, phrase)` for each limit pair of `config` whose warning lies past its
    critical limit: what a plugin's `nebula_validate_config` returns for its limits.

    The names default to `<key>_warning` / `<key>_critical`; other conventions are given
    as patterns: `ordered_limits(config, ["disk"], warning="{key}_warning_gb",
    critical="{key}_critical_gb")`. A pair missing from the config is not checked."""
    found = []
    for key in keys:
        w_name, c_name = warning.format(key=key), critical.format(key=key)
        problem = limit_order_problem(w_name, config.get(w_name), c_name,
                                      config.get(c_name), below=below)
        if problem:
            found.append((w_name, problem))
    return found


def limit_problems(config: Config, keys: Sequence[str], **kwargs: Any) -> list[str]:
    """The phrases of `ordered_limits`, without the keys."""
    return [problem for _, problem in ordered_limits(config, keys, **kwargs)]


def require_ordered_limits(config: Config, keys: Sequence[str], **kwargs: Any) -> None:
    """Raise ValueError naming every misordered pair (see `limit_problems`): for a
    plugin's startup, where a bad config must fail the start with its reason."""
    if problems := limit_problems(config, keys, **kwargs):
        raise ValueError("; ".join(problems))
