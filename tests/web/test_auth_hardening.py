"""Issue 14 §4, over real HTTP on loopback: a TOTP code signs in once, recovery codes carry
80 bits and are stored keyed, the login's `next` stays on this site (and never breaks the
answer), and changing a second factor or password from a browser session asks for the
password again."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import sqlite3
import time

import pyotp
import pytest
from structlog.testing import capture_logs

from tests.sample_plugins import Switchable
from tests.web.conftest import PASSWORD
from tests.web.test_auth_http import add_user, login_form, session_of, sign_in

LIMITS = {"login_max_failures": 3, "login_max_failures_ip": 50, "login_window": 60}
GROUPED = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$")


async def pending_login(a) -> str:
    """The right password for a user with TOTP: the token of the pending second step."""
    resp = await sign_in(a)
    assert resp.status == 200, await resp.text()
    return re.search(r'name="pending" value="([^"]+)"', await resp.text()).group(1)


async def second_step(a, pending: str, code: str) -> int:
    cookie, form = await login_form(a)
    async with a.session.post(a.url + "/login/totp", allow_redirects=False, data={
            "pending": pending, "code": code, "csrf": form},
            headers={"Cookie": f"nebula_login={cookie}"}) as resp:
        return resp.status


async def with_totp(a) -> dict:
    await add_user(a)
    status, totp = await a.post("/api/v1/users/admin/totp")
    assert status == 201, totp
    return totp


async def reasons(a) -> list[str]:
    _, body = await a.get("/api/v1/failed-logins")
    return [r["reason"] for r in body["failed_logins"]]


# -- TOTP replay -----------------------------------------------------------------------


async def test_a_totp_code_signs_in_once(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        totp = await with_totp(a)
        code = pyotp.TOTP(totp["secret"]).now()
        assert await second_step(a, await pending_login(a), code) == 303
        # A second sign-in (another password step, so another pending login) with the
        # same code, still inside its window: refused, and counted as a failure.
        assert await second_step(a, await pending_login(a), code) == 401
        assert await reasons(a) == ["wrong authentication code"]


async def test_a_code_of_an_earlier_step_is_refused_after_a_newer_one(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        totp = pyotp.TOTP((await with_totp(a))["secret"])
        now = time.time()
        newer, older = totp.at(now), totp.at(now - totp.interval)
        assert newer != older  # else the test would prove nothing (one in a million)
        assert await second_step(a, await pending_login(a), newer) == 303
        # The older code is still inside the one-step drift window, but comes too late.
        assert await second_step(a, await pending_login(a), older) == 401


async def test_two_concurrent_sign_ins_with_one_code_only_one_wins(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        totp = await with_totp(a)
        first, second = await pending_login(a), await pending_login(a)
        code = pyotp.TOTP(totp["secret"]).now()
        results = await asyncio.gather(second_step(a, first, code),
                                       second_step(a, second, code))
        assert sorted(results) == [303, 401]


# -- Recovery codes --------------------------------------------------------------------


def _legacy_digest(code: str) -> str:
    """How versions up to 9953a2d stored a recovery code: unsalted SHA-256."""
    return hashlib.sha256(code.replace("-", "").lower().encode()).hexdigest()


async def test_recovery_codes_carry_80_bits_and_are_not_stored_as_a_plain_hash(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        codes = (await with_totp(a))["recovery_codes"]
        assert len(codes) == len(set(codes)) == 10
        for code in codes:
            assert GROUPED.match(code), code
            assert len(base64.b32decode(code.replace("-", ""))) * 8 >= 80
        row = await a.agent.store.fetchone("SELECT recovery FROM users WHERE name = 'admin'")
        stored = json.loads(row["recovery"])
        assert len(stored) == 10
        for code in codes:
            bare = code.replace("-", "")
            for form in (code, bare, bare.lower()):
                assert form not in row["recovery"]
                assert hashlib.sha256(form.encode()).hexdigest() not in row["recovery"]
        # Typed as a person would, lower case and without the dashes; used once only.
        assert await second_step(a, await pending_login(a),
                                 codes[3].replace("-", "").lower()) == 303
        assert await second_step(a, await pending_login(a), codes[3]) == 401
        assert await second_step(a, await pending_login(a), codes[4]) == 303


async def test_one_recovery_code_used_twice_at_once_signs_in_once(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        code = (await with_totp(a))["recovery_codes"][0]
        # Straight to the running agent's users rather than over HTTP: started together,
        # the two checks interleave at every await, so reading the codes and writing them
        # back are sure to overlap (over HTTP that depends on arrival times).
        users = a.agent.runtime("auth").users
        user = await users.get("admin")
        results = await asyncio.gather(users.verify_second_factor(user, code),
                                       users.verify_second_factor(user, code))
        assert sorted(results) == [False, True]


async def test_recovery_codes_of_an_older_version_are_rehashed_at_start(nebula_agent):
    legacy = ["abcde-12345", "0f1e2-d3c4b"]
    async with nebula_agent({"switchable": Switchable()}) as a:
        data_dir = a.agent.config.data_dir
        await with_totp(a)
    with sqlite3.connect(data_dir / "nebula.db") as db:
        db.execute("UPDATE users SET recovery = ? WHERE name = 'admin'",
                   (json.dumps([_legacy_digest(c) for c in legacy]),))
    db.close()
    with capture_logs() as logs:
        async with nebula_agent({"switchable": Switchable()}) as a:
            row = await a.agent.store.fetchone(
                "SELECT recovery FROM users WHERE name = 'admin'")
            for code in legacy:
                assert _legacy_digest(code) not in row["recovery"]
            # Still valid (a user may depend on them), once each.
            assert await second_step(a, await pending_login(a), legacy[0].upper()) == 303
            assert await second_step(a, await pending_login(a), legacy[0]) == 401
    warnings = [e for e in logs if e["log_level"] == "warning"
                and e["event"] == "users.old_recovery_codes"]
    assert warnings and warnings[0]["user"] == "admin" and warnings[0]["codes"] == 2


# -- The login's `next` ----------------------------------------------------------------

OFF_SITE = ["/\t/evil.example", "//evil.example", "/\\evil.example", "\\/evil.example",
            "https://evil.example", "/%0d%0aSet-Cookie:x=y", "/\r\nSet-Cookie: x=y",
            "/%2F/evil.example", "/%5Cevil.example", "/%09/evil.example", "/\x00x",
            "evil.example", ""]


@pytest.mark.parametrize("target", OFF_SITE)
async def test_login_next_that_could_leave_the_site_becomes_the_overview(nebula_agent,
                                                                         target):
    async with nebula_agent({"switchable": Switchable()}) as a:
        await add_user(a)
        resp = await sign_in(a, next=target)
        assert resp.status == 303, await resp.text()
        assert resp.headers["Location"] == "/"
        assert "x" not in resp.cookies
        cookie = f"nebula_session={resp.cookies['nebula_session'].value}"
        async with a.session.get(a.url + "/api/v1/status", headers={"Cookie": cookie}) as r:
            assert r.status == 200
        # The sign-in page does not carry it along either.
        async with a.session.get(a.url + "/login", params={"next": target}) as r:
            assert 'name="next" value="/"' in await r.text()


@pytest.mark.parametrize(("target", "location"), [
    ("/plugins/docker", "/plugins/docker"),
    ("/audit?actor=x&since=1", "/audit?actor=x&since=1"),
    ("/plugin/switchable#top", "/plugin/switchable#top"),
    ("/audit?actor=user%3Aadmin", "/audit?actor=user%3Aadmin"),
    # Location is ASCII: the rest is sent percent-encoded, as a browser would.
    ("/audit?actor=zoë o", "/audit?actor=zo%C3%AB%20o")])
async def test_login_next_on_this_site_is_kept(nebula_agent, target, location):
    async with nebula_agent({"switchable": Switchable()}) as a:
        await add_user(a)
        resp = await sign_in(a, next=target)
        assert resp.status == 303 and resp.headers["Location"] == location


async def test_login_next_is_kept_through_the_totp_step_and_cleaned_there_too(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        totp = pyotp.TOTP((await with_totp(a))["secret"])
        now = time.time()
        # A code signs in once: the second round uses the next step's (inside the window).
        for target, expected, code in (("/\r\n/evil.example", "/", totp.at(now)),
                                       ("/plugins/docker", "/plugins/docker",
                                        totp.at(now + totp.interval))):
            resp = await sign_in(a, next=target)
            page = await resp.text()
            pending = re.search(r'name="pending" value="([^"]+)"', page).group(1)
            cookie, form = await login_form(a)
            async with a.session.post(a.url + "/login/totp", allow_redirects=False, data={
                    "pending": pending, "code": code, "csrf": form},
                    headers={"Cookie": f"nebula_login={cookie}"}) as r:
                assert r.status == 303 and r.headers["Location"] == expected


async def test_a_failed_sign_in_with_next_in_the_query_and_the_form_is_a_401(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        await add_user(a)
        cookie, form = await login_form(a)
        async with a.session.post(a.url + "/login?next=/audit", allow_redirects=False, data={
                "username": "admin", "password": "wrong password", "csrf": form,
                "next": "/audit"}, headers={"Cookie": f"nebula_login={cookie}"}) as r:
            assert r.status == 401
            assert 'name="next" value="/audit"' in await r.text()


# -- Asking for the password again -----------------------------------------------------


async def _setup_totp_in_panel(a, cookie: str, csrf: str, **fields: str):
    return await a.session.post(a.url + "/security/totp", data={"csrf": csrf, **fields},
                                headers={"Cookie": cookie}, allow_redirects=False)


async def test_setting_up_totp_in_the_panel_asks_for_the_password_again(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}, agent=LIMITS) as a:
        await add_user(a)
        cookie, csrf = await session_of(a)
        async with a.session.get(a.url + "/security", headers={"Cookie": cookie}) as r:
            page = await r.text()
        setup = page[page.index('action="/security/totp"'):]
        assert 'name="password" type="password"' in setup[:setup.index("</form>")]
        for fields in ({}, {"password": "not my password"}):
            resp = await _setup_totp_in_panel(a, cookie, csrf, **fields)
            assert resp.status == 401
            text = await resp.text()
            assert "Wrong password." in text and "data-totp-secret" not in text
        assert await reasons(a) == ["wrong password (setting up TOTP)"] * 2
        resp = await _setup_totp_in_panel(a, cookie, csrf, password=PASSWORD)
        assert resp.status == 200 and "data-totp-secret" in await resp.text()
        # Like failed sign-ins, enough of them lock the account: even the right password.
        await _setup_totp_in_panel(a, cookie, csrf, password="guess number three")
        resp = await _setup_totp_in_panel(a, cookie, csrf, password=PASSWORD)
        assert resp.status == 429 and "data-totp-secret" not in await resp.text()
        assert (await sign_in(a)).status == 429


async def test_the_code_that_confirmed_setup_in_the_panel_cannot_sign_in(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        await add_user(a)
        cookie, csrf = await session_of(a)
        resp = await _setup_totp_in_panel(a, cookie, csrf, password=PASSWORD)
        secret = re.search(r'data-totp-secret="([A-Z2-7]+)"', await resp.text()).group(1)
        code = pyotp.TOTP(secret).now()
        async with a.session.post(a.url + "/security/totp/confirm", data={
                "csrf": csrf, "code": code}, headers={"Cookie": cookie}) as r:
            assert r.status == 200 and "Recovery codes" in await r.text()
        # Someone who watched the code being typed cannot use it to sign in.
        assert await second_step(a, await pending_login(a), code) == 401


async def _as_session(a, cookie: str, csrf: str, method: str, path: str, body=None):
    async with a.session.request(method, a.url + path, json=body, headers={
            "Cookie": cookie, "X-CSRF-Token": csrf}) as r:
        return r.status, await r.json(content_type=None)


async def test_credential_changes_through_the_api_from_a_session_need_the_password(
        nebula_agent):
    async with nebula_agent({"switchable": Switchable()}, agent=LIMITS) as a:
        await add_user(a)
        await add_user(a, "bob", "bob's long password")
        cookie, csrf = await session_of(a)
        calls = [("POST", "/api/v1/users/admin/totp", {}),
                 ("DELETE", "/api/v1/users/admin/totp", {}),
                 ("PUT", "/api/v1/users/bob/password", {"password": "a new long one"})]
        for method, path, body in calls:
            status, answer = await _as_session(a, cookie, csrf, method, path, body)
            assert status == 422 and "current_password" in answer["detail"], (path, answer)
        for method, path, body in calls[:2]:
            status, answer = await _as_session(a, cookie, csrf, method, path,
                                               {**body, "current_password": "nope nope"})
            assert status == 403 and answer["detail"] == "wrong current password", path
        assert await reasons(a) == ["wrong password (changing credentials)"] * 2
        status, totp = await _as_session(a, cookie, csrf, "POST", "/api/v1/users/admin/totp",
                                         {"current_password": PASSWORD})
        assert status == 201 and len(totp["recovery_codes"]) == 10
        status, _ = await _as_session(a, cookie, csrf, "PUT", "/api/v1/users/bob/password",
                                      {"password": "a new long one",
                                       "current_password": PASSWORD})
        assert status == 200
        # The third wrong password locks: the right one is refused too, without a check.
        await _as_session(a, cookie, csrf, "DELETE", "/api/v1/users/admin/totp",
                          {"current_password": "third guess"})
        status, _ = await _as_session(a, cookie, csrf, "DELETE", "/api/v1/users/admin/totp",
                                      {"current_password": PASSWORD})
        assert status == 429
        # An API token is an admin credential of its own (the local CLI's included): no
        # password to ask for, as it could reset any password anyway.
        assert (await a.request("DELETE", "/api/v1/users/admin/totp"))[0] == 200
        assert (await a.post("/api/v1/users/bob/totp"))[0] == 201
