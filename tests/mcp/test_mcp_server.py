"""The MCP server driven by the SDK's own client over both transports (streamable HTTP at
/mcp, and `nebula mcp serve` on stdio relaying to it): tools with their schemas, the
approval gate for destructive tools, viewer tokens, bad arguments, resources, the
`diagnose` prompt, and secrets masked in whatever the client receives."""

from __future__ import annotations

import json

import pytest
from mcp.shared.exceptions import MCPError

from nebula.contributions import Status
from tests.jarvis.ops_plugin import SECRET
from tests.mcp.conftest import connected
from tests.waiting import eventually

# Every test here starts a real agent; half of them a `nebula mcp serve` subprocess.
pytestmark = pytest.mark.e2e


def text_of(result) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def test_tools_carry_their_schemas_and_a_read_only_call_is_masked(mcp_host):
    async with connected(mcp_host) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert {"ops__service_status", "ops__logs", "ops__restart", "ops__delete_volume",
                "ops__clear_cache", "approval_status"} <= set(tools)
        restart = tools["ops__restart"]
        # The full schema the runner validates against, not Jarvis's compact one.
        assert restart.input_schema["required"] == ["name"]
        assert restart.input_schema["additionalProperties"] is False
        assert restart.annotations.destructive_hint is True
        assert "approval" in restart.description
        assert tools["ops__service_status"].annotations.read_only_hint is True

        result = await client.call_tool("ops__service_status", {})
    assert result.is_error is False
    body = json.loads(text_of(result))
    assert body["status"] == "ok" and body["result"]["service"] == "web"
    # The plugin's answer holds the configured secret; the client never gets it.
    assert "***" in body["result"]["config"]["url"]
    assert SECRET not in text_of(result) and SECRET not in json.dumps(
        result.structured_content)
    audit = await mcp_host.agent.agent.actions.audit_log(action="ops.service_status")
    assert [row["actor"] for row in audit] == ["mcp:ci"]


async def test_a_destructive_call_waits_for_an_admin_and_the_poll_tells_the_outcome(mcp_host):
    agent, ops = mcp_host.agent, mcp_host.ops
    async with connected(mcp_host) as client:
        filed = await client.call_tool("ops__restart", {"name": "web"})
        assert filed.is_error is False
        approval_id = filed.structured_content["approval_id"]
        assert text_of(filed).startswith(f"pending approval {approval_id}, ask an admin")
        assert ops.restarted == []  # the MCP client asked; nothing ran
        approval = await agent.agent.actions.approval(approval_id)
        assert approval["status"] == "pending" and approval["requested_by"] == "mcp:ci"
        assert approval["action"] == "ops.restart" and approval["params"] == {"name": "web"}

        waiting = await client.call_tool("approval_status", {"id": approval_id})
        assert waiting.structured_content["status"] == "pending"
        assert ops.restarted == []

        await agent.approve(approval_id)  # an admin decides, through the API
        done = await client.call_tool("approval_status", {"id": approval_id})
    assert done.is_error is False
    assert ops.restarted == ["web"]
    assert done.structured_content["status"] == "approved"
    assert done.structured_content["outcome"]["result"] == "restarted web"
    assert "restarted web" in text_of(done)


async def test_a_denied_approval_says_the_action_did_not_run(mcp_host):
    agent = mcp_host.agent
    async with connected(mcp_host) as client:
        filed = await client.call_tool("ops__delete_volume", {"name": "data"})
        approval_id = filed.structured_content["approval_id"]
        # The admin's reason is free text: a secret pasted into it is still masked here.
        status, _ = await agent.post(f"/api/v1/approvals/{approval_id}/deny",
                                     {"reason": f"not today, token {SECRET} rotates"})
        assert status == 200
        result = await client.call_tool("approval_status", {"id": approval_id})
    assert "denied" in text_of(result) and "not today, token *** rotates" in text_of(result)
    assert SECRET not in text_of(result) + json.dumps(result.structured_content)
    assert "did not run" in text_of(result) and mcp_host.ops.deleted == []


