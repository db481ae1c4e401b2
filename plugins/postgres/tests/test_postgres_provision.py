"""Provisioning databases and roles from config, against a real server: plan, apply,
idempotence, the advisory lock, and names that try to smuggle SQL."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from postgres_api import AgentFactory, approve, result_of, run_action

from nebula_postgres.provision import LOCK_KEY
from tests.engines.postgres import Cluster


def _declared(dbname: str, password: str = "app-pass-1234", **extra: Any) -> list[dict]:
    return [{"name": dbname, "owner": f"{dbname}_owner", "password": password,
             "extensions": ["citext", "uuid-ossp"],
             "grants": [{"role": f"{dbname}_reader", "privileges": ["CONNECT", "TEMPORARY"]}],
             **extra},
            {"name": f"{dbname}_reader", "password": "reader-pass-1234"}]


def _kinds(result: dict) -> list[tuple[str, str]]:
    return [(step["kind"], step["target"]) for step in result["plan"]]


def _can_login(cluster: Cluster, user: str, password: str, dbname: str) -> bool:
    try:
        psycopg.connect(host=cluster.host, port=cluster.port, user=user, password=password,
                        dbname=dbname).close()
    except psycopg.OperationalError:
        return False
    return True


async def test_plan_apply_and_a_second_run_changes_nothing(pg_agent: AgentFactory,
                                                           cluster: Cluster, dbname: str) -> None:
    async with pg_agent(databases=_declared(dbname)) as agent:
        plan = await result_of(agent, "provision", {"dry_run": True})
        assert plan["applied"] is False
        assert cluster.execute(f"SELECT 1 FROM pg_database WHERE datname = '{dbname}'") == []
        assert _kinds(plan) == [
            ("create_role", f"{dbname}_owner"), ("create_role", f"{dbname}_reader"),
            ("create_database", dbname), ("grant", dbname),
            ("create_extension", dbname), ("create_extension", dbname),
            ("create_database", f"{dbname}_reader")]
        applied = await result_of(agent, "provision")
        assert applied["applied"] is True and applied["changed"] == 7
        assert _kinds(applied) == _kinds(plan)
        again = await result_of(agent, "provision")
        assert again == {"plan": [], "applied": True, "changed": 0}
    assert cluster.execute(f"SELECT r.rolname FROM pg_database d JOIN pg_roles r ON "
                           f"r.oid = d.datdba WHERE datname = '{dbname}'") == \
        [(f"{dbname}_owner",)]
    assert sorted(cluster.execute("SELECT extname FROM pg_extension", dbname)) == \
        [("citext",), ("plpgsql",), ("uuid-ossp",)]
    assert _can_login(cluster, f"{dbname}_owner", "app-pass-1234", dbname)
    assert cluster.execute(f"SELECT has_database_privilege('{dbname}_reader', '{dbname}', "
                           "'TEMPORARY')") == [(True,)]


async def test_a_changed_password_is_the_only_change(pg_agent: AgentFactory, cluster: Cluster,
                                                     dbname: str) -> None:
    async with pg_agent(databases=_declared(dbname)) as agent:
        await result_of(agent, "provision")
    async with pg_agent(databases=_declared(dbname, password="changed-pass-5678")) as agent:
        changed = await result_of(agent, "provision")
    assert _kinds(changed) == [("set_password", f"{dbname}_owner")]
    assert _can_login(cluster, f"{dbname}_owner", "changed-pass-5678", dbname)
    assert not _can_login(cluster, f"{dbname}_owner", "app-pass-1234", dbname)


async def test_concurrent_runs_take_turns_under_the_advisory_lock(pg_agent: AgentFactory,
                                                                  dbname: str) -> None:
    async with pg_agent(databases=_declared(dbname)) as agent:
        first, second = await asyncio.gather(result_of(agent, "provision"),
                                             result_of(agent, "provision"))
    assert sorted([first["changed"], second["changed"]]) == [0, 7]


async def test_a_run_waits_while_another_holds_the_lock(pg_agent: AgentFactory, cluster: Cluster,
                                                        dbname: str) -> None:
    with cluster.connect() as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        async with pg_agent(databases=_declared(dbname)) as agent:
            run = asyncio.create_task(result_of(agent, "provision"))
            await asyncio.sleep(0.5)
            assert not run.done()
            assert cluster.execute(f"SELECT 1 FROM pg_roles WHERE rolname = '{dbname}_owner'"
                                   ) == []
            holder.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
            result = await asyncio.wait_for(run, 10)
    assert result["changed"] == 7


INJECTIONS = ['x"; DROP DATABASE victim; --', "x'; DROP DATABASE victim; --", "Upper",
              "a" * 64, "1abc", "a b"]


@pytest.mark.parametrize("bad", INJECTIONS)
async def test_injection_shaped_names_are_refused(pg_agent: AgentFactory, cluster: Cluster,
                                                  dbname: str, bad: str) -> None:
    victim = f"{dbname}_victim"
    cluster.execute(f"CREATE DATABASE {victim}")
    declared = [{"name": bad.replace("victim", victim)}]
    # Declared in the config: the plugin does not start (nor does `nebula config validate`
    # pass it), so nothing is ever provisioned from it.
    async with pg_agent(databases=declared) as agent:
        plugin = await agent.plugin("postgres")
    assert plugin["state"] == "failed"
    assert "plugins.postgres.databases.0.name: invalid database name" in plugin["error"]
    assert "use lowercase letters, digits and _" in plugin["error"]
    async with pg_agent() as agent:
        created = await run_action(agent, "create_database", {"name": bad})
        owner = await run_action(agent, "create_database", {"name": f"{dbname}_x",
                                                             "owner": bad})
    assert created["status"] == "error"
    assert "invalid database name" in created["error"]
    assert "use lowercase letters, digits and _" in created["error"]
    assert owner["status"] == "error" and "invalid role name" in owner["error"]
    assert cluster.execute(f"SELECT 1 FROM pg_database WHERE datname = '{victim}'") == [(1,)]
    assert cluster.execute(f"SELECT 1 FROM pg_database WHERE datname = '{dbname}_x'") == []


async def test_grants_and_extensions_that_cannot_be_met_are_refused(pg_agent: AgentFactory,
                                                                    dbname: str) -> None:
    missing_role = [{"name": dbname, "grants": [{"role": "nobody_here",
                                                 "privileges": ["CONNECT"]}]}]
    missing_ext = [{"name": dbname, "extensions": ["no_such_extension"]}]
    async with pg_agent(databases=missing_role) as agent:
        role = await run_action(agent, "provision")
    async with pg_agent(databases=missing_ext) as agent:
        ext = await run_action(agent, "provision")
    assert role["status"] == "error" and "grant to role nobody_here" in role["error"]
    assert ext["status"] == "error" and "no_such_extension" in ext["error"]


async def test_create_database_returns_a_working_dsn_once(pg_agent: AgentFactory, cluster: Cluster,
                                                          dbname: str) -> None:
    async with pg_agent() as agent:
        made = await result_of(agent, "create_database", {"name": dbname})
        again = await run_action(agent, "create_database", {"name": dbname})
        databases = await result_of(agent, "databases")
        roles = await result_of(agent, "roles")
    dsn = made["dsn"]
    assert dsn.startswith(f"postgresql://{dbname}:") and dsn.endswith(f"/{dbname}")
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (dbname,)
    assert again["status"] == "error" and "already exists" in again["error"]
    assert {"name": dbname, "owner": dbname} .items() <= \
        next(d for d in databases if d["name"] == dbname).items()
    assert next(r for r in roles if r["name"] == dbname)["login"] is True


async def test_vacuum_analyze_a_database(pg_agent: AgentFactory, cluster: Cluster,
                                         dbname: str) -> None:
    cluster.execute(f"CREATE DATABASE {dbname}")
    cluster.execute("CREATE TABLE v AS SELECT g FROM generate_series(1, 1000) g", dbname)
    async with pg_agent() as agent:
        done = await result_of(agent, "vacuum", {"database": dbname})
        refused = await run_action(agent, "vacuum", {"database": "x; VACUUM FULL"})
    assert done["vacuumed"] is True and done["database"] == dbname
    assert cluster.execute("SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL "
                           "FROM pg_stat_user_tables WHERE relname = 'v'", dbname) == \
        [(True, True)]
    assert refused["status"] == "error" and "invalid database name" in refused["error"]


async def test_drop_database_takes_what_create_database_made_after_approval(
        pg_agent: AgentFactory, cluster: Cluster, dbname: str) -> None:
    cluster.execute(f"CREATE DATABASE {dbname}_kept")  # owned by the plugin's own user
    async with pg_agent() as agent:
        await result_of(agent, "create_database", {"name": dbname})
        pending = await run_action(agent, "drop_database", {"database": dbname})
        assert pending["approval"]["plan"] == {"database": dbname, "owner": dbname,
                                               "drop_owner": True}
        assert cluster.execute(f"SELECT 1 FROM pg_database WHERE datname = '{dbname}'") \
            == [(1,)]  # nothing before the approval
        done = await approve(agent, pending)
        kept = await approve(agent, await run_action(agent, "drop_database",
                                                     {"database": f"{dbname}_kept"}))
        status, body = await agent.post("/api/v1/actions/postgres.drop_database/run",
                                        {"params": {"database": "no_such_db"}})
    assert done["status"] == "ok" and done["result"]["owner_dropped"] is True, done
    assert cluster.execute(f"SELECT 1 FROM pg_database WHERE datname = '{dbname}'") == []
    assert cluster.execute(f"SELECT 1 FROM pg_roles WHERE rolname = '{dbname}'") == []
    # A database of the plugin's own user goes; that user stays.
    assert kept["status"] == "ok" and kept["result"]["owner_dropped"] is False, kept
    assert status == 422 and "no database no_such_db" in str(body)
