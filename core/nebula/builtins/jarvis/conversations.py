"""Conversations kept in the store, so a chat survives a restart and can be continued.

Messages are stored as the model saw them (already redacted), in OpenAI's shape: `role`,
`content`, and for assistant turns that called tools, `tool_calls`; for tool results,
`tool_call_id` and `name`.
"""

from __future__ import annotations

import builtins
import json
import secrets
import time
from typing import Any

from nebula.errors import NebulaError
from nebula.store import Store

IDLE, RUNNING, WAITING, ERROR = "idle", "running", "waiting_approval", "error"
TITLE_LEN = 80


class ConversationNotFound(NebulaError, KeyError):
    pass


class Conversations:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def create(self, first_message: str, actor: str) -> str:
        conversation_id = secrets.token_hex(8)
        now = time.time()
        title = " ".join(first_message.split())[:TITLE_LEN]
        await self._store.execute(
            "INSERT INTO jarvis_conversations (id, title, actor, created, updated, state) "
            "VALUES (?, ?, ?, ?, ?, ?)", (conversation_id, title, actor, now, now, IDLE))
        return conversation_id

    async def get(self, conversation_id: str) -> dict[str, Any]:
        row = await self._store.fetchone(
            "SELECT * FROM jarvis_conversations WHERE id = ?", (conversation_id,))
        if row is None:
            raise ConversationNotFound(conversation_id)
        row["pending"] = json.loads(row["pending"]) if row["pending"] else None
        return row

    async def list(self, limit: int = 100) -> list[dict[str, Any]]:
        return await self._store.fetchall(
            "SELECT id, title, created, updated, state FROM jarvis_conversations "
            "ORDER BY updated DESC LIMIT ?", (limit,))

    async def in_state(self, *states: str) -> builtins.list[dict[str, Any]]:
        marks = ", ".join("?" * len(states))
        rows = await self._store.fetchall(
            f"SELECT * FROM jarvis_conversations WHERE state IN ({marks})", states)
        for row in rows:
            row["pending"] = json.loads(row["pending"]) if row["pending"] else None
        return rows

    async def set_state(self, conversation_id: str, state: str, *, error: str | None = None,
                        pending: dict[str, Any] | None = None, tokens: int = 0) -> None:
        await self._store.execute(
            "UPDATE jarvis_conversations SET state = ?, error = ?, pending = ?, "
            "tokens = tokens + ?, updated = ? WHERE id = ?",
            (state, error, json.dumps(pending) if pending else None, tokens, time.time(),
             conversation_id))

    async def append(self, conversation_id: str, message: dict[str, Any]) -> None:
        tool_calls = message.get("tool_calls")
        await self._store.execute(
            "INSERT INTO jarvis_messages (conversation_id, ts, role, content, tool_calls, "
            "tool_call_id, name) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (conversation_id, time.time(), message["role"], message.get("content"),
             json.dumps(tool_calls) if tool_calls else None, message.get("tool_call_id"),
             message.get("name")))

    async def messages(self, conversation_id: str) -> builtins.list[dict[str, Any]]:
        rows = await self._store.fetchall(
            "SELECT role, content, tool_calls, tool_call_id, name FROM jarvis_messages "
            "WHERE conversation_id = ? ORDER BY id", (conversation_id,))
        out = []
        for row in rows:
            message: dict[str, Any] = {"role": row["role"], "content": row["content"]}
            if row["tool_calls"]:
                message["tool_calls"] = json.loads(row["tool_calls"])
            if row["tool_call_id"]:
                message["tool_call_id"] = row["tool_call_id"]
            if row["name"]:
                message["name"] = row["name"]
            out.append(message)
        return out
