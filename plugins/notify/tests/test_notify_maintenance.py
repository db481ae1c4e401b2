"""Notify and maintenance windows in a real agent: nothing is told (and no remediation
runs) about a check inside a window; a check still failing when the window closes is told
once; one that recovered meanwhile is not told at all."""

from __future__ import annotations

from notify_agent import force

from nebula.api import Status
from tests.waiting import eventually

HEAL = {"name": "heal", "check": "switchable.switch", "action": "switchable.fix",
        "cycles": 1}
TITLE = "CRITICAL: switchable.switch"


async def notify_knows(agent, status: str, maintenance: bool) -> None:
    """Wait until notify has taken in the events so far (they reach it through a queue):
    the check's status and whether it is in maintenance, as notify holds them."""
    notifier = agent.agent.runtime("notify")

    def known():
        state = notifier.checks.get("switchable.switch", {})
        return (state.get("status"), state.get("maintenance")) == (status, maintenance)

    await eventually(known)


async def nothing_told(agent, services) -> None:
    """A barrier instead of a pause: a test message goes through the channel's queue after
    anything the agent had queued for it, so once it arrives, nothing else is on its way
    (notify_knows first, so that the events have been turned into messages)."""
    status, body = await agent.post("/api/v1/actions/notify.test/run",
                                    {"params": {"channel": "hook", "message": "barrier"}})
    assert status == 200, body

    def barrier():
        return [i for i, m in enumerate(services.webhook.messages)
                if m["json"]["message"] == "barrier"]

    [at] = await eventually(barrier)
    del services.webhook.messages[at]


async def close_by_clock(agent, seconds: float) -> None:
    """Move the maintenance plugin's clock past the window's end and let it step."""
    runtime = agent.agent.runtime("maintenance")
    now = runtime.clock()
    runtime.clock = lambda: now + seconds
    await runtime.step()


async def test_a_window_holds_everything_and_its_end_tells_a_check_still_failing_once(
        start_notify, services):
    async with start_notify([services.channels()["hook"]], policies=[HEAL]) as (
            agent, switch):
        status, window = await agent.post("/api/v1/maintenance/start", {
            "duration": "1h", "plugins": ["switchable"], "reason": "disk swap"})
        assert status == 201, window
        for status_ in (Status.CRITICAL, Status.UNKNOWN, Status.CRITICAL):
            await force(agent, switch, status_)
        await notify_knows(agent, "critical", True)
        await nothing_told(agent, services)
        assert switch.fixes == 0

        await close_by_clock(agent, 3601)
        await notify_knows(agent, "critical", False)
        await eventually(lambda: len(services.webhook.messages) == 1)
        await nothing_told(agent, services)
        assert services.webhook.titles() == [TITLE]
        assert services.webhook.messages[0]["json"]["message"].startswith(
            "switch is critical")
        # After the window, the usual rules: the same status is not told again, and the
        # policy, held so far, runs (and is told).
        await force(agent, switch, Status.CRITICAL)
        await eventually(lambda: len(services.webhook.messages) == 2)
        await nothing_told(agent, services)
        assert switch.fixes == 1
        assert services.webhook.titles() == [TITLE, "Remediation heal ran switchable.fix: ok"]


async def test_a_check_that_recovered_inside_the_window_is_not_told(start_notify,
                                                                    services):
    async with start_notify([services.channels()["hook"]]) as (agent, switch):
        status, window = await agent.post("/api/v1/maintenance/start", {
            "duration": 600, "checks": ["switchable.*"]})
        assert status == 201, window
        await force(agent, switch, Status.CRITICAL)
        await force(agent, switch, Status.OK)
        await notify_knows(agent, "ok", True)
        status, _ = await agent.post(f"/api/v1/maintenance/{window['name']}/stop")
        assert status == 200
        await notify_knows(agent, "ok", False)
        await nothing_told(agent, services)
        assert services.webhook.messages == []
