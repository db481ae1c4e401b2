"""Remediation and approvals as notifications: a destructive fix waits for an admin, and
the owner is told, through the channels that route those events."""

from __future__ import annotations

from notify_agent import force

from nebula.api import Status
from tests.remediation_helpers import cycle, wait_events
from tests.waiting import eventually


async def test_destructive_remediation_files_an_approval_and_notifies(start_notify,
                                                                     services):
    channels = services.channels()
    channels["discord"]["events"] = ["approval.requested", "remediation.*"]
    channels["hook"]["events"] = ["remediation.breaker_opened"]
    policies = [{"name": "purge", "check": "switchable.switch", "action": "switchable.delete",
                 "params": {"target": "cache"}, "cycles": 2}]
    async with start_notify([channels["discord"], channels["hook"]], policies=policies) as (
            agent, switch):
        await force(agent, switch, Status.CRITICAL)
        await cycle(agent, switch, Status.CRITICAL)
        [ran] = await wait_events(agent, "remediation.ran", 1)
        approval = ran["data"]["approval"]
        assert switch.deleted == []
        await eventually(lambda: len(services.discord.messages) == 2)
    assert sorted(services.discord.contents()) == sorted([
        "**Approval needed: switchable.delete**\nRequested by remediation:purge with "
        '{"target": "cache"}.\n'
        f"Approve: nebula approvals approve {approval} (or deny it).",
        "**Remediation purge waits for approval**\nswitchable.switch is failing (switch is "
        "critical); switchable.delete is destructive. Approve: nebula approvals approve "
        f"{approval}",
    ])
    # Routed by event type: the webhook only takes opened breakers, and checks go nowhere.
    assert services.webhook.messages == []


async def test_an_opened_breaker_is_critical_and_passes_quiet_hours(start_notify, services):
    channels = services.channels()
    channels["ntfy"]["events"] = ["remediation.*"]
    channels["ntfy"]["quiet_hours"] = {"start": "00:00", "end": "23:59:59"}
    policies = [{"name": "heal", "check": "switchable.switch", "action": "switchable.fix",
                 "cycles": 1, "breaker_failures": 1}]
    async with start_notify([channels["ntfy"]], policies=policies) as (agent, switch):
        switch.broken = True
        await force(agent, switch, Status.CRITICAL)
        await wait_events(agent, "remediation.breaker_opened", 1)
        await eventually(lambda: len(services.ntfy.messages) == 1)
    [told] = services.ntfy.messages
    assert (told["title"], told["priority"], told["tags"]) == (
        "Remediation heal stopped (circuit breaker open)", "5", "rotating_light")
    assert told["body"] == ("switchable.fix failed 1 times in a row; last error: "
                            "RuntimeError: the fix itself failed")
