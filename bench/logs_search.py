"""Search latency of the logs store over many lines (issue 19: p95 < 100 ms over 5 M),
next to grep and ripgrep over the same lines as a plain file; also the store's build rate
and size per million lines.

    .venv/bin/python bench/logs_search.py --lines 5000000
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, percentile
from logs_common import line, tool_seconds, write_lines

from nebula_logs.lines import make_line
from nebula_logs.query import filters_from
from nebula_logs.store import Batch, LogStore

# What people search for: a rare id, a word in 1 of 26 lines, a phrase, a level, a prefix,
# a time window, a source. Each as (name, query params, grep pattern or None).
QUERIES = [
    ("rare token", {"q": "\"req-0004c4b4\""}, "req-0004c4b4"),
    ("common word", {"q": "foxtrot"}, "foxtrot"),
    ("phrase", {"q": '"job done"'}, "job done"),
    ("two words", {"q": "guild processed"}, None),
    ("prefix", {"q": "ticketbot*"}, "ticketbot"),
    ("level err", {"level": "err"}, None),
    ("word + level", {"q": "handled", "level": "err"}, None),
    ("word + 1h window", {"q": "sshd", "since": "1h"}, None),
    ("no hit", {"q": "nosuchwordanywhere"}, "nosuchwordanywhere"),
    ("page 2 of a common word", {"q": "alpha", "cursor": "mid"}, None),
]


def build(store: LogStore, count: int, start_ts: float) -> float:
    rng = random.Random(7)
    started = time.perf_counter()
    span = 86400.0 * 2  # two days of logs
    for chunk in range(0, count, 5000):
        lines = [make_line(line(i, rng), start_ts + span * i / count, f"src{i % 4}", 65536)
                 for i in range(chunk, min(chunk + 5000, count))]
        store.submit(Batch(lines))
    while store.counters.committed < count:
        time.sleep(0.05)
    return time.perf_counter() - started


def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="logssearch"))
    store = LogStore(tmp / "logs.db", batch_lines=5000, queue_lines=50000,
                     max_bytes=1 << 40, max_age_days=3650, query_seconds=30)
    store.open()
    now = time.time()
    took = build(store, args.lines, now - 86400 * 2)
    db_bytes = sum(p.stat().st_size for p in tmp.glob("logs.db*"))
    text = tmp / "same.log"
    write_lines(text, args.lines)
    results = {}
    mid = store.last_id() // 2
    for name, params, pattern in QUERIES:
        filters = filters_from(params)
        cursor = mid if params.get("cursor") == "mid" else None
        times = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            store.search(filters, 50, before=cursor)
            times.append(time.perf_counter() - t)
        hist = []
        for _ in range(3):
            t = time.perf_counter()
            store.histogram(filters_from({**params, "since": params.get("since", "3d")}), 60)
            hist.append(time.perf_counter() - t)
        row = {"p50_ms": round(percentile(times, 50) * 1000, 2),
               "p95_ms": round(percentile(times, 95) * 1000, 2),
               "histogram_ms": round(percentile(hist, 50) * 1000, 1)}
        if pattern:
            grep = tool_seconds(["grep", "-F", "-c", pattern, str(text)])
            rg = tool_seconds(["rg", "-F", "-c", pattern, str(text)])
            row.update(grep_ms=grep and round(grep * 1000, 1), rg_ms=rg and round(rg * 1000, 1))
            if rg:
                row["rg_over_store_p95"] = round(rg / (row["p95_ms"] / 1000), 1)
        results[name] = row
    all_p95 = [r["p95_ms"] for r in results.values()]
    report = {"machine": machine(), "lines": args.lines,
              "build_seconds": round(took, 1), "build_lines_per_second": round(args.lines / took),
              "store_mb": round(db_bytes / 1e6, 1),
              "store_mb_per_million_lines": round(db_bytes / 1e6 / args.lines * 1e6, 1),
              "text_file_mb": round(text.stat().st_size / 1e6, 1),
              "worst_query_p95_ms": max(all_p95), "queries": results}
    print(json.dumps(report, indent=2))
    store.close()
    shutil.rmtree(tmp)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    main(parser.parse_args())
