"""nebula.helpers.checks: limits judged the same way in every plugin, and limit pairs that
could never warn refused with their names."""

from __future__ import annotations

import pytest

from nebula.api import CheckResult, Status, Unit
from nebula.helpers.checks import (
    CheckSpec,
    Config,
    Threshold,
    Verdict,
    level,
    limit_order_problem,
    limit_problems,
    require_ordered_limits,
    worst,
)


@pytest.mark.parametrize(("value", "status"), [
    (0, Status.OK), (84.9, Status.OK), (85, Status.WARNING), (94.9, Status.WARNING),
    (95, Status.CRITICAL), (100, Status.CRITICAL)])
def test_a_limit_is_reached_at_the_value_itself(value, status) -> None:
    assert level(value, 85, 95) is status


@pytest.mark.parametrize(("value", "status"), [
    (3, Status.OK), (2, Status.WARNING), (1, Status.CRITICAL), (0, Status.CRITICAL)])
def test_below_means_fewer_is_worse(value, status) -> None:
    assert level(value, 2, 1, below=True) is status


def test_a_missing_limit_is_never_reached() -> None:
    assert level(10**9, None, None) is Status.OK
    assert level(10**9, 5, None) is Status.WARNING
    assert level(10**9, None, 5) is Status.CRITICAL
    assert level(0, 0, None) is Status.WARNING  # 0 always warns


def test_judge_names_the_limit_that_matters_now() -> None:
    cpu = Threshold(85, 95)
    assert cpu.judge("CPU", 12.34) == Verdict(Status.OK, "CPU 12.3% (warning at 85%)")
    assert cpu.judge("CPU", 90) == Verdict(
        Status.WARNING, "CPU 90.0% (warning at 85%, critical at 95%)")
    assert cpu.judge("CPU", 99) == Verdict(Status.CRITICAL, "CPU 99.0% (critical at 95%)")
    replicas = Threshold(2, 1, unit="", digits=0, below=True)
    assert replicas.judge("Replicas", 1) == Verdict(Status.CRITICAL,
                                                    "Replicas 1 (critical at ≤ 1)")
    assert Threshold(None, None).judge("Free", 3) == Verdict(Status.OK, "Free 3.0%")
    assert Threshold(None, 5, unit=" GB").judge("Disk", 1) == Verdict(
        Status.OK, "Disk 1.0 GB (critical at 5 GB)")


def test_threshold_of_reads_the_config_pair() -> None:
    config = {"load_warning": 1, "load_critical": "2.5", "other": 0}
    assert Threshold.of(config, "load", unit="", digits=2) == Threshold(1.0, 2.5, "", 2)
    assert Threshold.of(config, "nosuch") == Threshold(None, None)
    status, summary = Threshold.of(config, "load", unit="", digits=2).judge("Load", 2)
    assert CheckResult(status, summary).status is Status.WARNING


def test_worst_picks_severity_then_the_highest_value() -> None:
    ok_low, ok_high = (10.0, Verdict(Status.OK, "a")), (50.0, Verdict(Status.OK, "b"))
    warn = (5.0, Verdict(Status.WARNING, "c"))
    assert worst([ok_low, ok_high]) == ok_high
    assert worst([ok_high, warn, ok_low]) == warn


def test_limit_problems_name_each_pair_that_could_never_warn() -> None:
    config = {"cpu_warning": 90, "cpu_critical": 80, "memory_warning": 80,
              "memory_critical": 90, "disk_warning_gb": 50.5, "disk_critical_gb": 10}
    assert limit_problems(config, ["cpu", "memory", "absent"]) == [
        "cpu_warning (90) is above cpu_critical (80)"]
    assert limit_problems(config, ["disk"], warning="{key}_warning_gb",
                          critical="{key}_critical_gb") == [
        "disk_warning_gb (50.5) is above disk_critical_gb (10)"]
    days = {"tls_warning_days": 3, "tls_critical_days": 7}
    assert limit_problems(days, ["tls"], below=True, warning="{key}_warning_days",
                          critical="{key}_critical_days") == [
        "tls_warning_days (3) is below tls_critical_days (7)"]
    assert limit_order_problem("w", 5, "c", 5) is None  # equal: critical wins, allowed
    assert limit_order_problem("w", None, "c", 1) is None


def test_require_ordered_limits_fails_with_every_problem() -> None:
    config = {"a_warning": 2, "a_critical": 1, "b_warning": 3, "b_critical": 1}
    with pytest.raises(ValueError, match=r"^a_warning \(2\) is above a_critical \(1\); "
                                         r"b_warning \(3\) is above b_critical \(1\)$"):
        require_ordered_limits(config, ["a", "b"])
    require_ordered_limits({"a_warning": 1, "a_critical": 2}, ["a"])


def test_check_spec_evaluates_a_reading_with_the_config() -> None:
    spec: CheckSpec[float] = CheckSpec(
        "cpu", "CPU", "Busy CPU percent.",
        lambda value, config: CheckResult(*Threshold.of(config, "cpu").judge("CPU", value)))
    result = spec.evaluate(91.0, {"cpu_warning": 85, "cpu_critical": 95})
    assert result.status is Status.WARNING
    with pytest.raises(AttributeError):
        spec.name = "other"  # type: ignore[misc]


def test_check_spec_units_are_fixed_or_follow_the_reading() -> None:
    def run(value: dict[str, float], config: Config) -> CheckResult:
        return CheckResult(Status.OK, "", value)

    fixed: CheckSpec[dict[str, float]] = CheckSpec("a", "A", "", run, {"x": Unit.PERCENT})
    assert fixed.units_for(None) == fixed.units_for({"y": 1.0}) == {"x": Unit.PERCENT}
    per_key: CheckSpec[dict[str, float]] = CheckSpec(
        "b", "B", "", run, lambda reading: dict.fromkeys(reading, Unit.BYTES))
    assert per_key.units_for({"/": 1.0, "/home": 2.0}) == {"/": Unit.BYTES,
                                                           "/home": Unit.BYTES}
    assert per_key.units_for(None) == {}  # not read yet: nothing to name
    assert CheckSpec("c", "C", "", run).units_for(None) == {}
