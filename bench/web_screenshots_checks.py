"""Screenshots of the pages issue 18's items 2-4 and 8 added, at 1440x900 and 390x844, into
docs/screenshots/<page>-<width>.png (compact palette PNGs, as bench/web_screenshot.py makes
docs/overview.png): the overview with its needs-attention strip, a check page with a day
of history, the settings page, and a public status page as a visitor sees it.

    python bench/web_screenshots_checks.py [--out docs/screenshots]

The agent is real: the picture host's checks (web_screenshot.HOST, some failing), and a
memory check with a day of results fed through the real write path on a moved clock
(bench/history_growth.py's `growth`, as bench/check_page.py does) so its charts have a
day to draw.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import tomlkit
from check_page import CHECK, Memory
from history_growth import DAY, growth
from processes import scratch
from web_overview import PASSWORD, sign_in
from web_screenshot import HOST, ROOT, Host, shoot_pages

from nebula.config import load
from nebula.logs import configure
from nebula.testing import run_agent, write_config

PAGES = {"overview-problems": "/", "check-page": f"/checks/{CHECK}?range=24h",
         "settings": "/settings", "status-page": "/status/home"}
STATUS_PAGE = {"slug": "home", "title": "Evin's home services", "public": True,
               "description": "What the family and the Discord server use.",
               "groups": [{"name": "Media", "checks": [
                   {"check": "docker.plex", "name": "Plex"},
                   {"check": "docker.discordbot", "name": "Discord bot"}]},
                   {"name": "Web", "checks": [
                       {"check": "domains.evindrake_net", "name": "evindrake.net"},
                       {"check": "domains.dns", "name": "DNS"}]}]}


async def shoot(out: Path) -> list[Path]:
    configure("json", "warning")
    with scratch("shots-checks") as root:
        (root / "data").mkdir(mode=0o700)
        _, store, _ = await growth(root / "data", 1, 1, start=time.time() - DAY)
        await store.close()
        path = write_config(root / "nebula.toml", {"flap_threshold": 1})
        doc = tomlkit.parse(path.read_text())
        doc["status_page"] = [STATUS_PAGE]
        path.write_text(tomlkit.dumps(doc))
        plugins: dict[str, Any] = {name: Host(name, rows) for name, rows in HOST.items()}
        plugins["system0"] = Memory()
        async with run_agent(load(path), plugins, schedule=False) as agent:
            await agent.post("/api/v1/users", {"name": "bench", "password": PASSWORD})
            for _ in range(6):
                await agent.post("/api/v1/checks/run")
            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
                cookie = await sign_in(session, agent.url)
            written = await shoot_pages(agent.url, cookie, PAGES, out,
                                        visitor=("status-page",))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(shoot(args.out)):
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
