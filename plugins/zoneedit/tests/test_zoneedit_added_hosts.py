"""Hosts added by the approved `zoneedit.add_host` action (as the apps plugin does for an
app's domain): kept in the plugin's store beside the configured ones, set and verified in
DNS at once; one ZoneEdit refuses leaves nothing kept; `remove_host` stops keeping it and
says the record stays (ZoneEdit's dynamic update cannot delete)."""

from __future__ import annotations

import pytest
from zoneedit_standins import NEW_IP, ZONE

pytestmark = pytest.mark.e2e

HOST = "app.zone.test"


async def approved(agent, action: str, **params):
    pending = await agent.run_action(f"zoneedit.{action}", params, expect=202)
    return pending["approval"]["plan"], await agent.approve(pending["approval"]["id"])


async def kept(agent) -> list[str]:
    return await agent.agent.manager.records["zoneedit"].ctx.kv.get("added_hosts", [])


async def test_a_refused_add_keeps_nothing_and_an_accepted_one_is_verified(
        start_zoneedit, zoneedit, dns) -> None:
    async with start_zoneedit() as agent:
        # ZoneEdit does not know the name yet: 709 invalid hostname.
        plan, done = await approved(agent, "add_host", host=HOST)
        assert plan["like"] == "home.zone.test" and plan["provider"] == "ZoneEdit"
        assert done["status"] == "error" and "709" in done["error"], done
        assert await kept(agent) == [] and dns.query(HOST) == set()
        rows = await agent.panel("zoneedit.records")
        assert HOST not in {r["host"] for r in rows}

        zoneedit.hosts[HOST] = ZONE
        _, done = await approved(agent, "add_host", host=HOST)
        assert done["status"] == "ok", done
        assert [(r["action"], r["verified"]) for r in done["result"]["results"]] == \
            [("updated", True)]
        assert dns.query(HOST) == {NEW_IP} and await kept(agent) == [HOST]
        rows = await agent.panel("zoneedit.records")
        assert HOST in {r["host"] for r in rows}
        # A configured host is the user's: the action refuses it.
        status, body = await agent.post("/api/v1/actions/zoneedit.remove_host/run",
                                        {"params": {"host": "home.zone.test"}})
        assert status == 422 and "in the plugin's config" in str(body), body
        # Outside every configured zone: refused before any approval.
        status, body = await agent.post("/api/v1/actions/zoneedit.add_host/run",
                                        {"params": {"host": "app.other.test"}})
        assert status == 422 and "no configured host's zone holds" in str(body), body

    async with start_zoneedit() as agent:  # kept across a restart (the store)
        rows = await agent.panel("zoneedit.records")
        assert HOST in {r["host"] for r in rows}
        _, done = await approved(agent, "remove_host", host=HOST)
        assert done["status"] == "ok", done
        assert [r["action"] for r in done["result"]["results"]] == ["kept"]
        assert "cannot delete" in done["result"]["results"][0]["message"]
        assert await kept(agent) == []
        assert HOST not in {r["host"] for r in await agent.panel("zoneedit.records")}
