"""Web panel users: argon2 password hashes, optional TOTP with recovery codes, and the
failed-login log that drives lockouts and the `auth.failed_logins` check.

Hashing and verifying run in a worker thread: argon2 is deliberately slow, and the event
loop must not stall while someone logs in.

A TOTP code signs in once: the user's last accepted time step is kept and a code of that
step or an earlier one is refused, with a conditional UPDATE so two sign-ins racing with
one code cannot both win. Recovery codes are 80 random bits, kept as HMAC-SHA256 under a
random key held in the secret store (so a copy of the database alone cannot be searched
for them); each is used up by a compare-and-swap of the user's list.

Recovery codes made before that (40 bits, unsalted SHA-256) keep working, so nobody who
relies on them is locked out by an upgrade, but their digests are re-keyed at start (the
bare SHA-256 is no longer in the database) and every start logs a warning asking the user
to make new ones (turn two-factor authentication off and on again) until they are gone.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nebula.contributions import Check, CheckResult, Status
from nebula.errors import NebulaError
from nebula.logs import get_logger
from nebula.roles import ACCOUNT_ROLES, Role
from nebula.secret_store import SecretStore
from nebula.store import Store
from nebula.units import plural

if TYPE_CHECKING:
    from argon2 import PasswordHasher

log = get_logger(component="users")

FAILED_LOGINS = "auth.failed_logins"
RECOVERY_CODES = 10
RECOVERY_BYTES = 10  # 80 bits: 16 base32 characters, shown in groups of four
# Where the recovery codes' HMAC key lives in the secret store (area "core", where versions
# before the auth plugin put it, as they put the TOTP secrets).
RECOVERY_KEY = "recovery-key"
# How a stored recovery code starts: an HMAC of the code, or (codes made by versions that
# stored bare SHA-256 digests) an HMAC of that digest.
KEYED, KEYED_LEGACY = "k2:", "k1:"
MIN_PASSWORD = 8
KEEP_DAYS = 30  # of the failed-login log
# What `users.totp_secret` holds once the secret itself is in the secret store.
IN_VAULT = "secret-store"


# argon2 (about 0.6 MB resident) loads on the first hash or sign-in, not at every start.
@functools.cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


# Verified against when the user does not exist, so a wrong name costs as long as a wrong
# password and the timing does not tell which names exist.
# Made on first use, not at import: every CLI command and start would pay for it.
@functools.cache
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_hex(16))


class UserError(NebulaError, ValueError):
    """A request about users that cannot be honoured; the message says why."""


class UserNotFound(NebulaError, KeyError):
    pass


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    totp: bool


def _new_recovery_code() -> str:
    text = base64.b32encode(secrets.token_bytes(RECOVERY_BYTES)).decode()
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def _bare(code: str) -> str:
    return "".join(code.split()).replace("-", "")


def _legacy_digest(code: str) -> str:
    """The bare SHA-256 that versions before keyed hashing stored (lower-case hex codes)."""
    return hashlib.sha256(_bare(code).lower().encode()).hexdigest()


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _recovery_forms(key: bytes, code: str) -> tuple[str, ...]:
    """Every way `code` may be stored: keyed (now), keyed legacy digest (re-keyed at
    start), bare legacy digest (not yet re-keyed)."""
    legacy = _legacy_digest(code)
    return (KEYED + _mac(key, _bare(code).upper()), KEYED_LEGACY + _mac(key, legacy), legacy)


def _totp_key(user_id: int) -> str:
    return f"totp:{user_id}"


def _user(row: Mapping[str, Any]) -> User:
    return User(row["id"], row["name"], Role(row["role"]), bool(row["totp_secret"]))


class Users:
    """`key_path` is the secret store's key: TOTP secrets live encrypted in the secret store
    (`core`, `totp:<user id>`), the users table only says that one exists."""

    def __init__(self, store: Store, key_path: Path | None = None) -> None:
        self._store = store
        self._secrets = SecretStore(store, key_path, "core") if key_path else None
        self._recovery_key: bytes | None = None
        self._recovery_key_made = asyncio.Lock()

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

    async def add(self, name: str, password: str, role: str = Role.ADMIN) -> User:
        if role not in ACCOUNT_ROLES:
            raise UserError(f"role must be one of {', '.join(ACCOUNT_ROLES)}")
        _check_password(password)
        digest = await asyncio.to_thread(_hasher().hash, password)
        if await self._store.fetchone("SELECT 1 AS one FROM users WHERE name = ?", (name,)):
            raise UserError(f"user {name!r} already exists")
        await self._store.execute(
            "INSERT INTO users (name, hash, role, created) VALUES (?, ?, ?, ?)",
            (name, digest, str(role), time.time()))
        return await self.get(name)

    async def set_password(self, name: str, password: str) -> None:
        """A new password also ends every session of the user (logout everywhere)."""
        _check_password(password)
        user = await self.get(name)
        digest = await asyncio.to_thread(_hasher().hash, password)
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
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            await asyncio.to_thread(_hasher().verify, digest, password)
        except (VerificationError, InvalidHashError):
            return None
        return _user(row) if row else None

    @staticmethod
    def totp_uri(name: str, secret: str) -> str:
        # pyotp loads with the first second factor set up or checked, not at every start.
        import pyotp

        return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name="Nebula Command")

    @staticmethod
    def totp_step(secret: str, code: str) -> int | None:
        """The time step `code` is the TOTP code of, allowing one step of clock drift
        either way (the latest, should two match); None when it is none of them."""
        code = "".join(code.split())
        if not (code.isascii() and code.isdigit()):
            return None
        import pyotp

        totp = pyotp.TOTP(secret)
        now = totp.timecode(time.time())
        return next((step for step in (now + 1, now, now - 1)
                     if hmac.compare_digest(totp.generate_otp(step), code)), None)

    def new_totp(self, name: str) -> dict[str, str]:
        """A fresh secret and its otpauth:// URI, not yet saved (see `enable_totp`)."""
        import pyotp

        secret = pyotp.random_base32()
        return {"secret": secret, "uri": self.totp_uri(name, secret)}

    async def enable_totp(self, name: str, secret: str | None = None,
                          used_step: int = 0) -> dict[str, Any]:
        """Turn the second factor on with `secret` (a new one when None) and fresh recovery
        codes; the answer is the only place the codes and the secret are ever shown.
        `used_step` is the step of the code that confirmed the secret: it cannot sign in."""
        import pyotp

        user = await self.get(name)
        secret = secret or pyotp.random_base32()
        codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
        key = await self._recovery_hmac_key()
        await self._vault().set(_totp_key(user.id), secret)
        await self._store.execute(
            "UPDATE users SET totp_secret = ?, recovery = ?, totp_last_step = ? WHERE id = ?",
            (IN_VAULT, json.dumps([_recovery_forms(key, c)[0] for c in codes]), used_step,
             user.id))
        return {"user": name, "secret": secret, "uri": self.totp_uri(name, secret),
                "recovery_codes": codes}

    async def disable_totp(self, name: str) -> None:
        user = await self.get(name)
        await self._store.execute(
            "UPDATE users SET totp_secret = NULL, recovery = '[]', totp_last_step = 0 "
            "WHERE id = ?", (user.id,))
        await self._vault().delete(_totp_key(user.id))

    async def _recovery_hmac_key(self) -> bytes:
        """The key recovery codes are hashed with: random, made on first use, kept
        encrypted in the secret store. Made under a lock, so two first uses at once
        cannot each hash with a key of their own."""
        async with self._recovery_key_made:
            if self._recovery_key is None:
                value = await self._vault().get(RECOVERY_KEY)
                if value is None:
                    value = secrets.token_hex(32)
                    await self._vault().set(RECOVERY_KEY, value)
                self._recovery_key = bytes.fromhex(value)
        return self._recovery_key

    async def _totp_secret(self, user_id: int) -> str | None:
        row = await self._store.fetchone("SELECT totp_secret FROM users WHERE id = ?",
                                         (user_id,))
        if row is None or not row["totp_secret"]:
            return None
        if row["totp_secret"] != IN_VAULT:
            await self._move_plain_totp()
        return await self._vault().get(_totp_key(user_id))

    def _overwriting(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Writes that replace something sensitive (nebula.store.Store.overwriting)."""
        return self._store.overwriting()

    async def encrypt_plain_totp(self) -> int:
        """Run at start: protect what older versions kept of the second factor. TOTP
        secrets kept in clear move into the secret store; recovery codes kept as bare
        SHA-256 are re-keyed. Returns how many secrets moved."""
        moved = await self._move_plain_totp()
        await self._rekey_old_recovery_codes()
        return moved

    async def _move_plain_totp(self) -> int:
        rows = await self._store.fetchall(
            "SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL "
            "AND totp_secret != ?", (IN_VAULT,))
        if not rows:
            return 0
        async with self._overwriting():
            for row in rows:
                await self._vault().set(_totp_key(row["id"]), row["totp_secret"])
                await self._store.execute("UPDATE users SET totp_secret = ? WHERE id = ?",
                                          (IN_VAULT, row["id"]))
        return len(rows)

    async def _rekey_old_recovery_codes(self) -> None:
        """Codes of older versions (40 bits, bare SHA-256) are kept working, but as an
        HMAC of their digest, and their owners are asked on every start to make new
        ones."""
        rows = await self._store.fetchall(
            "SELECT id, name, recovery FROM users WHERE recovery != '[]'")
        for row in rows:
            stored: list[str] = json.loads(row["recovery"])
            old = [d for d in stored if not d.startswith(KEYED)]
            if not old:
                continue
            if any(not d.startswith(KEYED_LEGACY) for d in old):
                key = await self._recovery_hmac_key()
                rekeyed = [d if d.startswith((KEYED, KEYED_LEGACY))
                           else KEYED_LEGACY + _mac(key, d) for d in stored]
                async with self._overwriting():
                    await self._swap_recovery(row["id"], row["recovery"], rekeyed)
            log.warning("users.old_recovery_codes", user=row["name"], codes=len(old),
                        hint="recovery codes from an older version are shorter than today's: "
                             "turn two-factor authentication off and on again for new ones")

    async def _swap_recovery(self, user_id: int, expected: str, new: Sequence[str]) -> bool:
        """Replace the user's recovery codes only if they are still `expected` (their JSON
        as read): of two writers that read the same list, one wins."""
        changed = await self._store.changes(
            "UPDATE users SET recovery = ? WHERE id = ? AND recovery = ?",
            (json.dumps(list(new)), user_id, expected))
        return changed == 1

    async def verify_second_factor(self, user: User, code: str) -> bool:
        """A TOTP code of a step later than the last one accepted, or an unused recovery
        code; either is then used up."""
        secret = await self._totp_secret(user.id)
        if secret is None:
            return False
        step = self.totp_step(secret, code)
        if step is not None:
            # Conditional, so of two sign-ins racing with one code only one moves it on.
            changed = await self._store.changes(
                "UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?",
                (step, user.id, step))
            return changed == 1
        return await self._use_recovery_code(user.id, code)

    async def _use_recovery_code(self, user_id: int, code: str) -> bool:
        if not _bare(code):
            return False
        forms = _recovery_forms(await self._recovery_hmac_key(), code)
        while True:
            row = await self._store.fetchone("SELECT recovery FROM users WHERE id = ?",
                                             (user_id,))
            if row is None:
                return False
            remaining: list[str] = json.loads(row["recovery"])
            match = next((d for d in remaining
                          if any(hmac.compare_digest(d, f) for f in forms)), None)
            if match is None:
                return False
            remaining.remove(match)
            if await self._swap_recovery(user_id, row["recovery"], remaining):
                return True
            # Another code was used meanwhile: read again (this one may be gone too).

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

    def __init__(self, store: Store, settings: Mapping[str, Any]) -> None:
        self._store = store
        self.configure(settings)
        # Wall-clock seconds; replaceable so a test can let the window pass without waiting.
        self.clock = time.time

    def configure(self, settings: Mapping[str, Any]) -> None:
        """The limits of the `[auth]` section (a reload changes them in place)."""
        self.window = float(settings["login_window"])
        self.max_user = int(settings["login_max_failures"])
        self.max_ip = int(settings["login_max_failures_ip"])

    async def record(self, ip: str, username: str, reason: str) -> None:
        # One line per attempt, keys in this order, for fail2ban (docs/fail2ban.md).
        log.warning("auth.login_failed", ip=ip, user=username[:200], reason=reason)
        now = self.clock()
        await self._store.execute(
            "INSERT INTO failed_logins (ts, ip, username, reason) VALUES (?, ?, ?, ?)",
            (now, ip, username[:200], reason))
        # Bounded under a sustained attack: the log keeps KEEP_DAYS, lockouts need less.
        await self._store.execute("DELETE FROM failed_logins WHERE ts < ?",
                                  (now - max(self.window, KEEP_DAYS * 86400),))

    async def locked_until(self, ip: str, username: str) -> float | None:
        """When the lockout of this user or address ends, or None when not locked."""
        since = self.clock() - self.window
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

    async def since(self, since: float) -> list[dict[str, Any]]:
        return await self._store.fetchall(
            "SELECT ip, username, reason FROM failed_logins WHERE ts > ?", (since,))

    async def check(self) -> CheckResult:
        rows = await self.since(time.time() - 3600)
        failures = [r for r in rows if r["reason"] != self.LOCKED]
        per_ip: dict[str, int] = {}
        for r in failures:
            per_ip[r["ip"]] = per_ip.get(r["ip"], 0) + 1
        locked = sum(1 for r in rows if r["reason"] == self.LOCKED)
        summary = (f"{plural(len(failures), 'failed login')} in the last hour from "
                   f"{plural(len(per_ip), 'address')}; {plural(locked, 'attempt')} refused "
                   "while locked")
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
