"""Target: one poll of a busy Plex server (30 sessions, 12 libraries of 5,000 items) takes
under 250 ms at p95, and dashboard reads between polls cost the server no extra poll.

The Plex stand-in (plugins/plex/tests/plex_server.py) runs in its own process (`--serve`),
so its JSON encoding is not charged to the agent. A poll is `POST /api/v1/checks/run` of the
three plex checks (they share one poll: /identity, /, sessions, sections, one or two counts
per library, recently added, updater); a read is one GET of each of the five panels."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from common import (
    Report,
    Target,
    arguments,
    arm_watchdog,
    say,
    serve_until_stdin_closes,
    spread,
    standin_child,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "plugins/plex/tests"))  # the stand-in, beside the plugin's tests

from plex_server import PlexStandIn, serving  # noqa: E402

from nebula.config import load  # noqa: E402
from nebula.testing import run_agent, write_config  # noqa: E402
from nebula_plex import plugin  # noqa: E402

LIMIT_MS = 250.0
TOKEN = "bench-token-not-a-secret"
KINDS = ("movie", "show", "artist")


def busy_server(libraries: int, items: int, sessions: int) -> PlexStandIn:
    server = PlexStandIn(TOKEN)
    for n in range(1, libraries + 1):
        kind = KINDS[n % len(KINDS)]
        server.add_library(str(n), f"Library {n}", kind, f"/data/{n}")
        leaf = {"movie": "movie", "show": "episode", "artist": "track"}[kind]
        for i in range(items):
            server.add(str(n), f"Item {i}", leaf, grandparentTitle="Show", parentIndex=1,
                       index=i)
    movies = server.libraries["3"].items
    for s in range(sessions):
        server.play(str(s), f"user{s}", movies[s], player=f"Player {s}",
                    decision=("directplay", "copy", "transcode")[s % 3])
    return server


async def serve(args) -> None:
    server = busy_server(args.libraries, args.items, args.sessions)
    async with serving(server.app) as site:
        # What the agent asked for in all, for the parent to divide by the number of polls.
        await serve_until_stdin_closes({"url": site.url}, lambda: {
            "requests": len(server.requests),
            "identity": sum(r["path"] == "/identity" for r in server.requests)})


async def measure(args, url: str, workdir: Path) -> dict:
    section = {"url": url, "token": TOKEN, "interval": 1, "max_transcodes": 100}
    config = load(write_config(workdir / "nebula.toml", {"log_level": "warning"},
                               {"plex": section}))
    names = ["plex.reachable", "plex.token", "plex.transcodes"]
    panels = ["server", "sessions", "libraries", "recently_added", "streams"]
    async with run_agent(config, {"plex": plugin}, schedule=False) as agent:
        polls, reads = [], []
        for _ in range(args.polls):
            await asyncio.sleep(0.55)  # a snapshot is reused for half the interval
            started = time.perf_counter()
            status, body = await agent.post("/api/v1/checks/run", {"names": names})
            polls.append(time.perf_counter() - started)
            assert status == 200, body
            bad = [c["summary"] for c in body["checks"] if c["last_status"] != "ok"]
            assert not bad, bad
            for name in panels:
                started = time.perf_counter()
                status, _ = await agent.get(f"/api/v1/panels/plex.{name}")
                reads.append(time.perf_counter() - started)
                assert status == 200
        _, checks = await agent.get("/api/v1/checks/plex.transcodes")
    return {"libraries": args.libraries, "items_per_library": args.items,
            "sessions": int(checks["metrics"]["sessions"]), "polls": args.polls,
            "poll_ms": spread(polls, 1000, 1), "panel_read_ms": spread(reads, 1000, 2),
            "load_average_1min": round(os.getloadavg()[0], 2)}


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--libraries", type=int, default=12)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args))
        return 0
    arm_watchdog(120)
    with standin_child(__file__, "--libraries", str(args.libraries), "--items",
                       str(args.items), "--sessions", str(args.sessions)) as (hello, counts):
        url = hello["url"]
        say(f"stand-in at {url}: {args.libraries} libraries x {args.items} items, "
            f"{args.sessions} sessions")
        with tempfile.TemporaryDirectory(prefix="nebula-bench-plex-") as tmp:
            results = asyncio.run(measure(args, url, Path(tmp)))
    # Each poll starts with one /identity; panel reads that polled would add more.
    results["polls_seen_by_server"] = counts.get("identity")
    results["requests_per_poll"] = round(counts.get("requests", 0) / args.polls, 1)
    report = Report("plex_poll", results)
    report.targets.append(Target("poll (3 checks, one shared poll) p95", LIMIT_MS,
                                 results["poll_ms"]["p95"], "ms"))
    report.targets.append(Target("server polls beyond one per cycle (panel reads included)",
                                 1, (results["polls_seen_by_server"] or 0) - args.polls, "polls"))

    def human(r: dict) -> list[str]:
        p, read = r["poll_ms"], r["panel_read_ms"]
        return [f"{r['libraries']} libraries x {r['items_per_library']} items, "
                f"{r['sessions']} sessions: poll ms p50 {p['p50']}, p95 {p['p95']}, max "
                f"{p['max']}; load average {r['load_average_1min']}",
                f"panel read between polls ms: p50 {read['p50']}, p95 {read['p95']}; "
                f"{r['requests_per_poll']} requests per poll, {r['polls_seen_by_server']} "
                f"polls seen by the server"]

    return report.emit(args.json, human)


if __name__ == "__main__":
    sys.exit(main())
