"""Targets for the homeassistant plugin's live state cache, against the Home Assistant
stand-in (plugins/homeassistant/tests/homeassistant_server.py) on loopback, in this process:

- with `--entities` (default 5000) entities, the WebSocket is live (auth, subscribe,
  `get_states` loaded) within 1 s of the agent's start;
- one `state_changed` event shows on the `homeassistant.entities` panel (as the API serves
  it) within 50 ms at p95;
- a burst of `--burst` (default 5000) events is applied within 2 s (the panel shows the
  last one; events arrive in order), and the agent's RSS grows by less than 30 MB over the
  load and the burst.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path

import psutil
from common import Report, Target, arguments, arm_watchdog, say, spread

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "plugins/homeassistant/tests"))  # the stand-in

from homeassistant_server import HomeAssistant  # noqa: E402

from nebula.config import load  # noqa: E402
from nebula.testing import run_agent, write_config  # noqa: E402
from nebula_homeassistant import plugin  # noqa: E402
from tests.loopback import Server  # noqa: E402

LIVE_LIMIT_S = 1.0
EVENT_LIMIT_MS = 50.0
BURST_LIMIT_S = 2.0
RSS_LIMIT_MB = 30.0
WATCHED = "light.watched"


async def panel_state(agent) -> str | None:
    _, body = await agent.get("/api/v1/panels/homeassistant.entities")
    return next((r["state"] for r in body["data"] if r["entity_id"] == WATCHED), None)


async def until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.001)


async def measure(args, workdir: Path) -> dict:
    token = secrets.token_urlsafe(32)
    ha = HomeAssistant(token=token)
    for i in range(args.entities - 1):
        ha.add(f"sensor.bench_{i:05d}", str(i), unit_of_measurement="W")
    ha.add(WATCHED, "off")
    (workdir / "token").write_text(token)
    me = psutil.Process()
    async with Server(ha.app) as server:
        section = {"url": server.url, "token_file": str(workdir / "token"),
                   "interval": 3600, "check_config_interval": 0,
                   "panel_entities": [WATCHED]}
        config = load(write_config(workdir / "nebula.toml", {"log_level": "warning"},
                                   {"homeassistant": section}))
        rss_start = me.memory_info().rss
        started = time.perf_counter()
        async with run_agent(config, {"homeassistant": plugin}, schedule=False) as agent:
            async def live() -> bool:
                _, body = await agent.get("/api/v1/panels/homeassistant.overview")
                return body["data"]["websocket"] == "live"
            await until(live)
            live_s = time.perf_counter() - started
            say(f"live with {args.entities} entities in {live_s:.3f} s")
            latencies = []
            for i in range(args.changes):
                state = "on" if i % 2 == 0 else "off"
                sent = time.perf_counter()
                await ha.set_state(WATCHED, state)
                await until(lambda s=state: _is(agent, s))
                latencies.append(time.perf_counter() - sent)
            say(f"{args.changes} single changes measured")
            burst_started = time.perf_counter()
            for i in range(args.burst):
                await ha.set_state(f"sensor.bench_{i % (args.entities - 1):05d}", f"b{i}")
            await ha.set_state(WATCHED, "burst-done")
            await until(lambda: _is(agent, "burst-done"))
            burst_s = time.perf_counter() - burst_started
            rss_mb = (me.memory_info().rss - rss_start) / 2**20
    return {"entities": args.entities, "live_s": round(live_s, 3),
            "event_to_panel_ms": spread(latencies, 1000), "burst": args.burst,
            "burst_s": round(burst_s, 3), "rss_growth_mb": round(rss_mb, 1)}


async def _is(agent, state: str) -> bool:
    return await panel_state(agent) == state


def human(r: dict) -> list[str]:
    e = r["event_to_panel_ms"]
    return [f"{r['entities']} entities: WebSocket live (states loaded) in {r['live_s']} s",
            f"event → panel: p50 {e['p50']} ms, p95 {e['p95']} ms, max {e['max']} ms "
            f"(n={e['n']})",
            f"burst of {r['burst']} events applied in {r['burst_s']} s",
            f"RSS growth {r['rss_growth_mb']} MB"]


async def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=5000)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--burst", type=int, default=5000)
    args = parser.parse_args()
    arm_watchdog(120)
    with tempfile.TemporaryDirectory(prefix="nebula-ha-bench-") as tmp:
        results = await measure(args, Path(tmp))
    report = Report("homeassistant_states", results, [
        Target("WebSocket live with every state loaded", LIVE_LIMIT_S, results["live_s"], "s"),
        Target("state_changed event to panel, p95", EVENT_LIMIT_MS,
               results["event_to_panel_ms"]["p95"], "ms"),
        Target(f"burst of {args.burst} events applied", BURST_LIMIT_S, results["burst_s"],
               "s"),
        Target("RSS growth", RSS_LIMIT_MB, results["rss_growth_mb"], "MB"),
    ])
    return report.emit(args.json, human)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
