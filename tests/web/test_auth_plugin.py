"""Web panel sign-in is the built-in `auth` plugin: its `[auth]` section (and the keys
older files have in `[agent]`), its check, its runtime closed when it stops, and what the
panel and the API do with it disabled."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from aiohttp import web

from nebula.api import Manifest, WebPage, hookimpl
from nebula.config import ConfigError, load
from nebula.roles import Principal, Role
from nebula.surfaces import Authenticator, SignedIn
from nebula.testing import run_agent, write_config
from tests.sample_plugins import Switchable
from tests.web.test_auth_http import add_user, session_of, sign_in


def write(tmp_path, text: str):
    path = tmp_path / "nebula.toml"
    path.write_text(f'[agent]\ndata_dir = "{tmp_path}/data"\n{text}')
    return path


def test_the_auth_section_holds_the_sign_in_settings(tmp_path):
    config = load(write(tmp_path, "[auth]\nsession_ttl = 60\nlogin_window = 30\n"))
    assert config.sections["auth"] == {"session_ttl": 60, "login_window": 30,
                                       "login_max_failures": 5, "login_max_failures_ip": 20}
    assert "session_ttl" not in config.agent


def test_sign_in_keys_of_older_files_in_agent_still_count(tmp_path):
    config = load(write(tmp_path, "session_ttl = 60\nlogin_max_failures = 2\n"))
    assert config.sections["auth"]["session_ttl"] == 60
    assert config.sections["auth"]["login_max_failures"] == 2
    assert "session_ttl" not in config.agent and "login_max_failures" not in config.agent


def test_a_bad_moved_key_is_reported_on_its_line_in_agent(tmp_path):
    path = write(tmp_path, "port = 1\nsession_ttl = -5\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    [problem] = caught.value.problems
    assert (problem.line, problem.path) == (4, "auth.session_ttl")


def test_a_key_set_in_both_places_is_a_problem(tmp_path):
    path = write(tmp_path, "session_ttl = 60\n[auth]\nsession_ttl = 90\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    [problem] = caught.value.problems
    assert (problem.line, problem.path) == (3, "agent.session_ttl")
    assert "moved to [auth] session_ttl, which is set too" in problem.message


async def test_sessions_follow_the_auth_section_and_a_reload_changes_it_in_place(tmp_path):
    path = write_config(tmp_path / "nebula.toml")
    async with run_agent(load(path), {"switchable": Switchable()}) as a:
        await add_user(a)
        cookie, _ = await session_of(a)
        auth = a.agent.runtime("auth")
        text = path.read_text() + "\n[auth]\nsession_ttl = 120\nlogin_max_failures = 2\n"
        path.write_text(text)
        status, body = await a.post("/api/v1/reload")
        assert (status, body["changes"]) == (200, {"auth": "reconfigured"})
        assert a.agent.runtime("auth") is auth  # the same sessions, so still signed in
        async with a.session.get(a.url + "/api/v1/status", headers={"Cookie": cookie}) as r:
            assert r.status == 200
        assert (auth.sessions.ttl, auth.guard.max_user) == (120, 2)
        resp = await sign_in(a)
        assert resp.cookies["nebula_session"]["max-age"] == "120"


async def test_stopping_the_plugin_withdraws_its_check_and_its_sessions(tmp_path):
    path = write_config(tmp_path / "nebula.toml")
    async with run_agent(load(path), {"switchable": Switchable()}) as a:
        await add_user(a)
        cookie, _ = await session_of(a)
        assert "auth.failed_logins" in a.agent.health.checks
        write_config(path, None, {"auth": {"enabled": False}})
        status, body = await a.post("/api/v1/reload")
        assert (status, body["changes"]) == (200, {"auth": "stopped"})
        assert "auth.failed_logins" not in a.agent.health.checks
        assert "check:auth.failed_logins" not in a.agent.scheduler.jobs
        # The cookie no longer opens anything; tokens work as before.
        async with a.session.get(a.url + "/api/v1/status", headers={"Cookie": cookie}) as r:
            assert r.status == 401
        assert (await a.get("/api/v1/status"))[0] == 200


async def test_with_sign_in_disabled_the_api_takes_tokens_and_the_panel_says_how(tmp_path):
    path = write_config(tmp_path / "nebula.toml", None, {"auth": {"enabled": False}})
    async with run_agent(load(path), {"switchable": Switchable()}) as a:
        assert (await a.plugin("auth"))["state"] == "disabled"
        assert (await a.get("/api/v1/checks"))[0] == 200
        assert (await a.get("/"))[0] == 200  # a token reads pages too
        status, problem = await a.get("/api/v1/users")
        assert status == 503 and problem["detail"] == "plugin auth is disabled"
        for page in ("/", "/approvals", "/login", "/security"):
            async with a.session.get(a.url + page, allow_redirects=False) as resp:
                text = await resp.text()
                assert resp.status == 401, page
                assert "Sign-in is off" in text and "nebula plugin enable auth" in text
                assert "nebula token create" in text
        async with a.session.post(a.url + "/login", data={"username": "x"}) as resp:
            assert resp.status == 401
        _, doc = await a.get("/api/v1/openapi.json")
        assert "/api/v1/users" not in doc["paths"] and "/login" not in doc["paths"]


async def test_no_other_plugin_takes_the_paths_auth_claims(nebula_agent):
    from tests.test_builtins import Gadget

    class Login(Gadget):
        pass

    async with nebula_agent({"login": Login(None), "switchable": Switchable()}) as a:
        state = await a.plugin("login")
        assert state["state"] == "failed"
        assert "the built-in plugin auth serves the paths under the name 'login'" in \
            state["error"]
        async with a.session.get(a.url + "/login") as resp:
            assert resp.status == 200 and "Sign in" in await resp.text()


class Doorman:
    """A third-party way in: a shared key in a header makes a viewer, a key for another
    site is refused; its own sign-in page is public."""

    manifest = Manifest(api_version="1.2", description="header sign-in")
    KEY = "let-me-in"

    @hookimpl
    def nebula_authenticator(self) -> Authenticator:
        async def authenticate(request: web.Request) -> SignedIn | None:
            key = request.headers.get("X-Doorman")
            if key is None:
                return None
            if key != self.KEY:
                raise web.HTTPForbidden(text="not on the list")
            return SignedIn(Principal("door:guest", Role.VIEWER), csrf="c", caller="door")

        return Authenticator(authenticate, login_path="/doorman/in")

    @hookimpl
    def nebula_web_pages(self) -> list[WebPage]:
        async def way_in(_request: web.Request) -> str:
            return "<h1>Show your key</h1>"

        return [WebPage("Way in", way_in, path="/in", role=Role.PUBLIC)]


async def test_a_plugin_can_sign_browsers_in_with_its_own_authenticator(tmp_path):
    path = write_config(tmp_path / "nebula.toml", None, {"auth": {"enabled": False}})
    async with run_agent(load(path), {"doorman": Doorman(), "switchable": Switchable()}) as a:
        key = {"X-Doorman": Doorman.KEY}
        async with a.session.get(a.url + "/api/v1/status", headers=key) as resp:
            assert resp.status == 200
        async with a.session.get(a.url + "/", headers=key) as resp:
            page = await resp.text()
            assert resp.status == 200 and "door:guest" in page
            assert 'content="c"' in page  # its CSRF token, for the panel's script
            assert "Log out" not in page  # it has no logout path
        async with a.session.post(a.url + "/api/v1/actions/switchable.echo/run",
                                  json={"params": {"word": "x"}}, headers=key) as resp:
            assert resp.status == 403  # a viewer
        async with a.session.get(a.url + "/api/v1/status",
                                 headers={"X-Doorman": "guess"}) as resp:
            assert resp.status == 403 and (await resp.json())["detail"] == "not on the list"
        # Signed out: sent to its page, which anyone may see.
        async with a.session.get(a.url + "/audit", allow_redirects=False) as resp:
            assert resp.status == 303
            assert unquote(resp.headers["Location"]) == "/doorman/in?next=/audit"
        async with a.session.get(a.url + "/doorman/in") as resp:
            assert resp.status == 200 and "Show your key" in await resp.text()


@pytest.mark.e2e  # an agent in a fresh interpreter
def test_an_idle_agent_with_sign_in_does_not_load_the_qr_library(tmp_path):
    """segno is only for the TOTP setup page: an agent serving pages does not import it
    (its import costs a few MB the idle footprint need not pay)."""
    import subprocess
    import sys
    import textwrap

    path = write_config(tmp_path / "nebula.toml")
    code = textwrap.dedent(f"""
        import asyncio, sys
        from pathlib import Path
        from nebula.config import load
        from nebula.testing import run_agent

        async def main():
            async with run_agent(load(Path({str(path)!r}))) as a:
                user = {{"name": "x", "password": "x" * 12}}
                assert (await a.post("/api/v1/users", user))[0] == 201
                for page in ("/", "/security", "/login"):
                    assert (await a.get(page))[0] == 200, page
                loaded = "segno" in sys.modules
            print("SEGNO", loaded)

        asyncio.run(main())
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "SEGNO False" in result.stdout.splitlines(), result.stdout
