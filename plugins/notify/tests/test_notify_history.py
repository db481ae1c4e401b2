"""The recent-notifications history is kept one store row per notification (a ring of
`history_size`): telling something appends a row instead of rewriting the whole history,
and the history survives a restart, including one written by the older single-key form."""

from __future__ import annotations

import json
from typing import Any

from notify_agent import force

from nebula.api import Status
from tests.waiting import eventually


async def titles(agent: Any) -> list[str]:
    return [row["title"] for row in await agent.panel("notify.recent")]


async def shows(agent: Any, expected: list[str]) -> None:
    """The panel lists `expected`, newest first, once the last delivery is recorded."""
    async def now() -> bool:
        return await titles(agent) == expected
    await eventually(now)


async def stored(agent: Any) -> dict[str, Any]:
    rows = await agent.agent.store.fetchall(
        "SELECT key, value FROM kv WHERE plugin = 'notify' AND key LIKE 'history%'")
    return {row["key"]: json.loads(row["value"]) for row in rows}


async def test_history_rows_are_appended_and_survive_a_restart(start_notify, services,
                                                               tmp_path):
    data = tmp_path / "host"
    channels = [services.channels()["discord"]]
    legacy = [{"ts": n, "channel": "discord", "kind": "test", "severity": "info",
               "title": f"old {n}", "outcome": "sent", "detail": "1 attempt(s)"}
              for n in range(4)]
    async with start_notify(channels, schedule=False, history_size=3, data_dir=data) as (
            agent, switch):
        # What the previous version left: the whole history under one key.
        await agent.agent.manager.records["notify"].ctx.kv.set("history", legacy)
        await force(agent, switch, Status.CRITICAL)
        await shows(agent, ["CRITICAL: switchable.switch", "old 3", "old 2"])
        await force(agent, switch, Status.WARNING)
        await force(agent, switch, Status.OK)
        expected = ["RECOVERED: switchable.switch", "WARNING: switchable.switch",
                    "CRITICAL: switchable.switch"]
        await shows(agent, expected)
        kept = await stored(agent)
        # One row under each of the ring's keys; the single key is gone.
        assert sorted(kept) == ["history.0", "history.1", "history.2"]
        assert sorted(entry["row"]["title"] for entry in kept.values()) == sorted(expected)
    async with start_notify(channels, schedule=False, history_size=3, data_dir=data) as (
            agent, switch):
        assert await titles(agent) == expected
        await force(agent, switch, Status.CRITICAL)
        await shows(agent, ["CRITICAL: switchable.switch", *expected[:2]])
