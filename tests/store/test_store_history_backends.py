"""The history tables (#18's migration, nebula.history) on PostgreSQL: the same results
fed through the real health engine into a SQLite store and a PostgreSQL one give the same
rollups, series, spans and status seconds. tests/test_history.py checks SQLite's against
brute force; this holds PostgreSQL's to SQLite's."""

from __future__ import annotations

import math

import pytest

from nebula.store import SqliteStore, store_for
from tests.store import backends
from tests.test_history import DAY, HOUR, T0, Feeder, feed_run

pytestmark = pytest.mark.e2e  # a real PostgreSQL server

cluster = backends.cluster


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


async def test_postgresql_keeps_the_same_history_as_sqlite(tmp_path, cluster, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", cluster.password)
    url = backends.database_url(cluster, backends.new_database(cluster))
    stores = {"sqlite": SqliteStore(tmp_path / "nebula.db"),
              "postgresql": store_for({"store": url}, tmp_path)}
    answers = {}
    try:
        for kind, store in stores.items():
            await store.open()
            feeder = Feeder(store, interval=60.0)
            # A day and a half with a stop of the agent in the middle, maintenance for a
            # while and a metric missing from some results (feed_run's mix).
            await feed_run(feeder, T0, 2160, 60.0, seed=5, gap_at=900, gap=2 * HOUR)
            history, now = feeder.history, feeder.now
            await history.prune(now)
            rollups = {}
            for table in ("history_5m", "history_1h"):
                rows = await store.fetchall(
                    f"SELECT s.metric, bucket, vmin, vsum, vmax, n FROM {table} r "
                    "JOIN history_series s ON s.id = r.series ORDER BY s.metric, bucket")
                rollups[table] = [tuple(r.values()) for r in rows]
            answers[kind] = {
                "rollups": rollups,
                "hour": await history.series("t.load", "used", now - HOUR, now + 1),
                "day": await history.series("t.load", "rate", now - DAY, now + 1),
                "merged": await history.series("t.load", "used", now - DAY, now, points=50),
                "spans": await history.spans("t.load", T0 - 1, now + 1),
                "seconds": await history.status_seconds("t.load", T0 + 1800, now),
                "metrics": await history.metrics("t.load"),
                "unit": await history.unit("t.load", "used"),
            }
    finally:
        for store in stores.values():
            await store.close()
    sqlite, pg = answers["sqlite"], answers["postgresql"]
    assert sqlite["rollups"]["history_5m"] and sqlite["spans"] and sqlite["day"]
    for key in sqlite:
        assert _close(list(sqlite[key]) if not isinstance(sqlite[key], dict) else
                      sorted(sqlite[key].items()),
                      list(pg[key]) if not isinstance(pg[key], dict) else
                      sorted(pg[key].items())), key
