"""The advisor's advice from its peers, on real engines: containers on Podman with and
without a memory limit and a dangling image (the docker plugin's `docker.resources`); a
PostgreSQL database with an index never used and a table full of dead rows (the postgres
plugin's `postgres.advice`), whose suggestion files the vacuum through the approval gate."""

from __future__ import annotations

import pytest

import nebula_docker.plugin
import nebula_postgres.plugin
from nebula.testing import installed_plugin

pytestmark = pytest.mark.e2e

ADVISOR = {"advisor": {"enabled": True, "interval": 3600}}


async def suggestions(agent):
    status, body = await agent.post("/api/v1/actions/advisor.suggestions/run", {"params": {}})
    assert status == 200 and body["status"] == "ok", body
    return body["result"]["suggestions"]


async def test_containers_without_a_limit_and_dangling_images(nebula_agent, podman, client,
                                                              run_container):
    bounded = run_container(["sleep", "300"], mem_limit="64m")
    unbounded = run_container(["sleep", "300"])
    base = run_container(["sh", "-c", "echo one > /tmp/a; sleep 300"])
    base.commit(repository="localhost/advisor-left", tag="x")
    base.commit(repository="localhost/advisor-left", tag="x")  # the first is now dangling
    plugins = {"docker": nebula_docker.plugin, "advisor": installed_plugin("advisor")}
    config = {"docker": {"base_url": podman.base_url, "interval": 3600}, **ADVISOR}
    async with nebula_agent(plugins, config=config) as a:
        found = await suggestions(a)
        unlimited = {s["target"] for s in found if s["kind"] == "no_memory_limit"}
        assert unbounded.name in unlimited and bounded.name not in unlimited
        [images] = [s for s in found if s["kind"] == "dangling_images"]
        assert images["action"] == "docker.prune" and images["title"].endswith("dangling images")
        status, body = await a.post("/api/v1/actions/docker.resources/run", {"params": {}})
        assert status == 200, body
        rows = {c["name"]: c for c in body["result"]["containers"]}
        assert rows[bounded.name]["memory_limit_bytes"] == 64 * 1024 ** 2
        # Each running container's memory and CPU go into the history for the trends.
        status, usage = await a.post("/api/v1/checks/run", {"names": ["docker.usage"]})
        metrics = usage["checks"][0]["metrics"]
        assert f"{unbounded.name}.memory_bytes" in metrics, usage
    client.images.remove("localhost/advisor-left:x", force=True)


async def test_database_upkeep_and_its_vacuum_through_the_gate(nebula_agent, cluster):
    with cluster.connect() as conn:
        conn.execute("DROP DATABASE IF EXISTS advised")
        conn.execute("CREATE DATABASE advised")
    with cluster.connect("advised") as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, note text) "
                     "WITH (autovacuum_enabled = false)")
        conn.execute("INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 60000) g")
        conn.execute("CREATE INDEX items_note ON items (note)")
        conn.execute("ANALYZE items")
        conn.execute("UPDATE items SET note = note || 'y'")  # 60,000 dead rows
    plugins = {"postgres": nebula_postgres.plugin, "advisor": installed_plugin("advisor")}
    async with nebula_agent(plugins, config={"postgres": cluster.config(),
                                             **ADVISOR}) as a:
        found = {(s["kind"], s["target"]): s for s in await suggestions(a)}
        assert ("unused_index", "advised.items_note") in found
        dead = found[("dead_rows", "advised.items")]
        assert dead["action"] == "postgres.vacuum" and dead["params"] == {"database": "advised"}
        assert ("unused_index", "advised.items_pkey") not in found  # it enforces a key
        status, body = await a.post(f"/api/v1/actions/{dead['action']}/run",
                                    {"params": dead["params"]})
        assert status == 200 and body["status"] == "ok", body
        found = {(s["kind"], s["target"]) for s in await suggestions(a)}
        assert ("dead_rows", "advised.items") not in found
