"""The agent's embedded store: SQLite in WAL mode, one connection on one worker thread."""

from nebula.store.db import Store

__all__ = ["Store"]
