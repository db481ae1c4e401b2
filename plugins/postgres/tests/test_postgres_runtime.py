"""The plugin's running state is the runtime its startup returns (plugin API 1.2): the core
hands it to the hooks and closes it when the plugin stops, so the pooled connections end
at the server, whether the plugin is disabled by a reload or the agent stops."""

from __future__ import annotations

from dataclasses import replace

import pytest
from postgres_api import Agent, AgentFactory, run_checks

from nebula_postgres.runtime import Runtime
from tests.engines.postgres import Cluster
from tests.waiting import eventually


async def _runtime_and_its_backend(agent: Agent) -> tuple[Runtime, int]:
    """The plugin's runtime, after a check round, and the server pid of a pooled
    connection it keeps open."""
    assert (await run_checks(agent, "reachable"))["reachable"]["last_status"] == "ok"
    runtime = agent.agent.manager.records["postgres"].ctx.runtime
    assert isinstance(runtime, Runtime)
    async with runtime.server.pool.connection() as conn:
        pid = conn.info.backend_pid
    assert runtime.server.pool.idle >= 1
    return runtime, pid


def _backend_gone(cluster: Cluster, pid: int) -> bool:
    return cluster.execute(f"SELECT 1 FROM pg_stat_activity WHERE pid = {pid}") == []


async def _assert_closed(runtime: Runtime, cluster: Cluster, pid: int) -> None:
    assert runtime.server.pool.idle == 0
    with pytest.raises(RuntimeError, match="the connection pool is closed"):
        async with runtime.server.pool.connection():
            pass
    await eventually(lambda: _backend_gone(cluster, pid))


async def test_disabling_the_plugin_closes_its_runtime(pg_agent: AgentFactory,
                                                        cluster: Cluster) -> None:
    async with pg_agent() as agent:
        runtime, pid = await _runtime_and_its_backend(agent)
        assert not _backend_gone(cluster, pid)
        config = agent.agent.config
        disabled = {**config.plugins["postgres"], "enabled": False}
        await agent.agent.reload(replace(config, plugins={**config.plugins,
                                                          "postgres": disabled}))
        assert (await agent.plugin("postgres"))["state"] == "disabled"
        # The agent runs on; only the plugin stopped, and its connections with it.
        await _assert_closed(runtime, cluster, pid)


async def test_stopping_the_agent_closes_the_plugins_runtime(pg_agent: AgentFactory,
                                                              cluster: Cluster) -> None:
    async with pg_agent() as agent:
        runtime, pid = await _runtime_and_its_backend(agent)
    await _assert_closed(runtime, cluster, pid)
