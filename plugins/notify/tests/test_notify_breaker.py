"""A channel whose service is down: a bounded number of tries and log lines on a backoff
instead of every failing check again each minute; one message with what it missed when it
is back. Time is the test's: it drives the notifier's clock and its reminder timer."""

from __future__ import annotations

from typing import Any

from notify_agent import force
from structlog.testing import capture_logs

from nebula.api import Status
from nebula_notify.runtime import Channel, Notifier
from tests.waiting import eventually

DOWN = [503] * 1000  # the service answers, and fails every message


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def notifier_of(agent: Any) -> Notifier:
    runtime = agent.agent.manager.records["notify"].ctx.runtime
    assert isinstance(runtime, Notifier)
    return runtime


async def minute(agent: Any, clock: Clock, channel: Channel, at: int, start: float) -> None:
    """The reminder timer's run at `at` minutes, and the probe it sent (if any) answered."""
    clock.now = start + 60 * at
    await agent.agent.scheduler.jobs["job:notify.reminders"].run()
    await eventually(lambda: channel.probe is None)


async def test_a_down_channel_is_probed_on_a_backoff_and_told_one_digest_when_back(
        start_notify, services):
    discord = services.discord
    discord.script = list(DOWN)
    # Critical and warning only, as a phone channel would be: notify's own warnings are
    # not scheduled here anyway (schedule=False).
    async with start_notify([services.channels()["discord"]], retries=1, schedule=False) as (
            agent, switch):
        notifier = notifier_of(agent)
        channel = notifier.channels["discord"]
        start = notifier.clock()
        clock = notifier.clock = Clock(start)
        with capture_logs() as logs:
            await force(agent, switch, Status.CRITICAL)
            await eventually(lambda: channel.breaker.down and channel.failed == 1)
            for at in range(1, 31):  # down for half an hour
                if at == 5:  # news while down: the check changes, remediation gives up
                    await force(agent, switch, Status.WARNING)
                    await agent.agent.emit("remediation.skipped", {
                        "policy": "heal", "check": "switchable.switch",
                        "action": "switchable.fix", "reason": "cooldown",
                        "check_summary": "switch is warning"}, "remediation")
                    await eventually(lambda: len(channel.missed) == 1)
                await minute(agent, clock, channel, at, start)
            attempts = len(DOWN) - len(discord.script)
            warnings = [line for line in logs if line["event"] == "notify.delivery_failed"]
            # The first message, then probes 1, 3, 7 and 15 minutes in (waits of 1, 2, 4
            # and 8 minutes; the next is 16 minutes later), each tried twice (retries=1).
            # Before the breaker: the first message and then a try a minute, 31 times 2.
            assert attempts == 5 * 2
            assert len(warnings) == 5 and all(w["log_level"] == "warning" for w in warnings)
            assert [w["retry_in"] for w in warnings] == [60, 120, 240, 480, 960]
            assert discord.messages == []

            discord.script.clear()  # back
            await minute(agent, clock, channel, 31, start)
            await minute(agent, clock, channel, 32, start)  # nothing is left to tell
        assert [line["event"] for line in logs].count("notify.channel_up") == 1
        [digest] = discord.contents()
        assert digest == (
            "**2 notifications held while unreachable for 31m**\n"
            "WARNING: switchable.switch: switch is warning (was critical)\n"
            "Remediation heal skipped: cooldown: switchable.switch is failing (switch is "
            "warning); switchable.fix not run")
        rows = await agent.panel("notify.recent")
        assert [(r["kind"], r["outcome"]) for r in rows][::-1] == [
            ("problem", "failed"), ("problem", "failed"), ("problem", "failed"),
            ("digest", "failed"), ("digest", "failed"), ("digest", "sent")]
        [state] = await agent.panel("notify.channels")
        assert (state["down_since"], state["retry_at"], state["failed"]) == (None, None, 5)
        # The digest told the warning: its recovery follows as usual.
        await force(agent, switch, Status.OK)
        await eventually(lambda: len(discord.messages) == 2)
    assert discord.contents()[1].startswith("**RECOVERED: switchable.switch**")


async def test_a_test_message_that_gets_through_sends_what_was_missed_at_once(
        start_notify, services):
    services.ntfy.script = list(DOWN)
    async with start_notify([services.channels()["ntfy"]], retries=0, schedule=False) as (
            agent, switch):
        channel = notifier_of(agent).channels["ntfy"]
        await force(agent, switch, Status.CRITICAL)
        await eventually(lambda: channel.breaker.down and channel.failed == 1)
        services.ntfy.script.clear()
        # Long before the next probe is due, the owner tries the channel by hand.
        status, body = await agent.post("/api/v1/actions/notify.test/run",
                                        {"params": {"message": "anyone there?"}})
        assert status == 200 and body["result"][0]["outcome"] == "sent", body
        await eventually(lambda: len(services.ntfy.messages) == 2)
        assert not channel.breaker.down
    assert services.ntfy.titles() == ["Nebula test notification", "CRITICAL: switchable.switch"]
