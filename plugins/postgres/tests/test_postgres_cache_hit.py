"""The cache hit ratio is judged between two readings, against a real server: a big read
(as a nightly dump does) shows in the window that holds it and is gone from the next one,
though it holds the ratio since the statistics reset down for good."""

from __future__ import annotations

import asyncio

from postgres_api import AgentFactory, in_state

from tests.engines.postgres import Cluster
from tests.waiting import eventually

WARNING = 95.0


def _reset_statistics(cluster: Cluster) -> None:
    for (database,) in cluster.execute("SELECT datname FROM pg_database WHERE datallowconn"):
        cluster.execute("SELECT pg_stat_reset()", database)


def _ratio_since_reset(cluster: Cluster) -> float:
    """What the check judged before: every database's counters since their reset."""
    [(hits, reads)] = cluster.execute(
        "SELECT sum(blks_hit), sum(blks_read) FROM pg_stat_database")
    return 100.0 * float(hits) / float(hits + reads)


async def test_a_big_read_warns_in_its_window_and_the_next_window_recovers(
        pg_agent: AgentFactory, cluster: Cluster, big_database: str) -> None:
    async with pg_agent(cache_hit_warning=WARNING) as agent:
        await eventually(lambda: in_state(agent, "cache_hit", "ok"))
        await asyncio.to_thread(_reset_statistics, cluster)
        # Far more blocks than shared_buffers keeps for one scan: nearly all are reads.
        await asyncio.to_thread(cluster.execute, "SELECT count(*) FROM big", big_database)
        # The reading backend's counters reach the statistics when it exits.
        await eventually(lambda: _ratio_since_reset(cluster) < WARNING)
        during = await eventually(lambda: in_state(agent, "cache_hit", "warning"), timeout=10)
        after = await eventually(lambda: in_state(agent, "cache_hit", "ok"), timeout=10)
        since_reset = _ratio_since_reset(cluster)
    assert during["metrics"]["blocks_read"] > 15_000, during["summary"]
    assert during["metrics"]["cache_hit_percent"] < WARNING
    assert "over the last" in after["summary"]
    # A window may hold no access at all yet (a backend's counters reach the statistics
    # at most once a second), so no ratio.
    assert after["metrics"].get("cache_hit_percent", 100) >= WARNING
    assert since_reset < WARNING  # what the check would still say, since the reset
