"""Target: one poll of a busy Google account (500 upcoming events over two pages, 10 newest
unread subjects, the Drive quota) takes under 500 ms at p95, and panel and tool reads
between polls cost Google no extra request.

The Google stand-in (plugins/google/tests/google_server.py) runs in its own process
(`--serve`), so its JSON encoding is not charged to the agent. The agent connects through
the real loopback consent first; a poll is one run of the `google.poll` job (Calendar pages,
the INBOX label, the unread list and one metadata get per subject, Drive about); a read is
one GET of each of the six panels plus the two Jarvis tools."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
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
sys.path.insert(0, str(ROOT / "plugins/google/tests"))  # the stand-in

import aiohttp  # noqa: E402
from google_server import GoogleStandIn  # noqa: E402

from nebula.config import load  # noqa: E402
from nebula.testing import run_agent, write_config  # noqa: E402
from nebula_google import plugin  # noqa: E402
from tests.loopback import serving  # noqa: E402

LIMIT_MS = 500.0
CLIENT = ("bench.apps.googleusercontent.com", "GOCSPX-bench-not-a-secret")
PANELS = ("status", "today", "upcoming", "unread", "newest_unread", "drive_quota")


def busy_account(events: int, messages: int) -> GoogleStandIn:
    google = GoogleStandIn(*CLIENT)
    midnight = dt.datetime.now().astimezone().replace(hour=0, minute=0, second=0,
                                                      microsecond=0)
    for n in range(events):
        start = midnight + dt.timedelta(minutes=15 * n)
        google.add_event(f"Event {n}", start, start + dt.timedelta(minutes=10),
                         location=f"Room {n % 7}")
    for n in range(messages):
        google.add_message(f"Sender {n} <s{n}@example.com>", f"Subject {n}",
                           "body text " * 50, unread=n % 3 != 0, age=60 * n)
    return google


async def serve(args) -> None:
    google = busy_account(args.events, args.messages)
    async with serving(google.app()) as base:
        google.base = base
        await serve_until_stdin_closes({"urls": google.urls()}, lambda: {"api_requests": sum(
            not r["path"].startswith(("/token", "/o/oauth2")) for r in google.log)})


async def measure(args, urls: dict[str, str], workdir: Path) -> dict:
    section = {"client_id": CLIENT[0], "client_secret": CLIENT[1], **urls,
               "interval": 3600, "refresh_interval": 3600, "page_size": 250,
               "max_events": args.events, "newest_unread": 10, "days_ahead": 30}
    config = load(write_config(workdir / "nebula.toml", {"log_level": "warning"},
                               {"google": section}))
    async with run_agent(config, {"google": plugin}, schedule=False) as agent:
        _, started = await agent.post("/api/v1/actions/google.connect/run", {})
        async with aiohttp.ClientSession() as browser, browser.get(
                started["result"]["authorization_url"]) as resp:
            assert resp.status == 200, await resp.text()
        poll = agent.agent.scheduler.jobs["job:google.poll"]
        polls, reads = [], []
        for _ in range(args.polls):
            started_at = time.perf_counter()
            await poll.run()
            polls.append(time.perf_counter() - started_at)
            for name in PANELS:
                started_at = time.perf_counter()
                status, body = await agent.get(f"/api/v1/panels/google.{name}")
                reads.append(time.perf_counter() - started_at)
                assert status == 200, body
            for tool in ("upcoming_events", "unread_mail"):
                status, body = await agent.post(f"/api/v1/tools/google.{tool}/run", {})
                assert status == 200 and "error" not in body["result"], body
        _, upcoming = await agent.get("/api/v1/panels/google.upcoming")
    return {"events": len(upcoming["data"]), "messages": args.messages, "polls": args.polls,
            "poll_ms": spread(polls, 1000, 1), "read_ms": spread(reads, 1000, 2),
            "load_average_1min": round(os.getloadavg()[0], 2)}


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args))
        return 0
    arm_watchdog(120)
    with standin_child(__file__, "--events", str(args.events), "--messages",
                       str(args.messages)) as (hello, counts):
        urls = hello["urls"]
        say(f"stand-in at {urls['oauth_url']}: {args.events} events, {args.messages} "
            "messages")
        with tempfile.TemporaryDirectory(prefix="nebula-bench-google-") as tmp:
            results = asyncio.run(measure(args, urls, Path(tmp)))
    per_poll = 2 + 1 + 1 + 10 + 1  # two calendar pages, label, list, 10 gets, about
    results["api_requests_per_poll"] = round(counts.get("api_requests", 0) / args.polls, 1)
    report = Report("google_poll", results)
    report.targets.append(Target("poll (calendar pages, gmail, drive) p95", LIMIT_MS,
                                 results["poll_ms"]["p95"], "ms"))
    report.targets.append(Target("Google requests beyond one poll's per cycle (reads "
                                 "included)", 0.5,
                                 results["api_requests_per_poll"] - per_poll, "requests"))

    def human(r: dict) -> list[str]:
        p, read = r["poll_ms"], r["read_ms"]
        return [f"{r['events']} events, {r['messages']} messages: poll ms p50 {p['p50']}, "
                f"p95 {p['p95']}, max {p['max']}; load average {r['load_average_1min']}",
                f"panel/tool read between polls ms: p50 {read['p50']}, p95 {read['p95']}; "
                f"{r['api_requests_per_poll']} Google requests per poll"]

    return report.emit(args.json, human)


if __name__ == "__main__":
    sys.exit(main())
