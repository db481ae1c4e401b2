"""API bearer tokens: random, shown once, stored only as a SHA-256 hash.

A hash is enough (no slow KDF) because tokens are 256 random bits, not passwords.
Valid tokens are cached in memory so authenticating a request costs one hash.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from nebula.errors import NebulaError
from nebula.roles import ACCOUNT_ROLES, Principal, Role
from nebula.store import Store

__all__ = ["LOCAL_ADMIN", "Principal", "TokenNotFound", "Tokens", "hash_token", "new_token"]

PREFIX = "nbl_"
# The principal of the per-run token in the agent's runtime file: whoever can read that
# file is an admin on this host, so its requests may pre-approve (`action run --yes`).
LOCAL_ADMIN = "local-admin"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


class TokenNotFound(NebulaError, KeyError):
    pass


class Tokens:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, Principal] = {}
        self._extra: dict[str, Principal] = {}

    def allow(self, token: str, principal: Principal) -> None:
        """Accept a token that lives only in memory (the local admin token of this run)."""
        self._extra[hash_token(token)] = principal

    async def create(self, name: str, role: str = Role.ADMIN) -> dict[str, Any]:
        if role not in ACCOUNT_ROLES:
            raise ValueError(f"role must be one of {', '.join(ACCOUNT_ROLES)}")
        role = Role(role)
        token = new_token()
        token_id = await self._store.execute(
            "INSERT INTO tokens (name, hash, role, created) VALUES (?, ?, ?, ?)",
            (name, hash_token(token), str(role), time.time()))
        return {"id": token_id, "name": name, "role": role, "token": token}

    async def list(self) -> list[dict[str, Any]]:
        return await self._store.fetchall(
            "SELECT id, name, role, created, revoked FROM tokens ORDER BY id")

    async def revoke(self, token_id: int) -> None:
        changed = await self._store.changes(
            "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
            (time.time(), token_id))
        if not changed:
            raise TokenNotFound(token_id)
        self._cache.clear()

    async def authenticate(self, token: str) -> Principal | None:
        digest = hash_token(token)
        if found := self._extra.get(digest) or self._cache.get(digest):
            return found
        row = await self._store.fetchone(
            "SELECT name, role FROM tokens WHERE hash = ? AND revoked IS NULL", (digest,))
        if row is None:
            return None
        principal = Principal(f"token:{row['name']}", row["role"])
        self._cache[digest] = principal
        return principal
