"""Web panel users: argon2 password hashes, optional TOTP with recovery codes, and the
failed-login log that drives lockouts and the `core.failed_logins` check.

Hashing and verifying run in a worker thread: argon2 is deliberately slow, and the event
loop must not stall while someone logs in.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from nebula.contributions import Check, CheckResult, Status
from nebula.secret_store import SecretStore
from nebula.store import Store

ROLES = ("admin", "viewer")
FAILED_LOGINS = "core.failed_logins"
RECOVERY_CODES = 10
MIN_PASSWORD = 8
KEEP_DAYS = 30  # of the failed-login log
# What `users.totp_secret` holds once the secret itself is in the secret store.
IN_VAULT = "secret-store"
_HASHER = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong
# password and the timing does not tell which names exist.
# Made on first use, not at import: every CLI command and start would pay for it.
@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_hex(16))


class UserError(ValueError):
    """A request about users that cannot be honoured; the message says why."""


class UserNotFound(KeyError):
    pass


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    totp: bool


def _digest(code: str) -> str:
    # Recovery codes are 80 random bits: a plain hash is enough, as for API tokens.
    return hashlib.sha256(code.replace("-", "").lower().encode()).hexdigest()


def _totp_key(user_id: int) -> str:
    return f"totp:{user_id}"


def _user(row: Mapping[str, Any]) -> User:
    return User(row["id"], row["name"], row["role"], bool(row["totp_secret"]))


class Users:
    """`key_path` is the secret store's key: TOTP secrets live encrypted in the secret store
    (`core`, `totp:<user id>`), the users table only says that one exists."""

    def __init__(self, store: Store, key_path: Path | None = None) -> None:
        self._store = store
        self._secrets = SecretStore(store, key_path, "core") if key_path else None

    def _vault(self) -> SecretStore:
        if self._secrets is None:
            raise UserError("TOTP needs the secret store's key; this Users has none")
        return self._secrets

    async def list(self) -> list[dict[str, Any]]:
        rows = await self._store.fetchall(
            "SELECT id, name, role, totp_secret, created, last_login FROM users ORDER BY name")
        return [{"id": r["id"], "name": r["name"], "role": r["role"],
                 "totp": bool(r["totp_secret"]), "created": r["created"],
                 "last_login": r["last_login"]} for r in rows]

    async def exist(self) -> bool:
        return await self._store.fetchone("SELECT 1 AS one FROM users LIMIT 1") is not None

    async def get(self, name: str) -> User:
        row = await self._store.fetchone("SELECT * FROM users WHERE name = ?", (name,))
        if row is None:
            raise UserNotFound(name)
        return _user(row)

    async def add(self, name: str, password: str, role: str = "admin") -> User:
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}")
        _check_password(password)
        digest = await asyncio.to_thread(_HASHER.hash, password)
        if await self._store.fetchone("SELECT 1 AS one FROM users WHERE name = ?", (name,)):
            raise UserError(f"user {name!r} already exists")
        await self._store.execute(
            "INSERT INTO users (name, hash, role, created) VALUES (?, ?, ?, ?)",
            (name, digest, role, time.time()))
        return await self.get(name)

    async def set_password(self, name: str, password: str) -> None:
        """A new password also ends every session of the user (logout everywhere)."""
        _check_password(password)
        user = await self.get(name)
        digest = await asyncio.to_thread(_HASHER.hash, password)
        await self._store.execute("UPDATE users SET hash = ? WHERE id = ?", (digest, user.id))
        await self._store.execute("DELETE FROM sessions WHERE user_id = ?", (user.id,))

    async def remove(self, name: str) -> None:
        user = await self.get(name)
        await self._store.execute("DELETE FROM sessions WHERE user_id = ?", (user.id,))
        await self._store.execute("DELETE FROM users WHERE id = ?", (user.id,))
        if self._secrets is not None:
            await self._secrets.delete(_totp_key(user.id))

    async def verify_password(self, name: str, password: str) -> User | None:
        row = await self._store.fetchone("SELECT * FROM users WHERE name = ?", (name,))
        digest = row["hash"] if row else _dummy_hash()
        try:
            await asyncio.to_thread(_HASHER.verify, digest, password)
        except (VerificationError, InvalidHashError):
            return None
        return _user(row) if row else None

    @staticmethod
    def totp_uri(name: str, secret: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name="Nebula Command")

    @staticmethod
    def code_matches(secret: str, code: str) -> bool:
        """A TOTP code of `secret`, allowing one step of clock drift either way."""
        code = code.strip().replace(" ", "")
        return code.isdigit() and pyotp.TOTP(secret).verify(code, valid_window=1)

    def new_totp(self, name: str) -> dict[str, str]:
        """A fresh secret and its otpauth:// URI, not yet saved (see `enable_totp`)."""
        secret = pyotp.random_base32()
        return {"secret": secret, "uri": self.totp_uri(name, secret)}

    async def enable_totp(self, name: str, secret: str | None = None) -> dict[str, Any]:
        """Turn the second factor on with `secret` (a new one when None) and fresh recovery
        codes; the answer is the only place the codes and the secret are ever shown."""
        user = await self.get(name)
        secret = secret or pyotp.random_base32()
        codes = [f"{secrets.token_hex(5)[:5]}-{secrets.token_hex(5)[:5]}"
                 for _ in range(RECOVERY_CODES)]
        await self._vault().set(_totp_key(user.id), secret)
        await self._store.execute(
            "UPDATE users SET totp_secret = ?, recovery = ? WHERE id = ?",
            (IN_VAULT, json.dumps([_digest(c) for c in codes]), user.id))
        return {"user": name, "secret": secret, "uri": self.totp_uri(name, secret),
                "recovery_codes": codes}

    async def disable_totp(self, name: str) -> None:
        user = await self.get(name)
        await self._store.execute(
            "UPDATE users SET totp_secret = NULL, recovery = '[]' WHERE id = ?", (user.id,))
        await self._vault().delete(_totp_key(user.id))

    async def _totp_secret(self, user_id: int) -> str | None:
        row = await self._store.fetchone("SELECT totp_secret FROM users WHERE id = ?",
                                         (user_id,))
        if row is None or not row["totp_secret"]:
            return None
        if row["totp_secret"] != IN_VAULT:
            await self.encrypt_plain_totp()
        return await self._vault().get(_totp_key(user_id))

    async def encrypt_plain_totp(self) -> int:
        """Move TOTP secrets that older versions kept in clear into the secret store; run
        at start. SQLite would keep the overwritten bytes in the page's free space (hence
        secure_delete) and the old page in the file until a checkpoint. Returns how many
        moved."""
        rows = await self._store.fetchall(
            "SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL "
            "AND totp_secret != ?", (IN_VAULT,))
        if not rows:
            return 0
        await self._store.execute("PRAGMA secure_delete = ON")
        try:
            for row in rows:
                await self._vault().set(_totp_key(row["id"]), row["totp_secret"])
                await self._store.execute("UPDATE users SET totp_secret = ? WHERE id = ?",
                                          (IN_VAULT, row["id"]))
            await self._store.fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            await self._store.execute("PRAGMA secure_delete = OFF")
        return len(rows)

    async def verify_second_factor(self, user: User, code: str) -> bool:
        """A current TOTP code, or an unused recovery code (which is then used up)."""
        secret = await self._totp_secret(user.id)
        if secret is None:
            return False
        if self.code_matches(secret, code):
            return True
        code = code.strip().replace(" ", "")
        row = await self._store.fetchone("SELECT recovery FROM users WHERE id = ?",
                                         (user.id,))
        remaining = json.loads(row["recovery"]) if row else []
        digest = _digest(code)
        match = next((d for d in remaining if hmac.compare_digest(d, digest)), None)
        if match is None:
            return False
        remaining.remove(match)
        await self._store.execute("UPDATE users SET recovery = ? WHERE id = ?",
                                  (json.dumps(remaining), user.id))
        return True

    async def logged_in(self, user: User) -> None:
        await self._store.execute("UPDATE users SET last_login = ? WHERE id = ?",
                                  (time.time(), user.id))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")


