"""Sign-in, sessions and their defences, over real HTTP on loopback: cookie flags, CSRF,
Origin checks on the WebSocket, lockouts, the failed-login check and security headers."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp
import pyotp
import pytest

from nebula.http.security import CSP
from tests.sample_plugins import Switchable
from tests.waiting import eventually
from tests.web.conftest import PASSWORD

LIMITS = {"login_max_failures": 3, "login_max_failures_ip": 5, "login_window": 60}


async def add_user(a, name="admin", password=PASSWORD, role="admin"):
    status, body = await a.post("/api/v1/users", {"name": name, "password": password,
                                                  "role": role})
    assert status == 201, body
    return body


async def login_form(a, headers=None):
    """The sign-in page's double-submit token: (cookie value, form value)."""
    async with a.session.get(a.url + "/login", headers=headers) as resp:
        assert resp.status == 200
        cookie = resp.cookies["nebula_login"].value
        form = re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)
    return cookie, form


async def sign_in(a, user="admin", password=PASSWORD, headers=None, **extra):
    """POST the sign-in form; returns the raw response (not followed)."""
    cookie, form = await login_form(a, headers)
    data = {"username": user, "password": password, "csrf": form, "next": "/", **extra}
    return await a.session.post(a.url + "/login", data=data, allow_redirects=False,
                                headers={**(headers or {}),
                                         "Cookie": f"nebula_login={cookie}"})


async def session_of(a, **kw):
    """A signed-in session: (cookie header, CSRF token from the page)."""
    resp = await sign_in(a, **kw)
    assert resp.status == 303, await resp.text()
    cookie = f"nebula_session={resp.cookies['nebula_session'].value}"
    async with a.session.get(a.url + "/", headers={"Cookie": cookie}) as page:
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', await page.text()).group(1)
    return cookie, csrf


