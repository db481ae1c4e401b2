"""An approved plan may list, under "covers", calls of other plugins' destructive actions
its run makes (an app's deploy adding its Caddy site): exactly those calls, once each,
run under the same approval; any other call is filed for approval as before."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import Action, Manifest, PluginContext, hookimpl

CALL = {"action": "inner.delete", "params": {"what": "x"}}


class Inner:
    manifest = Manifest(api_version="1.0", description="has a destructive action")

    def __init__(self) -> None:
        self.deleted: list[str] = []

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        async def delete(params: Mapping[str, Any]) -> str:
            self.deleted.append(params["what"])
            return f"deleted {params['what']}"

        return [Action("delete", delete, destructive=True, params={
            "type": "object", "properties": {"what": {"type": "string"}}})]


class Outer:
    """`deploy` lists CALL under covers and makes the calls it is asked to; `relay` (not
    destructive, so no approval and no covers) makes them too."""

    manifest = Manifest(api_version="1.0", description="calls another plugin")

    def __init__(self) -> None:
        self.ctx: PluginContext | None = None

    @hookimpl
    def nebula_startup(self, ctx: PluginContext) -> None:
        self.ctx = ctx

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        async def prepare(params: Mapping[str, Any]) -> dict[str, Any]:
            return {"covers": [CALL], "calls": params["calls"]}

        async def run(plan: Mapping[str, Any]) -> list[str]:
            assert self.ctx is not None
            outcomes = [await self.ctx.call_action(c["action"], c["params"])
                        for c in plan["calls"]]
            return [o["status"] for o in outcomes]

        schema = {"type": "object", "properties": {"calls": {"type": "array"}}}
        return [Action("deploy", run, destructive=True, prepare=prepare, params=schema),
                Action("relay", lambda p: run(p), params=schema)]


async def approved(agent, calls: list[dict]) -> dict:
    pending = await agent.run_action("outer.deploy", {"calls": calls}, expect=202)
    assert pending["approval"]["plan"]["covers"] == [CALL]  # what the approver sees
    return await agent.approve(pending["approval"]["id"])


async def test_a_listed_call_runs_under_the_approval_once(nebula_agent) -> None:
    inner = Inner()
    async with nebula_agent({"inner": inner, "outer": Outer()}) as agent:
        done = await approved(agent, [CALL, CALL])
        # The second identical call is not covered: it waits for its own approval.
        assert done["result"] == ["ok", "pending_approval"]
        assert inner.deleted == ["x"]
        _, body = await agent.get("/api/v1/audit?action=inner.delete")
        ran = [r for r in body["audit"] if r["outcome"] == "ok"]
        assert len(ran) == 1 and ran[0]["actor"] == "plugin:outer"
        assert "covered by approval" in ran[0]["detail"]
        assert "of outer.deploy" in ran[0]["detail"]


async def test_a_call_not_listed_or_without_an_approved_plan_is_filed(nebula_agent) -> None:
    inner = Inner()
    async with nebula_agent({"inner": inner, "outer": Outer()}) as agent:
        other = {"action": "inner.delete", "params": {"what": "y"}}
        assert (await approved(agent, [other]))["result"] == ["pending_approval"]
        relayed = await agent.run_action("outer.relay", {"calls": [CALL]})
        assert relayed["result"] == ["pending_approval"]
        assert inner.deleted == []
