"""One view of the engine's containers, shared by every check, panel, tool and route.

"Poll once, read many" on `nebula.helpers.coordinator.Coordinator`: a full refresh (list,
inspect, stats) is reused while it is younger than `max_age`, and so is a failure to reach
the engine. Between refreshes the engine's event stream (events.py, which calls this
module's handlers) keeps each container's state live: an event re-inspects that one
container, so a read returns the last listing with every event since applied. Podman
names some events differently (`remove` for `destroy`, no `stop` but always `die`), so
state is keyed on `start`, `die` and `health_status` and always re-read from inspect
rather than inferred from the name.

Restarts are the restart policy's only: inspect's `RestartCount`, which both engines raise
when the policy starts a container again and never when someone stops, kills, starts or
restarts it by hand (Docker even sets it back to 0 at a manual start). A restart is counted
when a re-inspect or a listing finds that number higher than the last reading; the same
die/start pair replayed, or an admin's kill and start, changes nothing.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nebula.helpers.coordinator import Coordinator
from nebula_docker import logsize
from nebula_docker.engine import Engine, EngineUnavailable
from nebula_docker.events import event_time_ns
from nebula_docker.model import (
    Container,
    cpu_counters,
    from_inspect,
    state_of,
    usage_from_stats,
)

if TYPE_CHECKING:
    import docker

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]

# Engine event names, both dialects, mapped to the topic the plugin publishes.
EVENT_TOPICS = {"destroy": "destroy", "remove": "destroy"}
# Events after which a container's state is worth re-reading. Podman's `cleanup` is when
# a container that exited becomes `exited` (from `stopped`), and when its restart policy
# acts.
STATE_EVENTS = {"create", "start", "die", "stop", "kill", "pause", "unpause", "restart",
                "health_status", "oom", "rename", "destroy", "remove", "cleanup"}
# Engine calls of one refresh in flight at once. The engine does the work; more threads
# only fight the event loop for the GIL while they decode JSON. With 100 containers on two
# cores (bench/docker_refresh.py): 16 threads gave 85 ms of loop lag, 4 gave 69 ms, 2 stay
# near 30-40 ms on a quiet host and refresh everything in 0.6-0.9 s.
WORKERS = 2


@dataclass(frozen=True)
class Point:
    t: float
    cpu_percent: float | None
    memory_bytes: int | None


@dataclass(frozen=True)
class Snapshot:
    taken: float  # epoch seconds of the last full refresh
    containers: tuple[Container, ...]
    # Per container id, the epoch times of its restart policy's restarts since the agent
    # started.
    restart_times: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    def restarts(self, container_id: str, window: float, now: float) -> int:
        """Restarts by the restart policy in the `window` seconds before `now`."""
        return sum(1 for t in self.restart_times.get(container_id, ()) if t >= now - window)

    def find(self, ref: str) -> Container | None:
        """By exact name, else full id or unique id prefix."""
        for c in self.containers:
            if c.name == ref:
                return c
        matches = [c for c in self.containers if c.id.startswith(ref)]
        return matches[0] if len(matches) == 1 else None


def _with_log(container: Container, measure: bool) -> Container:
    return container.with_log_bytes(logsize.size(container.log_path) if measure else None)


def _collect(client: docker.DockerClient, known: Mapping[str, Container],
             previous: Mapping[str, tuple[int, float]],
             measure_logs: bool) -> list[tuple[Container, Any]]:
    """List every container, inspect the new ones and those whose state moved (the
    rest of `known` is kept current by the event stream), measure their logs, and read
    stats of the running ones, a few at a time."""
    from docker.errors import APIError, NotFound  # on a client: the SDK is loaded

    listed = client.api.containers(all=True)

    def one(entry: Mapping[str, Any]) -> tuple[Container, Any] | None:
        cid = entry["Id"]
        try:
            container = known.get(cid)
            if container is None or container.state != state_of(entry.get("State")):
                container = from_inspect(client.api.inspect_container(cid))
            container = _with_log(container, measure_logs)
            if not container.running:
                return container, None
        except NotFound:  # removed between the list and now
            return None
        try:
            stats = client.api.stats(cid, stream=False, one_shot=True)
        except NotFound:
            return None
        except (APIError, ValueError):
            # Gone, or paused or stopped meanwhile: Podman then answers an error or an
            # empty body. One container's stats must not fail the whole listing.
            return container, None
        return container.with_usage(usage_from_stats(stats, previous.get(cid))), \
            cpu_counters(stats)

    if not listed:
        return []
    with ThreadPoolExecutor(min(WORKERS, len(listed))) as pool:
        return [r for r in pool.map(one, listed) if r is not None]


class Monitor:
    def __init__(self, engine: Engine, emit: Emit, *, max_age: float, history: int,
                 log: Any = None,
                 on_stream_change: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self._emit = emit
        self._history_size = history
        self._log = log
        # A failure is reused as long as a listing would be: the checks of one round make
        # one attempt at an engine that is down, not one each.
        self.poll: Coordinator[Snapshot] = Coordinator(
            self._list, max_age=max_age, backoff=max_age, max_backoff=max_age,
            name="docker", log=log)
        self._containers: dict[str, Container] = {}
        self._wall: float = 0.0
        self._counters: dict[str, tuple[int, float]] = {}
        self._history: dict[str, deque[Point]] = {}
        self._totals: deque[Point] = deque(maxlen=history)
        self._changes: dict[str, int] = {}  # per container, bumped by every event
        # Per container, the RestartCount last read, and the times it went up.
        self._restart_counts: dict[str, int] = {}
        self._restarts: dict[str, deque[float]] = {}
        self._watching_since = time.time()
        self._measure_logs = logsize.local(engine.base_url)
        self._on_stream_change = on_stream_change
        self.events_connected = False
        self.events_error: str | None = None
        self.events_since: float | None = None  # when the stream last came or went

    # --- reading -------------------------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        """Containers listed no longer than `max_age` ago, with every event since applied
        (raises EngineUnavailable)."""
        await self.poll.get()
        return self._current()

    async def refresh(self) -> Snapshot:
        """List the engine's containers now (or join the listing under way)."""
        await self.poll.refresh()
        return self._current()

    async def aclose(self) -> None:
        """Cancels a listing under way (the plugin is stopping)."""
        await self.poll.aclose()

    def _current(self) -> Snapshot:
        return Snapshot(self._wall, tuple(sorted(self._containers.values(),
                                                 key=lambda c: c.name)),
                        {cid: tuple(times) for cid, times in self._restarts.items()})

    async def _list(self) -> Snapshot:
        counters = dict(self._counters)
        # Without a live event stream, nothing vouches for what we inspected before.
        known = dict(self._containers) if self.events_connected else {}
        seen = dict(self._changes)
        rows = await self.engine.call(lambda client: _collect(
            client, known, counters, self._measure_logs))
        now = time.time()
        fresh = {}
        for listed, _ in rows:
            if self._changes.get(listed.id) != seen.get(listed.id):
                # An event came for it while we were listing: its answer is newer (and
                # a container an event removed meanwhile stays removed).
                if (current := self._containers.get(listed.id)) is not None:
                    fresh[listed.id] = current.with_usage(listed.usage).with_log_bytes(
                        listed.log_bytes)
                continue
            fresh[listed.id] = listed
            # Restarts while the stream was down show here first.
            self._count_restarts(listed, now)
        for cid in set(self._changes) - set(fresh):
            if self._changes[cid] != seen.get(cid) and cid in self._containers:
                fresh[cid] = self._containers[cid]  # made while we were listing
            elif self._changes[cid] == seen.get(cid):
                del self._changes[cid]
        for gone in set(self._restart_counts) - set(fresh) - set(self._changes):
            del self._restart_counts[gone]
            self._restarts.pop(gone, None)
        self._containers = fresh
        self._counters = {c.id: raw for c, raw in rows if raw is not None}
        for c, _ in rows:
            if c.running:
                points = self._history.setdefault(c.id, deque(maxlen=self._history_size))
                points.append(Point(now, c.usage.cpu_percent, c.usage.memory_bytes))
        running = [c.usage for c, _ in rows if c.running]
        cpu = [u.cpu_percent for u in running if u.cpu_percent is not None]
        memory = [u.memory_bytes for u in running if u.memory_bytes is not None]
        self._totals.append(Point(now, round(sum(cpu), 2) if cpu else None,
                                  sum(memory) if memory else None))
        for gone in set(self._history) - set(self._containers):
            del self._history[gone]
        self._wall = now
        return self._current()

    def history(self, container_id: str) -> list[Point]:
        return list(self._history.get(container_id, ()))

    def totals(self) -> list[Point]:
        """CPU and memory summed over the running containers, one point per refresh."""
        return list(self._totals)

    # --- restarts ------------------------------------------------------------------------

    def _count_restarts(self, container: Container, at: float) -> None:
        """Counts the restarts the policy made since the last reading of this container.
        The first reading of one made before we watched only sets where counting starts;
        one made since has every restart counted (a busy stream or a listing may read it
        for the first time after its policy restarted it already)."""
        before = self._restart_counts.get(container.id)
        if before is None and (container.created_at or 0) >= self._watching_since:
            before = 0
        self._restart_counts[container.id] = container.restart_count
        if before is not None and container.restart_count > before:
            times = self._restarts.setdefault(container.id, deque(maxlen=1000))
            times.extend([at] * (container.restart_count - before))

    # --- the event stream's handlers (events.EventStream) --------------------------------

    async def on_connected(self) -> None:
        recovering = self.poll.last_error is not None
        came = not self.events_connected
        self.events_connected, self.events_error = True, None
        # Whatever happened while we were away is only visible by listing.
        self.poll.invalidate()
        if came:
            await self._stream_changed({"state": "up", "error": None})
        if recovering:
            # The engine is back: list now rather than keep answering its last failure
            # until that ages out (the listing logs its own failure, if any).
            with contextlib.suppress(Exception):
                await self.poll.refresh()

    async def on_lost(self, why: str) -> None:
        went = self.events_connected or self.events_since is None
        self.events_connected, self.events_error = False, why
        # The engine may have restarted: the next call connects again.
        self.engine.reset()
        if went:
            await self._stream_changed({"state": "down", "error": why})

    async def on_missed(self) -> None:
        # Events were let go unhandled: only a listing tells what they changed.
        self.poll.invalidate()

    async def _stream_changed(self, data: dict[str, Any]) -> None:
        """The stream came or went: said at once (`docker.engine`), and the engine check
        asked to look now rather than at its next interval."""
        self.events_since = time.time()
        if self._on_stream_change is not None:
            self._on_stream_change()
        await self._emit("engine", data)

    async def on_event(self, event: Mapping[str, Any]) -> None:
        if event.get("Type", "container") != "container":
            return
        action = str(event.get("Action") or event.get("status") or "")
        # "health_status: healthy" on Docker, bare "health_status" on Podman.
        action = action.split(":", 1)[0].strip()
        if action not in STATE_EVENTS:
            return
        actor = event.get("Actor") or {}
        cid = actor.get("ID") or event.get("id") or ""
        attributes = actor.get("Attributes") or {}
        topic = EVENT_TOPICS.get(action, action)
        at = event_time_ns(event) / 1e9 or time.time()
        self._changes[cid] = self._changes.get(cid, 0) + 1
        try:
            container = None if topic == "destroy" else await self._reinspect(cid)
        except EngineUnavailable:
            # Events queued before the engine went: the listing once it is back tells
            # where they left each container (the engine check says it is down).
            return
        # Counted again on arrival of the answer: a listing that began after the event but
        # before this answer holds the state from before the event, and must not put it
        # back over this one when it ends.
        self._changes[cid] = self._changes.get(cid, 0) + 1
        if container is None:
            gone = self._containers.pop(cid, None)
            name = gone.name if gone else attributes.get("name", "")
            self._history.pop(cid, None)
            self._restarts.pop(cid, None)
            self._restart_counts.pop(cid, None)
            data: dict[str, Any] = {"id": cid, "name": name, "state": "removed"}
        else:
            previous = self._containers.get(cid)
            if previous is not None and container.running:
                container = container.with_usage(previous.usage)
            self._containers[cid] = container
            self._count_restarts(container, at)
            data = {"id": cid, "name": container.name, "state": container.state,
                    "health": container.health, "exit_code": container.exit_code,
                    "restart_count": container.restart_count}
            if action == "die":
                # The exit this event is about: by the time inspect answers, the restart
                # policy may have started the container again (running, exit code 0).
                data["exit_code"] = _exit_code(attributes, container.exit_code)
        await self._emit(f"container.{topic}", data)

    async def _reinspect(self, cid: str) -> Container | None:
        measure = self._measure_logs

        def read(client: docker.DockerClient) -> Container | None:
            from docker.errors import NotFound

            try:
                return _with_log(from_inspect(client.api.inspect_container(cid)), measure)
            except NotFound:
                return None

        return await self.engine.call(read)


def _exit_code(attributes: Mapping[str, Any], fallback: int) -> int:
    """A die event's exit code: `exitCode` on Docker and Podman (Podman also sends
    `containerExitCode`)."""
    for key in ("exitCode", "containerExitCode"):
        with contextlib.suppress(KeyError, TypeError, ValueError):
            return int(attributes[key])
    return fallback
