"""An app with a PostgreSQL database: made by the postgres plugin's create_database on a
real (throwaway) cluster as one step of the approved deploy, its connection string passed
to the container as a secret; dropped (postgres.drop_database, covered by the same
approval) when a later step fails, or on a removal that takes the data."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from apps_leftovers import nothing_left

from tests.agent_process import free_port

pytestmark = pytest.mark.e2e


def database_exists(cluster, name: str) -> bool:
    return cluster.execute(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == [(1,)]


def role_exists(cluster, name: str) -> bool:
    return cluster.execute(f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'") == [(1,)]



async def test_the_database_is_made_passed_as_a_secret_and_dropped_with_the_data(
        start_apps_with_postgres, cluster, client) -> None:
    app = f"db-{uuid.uuid4().hex[:6]}"
    database = app.replace("-", "_")
    async with start_apps_with_postgres() as agent:
        pending = await agent.run_action("apps.deploy", {
            "template": "webdb", "name": app, "port": free_port(), "database": True},
            expect=202)
        plan = pending["approval"]["plan"]
        assert plan["steps"][1] == (
            f"database {database} with its own role (postgres.create_database), its "
            "connection string as DATABASE_URL (kept in the secret store)")
        assert plan["covers"] == [{"action": "postgres.drop_database",
                                   "params": {"database": database}}]
        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "ok", done
        runtime = agent.agent.manager.records["apps"].ctx.runtime
        dsn = await runtime.ctx.secrets.get(f"{app}.DATABASE_URL")
        assert dsn and f"DATABASE_URL={dsn}" in client.containers.get(app).attrs[
            "Config"]["Env"]
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (database,)
        # The app's check reaches it with the app's own credentials...
        check = await agent.run_check("apps.databases")
        assert (check["last_status"], check["summary"]) == ("ok", "1 database(s) answer")
        # ...and says so when they stop working, never showing them.
        cluster.execute(f"ALTER ROLE {database} PASSWORD 'changed-elsewhere'")
        check = await agent.run_check("apps.databases")
        assert check["last_status"] == "critical", check
        assert check["summary"].startswith(f"{app}: 127.0.0.1:{cluster.port}/{database}: "), \
            check
        assert "password authentication failed" in check["summary"], check
        assert dsn.split("@")[0].split(":")[-1] not in check["summary"]
        row = (await agent.panel("apps.apps"))[0]
        assert "password authentication failed" in row["database_answer"]

        removal = await agent.run_action("apps.remove", {"name": app, "volumes": True},
                                         expect=202)
        assert f"drop database {database} and its role (postgres.drop_database under this " \
               "approval)" in removal["approval"]["plan"]["steps"]
        assert (await agent.approve(removal["approval"]["id"]))["status"] == "ok"
        _, pending_now = await agent.get("/api/v1/approvals?status=pending")
        assert pending_now["approvals"] == []
    assert not database_exists(cluster, database) and not role_exists(cluster, database)
    assert nothing_left(client, app)


@pytest.mark.parametrize("case", ["database_exists", "image_missing_after_it"])
async def test_a_failure_leaves_no_database_of_ours_and_spares_anyone_elses(
        start_apps_with_postgres, cluster, client, templates_dir, case) -> None:
    app = f"db-{uuid.uuid4().hex[:6]}"
    database = app.replace("-", "_")
    if case == "database_exists":
        cluster.execute(f"CREATE DATABASE {database}")  # someone's, with data
    else:
        path = templates_dir / "webdb.toml"
        path.write_text(path.read_text().replace("localhost/busybox:test",
                                                 "localhost/nothing:here"))
    try:
        async with start_apps_with_postgres() as agent:
            pending = await agent.run_action("apps.deploy", {
                "template": "webdb", "name": app, "port": free_port(), "database": True},
                expect=202)
            done = await agent.approve(pending["approval"]["id"])
            assert done["status"] == "error", done
            runtime = agent.agent.manager.records["apps"].ctx.runtime
            assert await runtime.ctx.secrets.get(f"{app}.DATABASE_URL") is None
            assert await runtime.ctx.secrets.get(f"{app}.TOKEN") is None
        if case == "database_exists":
            assert f"database {database} failed" in done["error"]
            assert "already exists" in done["error"]
            assert database_exists(cluster, database)  # not ours: untouched
        else:
            assert f"container {app} failed" in done["error"]
            assert f"database {database}" in done["error"].split("rolled back")[1]
            assert not database_exists(cluster, database)
            assert not role_exists(cluster, database)
        assert nothing_left(client, app)
    finally:
        cluster.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        cluster.execute(f"DROP ROLE IF EXISTS {database}")
