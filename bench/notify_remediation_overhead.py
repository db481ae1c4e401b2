"""Target: remediation policies add no measurable cost to the health engine at 1000 check
results a second (budget: under 5 µs per result, against ~1 ms per second of results).

1000 checks run in-process (no store, no HTTP) through HealthEngine.run; each round runs
every check once. Compared: no remediation engine; an engine with 1000 policies, one per
check, counting results that never reach their `cycles` (the per-result path is a dict
lookup and a counter); and with the results in the policies' status (streaks counting).
"""

from __future__ import annotations

import asyncio
import time

from common import machine

from nebula.actions import ActionRunner
from nebula.builtins.remediation.engine import Policy, PolicyState, Remediation
from nebula.contributions import Check, CheckResult, Status
from nebula.health import HealthEngine

CHECKS, ROUNDS = 1000, 20


async def _noop(*_args: object) -> None:
    return None


def engine(status: Status) -> HealthEngine:
    health = HealthEngine(None, _noop, flap_threshold=2)
    result = CheckResult(status, "fine", {"value": 1.0})

    async def run() -> CheckResult:
        return result

    for i in range(CHECKS):
        health.add(Check(f"bench.c{i}", run), "bench")
    return health


async def per_result_us(health: HealthEngine) -> float:
    names = list(health.checks)
    for name in names:  # warm-up: first results set the state
        await health.run(name)
    started = time.perf_counter()
    for _ in range(ROUNDS):
        for name in names:
            await health.run(name)
    return (time.perf_counter() - started) / (ROUNDS * CHECKS) * 1e6


async def with_policies(status: Status) -> float:
    health = engine(status)
    remediation = Remediation(health, ActionRunner(None, _noop), _noop)  # type: ignore[arg-type]
    # Installed as configure() would, without its audit-log read (there is no store here).
    for i in range(CHECKS):
        policy = Policy(f"p{i}", f"bench.c{i}", "bench.fix", cycles=10**9)
        state = remediation.policies[policy.name] = PolicyState(policy)
        remediation._by_check[policy.check] = [state]
    return await per_result_us(health)


async def observe_ns(with_policy: bool) -> float:
    """The listener alone, called directly: what each result pays, free of loop noise."""
    health = engine(Status.CRITICAL)
    remediation = Remediation(health, ActionRunner(None, _noop), _noop)  # type: ignore[arg-type]
    cs = health.checks["bench.c0"]
    await health.run("bench.c0")
    if with_policy:
        state = PolicyState(Policy("p", "bench.c0", "bench.fix", cycles=10**12))
        remediation.policies["p"], remediation._by_check["bench.c0"] = state, [state]
    calls = 1_000_000
    started = time.perf_counter()
    for _ in range(calls):
        remediation.observe(cs)
    return (time.perf_counter() - started) / calls * 1e9


async def main() -> None:
    print(f"remediation listener, ns per result: check without a policy "
          f"{await observe_ns(False):.0f}, with one (counting) {await observe_ns(True):.0f}")
    base = await per_result_us(engine(Status.CRITICAL))
    counting = await with_policies(Status.CRITICAL)
    resetting = await with_policies(Status.OK)
    print(f"machine: {machine()}")
    print(f"{CHECKS} checks x {ROUNDS} rounds, µs per check result (HealthEngine.run):")
    print(f"  no policies:                      {base:7.2f}")
    print(f"  1000 policies, streaks counting:  {counting:7.2f}  (+{counting - base:.2f})")
    print(f"  1000 policies, streaks resetting: {resetting:7.2f}  (+{resetting - base:.2f})")


if __name__ == "__main__":
    asyncio.run(main())
