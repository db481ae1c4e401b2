"""nebula.helpers.appwatch, the public toolkit for watching a self-hosted app, on its own: a
plugin of a spec and five one-line hooks (tests/appwatch_watcher.py, an n8n watcher as a
third party would write it) run in a real agent against a real HTTP endpoint on loopback
and the session's throwaway PostgreSQL cluster. Containers are covered by the discordbot
tests (through Podman)."""

from __future__ import annotations

import asyncio

import pytest

import nebula_postgres.plugin
from nebula.api import Status
from nebula.helpers.appspec import (
    AppSpec,
    appwatch_schema,
    json_mismatches,
    judge_metric,
    metrics_of,
)
from nebula.helpers.appwatch import AppWatch
from tests import appwatch_support
from tests.appwatch_support import WatchApi, app_database, assert_stopping_cancels_a_reading
from tests.appwatch_watcher import FAILED_RUNS, SPEC, WORKERS, manifest
from tests.engines import postgres_fixtures as postgres_fixtures

# Fixtures shared with the plugin tests: the session's cluster, a loopback health endpoint.
cluster = postgres_fixtures.cluster
health_endpoint = appwatch_support.health_endpoint

DDL = """
CREATE TABLE runs (id serial PRIMARY KEY, status text NOT NULL);
CREATE TABLE workers (id serial PRIMARY KEY);
INSERT INTO workers DEFAULT VALUES; INSERT INTO workers DEFAULT VALUES;
"""


def agent_config(**watch):
    # Readings are not reused, so each check run sees what the test just changed.
    return {"n8nwatch": {"interval": 3600, "reuse_seconds": 0, **watch}}


# --- pure rules ----------------------------------------------------------------------------


def test_thresholds_are_reached_from_above_or_below() -> None:
    assert judge_metric(FAILED_RUNS, 2).status is Status.OK
    warning = judge_metric(FAILED_RUNS, 3)
    assert warning.status is Status.WARNING
    assert warning.summary == "Failed runs: 3 runs (≥ warning 3)"
    assert warning.metrics == {"failed_runs": 3}
    assert judge_metric(FAILED_RUNS, 10).status is Status.CRITICAL
    assert judge_metric(WORKERS, 2).status is Status.OK
    assert judge_metric(WORKERS, 1).status is Status.WARNING
    assert judge_metric(WORKERS, 0).status is Status.CRITICAL
    assert judge_metric(WORKERS, None).summary == "Workers: no value"


def test_config_overrides_builtin_metrics_by_name() -> None:
    config = {"metrics": {"failed_runs": {"warning": 5}, "workers": {"enabled": False},
                          "queued": {"sql": "SELECT 1", "title": "Queued"}}}
    metrics = {m.name: m for m in metrics_of(SPEC, config)}
    assert set(metrics) == {"failed_runs", "queued"}
    assert metrics["failed_runs"].warning == 5 and metrics["failed_runs"].critical == 10
    assert metrics["failed_runs"].sql == FAILED_RUNS.sql
    with pytest.raises(ValueError, match="metric 'new' needs `sql`"):
        metrics_of(SPEC, {"metrics": {"new": {"warning": 1}}})
    with pytest.raises(ValueError, match="'status' is reserved"):
        metrics_of(SPEC, {"metrics": {"status": {"sql": "SELECT 1"}}})
    with pytest.raises(ValueError, match=r"warning \(20\) is above critical \(10\)"):
        metrics_of(SPEC, {"metrics": {"failed_runs": {"warning": 20}}})


def test_schema_carries_the_spec_defaults() -> None:
    spec = AppSpec(app="x", container="x-app", database="xdb", health_url="http://h/health",
                   health_json={"db": "up"})
    props = appwatch_schema(spec)["properties"]
    assert props["container"]["default"] == "x-app"
    assert props["database"]["default"] == "xdb"
    assert props["health_url"]["default"] == "http://h/health"
    assert props["health_json"]["default"] == {"db": "up"}
    assert props["db_password"]["writeOnly"] is True


def test_json_fields_by_dotted_path() -> None:
    doc = {"status": "healthy", "deps": {"db": {"status": "down"}}, "list": [{"ok": True}]}
    assert json_mismatches(doc, {"status": "healthy", "list.0.ok": True}) == []
    assert json_mismatches(doc, {"deps.db.status": "up", "deps.gateway": "up"}) == [
        "deps.db.status is 'down', expected 'up'", "deps.gateway is missing"]


# --- the HTTP health probe -------------------------------------------------------------------


