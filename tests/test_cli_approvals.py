"""Approvals from the CLI, against a live agent serving a plugin with a destructive action."""

from __future__ import annotations

import asyncio
import json
import sys

from tests.agent_process import isolated_env
from tests.sample_plugins import Switchable


async def nebula_async(agent, tmp_path, *args: str, token: str | None = None):
    """Run the CLI in a subprocess without blocking the loop that serves the agent."""
    env = isolated_env(tmp_path, NEBULA_URL=agent.url,
                       NEBULA_TOKEN=agent.token if token is None else token)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "nebula", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


async def test_request_list_approve_and_audit(nebula_agent, tmp_path):
    plugin = Switchable()
    async with nebula_agent({"switchable": plugin}) as agent:
        code, out, _ = await nebula_async(agent, tmp_path, "action", "run", "switchable.delete",
                                          "-p", "target=db1", "--json")
        assert code == 0
        pending = json.loads(out)
        assert pending["status"] == "pending_approval"
        assert plugin.deleted == []
        approval = pending["approval"]["id"]

        code, out, _ = await nebula_async(agent, tmp_path, "approvals", "list", "--json")
        assert [a["id"] for a in json.loads(out)["approvals"]] == [approval]
        code, out, _ = await nebula_async(agent, tmp_path, "approvals", "list")
        assert approval in out and "switchable.delete" in out

        code, out, _ = await nebula_async(agent, tmp_path, "approvals", "approve", approval)
        assert code == 0, out
        assert plugin.deleted == ["db1"]
        code, _, err = await nebula_async(agent, tmp_path, "approvals", "approve", approval)
        assert code == 2 and "already approved" in err


async def test_deny_from_the_cli(nebula_agent, tmp_path):
    plugin = Switchable()
    async with nebula_agent({"switchable": plugin}) as agent:
        _, out, _ = await nebula_async(agent, tmp_path, "action", "run", "switchable.delete",
                                       "-p", "target=db1", "--json")
        approval = json.loads(out)["approval"]["id"]
        code, out, _ = await nebula_async(agent, tmp_path, "approvals", "deny", approval,
                                          "--reason", "not today")
        assert code == 0 and "denied" in out
        assert plugin.deleted == []
        _, body = await agent.get("/api/v1/audit?outcome=denied")
        assert body["audit"][0]["detail"] == "not today"


async def test_yes_counts_as_approval_only_for_the_local_admin(nebula_agent, tmp_path):
    plugin = Switchable()
    async with nebula_agent({"switchable": plugin}) as agent:
        _, created = await agent.post("/api/v1/tokens", {"name": "script"})
        code, _, err = await nebula_async(agent, tmp_path, "action", "run", "switchable.delete",
                                          "-p", "target=x", "--yes", token=created["token"])
        assert code == 2 and "only the local admin" in err
        assert plugin.deleted == []

        code, out, _ = await nebula_async(agent, tmp_path, "action", "run", "switchable.delete",
                                          "-p", "target=db2", "--yes", "--json")
        assert code == 0
        assert json.loads(out)["result"] == "deleted db2"
        assert plugin.deleted == ["db2"]
        _, body = await agent.get("/api/v1/audit?action=switchable.delete&outcome=ok")
        assert body["audit"][0]["detail"] == "approved by local-admin (--yes)"
        _, approvals = await agent.get("/api/v1/approvals?status=approved")
        assert approvals["approvals"][0]["decided_by"] == "local-admin (--yes)"
