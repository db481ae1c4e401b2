"""Approvals are bound to what the approver saw, expire, are re-checked, and keep
write-only parameters and known secrets out of every place they are shown or stored."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from nebula.api import Action, Manifest, ParamError, Tool, hookimpl
from nebula.secrets import SECRETS
from tests.waiting import eventually

PIN = "4711"
KNOWN_SECRET = "s3cr3t-Passw0rd-in-params"


class Doors:
    """Things with names and ids (like containers): a name can be re-created under a new
    id, and an id can vanish. Removing one and unlocking are destructive."""

    manifest = Manifest(api_version="1.1", description="doors")

    def __init__(self) -> None:
        self.things: dict[str, str] = {"garage": "id-1", "front": "id-2"}
        self.removed: list[str] = []
        self.unlocked: list[dict[str, Any]] = []

    async def _resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        name = params["thing"]
        if name not in self.things:
            raise ParamError("thing", f"no thing named {name!r}")
        return {"thing": name, "id": self.things[name]}

    async def _remove(self, plan: Mapping[str, Any]) -> Any:
        if plan["id"] not in self.things.values():
            raise RuntimeError(f"{plan['thing']} ({plan['id']}) no longer exists; request "
                               "again")
        self.removed.append(plan["id"])
        return {"removed": plan["id"]}

    async def _unlock(self, params: Mapping[str, Any]) -> Any:
        self.unlocked.append(dict(params))
        # Echoes the code back, as a careless service answer would.
        return {"door": params["door"], "sent": dict(params)}

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        thing = {"type": "object", "required": ["thing"], "additionalProperties": False,
                 "properties": {"thing": {"type": "string", "maxLength": 64}}}
        unlock = {"type": "object", "required": ["door", "code"], "additionalProperties": False,
                  "properties": {"door": {"type": "string"},
                                 "code": {"type": "string", "writeOnly": True},
                                 "note": {"type": "string"}}}
        return [Action("remove", self._remove, params=thing, destructive=True,
                       prepare=self._resolve),
                Action("unlock", self._unlock, params=unlock, destructive=True)]

    @hookimpl
    def nebula_tools(self) -> list[Tool]:
        return [Tool("remove_thing", "Remove a thing", action="doors.remove",
                     params={"type": "object", "properties": {"thing": {"type": "string"}}})]


async def _file(a, action: str, params: dict[str, Any]) -> dict[str, Any]:
    return (await a.run_action(action, params, expect=202))["approval"]


async def test_a_request_for_a_target_that_does_not_exist_is_refused_not_filed(nebula_agent):
    doors = Doors()
    async with nebula_agent({"doors": doors}) as a:
        status, body = await a.post("/api/v1/actions/doors.remove/run",
                                    {"params": {"thing": "nosuch; rm -rf /"}})
        assert status == 422
        assert body["errors"] == [{"path": "thing",
                                   "message": "no thing named 'nosuch; rm -rf /'"}]
        _, listed = await a.get("/api/v1/approvals?status=pending")
        assert listed["approvals"] == []
        # The same through a Jarvis tool call: refused, nothing filed.
        status, body = await a.post("/api/v1/tools/doors.remove_thing/run",
                                    {"thing": "nosuch"})
        assert status == 422 and "no thing named 'nosuch'" in json.dumps(body)
        _, listed = await a.get("/api/v1/approvals?status=pending")
        assert listed["approvals"] == []


async def test_the_approver_sees_the_resolved_target_and_only_it_runs(nebula_agent):
    doors = Doors()
    async with nebula_agent({"doors": doors}) as a:
        approval = await _file(a, "doors.remove", {"thing": "garage"})
        assert approval["plan"] == {"thing": "garage", "id": "id-1"}
        # The garage is re-created under a new id after the request.
        doors.things["garage"] = "id-9"
        outcome = await a.approve(approval["id"])
        assert outcome["status"] == "error"
        assert "garage (id-1) no longer exists" in outcome["error"]
        assert doors.removed == []


async def test_an_approval_must_match_the_digest_the_approver_saw(nebula_agent):
    doors = Doors()
    async with nebula_agent({"doors": doors}) as a:
        approval = await _file(a, "doors.remove", {"thing": "front"})
        status, body = await a.post(f"/api/v1/approvals/{approval['id']}/approve",
                                    {"digest": "0" * 64})
        assert status == 409 and "digest" in body["detail"]
        assert doors.removed == []
        outcome = await a.post(f"/api/v1/approvals/{approval['id']}/approve",
                               {"digest": approval["digest"]})
        assert outcome[0] == 200 and doors.removed == ["id-2"]


async def test_an_approval_expires_and_then_cannot_run(nebula_agent):
    doors = Doors()
    async with nebula_agent({"doors": doors}, agent={"approval_ttl": 600}) as a:
        approvals = a.agent.actions.approvals_store
        approval = await _file(a, "doors.remove", {"thing": "front"})
        assert approval["expires"] == approval["created"] + 600
        subscriber = a.agent.bus.subscribe("approval.expired")
        real = approvals.clock
        approvals.clock = lambda: real() + 1200  # 20 minutes later
        status, body = await a.post(f"/api/v1/approvals/{approval['id']}/approve")
        assert status == 409 and "expired" in body["detail"]
        assert doors.removed == []
        event = await eventually(lambda: subscriber.queue.get_nowait())
        assert event["data"]["id"] == approval["id"]
        _, shown = await a.get(f"/api/v1/approvals/{approval['id']}")
        assert shown["status"] == "expired"


async def test_params_are_checked_again_at_approval(nebula_agent):
    doors = Doors()
    async with nebula_agent({"doors": doors}) as a:
        approval = await _file(a, "doors.remove", {"thing": "front"})
        # The plugin was updated meanwhile: names are now at most 3 characters.
        action = a.agent.actions.actions["doors.remove"]
        a.agent.actions.actions["doors.remove"] = replace(action, params={
            **action.params, "properties": {"thing": {"type": "string", "maxLength": 3}}})
        outcome = await a.approve(approval["id"])
        assert outcome["status"] == "error"
        assert "no longer fits" in outcome["error"]
        assert doors.removed == []


async def test_an_admin_approving_their_own_request_is_on_record(nebula_agent):
    doors = Doors()
    async with nebula_agent({"doors": doors}) as a:
        approval = await _file(a, "doors.remove", {"thing": "front"})
        outcome = await a.approve(approval["id"])
        assert outcome["approval"]["self_approved"] is True
        _, audit = await a.get("/api/v1/audit?action=doors.remove&outcome=ok")
        assert "(own request)" in audit["audit"][0]["detail"]


async def test_write_only_params_and_known_secrets_never_shown_or_stored_in_clear(
        nebula_agent, tmp_path):
    doors = Doors()
    SECRETS.add(KNOWN_SECRET)
    async with nebula_agent({"doors": doors}) as a:
        events = a.agent.bus.subscribe("*")
        viewer = await a.post("/api/v1/tokens", {"name": "v", "role": "viewer"})
        viewer_token = viewer[1]["token"]
        approval = await _file(a, "doors.unlock", {"door": "front", "code": PIN,
                                                   "note": KNOWN_SECRET})
        assert approval["params"] == {"door": "front", "code": "***", "note": "***"}
        _, seen = await a.get("/api/v1/approvals", token=viewer_token)
        outcome = await a.approve(approval["id"])
        # It ran with the real values, which were kept sealed meanwhile.
        assert doors.unlocked == [{"door": "front", "code": PIN, "note": KNOWN_SECRET}]
        _, audit = await a.get("/api/v1/audit")
        published = []
        while not events.queue.empty():
            published.append(events.queue.get_nowait())
        await a.agent.store.execute("PRAGMA wal_checkpoint(PASSIVE)")
        data_dir = a.agent.config.data_dir
        files = {p.name: p.read_bytes() for p in data_dir.iterdir() if p.is_file()}
    for shown in (seen, outcome, audit, published):
        text = json.dumps(shown)
        assert PIN not in text and KNOWN_SECRET not in text, text
    assert "nebula.db" in files
    for name, content in files.items():
        assert PIN.encode() not in content, name
        assert KNOWN_SECRET.encode() not in content, name


async def test_a_write_only_value_in_an_invalid_request_is_not_echoed(nebula_agent):
    async with nebula_agent({"doors": Doors()}) as a:
        status, body = await a.post("/api/v1/actions/doors.unlock/run",
                                    {"params": {"door": "front", "code": 4711}})
        assert status == 422
        assert "4711" not in json.dumps(body)
        assert body["errors"][0]["message"].startswith('does not satisfy type "string"')