async def test_health_probe_status_and_json_fields(nebula_agent, health_endpoint) -> None:
    config = agent_config(health_url=health_endpoint.url,
                          health_json={"deps.db": "up"})
    health_endpoint.body = {"status": "healthy", "deps": {"db": "up"}}
    async with nebula_agent({"n8nwatch": manifest}, config=config) as agent:
        api = WatchApi(agent, "n8nwatch")
        result = await api.check("health")
        assert result["last_status"] == "ok", result
        assert f"n8n: {health_endpoint.url} answered 200 in" in result["summary"]
        assert result["metrics"]["status_code"] == 200

        health_endpoint.body = {"status": "degraded", "deps": {"db": "down"}}
        result = await api.check("health")
        assert result["last_status"] == "critical"
        assert "deps.db is 'down', expected 'up'" in result["summary"]

        health_endpoint.status = 503
        result = await api.check("health")
        assert result["last_status"] == "critical"
        assert "answered 503, expected 200" in result["summary"]

        await health_endpoint.stop()
        result = await api.check("health")
        assert result["last_status"] == "critical"
        assert f"cannot reach {health_endpoint.url}" in result["summary"]


# --- peers that are not running ---------------------------------------------------------------


async def test_missing_peers_make_checks_unknown_not_failures(nebula_agent) -> None:
    config = agent_config(container="n8n", database="n8n")
    async with nebula_agent({"n8nwatch": manifest}, config=config) as agent:
        api = WatchApi(agent, "n8nwatch")
        assert (await api.plugin_state())["state"] == "loaded"
        results = await api.checks("container", "database", "failed_runs")
        assert {r["last_status"] for r in results.values()} == {"unknown"}
        assert results["container"]["summary"] == (
            "the docker plugin is not running, so container 'n8n' cannot be read")
        assert results["database"]["summary"] == (
            "the postgres plugin is not running, so database 'n8n' cannot be read")
        assert results["failed_runs"]["summary"] == results["database"]["summary"]
        outcome = await api.action("logs")
        assert outcome["status"] == "error"
        assert "the docker plugin is not running" in outcome["error"]
        status = await api.tool("status")
        assert status["result"]["status"] == "unknown"


@pytest.mark.parametrize(("watch", "reason"), [
    ({"metrics": {"orphan": {"warning": 1}}}, "metric 'orphan' needs `sql`"),
    ({"restarts_warning": 5, "restarts_critical": 2},
     "restarts_warning (5) is above restarts_critical (2)"),
])
async def test_a_bad_config_fails_the_plugin_with_its_reason(nebula_agent, watch,
                                                             reason) -> None:
    async with nebula_agent({"n8nwatch": manifest}, config=agent_config(**watch)) as agent:
        state = await WatchApi(agent, "n8nwatch").plugin_state()
        assert state["state"] == "failed"
        assert reason in state["error"]


# --- read-only SQL metrics against a real PostgreSQL --------------------------------------------


def pg_config(cluster, database: str, **watch):
    return {"postgres": cluster.config(), **agent_config(database=database, **watch)}


PLUGINS = {"n8nwatch": manifest, "postgres": nebula_postgres.plugin}


async def test_metrics_read_judged_and_shared_by_one_round(nebula_agent, cluster) -> None:
    with app_database(cluster, "n8n", DDL) as db:
        cluster.execute("INSERT INTO runs (status) SELECT 'error' FROM generate_series(1, 4)",
                        db)
        config = pg_config(cluster, db, reuse_seconds=30)
        async with nebula_agent(PLUGINS, config=config, schedule=False) as agent:
            api = WatchApi(agent, "n8nwatch")
            results = await api.checks("database", "failed_runs", "workers")
            assert results["failed_runs"]["last_status"] == "warning"
            assert results["failed_runs"]["summary"] == "Failed runs: 4 runs (≥ warning 3)"
            assert results["workers"]["last_status"] == "ok"
            assert results["database"]["last_status"] == "ok"
            assert f"database {db} on 127.0.0.1:{cluster.port} as postgres: 2 of 2 " \
                   "metrics read" in results["database"]["summary"]
            # Three checks at once, then a panel and a tool: one round of queries.
            assert len(await api.panel("history")) == 1
            rows = {r["metric"]: r for r in await api.panel("metrics")}
            assert rows["failed_runs"]["value"] == 4 and rows["workers"]["value"] == 2
            answer = await api.tool("failed_runs")
            assert answer["result"]["value"] == 4
            assert answer["result"]["status"] == "warning"
            assert len(await api.panel("history")) == 1


