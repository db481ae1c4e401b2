"""The core's store on both backends, SQLite and a real PostgreSQL: the same migrations,
and the same rows through the real classes (kv, secrets, tokens, events, approvals,
audit, the check history queries), through an agent serving its API."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from nebula.api import Action, Manifest, hookimpl
from nebula.config import load
from nebula.context import KeyValue
from nebula.secret_store import SecretStore
from nebula.store import store_for
from nebula.store.db import SchemaTooNew
from nebula.store.migrations import MIGRATIONS
from nebula.testing import write_config
from tests.store import backends

pytestmark = pytest.mark.e2e  # a real PostgreSQL server

backend = backends.backend
cluster = backends.cluster

TABLES = {m.lower() for script in MIGRATIONS
          for m in re.findall(r"CREATE TABLE (\w+)", script)}


def _config(tmp_path: Path, agent: Mapping[str, Any]) -> Any:
    return load(write_config(tmp_path / "nebula.toml", agent))


async def _tables(store: Any) -> set[str]:
    if store.kind == "sqlite":
        rows = await store.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = await store.fetchall("SELECT table_name AS name FROM information_schema.tables "
                                    "WHERE table_schema = 'public'")
    return {r["name"] for r in rows}


async def _version(store: Any) -> int:
    if store.kind == "sqlite":
        return (await store.fetchone("PRAGMA user_version"))["user_version"]
    return (await store.fetchone("SELECT version FROM nebula_schema"))["version"]


async def test_the_same_migrations_make_the_same_tables(tmp_path, backend):
    config = _config(tmp_path, backend)
    store = store_for(config.agent, config.data_dir)
    assert store.kind == ("postgresql" if backend else "sqlite")
    await store.open()
    try:
        assert await _tables(store) >= TABLES
        assert await _version(store) == len(MIGRATIONS)
        # Timestamps keep their sub-second part (PostgreSQL's REAL would round them) and
        # big integers fit (INTEGER is BIGINT there).
        ts = 1765170000.123456
        await store.execute("INSERT INTO failed_logins (ts, ip, username, reason) "
                            "VALUES (?, ?, ?, ?)", (ts, "::1", "x", "bad"))
        await store.execute("UPDATE users SET totp_last_step = ? WHERE id = ?", (2**40, 1))
        row = await store.fetchone("SELECT ts FROM failed_logins")
        assert row == {"ts": ts}
        # A literal % and a ? inside quotes are not placeholders.
        assert await store.fetchone("SELECT '50%?' AS t WHERE 1 = ?", (1,)) == {"t": "50%?"}
    finally:
        await store.close()
    again = store_for(config.agent, config.data_dir)
    await again.open()  # nothing left to migrate: opening again changes nothing
    try:
        assert await _version(again) == len(MIGRATIONS)
        assert (await again.fetchone("SELECT count(*) AS n FROM failed_logins"))["n"] == 1
    finally:
        await again.close()


async def test_a_postgresql_store_newer_than_the_code_is_refused(tmp_path, cluster,
                                                                 monkeypatch):
    monkeypatch.setenv("PGPASSWORD", cluster.password)
    url = backends.database_url(cluster, backends.new_database(cluster))
    config = _config(tmp_path, {"store": url})
    store = store_for(config.agent, config.data_dir)
    await store.open()
    await store.execute("UPDATE nebula_schema SET version = ?", (len(MIGRATIONS) + 1,))
    await store.close()
    newer = store_for(config.agent, config.data_dir)
    with pytest.raises(SchemaTooNew, match=f"schema version {len(MIGRATIONS) + 1}, newer "
                                           f"than this Nebula's {len(MIGRATIONS)}.*pg_dump"):
        await newer.open()


class Vault:
    """A destructive action, so runs go through the approval gate and the audit."""

    manifest = Manifest(api_version="1.1", description="vault")

    def __init__(self) -> None:
        self.wiped: list[str] = []

    async def _wipe(self, params: Mapping[str, Any]) -> Any:
        self.wiped.append(params["target"])
        return {"wiped": params["target"]}

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        schema = {"type": "object", "required": ["target"],
                  "properties": {"target": {"type": "string"}}}
        return [Action("wipe", self._wipe, params=schema, destructive=True)]


async def test_an_agent_keeps_its_state_in_either_backend(tmp_path, backend, nebula_agent):
    vault = Vault()
    async with nebula_agent({"vault": vault}, agent=backend) as a:
        store = a.agent.store
        assert store.kind == ("postgresql" if backend else "sqlite")
        # kv: upsert, read, delete (the fleet hub keeps its hosts here).
        kv = KeyValue(store, "fleet")
        await kv.set("hosts", {"a1": {"url": "https://127.0.0.1:1"}})
        await kv.set("hosts", {"a2": {"url": "https://127.0.0.1:2"}})
        assert await kv.get("hosts") == {"a2": {"url": "https://127.0.0.1:2"}}
        await kv.delete("hosts")
        assert await kv.get("hosts", "gone") == "gone"
        # secrets: sealed at rest (the hub's agent tokens), upserted, deleted.
        vault_secrets = SecretStore(store, a.agent.config.data_dir / "secret.key", "fleet")
        await vault_secrets.set("token:a1", "first-token-value")
        await vault_secrets.set("token:a1", "agent-token-value")
        assert await vault_secrets.get("token:a1") == "agent-token-value"
        raw = await store.fetchall("SELECT value FROM secrets")
        assert len(raw) == 1 and "agent-token-value" not in raw[0]["value"]
        # tokens: the new row's id comes back (RETURNING on PostgreSQL); revoking counts
        # the changed rows.
        status, made = await a.post("/api/v1/tokens", {"name": "ci", "role": "viewer"})
        assert status == 201 and made["id"] >= 1
        assert (await a.get("/api/v1/status", token=made["token"]))[0] == 200
        assert (await a.request("DELETE", f"/api/v1/tokens/{made['id']}"))[0] == 200
        assert (await a.get("/api/v1/status", token=made["token"]))[0] == 401
        assert (await a.request("DELETE", f"/api/v1/tokens/{made['id']}"))[0] == 404
        # approvals: filed pending, two approvals at once run it once, audited.
        status, body = await a.post("/api/v1/actions/vault.wipe/run", {"params": {"target": "db"}})
        assert status == 202, body
        approval = body["approval"]["id"]
        results = await asyncio.gather(*(a.post(f"/api/v1/approvals/{approval}/approve", {})
                                         for _ in range(2)))
        assert sorted(s for s, _ in results) == [200, 409], results
        assert vault.wiped == ["db"]
        _, listed = await a.get("/api/v1/approvals?status=approved")
        assert [x["id"] for x in listed["approvals"]] == [approval]
        _, audit = await a.get("/api/v1/audit?action=vault.wipe")
        assert {r["outcome"] for r in audit["audit"]} >= {"pending_approval", "ok"}
        assert all(isinstance(r["ts"], float) and r["ts"] > time.time() - 600
                   for r in audit["audit"])
        # events: stored with increasing ids, read back by topic.
        for n in range(3):
            await a.agent.bus.publish("check.changed", {"check": f"t.c{n}"}, "t")
        _, events = await a.get("/api/v1/events?topic=check.changed&limit=10")
        ids = [e["id"] for e in events["events"]]
        assert len(ids) == 3 and len(set(ids)) == 3 and all(i > 0 for i in ids)
        # The JSON lookup Jarvis's diagnosis uses (json_extract / ->>).
        from nebula.builtins.jarvis.diagnose import _related_events

        related = await _related_events(a.agent, "t.c1", "nobody")
        assert [e["data"]["check"] for e in related] == ["t.c1"]


async def test_the_check_history_queries_run_on_either_backend(tmp_path, backend):
    config = _config(tmp_path, backend)
    store = store_for(config.agent, config.data_dir)
    await store.open()
    try:
        now = time.time()
        await store.executemany(
            "INSERT INTO check_results (check_name, ts, status, state, summary, metrics, "
            "duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(f"t.c{i % 2}", now - 30 + i, "ok", "ok", "", f'{{"v": {i}}}', 1.5)
             for i in range(30)])
        from nebula.web.history import POINTS, Sparklines

        class Health:
            async def flush(self) -> None:
                return None

        points = await Sparklines(store, Health()).recent()  # type: ignore[arg-type]
        assert {k: len(v) for k, v in points.items()} == {"t.c0": min(15, POINTS),
                                                         "t.c1": min(15, POINTS)}
        assert list(points["t.c1"])[-1] == ("ok", 29)
    finally:
        await store.close()


async def test_a_batch_is_written_whole_or_not_at_all(tmp_path, backend):
    config = _config(tmp_path, backend)
    store = store_for(config.agent, config.data_dir)
    await store.open()
    insert = "INSERT INTO kv (plugin, key, value, updated) VALUES (?, ?, ?, ?)"
    try:
        await store.batch([(insert, [("t", "a", "1", 1.0), ("t", "b", "2", 1.0)]),
                           (insert, [("t", "c", "3", 1.0)])])
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            await store.batch([(insert, [("t", "d", "4", 1.0)]),
                               (insert, [("t", "a", "again", 1.0)])])
        rows = await store.fetchall("SELECT key FROM kv WHERE plugin = ? ORDER BY key", ("t",))
        assert [r["key"] for r in rows] == ["a", "b", "c"]  # no "d": the batch was undone
    finally:
        await store.close()
