"""`nebula jarvis ...` through the real entry point, against a live agent and the fake model."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import sys

from nebula.contributions import Status
from nebula.runtime import RuntimeInfo
from tests.agent_process import isolated_env
from tests.jarvis.conftest import settled
from tests.jarvis.openai_server import text, tool_call
from tests.jarvis.ops_plugin import Ops
from tests.test_cli_approvals import nebula_async


async def test_ask_streams_the_answer(jarvis_agent, model, tmp_path):
    model.add(tool_call("ops__logs"), text("The logs are clean: only 200s."))
    async with jarvis_agent() as (agent, _):
        code, out, err = await nebula_async(agent, tmp_path, "jarvis", "ask", "logs?")
    assert code == 0, err
    assert out.strip() == "The logs are clean: only 200s."
    assert "[ops.logs: ok]" in err


async def test_ask_json_and_history(jarvis_agent, model, tmp_path):
    model.add(text("First answer."), text("Second answer."))
    async with jarvis_agent() as (agent, _):
        code, out, _ = await nebula_async(agent, tmp_path, "jarvis", "ask", "one", "--json")
        first = json.loads(out)
        assert code == 0 and first["state"] == "idle" and first["answer"] == "First answer."
        cid = first["conversation_id"]
        code, out, _ = await nebula_async(agent, tmp_path, "jarvis", "ask", "two", "-c", cid,
                                          "--json")
        assert json.loads(out)["answer"] == "Second answer."
        code, out, _ = await nebula_async(agent, tmp_path, "jarvis", "history")
        assert cid in out and "one" in out
        code, out, _ = await nebula_async(agent, tmp_path, "jarvis", "history", cid)
        assert out.splitlines() == ["user: one", "assistant: First answer.", "user: two",
                                    "assistant: Second answer."]


async def test_ask_without_a_terminal_prints_how_to_approve(jarvis_agent, model, tmp_path):
    model.add(tool_call("ops__restart", {"name": "web"}), text("Web restarted."))
    async with jarvis_agent() as (agent, ops):
        code, out, _ = await nebula_async(agent, tmp_path, "jarvis", "ask", "restart web")
        assert code == 0
        approval_id = out.split("nebula approvals approve ")[1].split()[0]
        assert ops.restarted == []
        code, _, _ = await nebula_async(agent, tmp_path, "approvals", "approve", approval_id)
        assert code == 0 and ops.restarted == ["web"]
        _, listing = await agent.get("/api/v1/jarvis/conversations")
        conversation = await settled(agent, listing[0]["id"])
        assert conversation["messages"][-1]["content"] == "Web restarted."


async def test_ask_on_a_terminal_prompts_the_local_admin(jarvis_agent, model, tmp_path):
    model.add(tool_call("ops__restart", {"name": "web"}), text("Web restarted."))
    async with jarvis_agent() as (agent, ops):
        # As `nebula run` does: the runtime file makes this user the host's local admin.
        data_dir = agent.agent.config.data_dir
        RuntimeInfo(agent.url, os.getpid(), agent.token).write(data_dir)
        env = isolated_env(tmp_path, NEBULA_CONFIG=str(agent.agent.config.path))
        primary, replica = pty.openpty()  # a terminal on stdin only: the prompt's condition
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "nebula", "jarvis", "ask", "restart web", env=env,
            stdin=replica, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        os.close(replica)
        try:
            prompt = await asyncio.wait_for(proc.stdout.readuntil(b"Approve? [y/N]: "), 20)
            assert b"ops.restart" in prompt and b'"name": "web"' in prompt
            os.write(primary, b"y\n")
            rest, _ = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            os.close(primary)
            if proc.returncode is None:
                proc.kill()
    out = (prompt + rest).decode()
    assert proc.returncode == 0
    assert ops.restarted == ["web"]
    assert out.strip().endswith("Web restarted.")


async def test_diagnose_and_status(jarvis_agent, model, tmp_path):
    diagnosis = {"hypothesis": "Web is down because of the cache.", "evidence": ["500s"],
                 "proposed_actions": [{"action": "ops.clear_cache", "params": {}},
                                      {"action": "ops.restart", "params": {"name": "web"}}]}
    model.add(text(json.dumps(diagnosis)))
    async with jarvis_agent() as (agent, ops):
        ops.status = Status.CRITICAL
        code, out, err = await nebula_async(agent, tmp_path, "jarvis", "diagnose", "ops.web")
        assert code == 0, err
        assert out.startswith("ops.web: Web is down because of the cache.")
        assert "nebula action run ops.clear_cache" in out
        assert "nebula approvals approve " in out
        code, out, _ = await nebula_async(agent, tmp_path, "jarvis", "status")
        assert out.strip() == f"enabled: gpt-4o-mini at 127.0.0.1:{model.port}"


async def test_disabled_jarvis_says_how_to_enable_it(nebula_agent, tmp_path):
    async with nebula_agent({"ops": Ops()}) as agent:
        code, out, err = await nebula_async(agent, tmp_path, "jarvis", "ask", "hi")
        assert code == 1 and "Service Unavailable" in err and "[jarvis]" in err
        code, out, _ = await nebula_async(agent, tmp_path, "jarvis", "status")
        assert code == 0 and out.startswith("disabled: Jarvis is not configured")


async def test_investigate_shows_the_specialists_findings(jarvis_agent, model, tmp_path):
    from tests.jarvis.lab_plugin import Lab

    model.add(
        tool_call("ask_storage", {"question": "Which disk is full?"}),
        tool_call("lab__disk_usage", {}),
        text(json.dumps({"findings": "/srv is full", "evidence": ["/srv 100%"],
                         "proposed_actions": [{"action": "lab.prune_images", "params": {},
                                               "why": "frees 38 GB"}]})),
        text(json.dumps({"hypothesis": "/srv is full.", "evidence": ["/srv 100%"],
                         "proposed_actions": [{"action": "lab.prune_images",
                                               "params": {}}]})))
    async with jarvis_agent(Lab(), name="lab", config={}) as (agent, _):
        code, out, err = await nebula_async(agent, tmp_path, "jarvis", "investigate",
                                            "is a disk full?")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "/srv is full."
    assert "  [storage] /srv is full" in lines
    assert any("lab.prune_images" in line and "nebula approvals approve" in line
               for line in lines)
