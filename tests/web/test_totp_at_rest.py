"""TOTP secrets are kept encrypted (the secret store's Fernet key), never in clear in the
SQLite files; secrets an earlier version left in clear are moved at start."""

from __future__ import annotations

import re
import sqlite3

import pyotp

from tests.sample_plugins import Switchable
from tests.web.test_auth_http import add_user, login_form, sign_in


def in_clear(data_dir, secret: str) -> list[str]:
    """The store's files (database, WAL, shared memory) that hold `secret` as plain text."""
    return [p.name for p in data_dir.glob("nebula.db*") if secret.encode() in p.read_bytes()]


async def totp_sign_in(a, code: str) -> int:
    resp = await sign_in(a)
    pending = re.search(r'name="pending" value="([^"]+)"', await resp.text()).group(1)
    cookie, form = await login_form(a)
    async with a.session.post(a.url + "/login/totp", allow_redirects=False, data={
            "pending": pending, "code": code, "csrf": form},
            headers={"Cookie": f"nebula_login={cookie}"}) as resp:
        return resp.status


async def test_a_new_totp_secret_never_reaches_the_database_in_clear(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        data_dir = a.agent.config.data_dir
        await add_user(a)
        status, totp = await a.post("/api/v1/users/admin/totp")
        assert status == 201
        await a.agent.store.execute("SELECT 1")  # whatever was queued is written
        assert in_clear(data_dir, totp["secret"]) == []
        assert await totp_sign_in(a, pyotp.TOTP(totp["secret"]).now()) == 303
        stored = await a.agent.store.fetchone(
            "SELECT value FROM secrets WHERE plugin = 'core' AND key LIKE 'totp:%'")
        assert stored and stored["value"].startswith("gAAAA")  # a Fernet token
    assert in_clear(data_dir, totp["secret"]) == []


async def test_a_secret_left_in_clear_by_an_older_version_is_encrypted_at_start(nebula_agent):
    secret = pyotp.random_base32()
    async with nebula_agent({"switchable": Switchable()}) as a:
        data_dir = a.agent.config.data_dir
        await add_user(a)
    # What an older version wrote: the secret itself in users.totp_secret.
    with sqlite3.connect(data_dir / "nebula.db") as db:
        db.execute("UPDATE users SET totp_secret = ? WHERE name = 'admin'", (secret,))
    db.close()
    assert in_clear(data_dir, secret) == ["nebula.db"]
    async with nebula_agent({"switchable": Switchable()}) as a:
        assert in_clear(data_dir, secret) == []
        assert await totp_sign_in(a, pyotp.TOTP(secret).now()) == 303
        _, users = await a.get("/api/v1/users")
        assert users["users"][0]["totp"] is True
    assert in_clear(data_dir, secret) == []
