"""Backups and restores with the real pg_dump / pg_restore against a real server."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from postgres_api import AgentFactory, approve, panel, result_of, run_action, run_checks

from nebula_postgres.backups import Backup, keep
from tests.engines.postgres import Cluster
from tests.waiting import eventually

ROWS = 2000
TABLE_SQL = f"""
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10, 2), tags text[],
                    meta jsonb, seen timestamptz, blob bytea);
INSERT INTO items SELECT g, 'item ' || g, g * 1.25, ARRAY['a' || g % 7, 'b'],
       jsonb_build_object('g', g, 'odd', g % 2 = 1), '2026-01-01'::timestamptz + g * interval '1 h',
       decode(md5(g::text), 'hex')
FROM generate_series(1, {ROWS}) g;
CREATE TABLE notes (id serial PRIMARY KEY, item int REFERENCES items, body text);
INSERT INTO notes (item, body) SELECT g, repeat('n', g % 50) FROM generate_series(1, 300) g;
"""


def _rows(cluster: Cluster, dbname: str) -> dict[str, list[tuple]]:
    return {table: cluster.execute(f"SELECT * FROM {table} ORDER BY id", dbname)
            for table in ("items", "notes")}


@pytest.fixture
def filled(cluster: Cluster, dbname: str) -> str:
    cluster.execute(f"CREATE DATABASE {dbname}")
    cluster.execute(TABLE_SQL, dbname)
    return dbname


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


async def test_backup_then_restore_into_a_new_database_row_for_row(pg_agent: AgentFactory,
                                                                   cluster: Cluster, filled: str,
                                                                   tmp_path: Path) -> None:
    backup_dir = tmp_path / "backups"
    async with pg_agent(backup_dir=str(backup_dir), backup_databases=[filled]) as agent:
        [made] = await result_of(agent, "backup", {"database": filled})
        backup = made["backup"]
        assert backup["database"] == filled and backup["size"] > 10_000
        assert backup["toc_entries"] >= 6 and len(backup["sha256"]) == 64
        assert _files(backup_dir / filled) == [backup["name"], backup["name"] + ".json"]
        listed = await panel(agent, "backups")
        assert [(b["name"], b["size"]) for b in listed] == [(backup["name"], backup["size"])]
        checks = await run_checks(agent, "backup_age")
        assert checks["backup_age"]["last_status"] == "ok"

        target = f"{filled}_copy"
        restored = await result_of(agent, "restore", {"backup": backup["name"],
                                                      "target": target})
        taken = await run_action(agent, "restore", {"backup": backup["name"],
                                                    "target": target})
    assert restored["database"] == target and restored["from_backup"] == backup["name"]
    assert {"table": "public.items", "rows": ROWS} in restored["tables"]
    assert _rows(cluster, target) == _rows(cluster, filled)
    assert taken["status"] == "error" and "already exists" in taken["error"]


async def test_restore_over_the_original_needs_approval_and_keeps_the_old_one(
        pg_agent: AgentFactory, cluster: Cluster, filled: str, tmp_path: Path) -> None:
    before = _rows(cluster, filled)
    async with pg_agent(backup_dir=str(tmp_path)) as agent:
        [made] = await result_of(agent, "backup", {"database": filled})
        cluster.execute("DELETE FROM notes; UPDATE items SET name = 'damaged'", filled)
        pending = await run_action(agent, "restore_replace", {"backup": made["backup"]["name"]})
        assert cluster.execute("SELECT count(*) FROM notes", filled) == [(0,)]
        outcome = await approve(agent, pending)
    assert outcome["status"] == "ok", outcome
    kept = outcome["result"]["previous_kept_as"]
    assert kept.startswith(f"{filled}_pre_restore_")
    assert _rows(cluster, filled) == before
    assert cluster.execute("SELECT count(*) FROM notes", kept) == [(0,)]


async def test_a_dump_killed_half_way_leaves_the_previous_backup(pg_agent: AgentFactory,
                                                                 cluster: Cluster, filled: str,
                                                                 tmp_path: Path) -> None:
    folder = tmp_path / filled
    async with pg_agent(backup_dir=str(tmp_path)) as agent:
        [good] = await result_of(agent, "backup", {"database": filled})
        with cluster.connect(filled) as holder:
            # pg_dump waits for its share lock behind this one, so it is caught mid-dump.
            holder.execute("BEGIN; LOCK TABLE notes IN ACCESS EXCLUSIVE MODE")
            running = asyncio.create_task(run_action(agent, "backup", {"database": filled}))
            dump = await eventually(_pg_dump_child, timeout=10)
            await eventually(lambda: any(n.endswith(".partial") for n in _files(folder)))
            # The password reaches pg_dump through its own environment only.
            assert cluster.password not in " ".join(dump.cmdline())
            assert dump.environ()["PGPASSWORD"] == cluster.password
            assert "PGPASSWORD" not in os.environ
            os.kill(dump.pid, signal.SIGKILL)
            failed = await asyncio.wait_for(running, 10)
        listed = await result_of(agent, "backups", {"database": filled})
        checks = await run_checks(agent, "backup_age")
        restored = await result_of(agent, "restore", {"backup": good["backup"]["name"],
                                                      "target": f"{filled}_back"})
    assert failed["status"] == "error"
    assert "previous backups kept" in failed["error"] and "killed by signal 9" in failed["error"]
    assert [b["name"] for b in listed] == [good["backup"]["name"]]
    assert _files(folder) == [good["backup"]["name"], good["backup"]["name"] + ".json"]
    assert checks["backup_age"]["last_status"] == "ok"
    assert restored["tables"][0]["rows"] == ROWS


async def test_a_held_lock_fails_the_backup_after_the_lock_wait_timeout(
        pg_agent: AgentFactory, cluster: Cluster, filled: str, tmp_path: Path) -> None:
    """pg_dump waits for each table's share lock at most backup_lock_wait_timeout, and the
    failure names the table and the session holding its lock."""
    with cluster.connect(filled) as holder:
        holder.execute("BEGIN; LOCK TABLE notes IN ACCESS EXCLUSIVE MODE")
        holder_pid = holder.info.backend_pid
        async with pg_agent(backup_dir=str(tmp_path), backup_lock_wait_timeout=1) as agent:
            started = time.monotonic()
            # Without a lock-wait timeout pg_dump would wait as long as the holder lives.
            failed = await asyncio.wait_for(run_action(agent, "backup", {"database": filled}),
                                            30)
            took = time.monotonic() - started
            listed = await result_of(agent, "backups", {"database": filled})
    assert failed["status"] == "error"
    assert (f"backup of {filled} failed, previous backups kept: pg_dump could not lock table "
            f"public.notes within 1 s (backup_lock_wait_timeout): held by pid {holder_pid} "
            f"(postgres, idle in transaction, transaction open ") in failed["error"]
    assert "LOCK TABLE notes IN ACCESS EXCLUSIVE MODE" in failed["error"]
    assert took < 15
    assert listed == [] and _files(tmp_path / filled) == []


def _pg_dump_child() -> psutil.Process | None:
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # a child that ended meanwhile
            if child.name() == "pg_dump":
                return child
    return None


async def test_retention_keeps_the_newest_and_a_corrupt_dump_is_refused(
        pg_agent: AgentFactory, filled: str, tmp_path: Path) -> None:
    async with pg_agent(backup_dir=str(tmp_path), keep_daily=1, keep_weekly=0,
                        backup_max_age_hours=0) as agent:
        [first] = await result_of(agent, "backup", {"database": filled})
        [second] = await result_of(agent, "backup", {"database": filled})
        assert second["removed"] == [first["backup"]["name"]]
        assert [b["name"] for b in await panel(agent, "backups")] == \
            [second["backup"]["name"]]
        assert (await run_checks(agent, "backup_age"))["backup_age"]["last_status"] == \
            "critical"
        with (tmp_path / filled / second["backup"]["name"]).open("ab") as dump:
            dump.write(b"tampered")
        refused = await run_action(agent, "restore", {"backup": second["backup"]["name"],
                                                      "target": f"{filled}_bad"})
    assert refused["status"] == "error" and "does not match its checksum" in refused["error"]


async def test_retention_removes_what_an_interrupted_backup_left(
        pg_agent: AgentFactory, filled: str, tmp_path: Path) -> None:
    folder = tmp_path / filled
    async with pg_agent(backup_dir=str(tmp_path)) as agent:
        [first] = await result_of(agent, "backup", {"database": filled})
        # As a run of an agent killed mid-dump leaves it (the start removes those too).
        leftover = folder / f".{filled}-20260101T000000000000Z.dump.partial"
        leftover.write_bytes(b"PGDMP" + bytes(1000))
        [second] = await result_of(agent, "backup", {"database": filled})
    name = second["backup"]["name"]
    assert _files(folder) == [name, name + ".json"]  # the first went by retention too
    assert second["leftovers"] == [leftover.name]
    assert first["leftovers"] == []


async def test_a_sweep_for_leftovers_passes_over_a_backup_being_written(
        pg_agent: AgentFactory, cluster: Cluster, filled: str, tmp_path: Path) -> None:
    """The file a run is writing is held (flock) until the run ends: a sweep, as a second
    agent on the same folder makes at its start, leaves it to the run."""
    folder = tmp_path / filled
    async with pg_agent(backup_dir=str(tmp_path)) as agent:
        runtime = agent.agent.manager.records["postgres"].ctx.runtime
        with cluster.connect(filled) as holder:
            # pg_dump waits for its share lock behind this one, so it is caught mid-run.
            holder.execute("BEGIN; LOCK TABLE notes IN ACCESS EXCLUSIVE MODE")
            running = asyncio.create_task(result_of(agent, "backup", {"database": filled}))
            await eventually(_pg_dump_child, timeout=10)
            [partial] = await eventually(lambda: list(folder.glob(".*.partial")))
            await runtime.backups.remove_leftovers(runtime.log)
            assert partial.exists()
        [made] = await asyncio.wait_for(running, 30)  # the lock went with the session
    assert f".{made['backup']['name']}.partial" == partial.name
    assert made["leftovers"] == []
    assert _files(folder) == [made["backup"]["name"], made["backup"]["name"] + ".json"]


async def test_backup_age_is_critical_without_any_backup(pg_agent: AgentFactory, filled: str,
                                                         tmp_path: Path) -> None:
    async with pg_agent(backup_dir=str(tmp_path), databases=[{"name": filled}],
                        backup_cron="40 2 * * 0") as agent:
        check = (await run_checks(agent, "backup_age"))["backup_age"]
        status, jobs = await agent.get("/api/v1/jobs")
        assert status == 200
    assert check["last_status"] == "critical"
    assert check["summary"] == f"No backup yet of {filled}"
    job = next(j for j in jobs["jobs"] if j["name"] == "job:postgres.backup")
    assert job["schedule"] == "cron 40 2 * * 0"


def test_retention_keeps_newest_per_day_and_per_week() -> None:
    start = dt.datetime(2026, 11, 2, 3, 0, tzinfo=dt.timezone.utc)  # a Monday
    backups = []
    for day in range(21):
        for hour in (0, 12):  # two a day: only the newest of a day counts
            when = start + dt.timedelta(days=day, hours=hour)
            backups.append(Backup("db", when.isoformat(), when.timestamp(), 1, "", 1, 0.1))
    kept = keep(backups, daily=3, weekly=3)
    last_days = {(start + dt.timedelta(days=d, hours=12)).isoformat() for d in (18, 19, 20)}
    # The newest of each of the three ISO weeks: Sundays, and the last day for this week.
    weekly = {(start + dt.timedelta(days=d, hours=12)).isoformat() for d in (6, 13, 20)}
    assert kept == last_days | weekly
