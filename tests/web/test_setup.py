"""The first run: with no user, `nebula run` logs the panel's `/setup` address and a
one-time code; `/setup` takes it and creates the first admin, then is gone. `nebula init
--user` is the other way in, and `nebula status` says where the panel is. Over real HTTP:
a real `nebula run` in a subprocess, and in-process agents on loopback for the races and
the clock."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time

import aiohttp
import pytest

from nebula.builtins.auth.setup_code import SETUP_CODE_TTL, SETUP_NAME, SetupCode
from nebula.http.security import CSP
from nebula.testing import write_config
from tests.agent_process import NEBULA, AgentProcess, free_port, isolated_env, nebula
from tests.waiting import eventually, wait_for
from tests.web.conftest import PASSWORD


def setup_line(agent: AgentProcess) -> dict[str, object] | None:
    """The agent's `auth.setup_code` log line (JSON: its output is not a terminal)."""
    for line in agent.log().splitlines():
        if '"auth.setup_code"' in line:
            return json.loads(line)
    return None


async def setup_form(session: aiohttp.ClientSession, url: str) -> tuple[str, str]:
    """The setup page's double-submit token: (cookie value, form value)."""
    async with session.get(url + "/setup", allow_redirects=False) as resp:
        assert resp.status == 200, await resp.text()
        page = await resp.text()
        assert 'name="code"' in page, page
        return resp.cookies["nebula_login"].value, re.search(
            r'name="csrf" value="([^"]+)"', page).group(1)


async def post_setup(session: aiohttp.ClientSession, url: str, code: str,
                     name: str = "owner", password: str = PASSWORD,
                     confirm: str | None = None, headers: dict[str, str] | None = None
                     ) -> tuple[aiohttp.ClientResponse, str]:
    cookie, csrf = await setup_form(session, url)
    data = {"csrf": csrf, "code": code, "username": name, "password": password,
            "confirm": password if confirm is None else confirm}
    async with session.post(url + "/setup", data=data, allow_redirects=False, headers={
            "Cookie": f"nebula_login={cookie}", **(headers or {})}) as resp:
        return resp, await resp.text()


@pytest.fixture
def env(tmp_path):
    return isolated_env(tmp_path)


@pytest.fixture
def fresh_agent(tmp_path, env):
    config = write_config(tmp_path / "nebula.toml", {"port": free_port()})
    agent = AgentProcess(config, tmp_path / "data", env)
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()


@pytest.mark.e2e  # a real `nebula run` and CLI in subprocesses
async def test_a_fresh_agent_logs_a_code_that_creates_the_first_admin_once(
        fresh_agent, env, tmp_path):
    agent = fresh_agent
    line = wait_for(lambda: setup_line(agent))
    code = str(line["code"])
    assert line["url"] == agent.url + "/setup"
    assert re.fullmatch(r"([A-Z2-7]{4}-){3}[A-Z2-7]{4}", code)  # 80 bits
    status = nebula("--config", str(agent.config), "status", env=env)
    assert f"panel: {agent.url}; no user yet" in status.stdout, status.stdout
    cookie_jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=cookie_jar) as s:
        async with s.get(agent.url + "/login") as resp:
            assert "/setup" in await resp.text() and "nebula user add" in await resp.text()
        async with s.get(agent.url + "/setup") as resp:
            assert resp.headers["Content-Security-Policy"] == CSP
            assert resp.headers["X-Frame-Options"] == "DENY"
        # Refused: a wrong code (counted as a failed sign-in), another site's post, another
        # Host, and a right code with passwords that differ (the code is kept then).
        resp, page = await post_setup(s, agent.url, "AAAA-BBBB-CCCC-DDDD")
        assert resp.status == 401 and "Wrong setup code" in page
        _, failed = agent.get("/api/v1/failed-logins")
        assert [(f["username"], f["reason"]) for f in failed["failed_logins"]] == [
            (SETUP_NAME, "wrong setup code")]
        resp, _ = await post_setup(s, agent.url, code,
                                   headers={"Origin": "http://evil.example"})
        assert resp.status == 403
        resp, _ = await post_setup(s, agent.url, code, headers={"Host": "evil.example"})
        assert resp.status == 421
        resp, page = await post_setup(s, agent.url, code, confirm=PASSWORD + "x")
        assert resp.status == 422 and "differ" in page
        assert agent.get("/api/v1/users")[1]["users"] == []
        # Typed in lower case, without dashes: it is still the code.
        resp, _ = await post_setup(s, agent.url, code.replace("-", "").lower())
        assert (resp.status, resp.headers["Location"]) == (303, "/")
        assert "nebula_session" in resp.cookies
        async with s.get(agent.url + "/", allow_redirects=False) as page_resp:
            assert page_resp.status == 200  # signed in
    users = agent.get("/api/v1/users")[1]["users"]
    assert [(u["name"], u["role"]) for u in users] == [("owner", "admin")]
    # Gone: the page and its form send the browser to sign in; the code makes nobody.
    async with aiohttp.ClientSession() as s:
        async with s.get(agent.url + "/setup", allow_redirects=False) as resp:
            assert (resp.status, resp.headers["Location"]) == (303, "/login")
        async with s.post(agent.url + "/setup", data={"code": code, "username": "x"},
                          allow_redirects=False) as resp:
            assert resp.status in (303, 403)
        async with s.get(agent.url + "/login") as resp:
            assert "nebula user passwd" in await resp.text()
    assert len(agent.get("/api/v1/users")[1]["users"]) == 1
    status = nebula("--config", str(agent.config), "status", "--json", env=env)
    assert json.loads(status.stdout)["panel_url"] == agent.url
    assert "no user yet" not in nebula("--config", str(agent.config), "status",
                                       env=env).stdout
    # Shown once, and kept nowhere in clear: not in the store, its WAL or anything beside.
    assert agent.log().count(code) == 1
    stored = [p for p in (tmp_path / "data").iterdir() if p.is_file()]
    assert any(p.name == "nebula.db" for p in stored)
    for path in stored:
        content = path.read_bytes()
        for form in (code, code.replace("-", "")):
            assert form.encode() not in content, path


