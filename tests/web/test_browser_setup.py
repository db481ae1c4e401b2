"""The first run in a real headless Chromium: a fresh `nebula run`, the code from its log
typed into /setup, and the browser lands signed in on the overview. In a module of its own:
the `browser` fixture is module-scoped, and its synchronous Playwright loop must be gone
before any async test runs in this worker."""

from __future__ import annotations

from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, isolated_env
from tests.waiting import wait_for
from tests.web.conftest import PASSWORD
from tests.web.test_setup import setup_line


def test_first_admin_from_the_logged_code_in_a_browser(browser, tmp_path):
    config = write_config(tmp_path / "nebula.toml", {"port": free_port()})
    agent = AgentProcess(config, tmp_path / "data", isolated_env(tmp_path))
    agent.start()
    try:
        code = str(wait_for(lambda: setup_line(agent))["code"])
        context = browser.new_context(base_url=agent.url)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/login")
        page.get_by_role("link", name="/setup").click()
        page.get_by_label("Setup code").fill(code)
        page.get_by_label("User name").fill("owner")
        page.get_by_label("Password (8+ characters)").fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create admin and sign in").click()
        page.wait_for_url(agent.url + "/")  # the overview, signed in: no trip to /login
        assert page.get_by_role("button", name="Log out").is_visible()
        page.goto("/setup")  # gone: off to sign in
        assert page.url.startswith(agent.url + "/login")
        context.close()
    finally:
        agent.stop()
