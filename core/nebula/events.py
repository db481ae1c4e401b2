"""The event bus: every event is stored, then handed to each live subscriber.

Subscribers get a bounded queue; one that falls behind loses its oldest events (and is
told how many) instead of holding back the agent.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from nebula.secrets import SECRETS
from nebula.store import Store

QUEUE_SIZE = 1000


class Subscriber:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self.dropped = 0

    def offer(self, event: dict[str, Any]) -> None:
        if not fnmatch.fnmatchcase(event["topic"], self.pattern):
            return
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


class EventBus:
    def __init__(self, store: Store | None = None) -> None:
        self._store = store
        self._subscribers: set[Subscriber] = set()
        self.recent: deque[dict[str, Any]] = deque(maxlen=200)
        self._seq = 0
        # Who may see which event, beyond the API's roles: (caller, event) -> shown?
        # A built-in adds one (the fleet hub hides a host's events from callers without
        # a right on that host); the event API applies them all.
        self.filters: list[Callable[[str, dict[str, Any]], bool]] = []

    def visible(self, caller: str, event: dict[str, Any]) -> bool:
        return all(shown(caller, event) for shown in self.filters)

    async def publish(self, topic: str, data: dict[str, Any],
                      source: str = "core") -> dict[str, Any]:
        event = {"id": 0, "ts": time.time(), "topic": topic, "source": source,
                 "data": SECRETS.redact(data)}
        if self._store is not None:
            event["id"] = await self._store.execute(
                "INSERT INTO events (ts, topic, source, data) VALUES (?, ?, ?, ?)",
                (event["ts"], topic, source, json.dumps(event["data"], default=str)),
            )
        else:
            self._seq += 1
            event["id"] = self._seq
        self.recent.append(event)
        for subscriber in list(self._subscribers):
            subscriber.offer(event)
        return event

    def subscribe(self, pattern: str = "*") -> Subscriber:
        subscriber = Subscriber(pattern)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    async def stream(self, pattern: str = "*") -> AsyncIterator[dict[str, Any]]:
        subscriber = self.subscribe(pattern)
        try:
            while True:
                yield await subscriber.queue.get()
        finally:
            self.unsubscribe(subscriber)
