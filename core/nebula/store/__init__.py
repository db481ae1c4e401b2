"""The agent's store: SQLite in WAL mode by default, PostgreSQL for a hub that wants it;
one connection on one worker thread either way."""

from nebula.store.db import SqliteStore, Store, store_for

__all__ = ["SqliteStore", "Store", "store_for"]