class LoginGuard:
    """Failed logins, per user and per client address, within a sliding window.

    A user (or an address, at a higher count) with too many failures is locked out until
    the oldest of them leaves the window; while locked, passwords are not even checked.
    A success clears the user's count (not the address's: one address guessing many
    names stays visible). Attempts refused for being locked are logged but not counted,
    so a lockout ends on time."""

    LOCKED = "locked"

    def __init__(self, store: Store, agent_config: Mapping[str, Any]) -> None:
        self._store = store
        self.window = float(agent_config["login_window"])
        self.max_user = int(agent_config["login_max_failures"])
        self.max_ip = int(agent_config["login_max_failures_ip"])

    async def record(self, ip: str, username: str, reason: str) -> None:
        now = time.time()
        await self._store.execute(
            "INSERT INTO failed_logins (ts, ip, username, reason) VALUES (?, ?, ?, ?)",
            (now, ip, username[:200], reason))
        # Bounded under a sustained attack: the log keeps KEEP_DAYS, lockouts need less.
        await self._store.execute("DELETE FROM failed_logins WHERE ts < ?",
                                  (now - max(self.window, KEEP_DAYS * 86400),))

    async def locked_until(self, ip: str, username: str) -> float | None:
        """When the lockout of this user or address ends, or None when not locked."""
        since = time.time() - self.window
        last_login = await self._store.fetchone(
            "SELECT last_login FROM users WHERE name = ?", (username,))
        user_since = max(since, (last_login or {}).get("last_login") or 0)
        ends = []
        for column, value, limit, start in (("username", username, self.max_user, user_since),
                                            ("ip", ip, self.max_ip, since)):
            rows = await self._store.fetchall(
                f"SELECT ts FROM failed_logins WHERE {column} = ? AND ts > ? "
                "AND reason != ? ORDER BY ts DESC LIMIT ?", (value, start, self.LOCKED, limit))
            if len(rows) >= limit:
                ends.append(rows[-1]["ts"] + self.window)
        return max(ends) if ends else None

    async def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        return await self._store.fetchall(
            "SELECT ts, ip, username, reason FROM failed_logins ORDER BY id DESC LIMIT ?",
            (limit,))

    async def check(self) -> CheckResult:
        since = time.time() - 3600
        rows = await self._store.fetchall(
            "SELECT ip, username, reason FROM failed_logins WHERE ts > ?", (since,))
        failures = [r for r in rows if r["reason"] != self.LOCKED]
        per_ip: dict[str, int] = {}
        for r in failures:
            per_ip[r["ip"]] = per_ip.get(r["ip"], 0) + 1
        locked = sum(1 for r in rows if r["reason"] == self.LOCKED)
        summary = (f"{len(failures)} failed logins in the last hour from {len(per_ip)} "
                   f"addresses; {locked} attempts refused while locked")
        status = Status.OK
        if len(failures) >= self.max_user or locked:
            status = Status.WARNING
        if max(per_ip.values(), default=0) >= self.max_ip:
            status = Status.CRITICAL
        return CheckResult(status, summary, {"failed": float(len(failures)),
                                             "locked": float(locked),
                                             "addresses": float(len(per_ip))})

    def as_check(self) -> Check:
        return Check(FAILED_LOGINS, self.check, title="Failed logins",
                     description="Failed web panel logins in the last hour", interval=60,
                     timeout=10, flap_threshold=1)