async def test_metrics_run_read_only_and_under_a_statement_timeout(nebula_agent,
                                                                   cluster) -> None:
    metrics = {"sneaky": {"sql": "INSERT INTO runs (status) VALUES ('x') RETURNING 1"},
               "slow": {"sql": "SELECT 1 FROM pg_sleep(5)"}}
    with app_database(cluster, "n8n", DDL) as db:
        config = pg_config(cluster, db, metrics=metrics, statement_timeout_ms=200,
                           reuse_seconds=0)
        async with nebula_agent(PLUGINS, config=config) as agent:
            api = WatchApi(agent, "n8nwatch")
            results = await api.checks("database", "sneaky", "slow", "workers")
            assert results["sneaky"]["last_status"] == "unknown"
            assert "read-only transaction" in results["sneaky"]["summary"]
            assert results["slow"]["last_status"] == "unknown"
            assert "statement timeout" in results["slow"]["summary"]
            # One broken metric hides no other, and the database check names it.
            assert results["workers"]["last_status"] == "ok"
            assert results["database"]["last_status"] == "warning"
            assert "failed: sneaky:" in results["database"]["summary"]
        assert cluster.execute("SELECT count(*) FROM runs", db) == [(0,)]


async def test_own_user_overrides_and_its_password_stays_secret(nebula_agent, cluster,
                                                                capsys) -> None:
    password = "ro-Pa55-" + "x7q9" * 4
    with app_database(cluster, "n8n", DDL) as db:
        reader = f"{db}_reader"
        cluster.execute(f"CREATE ROLE \"{reader}\" LOGIN PASSWORD '{password}'")
        cluster.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{reader}"', db)
        config = pg_config(cluster, db, db_user=reader, db_password=password)
        async with nebula_agent(PLUGINS, config=config) as agent:
            api = WatchApi(agent, "n8nwatch")
            result = await api.check("database")
            assert result["last_status"] == "ok", result
            assert f"as {reader}:" in result["summary"]
            answers = [await api.tool("status"), await api.panel("status"),
                       (await agent.get("/api/v1/plugins/n8nwatch"))[1]]
            assert password not in str(answers)

        config = pg_config(cluster, db, db_user=reader, db_password="wrong-" + password,
                           reuse_seconds=0)
        async with nebula_agent(PLUGINS, config=config) as agent:
            api = WatchApi(agent, "n8nwatch")
            results = await api.checks("database", "workers")
            assert results["database"]["last_status"] == "critical"
            assert results["database"]["summary"].startswith(
                f"cannot connect to {db} on 127.0.0.1:{cluster.port} as {reader}:")
            assert "password authentication failed" in results["database"]["summary"]
            assert results["workers"]["last_status"] == "unknown"
            assert password not in str(results)
        captured = capsys.readouterr()
        assert password not in captured.out + captured.err  # the agent's logs


async def test_concurrent_readers_share_one_round_in_flight(nebula_agent,
                                                            cluster) -> None:
    slow = {"slowish": {"sql": "SELECT 1 FROM pg_sleep(0.3)"}}
    with app_database(cluster, "n8n", DDL) as db:
        config = pg_config(cluster, db, metrics=slow, reuse_seconds=0)
        async with nebula_agent(PLUGINS, config=config, schedule=False) as agent:
            api = WatchApi(agent, "n8nwatch")
            before = len(await api.panel("history"))
            await asyncio.gather(*(api.tool("workers") for _ in range(5)))
            # Five readers arriving during one round wait for it rather than each starting
            # their own: one round for them, one for the history panel's own read.
            assert len(await api.panel("history")) - before == 2


async def test_stopping_the_plugin_cancels_a_reading_in_flight(nebula_agent, cluster) -> None:
    stuck = {"stuck": {"sql": "SELECT 1 FROM pg_sleep(120)"}}
    with app_database(cluster, "n8n", DDL) as db:
        config = pg_config(cluster, db, metrics=stuck, reuse_seconds=0,
                           statement_timeout_ms=600_000)
        async with nebula_agent(PLUGINS, config=config, schedule=False) as agent:
            assert isinstance(agent.agent.manager.records["n8nwatch"].ctx.runtime, AppWatch)
            await assert_stopping_cancels_a_reading(agent, "n8nwatch", cluster, db)


async def test_an_unreachable_health_endpoint_says_why(nebula_agent) -> None:
    config = agent_config(health_url="http://nosuch.invalid:5678/healthz", health_timeout=5)
    async with nebula_agent({"n8nwatch": manifest}, config=config) as agent:
        result = await WatchApi(agent, "n8nwatch").check("health")
    assert result["last_status"] == "critical"
    assert result["summary"].startswith("n8n: cannot reach http://nosuch.invalid:5678/healthz: "
                                        "cannot resolve host nosuch.invalid (")


def test_a_plugin_written_for_1_1_is_told_where_appwatch_went() -> None:
    with pytest.raises(ImportError, match=r"^nebula\.api\.appwatch_hooks moved out of "
                                          r"nebula\.api in plugin API 1\.2: use a hooks module"):
        from nebula.api import appwatch_hooks  # noqa: F401
    with pytest.raises(ImportError, match=r"use nebula\.helpers\.appspec\.AppSpec "):
        from nebula.api import AppSpec  # noqa: F401
