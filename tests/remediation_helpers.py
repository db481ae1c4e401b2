"""What the remediation tests (core and notify) share: a plugin whose check and fix the test
controls, `[[remediation]]` config written as a user would, and check cycles on demand."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nebula.api import Action, Status, hookimpl
from nebula.testing import write_config
from tests.sample_plugins import Switchable
from tests.waiting import eventually


class Fixable(Switchable):
    """Switchable with a safe `fix` action that heals the check, or raises while `broken`."""

    def __init__(self) -> None:
        super().__init__(interval=3600)  # cycles are run by the test, not the scheduler
        self.fixes = 0
        self.broken = False

    async def _fix(self, params: Mapping[str, Any]) -> Any:
        self.fixes += 1
        if self.broken:
            raise RuntimeError("the fix itself failed")
        return {"fixed": params.get("what", "all")}

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        return [*super().nebula_actions(), Action("fix", self._fix, title="Fix", params={
            "type": "object", "properties": {"what": {"type": "string"}}})]


def _value(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, Mapping) else "{ " + ", ".join(
        f"{k} = {_value(v)}" for k, v in value.items()) + " }"


def policy_config(path: Path, policies: list[Mapping[str, Any]],
                  plugins: Mapping[str, Mapping[str, Any]] | None = None,
                  agent: Mapping[str, Any] | None = None) -> Path:
    """nebula.toml with one `[[remediation]]` table per policy, after the usual sections."""
    write_config(path, {"flap_threshold": 1, **(agent or {})}, plugins)
    blocks = ["\n".join(["", "[[remediation]]", *(f"{k} = {_value(v)}" for k, v in p.items())])
              for p in policies]
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(blocks) + "\n")
    return path


async def cycle(agent, plugin: Switchable, status: Status, times: int = 1) -> None:
    """Run the plugin's check `times` times with `status` as its result."""
    plugin.status = status
    for _ in range(times):
        code, body = await agent.post("/api/v1/checks/run", {"names": ["switchable.switch"]})
        assert code == 200, body


async def events(agent, topic: str) -> list[dict[str, Any]]:
    _, body = await agent.get(f"/api/v1/events?topic={topic}&limit=200")
    return body["events"]


async def wait_events(agent, topic: str, count: int) -> list[dict[str, Any]]:
    """The `topic` events once there are exactly `count` of them (fails on more)."""
    found = await eventually(lambda: _at_least(agent, topic, count))
    assert len(found) == count, found
    return found


async def _at_least(agent, topic: str, count: int) -> list[dict[str, Any]] | None:
    found = await events(agent, topic)
    return found if len(found) >= count else None
