"""Re-make docs/overview.png, the README's picture of the panel: a real agent with a few
plugins' worth of checks in mixed states, photographed by headless Chromium.

    python bench/web_screenshot.py [--out docs/overview.png]
"""

from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp
from processes import scratch

from nebula.api import Check, CheckResult, Manifest, Status, hookimpl
from nebula.config import load
from nebula.logs import configure
from nebula.testing import run_agent, write_config

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "screenshot password"
# plugin -> [(check, title, status, summary, metric)]
HOST = {
    "system": [("cpu", "CPU", "ok", "CPU 12% (warning at 85%)", 12),
               ("memory", "Memory", "ok", "memory 41% used", 41),
               ("disk_root", "Disk /", "warning", "disk 88% used on / (warning at 85%)", 88),
               ("load", "Load", "ok", "load 0.42 per core", 0.4),
               ("temperature", "Temperature", "ok", "CPU package 52 °C", 52)],
    "docker": [("daemon", "Docker daemon", "ok", "engine 26.1 answering", 1),
               ("plex", "plex container", "ok", "running, healthy", 1),
               ("discordbot", "discordbot container", "critical",
                "exited (137) 4 minutes ago", 0),
               ("n8n", "n8n container", "ok", "running", 1)],
    "postgres": [("primary", "PostgreSQL", "ok", "accepting connections, 14 ms", 14),
                 ("backup", "Nightly backup", "ok", "last dump 6 h ago, 212 MB", 6)],
    "domains": [("evindrake_net", "evindrake.net TLS", "ok", "certificate valid 61 days", 61),
                ("dns", "DNS records", "unknown", "resolver timed out", 0)],
}


class Host:
    def __init__(self, plugin: str, rows: list[tuple[Any, ...]]) -> None:
        self.manifest = Manifest(api_version="1.0", description=f"{plugin} (picture)")
        self.rows = rows
        self.tick = 0

    def _run(self, status: str, summary: str, metric: float) -> Any:
        async def run() -> CheckResult:
            self.tick += 1
            wobble = (self.tick * 7) % 5
            return CheckResult(Status(status), summary, {"value": float(metric + wobble)})
        return run

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        return [Check(name, self._run(status, summary, metric), title=title, interval=3600)
                for name, title, status, summary, metric in self.rows]


async def shoot(out: Path) -> None:
    from playwright.async_api import async_playwright

    configure("json", "warning")
    with scratch("shot") as root:
        config = load(write_config(root / "nebula.toml", {"flap_threshold": 1}))
        plugins = {name: Host(name, rows) for name, rows in HOST.items()}
        async with run_agent(config, plugins, schedule=False) as agent:
            await agent.post("/api/v1/users", {"name": "evin", "password": PASSWORD})
            for _ in range(12):
                await agent.post("/api/v1/checks/run")
            await agent.agent.bus.publish("docker.container.died", {"summary": "discordbot"},
                                          "docker")
            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
                async with session.get(agent.url + "/login") as resp:
                    login = resp.cookies["nebula_login"].value
                    csrf = re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)
                async with session.post(agent.url + "/login", allow_redirects=False,
                                        headers={"Cookie": f"nebula_login={login}"},
                                        data={"username": "evin", "password": PASSWORD,
                                              "csrf": csrf}) as resp:
                    cookie = resp.cookies["nebula_session"].value
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=CHROMIUM_ARGS)
                context = await browser.new_context(viewport={"width": 1280, "height": 860})
                await context.add_cookies([{"name": "nebula_session", "value": cookie,
                                            "url": agent.url}])
                page = await context.new_page()
                await page.goto(agent.url + "/")
                await page.wait_for_selector('#conn[data-state="online"]')
                await page.screenshot(path=str(out), full_page=False)
                await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "overview.png")
    args = parser.parse_args()
    asyncio.run(shoot(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
