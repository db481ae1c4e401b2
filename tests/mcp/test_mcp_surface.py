"""The /mcp route itself: who may call it, what it costs an agent nobody asks over MCP, the
runtime's end with the plugin, and the agent without the `mcp` extra."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap

import pytest

from nebula.config import load
from nebula.testing import run_agent, write_config
from tests.agent_process import nebula
from tests.hidden_package import env_without

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
MCP_HEADERS = {"Accept": "application/json, text/event-stream",
               "Content-Type": "application/json"}


async def test_mcp_takes_a_bearer_token_and_posts_only(nebula_agent):
    async with nebula_agent() as agent:
        async with agent.session.post(agent.url + "/mcp", json=INITIALIZE,
                                      headers=MCP_HEADERS) as resp:
            assert resp.status == 401
            assert "bearer token" in (await resp.json())["detail"]
        async with agent.session.post(agent.url + "/mcp", json=INITIALIZE, headers={
                **MCP_HEADERS, "Authorization": "Bearer not-a-token"}) as resp:
            assert resp.status == 401
        async with agent.session.post(agent.url + "/mcp", json=INITIALIZE, headers={
                **MCP_HEADERS, "Authorization": f"Bearer {agent.token}"}) as resp:
            assert resp.status == 200
            assert (await resp.json())["id"] == 1
        # Stateless: no stream to open, no session to end (the transport allows a 405).
        for method in ("GET", "DELETE"):
            async with agent.session.request(method, agent.url + "/mcp", headers={
                    **MCP_HEADERS, "Authorization": f"Bearer {agent.token}"}) as resp:
                assert resp.status == 405 and resp.headers["Allow"] == "POST"


async def test_the_mcp_runtime_stops_with_the_plugin(tmp_path):
    path = write_config(tmp_path / "nebula.toml")
    async with run_agent(load(path), schedule=False) as agent:
        service = agent.agent.manager.runtime("mcp")
        async with agent.session.post(agent.url + "/mcp", json=INITIALIZE, headers={
                **MCP_HEADERS, "Authorization": f"Bearer {agent.token}"}) as resp:
            assert resp.status == 200
        task = service._task
        assert task is not None and not task.done()
    assert task.done() and service._manager is not None


@pytest.mark.e2e
def test_the_sdk_loads_on_first_use_and_its_absence_names_the_extra(tmp_path):
    """An agent nobody asks over MCP does not import the SDK; without the extra, /mcp and
    `nebula mcp serve` say what to install."""
    path = write_config(tmp_path / "nebula.toml")
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from nebula.config import load
        from nebula.testing import run_agent
        import asyncio

        async def main():
            async with run_agent(load(Path({str(path)!r}))) as agent:
                assert (await agent.get("/api/v1/status"))[0] == 200
                print("sdk-loaded", "mcp" in sys.modules)
                async with agent.session.post(agent.url + "/mcp", json={INITIALIZE!r},
                        headers={{**{MCP_HEADERS!r},
                                  "Authorization": "Bearer " + agent.token}}) as resp:
                    print("status", resp.status, (await resp.text()))
                print("sdk-loaded", "mcp" in sys.modules)

        asyncio.run(main())
    """)
    with_sdk = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=60, check=False)
    assert with_sdk.returncode == 0, with_sdk.stderr
    lines = with_sdk.stdout.splitlines()
    assert "sdk-loaded False" in lines and "sdk-loaded True" in lines
    assert any(line.startswith("status 200") for line in lines)

    env = env_without("mcp", tmp_path)
    without = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             timeout=60, check=False, env=env)
    assert without.returncode == 0, without.stderr
    status = next(line for line in without.stdout.splitlines() if line.startswith("status"))
    assert status.startswith("status 503") and "nebula-command[mcp]" in status

    served = nebula("mcp", "serve", env={**env, "NEBULA_URL": "http://127.0.0.1:9",
                                         "NEBULA_TOKEN": "x"})
    assert served.returncode != 0 and "nebula-command[mcp]" in served.stderr


@pytest.mark.e2e
def test_mcp_serve_without_a_running_agent_says_how_to_start_one(tmp_path):
    from tests.agent_process import isolated_env

    served = nebula("mcp", "serve", env=isolated_env(tmp_path))
    assert served.returncode == 1 and served.stdout == ""
    assert "no running agent: start it (nebula run)" in served.stderr


@pytest.mark.e2e
async def test_mcp_tools_lists_what_a_token_sees(nebula_agent, tmp_path):
    from tests.agent_process import isolated_env
    from tests.jarvis.ops_plugin import Ops

    async with nebula_agent({"ops": Ops()}) as agent:
        status, viewer = await agent.post("/api/v1/tokens", {"name": "dash", "role": "viewer"})
        assert status == 201
        listed = {}
        for name, token in (("admin", agent.token), ("viewer", viewer["token"])):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "nebula", "mcp", "tools", "--json",
                env=isolated_env(tmp_path, NEBULA_URL=agent.url, NEBULA_TOKEN=token),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, err.decode()
            listed[name] = {t["name"]: t for t in json.loads(out)}
    assert listed["admin"]["ops__restart"]["destructive"] is True
    assert listed["admin"]["ops__logs"]["read_only"] is True
    assert "ops__restart" not in listed["viewer"] and "ops__logs" in listed["viewer"]


async def test_a_panel_session_is_not_an_mcp_credential(nebula_agent):
    """A browser signed in to the panel (cookie and CSRF token, same origin) is refused:
    MCP clients name a token, whose role and name the audit records."""
    from tests.web.test_auth_http import add_user, session_of

    async with nebula_agent() as agent:
        await add_user(agent)
        cookie, csrf = await session_of(agent)
        headers = {**MCP_HEADERS, "Cookie": cookie, "X-CSRF-Token": csrf,
                   "Origin": agent.url}
        async with agent.session.post(agent.url + "/api/v1/checks/run", json={},
                                      headers=headers) as resp:
            assert resp.status == 200  # the same credential is good for the panel's writes
        async with agent.session.post(agent.url + "/mcp", json=INITIALIZE,
                                      headers=headers) as resp:
            assert resp.status == 401
            assert "bearer token" in (await resp.json())["detail"]