async def test_a_viewer_token_gets_the_read_only_tools_only(mcp_host):
    async with connected(mcp_host) as admin:
        filed = await admin.call_tool("ops__restart", {"name": "web"})
    others = filed.structured_content["approval_id"]
    async with connected(mcp_host, "watcher") as client:
        # Another token's approval is not this one's to follow.
        poll = await client.call_tool("approval_status", {"id": others})
        assert poll.is_error is True and "of yours" in text_of(poll)
        names = {t.name for t in (await client.list_tools()).tools}
        assert "ops__service_status" in names and "approval_status" in names
        assert not names & {"ops__restart", "ops__delete_volume", "ops__clear_cache"}
        refused = await client.call_tool("ops__restart", {"name": "web"})
        assert refused.is_error is True and "admin" in text_of(refused)
        # Not even a safe action: a viewer changes nothing.
        assert (await client.call_tool("ops__clear_cache", {})).is_error is True
        assert (await client.call_tool("ops__logs", {})).is_error is False
    assert mcp_host.ops.restarted == [] and mcp_host.ops.cleared == 0
    assert [a["id"] for a in await mcp_host.agent.agent.actions.approvals()] == [others]


async def test_bad_arguments_are_tool_errors_and_the_session_goes_on(mcp_host):
    async with connected(mcp_host) as client:
        wrong = await client.call_tool("ops__restart", {"nam": 3})
        assert wrong.is_error is True
        assert "'name' is a required property" in text_of(wrong)
        with pytest.raises(MCPError, match="no tool named 'ops__nothing'"):
            await client.call_tool("ops__nothing", {})
        poll = await client.call_tool("approval_status", {"id": 7})
        assert poll.is_error is True and "id" in text_of(poll)
        missing = await client.call_tool("approval_status", {"id": "feedbeef"})
        assert missing.is_error is True
        # Still serving.
        assert (await client.call_tool("ops__logs", {})).is_error is False
    assert await mcp_host.agent.agent.actions.approvals() == []
    audit = await mcp_host.agent.agent.actions.audit_log(actor="mcp:ci", outcome="invalid")
    assert [row["action"] for row in audit] == ["ops.restart"]


async def test_resources_show_checks_events_and_only_the_callers_audit(mcp_host):
    ops, agent = mcp_host.ops, mcp_host.agent
    ops.status, ops.summary = Status.CRITICAL, f"web down, token {SECRET} refused"
    await agent.run_check("ops.web")
    async with connected(mcp_host, "watcher") as viewer:
        await viewer.call_tool("ops__logs", {})
    async with connected(mcp_host) as client:
        await client.call_tool("ops__service_status", {})
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        assert uris == {"nebula://checks", "nebula://events", "nebula://audit"}
        checks = json.loads((await client.read_resource("nebula://checks")).contents[0].text)

        async def events_so_far() -> str | None:
            # The event store is written behind the bus: on a busy machine the check's
            # first results can land a moment after the check ran.
            text = (await client.read_resource("nebula://events")).contents[0].text
            return text if '"check.first_results"' in text else None

        events = await eventually(events_so_far, timeout=10)
        audit = json.loads((await client.read_resource("nebula://audit")).contents[0].text)
        with pytest.raises(MCPError):
            await client.read_resource("nebula://nothing")
    web = next(c for c in checks if c["name"] == "ops.web")
    assert web["status"] == "critical" and "web down" in web["summary"]
    assert SECRET not in json.dumps(checks) and SECRET not in events
    topics = [e["topic"] for e in json.loads(events)]
    assert topics[-1] == "plugin.started" and "check.first_results" in topics  # newest first
    assert "web down" in events
    # Only this token's requests: the viewer's call is not in it.
    assert {row["actor"] for row in audit} == {"mcp:ci"}
    assert [row["action"] for row in audit] == ["ops.service_status"]


async def test_the_diagnose_prompt_carries_the_current_problems(mcp_host):
    ops, agent = mcp_host.ops, mcp_host.agent
    ops.status, ops.summary = Status.CRITICAL, f"web answers 502 (key {SECRET})"
    await agent.run_check("ops.web")
    async with connected(mcp_host) as client:
        assert [p.name for p in (await client.list_prompts()).prompts] == ["diagnose"]
        prompt = await client.get_prompt("diagnose", {"check": "ops.web"})
        with pytest.raises(MCPError):
            await client.get_prompt("diagnose", {"check": "ops.nothing"})
    text = prompt.messages[0].content.text
    assert "Diagnose the failing check" in text and "ops.restart" in text
    assert "- ops.web: critical: web answers 502" in text
    assert SECRET not in text and "***" in text
