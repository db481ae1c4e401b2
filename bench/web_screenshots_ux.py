"""Screenshots of the pages issue 18's items 5, 6, 7, 9 and 10 changed, at 1440x900 and
390x844, into docs/screenshots/<page>-<width>.png (compact palette PNGs, as
bench/web_screenshot.py makes docs/overview.png).

    python bench/web_screenshots_ux.py [--out docs/screenshots] [--prefix ""]

The agent is real: the picture host's checks (web_screenshot.HOST), a process-manager
plugin with a table panel, pickers and per-row buttons (tests/web/panelux_plugin.py), one
pending and one approved-and-run terminate, events and audit rows made by using it.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import aiohttp
from processes import scratch
from web_screenshot import CHROMIUM_ARGS, HOST, PASSWORD, ROOT, Host, compact_png

from nebula.api import Status
from nebula.config import load
from nebula.logs import configure
from nebula.testing import run_agent, write_config

sys.path.insert(0, str(ROOT))
from tests.sample_plugins import Switchable
from tests.web.panelux_plugin import Procs

WIDTHS = {1440: 900, 390: 844}
PAGES = {"overview": "/", "plugin-procs": "/plugin/procs", "approvals": "/approvals",
         "events": "/events", "audit": "/audit?plugin=procs", "not-found": "/plugin/nope"}


async def _session_cookie(url: str) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        async with session.get(url + "/login") as resp:
            login = resp.cookies["nebula_login"].value
            csrf = re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)
        async with session.post(url + "/login", allow_redirects=False,
                                headers={"Cookie": f"nebula_login={login}"},
                                data={"username": "evin", "password": PASSWORD,
                                      "csrf": csrf}) as resp:
            return resp.cookies["nebula_session"].value


async def shoot(out: Path, prefix: str) -> list[Path]:
    from playwright.async_api import async_playwright

    configure("json", "warning")
    written = []
    with scratch("shots") as root:
        config = load(write_config(root / "nebula.toml", {"flap_threshold": 1}))
        plugins: dict[str, Any] = {name: Host(name, rows) for name, rows in HOST.items()}
        plugins["procs"] = Procs()
        plugins["switchable"] = switch = Switchable()
        async with run_agent(config, plugins, schedule=False) as agent:
            await agent.post("/api/v1/users", {"name": "evin", "password": PASSWORD})
            for _ in range(6):
                await agent.post("/api/v1/checks/run")
            actions = agent.agent.actions
            await actions.request("procs.list", {}, "user:evin")
            await actions.request("procs.renice", {"pid": 4711}, "user:evin")
            done = await actions.request("procs.terminate", {"pid": 4680}, "user:evin")
            await actions.approve(done["approval"]["id"], "user:evin")
            await actions.request("procs.terminate", {"pid": 4711}, "remediation:nginx-hung")
            # A check that changes, so the feed has words to show.
            switch.status = Status.WARNING
            await agent.post("/api/v1/checks/run", {"names": ["switchable.switch"]})
            cookie = await _session_cookie(agent.url)
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=CHROMIUM_ARGS)
                for width, height in WIDTHS.items():
                    context = await browser.new_context(
                        viewport={"width": width, "height": height},
                        is_mobile=width < 600, has_touch=width < 600)
                    await context.add_cookies([{"name": "nebula_session", "value": cookie,
                                                "url": agent.url}])
                    page = await context.new_page()
                    for name, path in PAGES.items():
                        await page.goto(agent.url + path)
                        if name != "not-found":
                            await page.wait_for_selector('#conn[data-state="online"]')
                        if name == "plugin-procs":
                            # A read-only action's result, shown at once as a table.
                            # (Before issue 18 it asked for a confirmation first.)
                            form = page.locator('form[data-action="procs.list"]')
                            await form.get_by_role("button", name="Run").click()
                            if await form.locator(".do-confirm").is_visible():
                                await form.locator(".do-confirm").click()
                            await form.locator(".result").get_by_text("Done").wait_for()
                        target = out / f"{prefix}{name}-{width}.png"
                        target.write_bytes(await compact_png(
                            browser, await page.screenshot(full_page=True), 8))
                        written.append(target)
                    await context.close()
                await browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--prefix", default="", help="put before each file name ('before-')")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(shoot(args.out, args.prefix)):
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
