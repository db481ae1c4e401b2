"""The agent's secret store: encrypted at rest, masked once seen."""

from __future__ import annotations

import secrets

import pytest

from nebula.api import SecretStore, SecretStoreError
from nebula.secrets import SECRETS
from nebula.store import SqliteStore


async def test_values_are_encrypted_at_rest_and_masked(tmp_path):
    value = "pw-" + secrets.token_hex(12)
    store = SqliteStore(tmp_path / "nebula.db")
    await store.open()
    try:
        vault = SecretStore(store, tmp_path / "secret.key", "docker")
        await vault.set("db.main", value)
        assert await vault.get("db.main") == value
        assert await SecretStore(store, tmp_path / "secret.key", "other").get("db.main") is None
        assert SECRETS.redact(f"password={value}") == "password=***"
        assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
        await store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("nebula.db*"))
        assert value.encode() not in raw

        stranger = SecretStore(store, tmp_path / "new.key", "docker")
        with pytest.raises(SecretStoreError, match="cannot be decrypted"):
            await stranger.get("db.main")
        await vault.delete("db.main")
        assert await vault.get("db.main") is None
    finally:
        await store.close()
