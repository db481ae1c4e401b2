"""The agent's secret store: values a plugin generates or receives (database passwords,
OAuth tokens) kept encrypted at rest, and masked everywhere once read or written.

The key is a Fernet key in `<data_dir>/secret.key` (mode 0600), made on first use: a copy of
the store alone does not reveal the secrets.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from nebula.errors import NebulaError
from nebula.secrets import SECRETS
from nebula.store import Store

if TYPE_CHECKING:
    from cryptography.fernet import Fernet


def _load_key(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        from cryptography.fernet import Fernet

        key = Fernet.generate_key()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key


class SecretStoreError(NebulaError):
    pass


class Sealer:
    """Encrypts and decrypts text with the agent's key: what the secret store and pending
    approvals (whose parameters may hold a PIN) keep at rest."""

    def __init__(self, key_path: Path) -> None:
        self.key_path = key_path
        self._fernet: Fernet | None = None

    def _cipher(self) -> Fernet:
        if self._fernet is None:
            # Imported on first use: most runs never touch a secret and it costs ~7 MB.
            from cryptography.fernet import Fernet

            self._fernet = Fernet(_load_key(self.key_path))
        return self._fernet

    def seal(self, text: str) -> str:
        return self._cipher().encrypt(text.encode()).decode()

    def unseal(self, token: str, what: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._cipher().decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretStoreError(
                f"{what} cannot be decrypted with {self.key_path}; was the key file "
                "replaced?") from None


class SecretStore:
    """One plugin's secrets; `get` and `set` register each value for redaction."""

    def __init__(self, store: Store | None, key_path: Path, plugin: str) -> None:
        self._store = store
        self._sealer = Sealer(key_path)
        self._plugin = plugin
        self._memory: dict[str, str] = {}

    async def set(self, key: str, value: str) -> None:
        SECRETS.add(value)
        if self._store is None:
            self._memory[key] = value
            return
        token = self._sealer.seal(value)
        await self._store.execute(
            "INSERT INTO secrets (plugin, key, value, updated) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, "
            "updated = excluded.updated", (self._plugin, key, token, time.time()))

    async def get(self, key: str) -> str | None:
        if self._store is None:
            return self._memory.get(key)
        row = await self._store.fetchone(
            "SELECT value FROM secrets WHERE plugin = ? AND key = ?", (self._plugin, key))
        if row is None:
            return None
        value = self._sealer.unseal(row["value"], f"secret {self._plugin}/{key}")
        SECRETS.add(value)
        return value

    async def delete(self, key: str) -> None:
        if self._store is None:
            self._memory.pop(key, None)
            return
        await self._store.execute(
            "DELETE FROM secrets WHERE plugin = ? AND key = ?", (self._plugin, key))
