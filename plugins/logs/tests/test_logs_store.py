"""The store on its own: what goes in comes out once, bad input is stored safely, searches
that cannot run say why, retention keeps age and size limits."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from nebula_logs.levels import level_number, parse_level
from nebula_logs.lines import clean, make_line
from nebula_logs.query import filters_from, tolerant
from nebula_logs.store import Batch, Filters, LogStore, QueryError, QueryTooSlow, unmark
from tests.waiting import wait_for


def put(store: LogStore, texts: list[str], source: str = "app", ts: float | None = None,
        position: tuple[str, object] | None = None) -> None:
    now = time.time() if ts is None else ts
    target = store.counters.committed + len(texts)
    assert store.submit(Batch([make_line(t, now, source, 65536) for t in texts], position))
    wait_for(lambda: store.counters.committed >= target)


@pytest.mark.parametrize(("line", "level"), [
    ('{"level":"warn","msg":"disk"}', 4),
    ('{"severity":"ERROR","message":"x"}', 3),
    ('{"level":50,"msg":"pino error"}', 3),
    ("ts=2026-12-08 level=error msg=boom", 3),
    ('time="x" lvl=debug msg=y', 7),
    ("2026-12-08 10:00:00,123 WARNING root: low disk", 4),
    ("[error] upstream timed out", 3),
    ("E1208 10:00:00.123456 1 main.go:10] failed", 3),
    ("<2>kernel: oops", 2),
    ("INFO: started", 6),
    ("app[123]: CRITICAL: gone", 2),
    ("an error happened somewhere", None),  # the word inside a sentence is not a level
    ("plain text", None),
])
def test_levels_are_read_from_json_logfmt_and_prefixes(line: str, level: int | None) -> None:
    assert parse_level(line) == level


def test_level_names_and_numbers() -> None:
    assert level_number("warn") == level_number("warning") == level_number("4") == 4
    with pytest.raises(ValueError, match="unknown level"):
        level_number("loud")


def test_bad_bytes_are_stored_safely(store: LogStore) -> None:
    garbage = bytes(range(256)) * 4
    huge = b"x" * (1 << 20)
    assert "\ufffd" in clean(b"caf\xe9 latin-1", 1000)  # invalid UTF-8
    assert "\x00" not in clean(garbage, 100000) and "\x1b" not in clean(garbage, 100000)
    assert clean(b"\x1b[31mred\x1b[0m", 100) == "red"  # colour codes dropped
    cut = clean(huge, 65536)
    assert cut.startswith("x" * 100) and cut.endswith(f"…[{(1 << 20) - 65536} bytes cut]")
    store.submit(Batch([make_line(garbage, time.time(), "bin", 65536),
                        make_line(huge, time.time(), "bin", 65536),
                        make_line(b"caf\xe9 ok", time.time(), "bin", 65536)]))
    wait_for(lambda: store.counters.committed == 3)
    rows = store.search(Filters(sources=["bin"]), 10)
    assert len(rows) == 3
    assert max(len(r["message"]) for r in rows) < 70000


def test_search_finds_words_highlights_pages_and_filters(store: LogStore) -> None:
    old = time.time() - 7200
    put(store, [f"connection refused by db-{i}" for i in range(5)], "app", ts=old)
    put(store, ["ERROR disk full on /var", "INFO all good"], "host")
    rows = store.search(Filters("refused"), 3)
    assert [r["id"] for r in rows] == [5, 4, 3]  # newest first
    message, spans = unmark(rows[0]["message"])
    assert message == "connection refused by db-4"
    assert [message[a:b] for a, b in spans] == ["refused"]
    assert [r["id"] for r in store.search(Filters("refused"), 3, before=3)] == [2, 1]
    assert len(store.search(Filters("refused", since=time.time() - 60), 10)) == 0
    assert [r["source"] for r in store.search(Filters(max_level=3), 10)] == ["host"]
    assert len(store.search(Filters(sources=["ho*"]), 10)) == 2
    assert store.search(Filters(units=["nope*"]), 10) == []
    histogram = store.histogram(Filters("refused", since=old - 60, until=old + 60), 2)
    assert [b["count"] for b in histogram["buckets"]] == [0, 5]


def test_context_gives_neighbours_from_the_same_source(store: LogStore) -> None:
    put(store, ["a1", "a2"], "a")
    put(store, ["b1"], "b")
    put(store, ["a3", "a4"], "a")
    near = store.context(4, 2, 1)  # a3
    assert [r["message"] for r in near["before"]] == ["a1", "a2"]
    assert [r["message"] for r in near["after"]] == ["a4"]
    with pytest.raises(KeyError):
        store.context(99)


def test_a_query_fts_cannot_read_is_a_clear_error_or_read_quoted(store: LogStore) -> None:
    put(store, ["GET /api/v1/foo-bar 500"], "web")
    with pytest.raises(QueryError, match="FTS5 syntax"):
        store.search(Filters('"unclosed'), 10)
    rows, used = tolerant(lambda f: store.search(f, 10), Filters("foo-bar"))
    assert used == '"foo-bar"' and len(rows) == 1
    with pytest.raises(ValueError, match="not a time"):
        filters_from({"since": "yesterday-ish"})


def test_a_query_past_its_time_budget_is_stopped(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "slow.db", query_seconds=0.0)
    store.open()
    try:
        put(store, [f"word{i} common" for i in range(3000)])
        with pytest.raises(QueryTooSlow, match="took longer"):
            store.histogram(Filters("common OR word*"), 10)
    finally:
        store.close()


def test_retention_by_age_then_by_size(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "r.db", max_age_days=1, max_bytes=1 << 40, batch_lines=1000)
    store.open()
    try:
        put(store, ["old line"] * 10, ts=time.time() - 3 * 86400)
        put(store, [f"new line {i} " + "y" * 200 for i in range(5000)])
        store.apply_retention()  # the writer may have run its own pass already
        assert store.counters.retention_deleted == 10
        assert store.search(Filters("old"), 10) == []
        store.max_bytes = 300_000
        deleted = store.apply_retention()
        assert deleted > 0
        conn = sqlite3.connect(store.path)
        pages, free, size = (conn.execute(f"PRAGMA {p}").fetchone()[0]
                             for p in ("page_count", "freelist_count", "page_size"))
        assert (pages - free) * size <= 300_000
        # the newest lines are the ones kept, and the index agrees with the table
        newest = store.search(Filters("new"), 1)[0]
        assert unmark(newest["message"])[0].startswith("new line 4999")
        fts = conn.execute("SELECT count(*) FROM lines_fts WHERE lines_fts MATCH 'new'")
        assert fts.fetchone()[0] == conn.execute("SELECT count(*) FROM lines").fetchone()[0]
        conn.close()
    finally:
        store.close()


def test_a_full_queue_makes_a_waiting_source_wait_and_refuses_the_others(
        tmp_path: Path) -> None:
    store = LogStore(tmp_path / "q.db", queue_lines=100, batch_lines=100)
    # Not opened: no writer drains the queue, so it fills.
    assert store.offer(Batch([make_line("x", 0, "udp", 100)] * 100))
    assert not store.offer(Batch([make_line("y", 0, "udp", 100)] * 5))
    assert store.counters.refused == 5
    store.open()  # the writer drains; a waiting source gets room
    assert store.submit(Batch([make_line("z", 0, "file", 100)] * 50))
    wait_for(lambda: store.counters.committed == 150)
    store.close()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("line", [("1" * 60 + " ") * 100, "1" * 100000, "[1" * 50000,
                                  "{" + '"a":' * 50000, "level=" + "a" * 100000])
def test_lines_built_to_make_a_regex_backtrack_are_read_at_once(line: str) -> None:
    # Before the level pattern was made linear, the first of these never finished.
    assert parse_level(line) is None
    assert make_line(line, 0, "x", 65536).level is None


def test_many_one_line_batches_never_block_the_caller(tmp_path: Path) -> None:
    # Datagrams arrive one line each on the event loop: offering them must never block,
    # whatever their number, until the line bound is reached (then they are refused).
    store = LogStore(tmp_path / "b.db", queue_lines=5000, batch_lines=5000)  # no writer
    assert all(store.offer(Batch([make_line("d", 0, "udp", 100)])) for _ in range(5000))
    assert not store.offer(Batch([make_line("d", 0, "udp", 100)]))
    assert store.counters.refused == 1
    store.open()
    wait_for(lambda: store.counters.committed == 5000)
    store.close()