async def test_session_cookie_flags_and_https_only_behind_a_trusted_proxy(nebula_agent):
    async with nebula_agent({"switchable": Switchable()},
                            agent={"trusted_proxies": ["127.0.0.1/32"]}) as a:
        await add_user(a)
        resp = await sign_in(a)
        assert resp.status == 303 and resp.headers["Location"] == "/"
        cookie = resp.cookies["nebula_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
        assert not cookie["secure"]  # plain http on loopback
        resp = await sign_in(a, headers={"X-Forwarded-Proto": "https"})
        assert resp.cookies["nebula_session"]["secure"]
        assert "max-age=31536000" in resp.headers["Strict-Transport-Security"]
    # Same data dir, so the same user; now no proxy is trusted.
    async with nebula_agent({"switchable": Switchable()}) as a:
        resp = await sign_in(a, headers={"X-Forwarded-Proto": "https"})
        assert not resp.cookies["nebula_session"]["secure"]


async def test_cookie_session_reads_and_writes_only_with_its_csrf_token(nebula_agent):
    plugin = Switchable()
    async with nebula_agent({"switchable": plugin}) as a:
        await add_user(a)
        cookie, csrf = await session_of(a)
        run = a.url + "/api/v1/actions/switchable.echo/run"
        body = {"params": {"word": "hi"}}
        async with a.session.get(a.url + "/api/v1/checks", headers={"Cookie": cookie}) as r:
            assert r.status == 200
        async with a.session.post(run, json=body, headers={"Cookie": cookie}) as r:
            assert r.status == 403 and "CSRF" in (await r.json())["detail"]
        async with a.session.post(run, json=body, headers={
                "Cookie": cookie, "X-CSRF-Token": csrf + "x"}) as r:
            assert r.status == 403
        async with a.session.post(run, json=body, headers={
                "Cookie": cookie, "X-CSRF-Token": csrf, "Origin": "https://evil.example"}) as r:
            assert r.status == 403 and "cross-origin" in (await r.json())["detail"]
        async with a.session.post(run, json=body, headers={
                "Cookie": cookie, "X-CSRF-Token": csrf}) as r:
            assert r.status == 200 and (await r.json())["result"] == {"echo": {"word": "hi"}}
        # Bearer tokens work exactly as before: no CSRF token needed.
        status, _ = await a.post("/api/v1/actions/switchable.echo/run", body)
        assert status == 200


async def test_login_form_needs_its_double_submit_token(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        await add_user(a)
        data = {"username": "admin", "password": PASSWORD, "csrf": "forged"}
        async with a.session.post(a.url + "/login", data=data, allow_redirects=False,
                                  headers={"Cookie": "nebula_login=other"}) as r:
            assert r.status == 403
            assert "nebula_session" not in r.cookies


async def test_websocket_with_a_cookie_needs_our_origin(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        await add_user(a)
        cookie, _ = await session_of(a)
        url = a.url + "/api/v1/events"
        for origin in ("https://evil.example", None):
            headers = {"Cookie": cookie, **({"Origin": origin} if origin else {})}
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await a.session.ws_connect(url, headers=headers)
            assert refused.value.status == 403
        host = a.url.removeprefix("http://")
        async with a.session.ws_connect(url, headers={"Cookie": cookie,
                                                      "Origin": f"http://{host}"}) as ws:
            await a.agent.bus.publish("test.ping", {"n": 1})
            msg = await asyncio.wait_for(ws.receive_json(), 5)
            assert msg["topic"] == "test.ping"


async def test_logout_and_logout_everywhere_end_sessions(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        await add_user(a)
        first, csrf = await session_of(a)
        second, _ = await session_of(a)
        async with a.session.post(a.url + "/logout", data={"csrf": csrf},
                                  headers={"Cookie": first}, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/login"
        async with a.session.get(a.url + "/api/v1/status", headers={"Cookie": first}) as r:
            assert r.status == 401
        async with a.session.get(a.url + "/api/v1/status", headers={"Cookie": second}) as r:
            assert r.status == 200
        third, csrf3 = await session_of(a)
        async with a.session.post(a.url + "/logout/everywhere", data={"csrf": csrf3},
                                  headers={"Cookie": third}, allow_redirects=False) as r:
            assert r.status == 303
        for cookie in (second, third):
            async with a.session.get(a.url + "/api/v1/status", headers={"Cookie": cookie}) as r:
                assert r.status == 401


async def test_sessions_expire(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}, agent={"session_ttl": 0.5}) as a:
        await add_user(a)
        cookie, _ = await session_of(a)
        await asyncio.sleep(0.6)
        async with a.session.get(a.url + "/api/v1/status", headers={"Cookie": cookie}) as r:
            assert r.status == 401
        async with a.session.get(a.url + "/", headers={"Cookie": cookie},
                                 allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"].startswith("/login?next=")


async def test_a_new_password_ends_every_session(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        await add_user(a)
        cookie, _ = await session_of(a)
        status, _ = await a.request("PUT", "/api/v1/users/admin/password",
                                    {"password": "another long one"})
        assert status == 200
        async with a.session.get(a.url + "/api/v1/status", headers={"Cookie": cookie}) as r:
            assert r.status == 401
        assert (await sign_in(a)).status == 401
        assert (await sign_in(a, password="another long one")).status == 303


async def test_lockout_per_user_then_per_address_with_the_failed_login_log(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}, agent=LIMITS) as a:
        await add_user(a)
        await add_user(a, "bob")
        for _ in range(LIMITS["login_max_failures"]):
            assert (await sign_in(a, password="wrong password")).status == 401
        # Locked: even the right password is refused, without being checked.
        resp = await sign_in(a)
        assert resp.status == 429 and "Too many failed sign-ins" in await resp.text()
        # Another user from the same address is not locked until the address is.
        assert (await sign_in(a, "bob")).status == 303
        for _ in range(2):
            assert (await sign_in(a, "nobody", "guess-guess")).status == 401
        assert (await sign_in(a, "bob")).status == 429  # 5 failures from this address
        _, body = await a.get("/api/v1/failed-logins")
        reasons = [r["reason"] for r in body["failed_logins"]]
        assert reasons.count("locked") == 2 and len(reasons) == 7
        assert body["failed_logins"][0]["ip"] == "127.0.0.1"
        # The auth plugin's check sees the attack.
        check = await eventually(lambda: _failed_logins_check(a))
        assert check["status"] == "critical"
        assert check["summary"].startswith("5 failed logins in the last hour")


async def _failed_logins_check(a):
    _, body = await a.get("/api/v1/checks/auth.failed_logins")
    return body if body.get("status") == "critical" else None


async def test_failed_logins_check_exists_while_users_do(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        assert (await a.get("/api/v1/checks/auth.failed_logins"))[0] == 404
        await add_user(a)
        status, body = await a.post("/api/v1/checks/run", {"names": ["auth.failed_logins"]})
        assert status == 200 and body["checks"][0]["status"] == "ok"
        assert (await a.request("DELETE", "/api/v1/users/admin"))[0] == 200
        assert (await a.get("/api/v1/checks/auth.failed_logins"))[0] == 404


async def test_lockout_ends_when_the_window_passes(nebula_agent):
    # The guard's clock is the test's, so a slow machine cannot stretch the failures over
    # the window (no lockout) or shorten the lockout as the test sees it.
    window, now = 60.0, [time.time()]
    async with nebula_agent({"switchable": Switchable()},
                            agent={**LIMITS, "login_window": window}) as a:
        a.agent.runtime("auth").guard.clock = lambda: now[0]
        await add_user(a)
        first = now[0]
        for _ in range(3):
            assert (await sign_in(a, password="wrong password")).status == 401
            now[0] += 1
        assert (await sign_in(a)).status == 429
        # Locked until the oldest of the failures leaves the window, not a moment less;
        # attempts refused meanwhile do not extend it.
        now[0] = first + window - 0.5
        assert (await sign_in(a)).status == 429
        now[0] = first + window + 0.5
        assert (await sign_in(a)).status == 303


async def test_totp_second_factor_and_single_use_recovery_codes(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        await add_user(a)
        status, totp = await a.post("/api/v1/users/admin/totp")
        assert status == 201 and len(totp["recovery_codes"]) == 10
        resp = await sign_in(a)
        assert resp.status == 200 and "nebula_session" not in resp.cookies
        pending = re.search(r'name="pending" value="([^"]+)"', await resp.text()).group(1)

        async def second_step(code):
            cookie, form = await login_form(a)
            return await a.session.post(a.url + "/login/totp", allow_redirects=False, data={
                "pending": pending, "code": code, "csrf": form},
                headers={"Cookie": f"nebula_login={cookie}"})

        assert (await second_step("123456")).status == 401
        ok = await second_step(pyotp.TOTP(totp["secret"]).now())
        assert ok.status == 303 and "nebula_session" in ok.cookies
        assert (await second_step(pyotp.TOTP(totp["secret"]).now())).status == 401  # used up

        code = totp["recovery_codes"][0]
        resp = await sign_in(a)
        pending = re.search(r'name="pending" value="([^"]+)"', await resp.text()).group(1)
        assert (await second_step(code)).status == 303
        resp = await sign_in(a)
        pending = re.search(r'name="pending" value="([^"]+)"', await resp.text()).group(1)
        assert (await second_step(code)).status == 401


async def test_viewer_users_read_but_cannot_run_actions(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        await add_user(a, "watcher", role="viewer")
        cookie, csrf = await session_of(a, user="watcher")
        async with a.session.post(a.url + "/api/v1/actions/switchable.echo/run",
                                  json={"params": {"word": "x"}},
                                  headers={"Cookie": cookie, "X-CSRF-Token": csrf}) as r:
            assert r.status == 403
        async with a.session.get(a.url + "/plugin/switchable",
                                 headers={"Cookie": cookie}) as r:
            assert r.status == 200 and "Admins only" in await r.text()
        async with a.session.get(a.url + "/", headers={"Cookie": cookie}) as r:
            text = await r.text()
            assert "Only admins can ask Jarvis" in text and "jarvis-form" not in text
        async with a.session.post(a.url + "/logout", data={"csrf": csrf},
                                  headers={"Cookie": cookie}, allow_redirects=False) as r:
            assert r.status == 303  # signing out is not an admin's privilege


async def test_security_headers_on_pages_api_and_errors(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        for path in ("/login", "/healthz", "/api/v1/checks", "/nope", "/static/nebula.css"):
            async with a.session.get(a.url + path) as r:
                assert r.headers["Content-Security-Policy"] == CSP, path
                assert "unsafe-inline" not in CSP and "frame-ancestors 'none'" in CSP
                assert r.headers["X-Content-Type-Options"] == "nosniff"
                assert r.headers["Referrer-Policy"] == "same-origin"
                assert r.headers["X-Frame-Options"] == "DENY"


async def test_login_redirect_stays_on_this_site(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        await add_user(a)
        for target, expected in (("//evil.example/x", "/"), ("https://evil.example", "/"),
                                 ("/audit?actor=x", "/audit?actor=x")):
            resp = await sign_in(a, next=target)
            assert resp.headers["Location"] == expected, target


async def test_user_api_refuses_duplicates_short_passwords_and_strangers(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        await add_user(a)
        for body, detail in (({"name": "admin", "password": "x" * 12}, "already exists"),
                             ({"name": "bob", "password": "short"}, "at least 8")):
            status, answer = await a.post("/api/v1/users", body)
            assert status == 422 and detail in answer["detail"]
        status, _ = await a.request("DELETE", "/api/v1/users/nobody")
        assert status == 404
        _, viewer = await a.post("/api/v1/tokens", {"name": "ro", "role": "viewer"})
        status, _ = await a.get("/api/v1/users", token=viewer["token"])
        assert status == 403
