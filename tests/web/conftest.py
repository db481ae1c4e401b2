"""The web panel's fixtures: a live agent on a loopback port (in its own thread, so the
synchronous Playwright API can drive a browser against it), one headless Chromium per
session and a fresh browser context per test."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from aiohttp import web

from nebula.agent import Agent
from nebula.config import Config, load
from nebula.server import create_app
from nebula.testing import write_config
from nebula.tokens import LOCAL_ADMIN, Principal, new_token
from tests.agent_process import free_port
from tests.sample_plugins import Switchable
from tests.web.showcase import Showcase

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "correct horse battery"


@dataclass
class LiveAgent:
    """An agent serving on a fixed loopback port from a background thread's event loop;
    `restart()` stops it and starts a new one on the same port and data dir."""

    config: Config
    plugins: dict[str, Any]
    port: int
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    agent: Agent | None = None
    token: str = ""
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        self.agent = Agent(self.config, self.plugins, discover=False)
        self._runner = web.AppRunner(create_app(self.config, agent=self.agent),
                                     handle_signals=False, access_log=None,
                                     shutdown_timeout=2)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.token = new_token()
        self.agent.tokens.allow(self.token, Principal(LOCAL_ADMIN, "admin"))

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def call(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the agent's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def restart(self, downtime: float = 0.0) -> None:
        self.call(self._stop())
        time.sleep(downtime)
        self.call(self._start())

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def live_config() -> dict[str, Any]:
    """Extra top-level config sections for `live_agent`; a test module overrides this."""
    return {}


@pytest.fixture
def live_agent(tmp_path, request, live_config) -> Iterator[LiveAgent]:
    """Parametrize indirectly with a dict to add plugins; their checks are left to the
    scheduler (the ones here are run once up front)."""
    extra = getattr(request, "param", {})
    path = write_config(tmp_path / "nebula.toml", {"flap_threshold": 1})
    if live_config:
        doc = tomlkit.parse(path.read_text())
        doc.update(live_config)
        path.write_text(tomlkit.dumps(doc))
    config = load(path)
    live = LiveAgent(config, {"switchable": Switchable(), "showcase": Showcase(), **extra},
                     free_port())
    thread = threading.Thread(target=live.loop.run_forever, daemon=True)
    thread.start()
    try:
        live.call(live._start())
        status, body = live.api("POST", "/api/v1/users",
                                {"name": "admin", "password": PASSWORD})
        assert status == 201, body
        # Start from known states, so a test sees changes rather than first results.
        _, checks = live.api("GET", "/api/v1/checks")
        names = [c["name"] for c in checks["checks"] if c["plugin"] not in extra]
        assert live.api("POST", "/api/v1/checks/run", {"names": names})[0] == 200
        yield live
    finally:
        live.call(live._stop())
        live.loop.call_soon_threadsafe(live.loop.stop)
        thread.join(30)
        live.loop.close()


# Module scope: every browser test lives in test_browser.py, so this is one browser for the
# run; and the sync API's event loop must be gone before the async tests that follow.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    import playwright.sync_api as playwright_api

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_agent) -> Iterator[Any]:
    context = browser.new_context(base_url=live_agent.url, viewport={"width": 1280,
                                                                    "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in(page: Any, user: str = "admin", password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def decode_qr(locator: Any) -> str:
    """The text of the QR code shown by `locator`, read by zbarimg from a screenshot.
    A missing zbarimg fails the test: CI installs it (scripts/system-deps.sh)."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.fail("zbarimg is not installed (apt-get install zbar-tools)")
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "totp-qr.png"
    locator.screenshot(path=str(path))
    return subprocess.run([zbarimg, "-q", "--raw", str(path)], capture_output=True,
                          text=True, check=False, timeout=30).stdout.strip()