async def signs_in(url: str, name: str) -> bool:
    """Whether `name` signs in with PASSWORD through the sign-in form."""
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/login") as resp:
            form = re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)
            cookie = resp.cookies["nebula_login"].value
        async with s.post(url + "/login", allow_redirects=False, data={
                "csrf": form, "username": name, "password": PASSWORD, "next": "/"},
                headers={"Cookie": f"nebula_login={cookie}"}) as resp:
            return resp.status == 303 and "nebula_session" in resp.cookies


@pytest.mark.e2e  # a real `nebula run` and CLI in subprocesses
def test_init_with_a_user_signs_in_and_logs_no_code(tmp_path, env):
    config = tmp_path / "conf" / "nebula.toml"
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    made = nebula("--config", str(config), "init", "--user", "alice", "--password-file",
                  str(secret), env=env)
    assert made.returncode == 0, made.stderr
    assert "Panel: http://127.0.0.1:8765 (sign in as alice)" in made.stdout
    assert "auth.setup_code" not in made.stdout + made.stderr  # the one-shot agent's
    port = free_port()
    config.write_text(config.read_text().replace("port = 8765", f"port = {port}"))
    agent = AgentProcess(config, tmp_path / "xdg-state" / "nebula", env)
    try:
        agent.start()
        assert asyncio.run(signs_in(agent.url, "alice"))
        assert agent.get("/api/v1/users")[1]["users"][0]["role"] == "admin"
        assert setup_line(agent) is None
    finally:
        agent.stop()
    # A password the agent refuses: the token is still shown, and the exit says why.
    again = subprocess.run([*NEBULA, "--config", str(config), "init", "--force", "--user",
                            "bob", "--password-file", "-"], input="short\n", env=env,
                           text=True, capture_output=True, timeout=60, check=False)
    assert again.returncode == 2 and "nbl_" in again.stdout and "8 characters" in again.stderr


async def test_too_many_wrong_codes_lock_setup_even_with_the_right_one(nebula_agent):
    auth_limits = {"login_max_failures": 3, "login_max_failures_ip": 20,
                   "login_window": 600}
    async with nebula_agent(agent=auth_limits) as a:  # [agent] still takes them
        code = a.agent.runtime("auth").setup.issue()
        for attempt in range(3):
            resp, _ = await post_setup(a.session, a.url, f"WRONG-{attempt}")
            assert resp.status == 401
        resp, page = await post_setup(a.session, a.url, code)
        assert resp.status == 429 and "Too many wrong setup codes" in page
        _, users = await a.get("/api/v1/users")
        assert users["users"] == []


async def test_one_code_makes_one_admin_when_two_race(nebula_agent):
    async with nebula_agent() as a:
        code = a.agent.runtime("auth").setup.issue()
        answers = await asyncio.gather(*(post_setup(a.session, a.url, code, name=name)
                                         for name in ("first", "second")))
        statuses = sorted(resp.status for resp, _ in answers)
        assert statuses[0] == 303 and statuses[1] != 303, statuses
        _, users = await a.get("/api/v1/users")
        assert len(users["users"]) == 1


async def test_a_code_lapses_after_its_time(nebula_agent):
    async with nebula_agent() as a:
        setup = a.agent.runtime("auth").setup
        code = setup.issue()
        setup.clock = lambda: time.time() + SETUP_CODE_TTL + 1
        async with a.session.get(a.url + "/setup") as resp:
            assert resp.status == 200 and "no setup code now" in await resp.text()
        async with a.session.get(a.url + "/login") as resp:
            cookie = resp.cookies["nebula_login"].value
            csrf = re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)
        async with a.session.post(a.url + "/setup", allow_redirects=False, data={
                "csrf": csrf, "code": code, "username": "late", "password": PASSWORD,
                "confirm": PASSWORD}, headers={"Cookie": f"nebula_login={cookie}"}) as resp:
            assert resp.status == 410
        _, users = await a.get("/api/v1/users")
        assert users["users"] == []


async def test_removing_the_last_user_brings_a_new_code(nebula_agent):
    async with nebula_agent() as a:
        auth = a.agent.runtime("auth")
        status, _ = await a.post("/api/v1/users", {"name": "solo", "password": PASSWORD})
        assert status == 201 and not auth.setup.active
        assert (await a.request("DELETE", "/api/v1/users/solo"))[0] == 200
        # The job makes the new one as it starts (a serving agent runs it at once).
        await eventually(lambda: auth.setup.active)


def test_a_code_is_kept_as_a_digest_and_matches_as_typed() -> None:
    setup = SetupCode()
    code = setup.issue()
    assert code not in repr(vars(setup))
    assert setup.matches(code) and setup.matches(code.lower().replace("-", " "))
    assert not setup.matches(code[:-1] + ("A" if code[-1] != "A" else "B"))
    setup.forget()
    assert not setup.matches(code)
