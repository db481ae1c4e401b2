"""Fixtures for the homeassistant tests: the Home Assistant stand-in on loopback (plain
HTTP, or TLS with a trustme CA), the plugin in a real agent, and that agent with Jarvis
pointed at the scripted chat-completions server."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from homeassistant_helpers import AGENT, WEBHOOK_SECRET
from homeassistant_server import HomeAssistant

from nebula.config import load
from nebula.testing import run_agent, write_config
from nebula_homeassistant import plugin
from tests.jarvis.openai_server import FakeOpenAI
from tests.loopback import serving


def populate(ha: HomeAssistant) -> None:
    """A small house: two rooms, a lock, a garage door and a few automations."""
    ha.areas.update({"living_room": "Living Room", "garage": "Garage"})
    ha.devices.update({"hue_bridge_lamp": "living_room"})
    ha.add("light.living_room", "off", area="living_room", brightness=None)
    ha.add("light.reading_lamp", "on", device="hue_bridge_lamp")  # in the room by device
    ha.add("light.kitchen", "off")
    ha.add("sensor.outside_temperature", "11.5", unit_of_measurement="°C")
    ha.add("switch.coffee_maker", "off")
    ha.add("lock.front_door", "locked")
    ha.add("cover.garage_door", "closed", area="garage")
    ha.add("alarm_control_panel.house", "armed_away")
    ha.add("automation.morning_lights", "on", last_triggered="2024-05-30T06:30:00+00:00")
    ha.add("automation.night_lock", "off", last_triggered=None)


@pytest.fixture
def ha_token(tmp_path: Path) -> str:
    token = "eyJ" + secrets.token_urlsafe(40)  # shaped like HA's JWT tokens
    (tmp_path / "ha_token").write_text(token + "\n")
    return token


@pytest.fixture
def ha(ha_token: str) -> HomeAssistant:
    standin = HomeAssistant(token=ha_token)
    populate(standin)
    return standin


@pytest.fixture
async def ha_url(ha: HomeAssistant) -> AsyncIterator[str]:
    async with serving(ha.app) as base:
        yield base


@pytest.fixture
def ha_config(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    def make(url: str, **overrides: Any) -> dict[str, Any]:
        """The plugin's section; an override of None leaves that key out."""
        section = {"url": url, "token_file": str(tmp_path / "ha_token"), "timeout": 2,
                   "interval": 3600, "ws_min_backoff": 0.05, "ws_max_backoff": 0.2,
                   "check_config_interval": 3600, "webhook_secret": WEBHOOK_SECRET,
                   **overrides}
        return {k: v for k, v in section.items() if v is not None}
    return make


@pytest.fixture
def start_ha(nebula_agent: Callable[..., Any], ha_config: Callable[..., dict[str, Any]],
             ha_url: str) -> Callable[..., Any]:
    """`async with start_ha(url=..., schedule=False, agent={...}, **config) as agent:`
    (`agent` adds to the `[agent]` section)."""
    def start(url: str | None = None, schedule: bool = False,
              agent: dict[str, Any] | None = None, **overrides: Any) -> Any:
        return nebula_agent({"homeassistant": plugin},
                            config={"homeassistant": ha_config(url or ha_url, **overrides)},
                            schedule=schedule, agent={**AGENT, **(agent or {})})
    return start


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
def start_ha_jarvis(tmp_path: Path, ha_config: Callable[..., dict[str, Any]], ha_url: str,
                    model: FakeOpenAI) -> Callable[..., Any]:
    """`async with start_ha_jarvis(**config) as agent:` the plugin, and Jarvis asking
    `model` (script it with `model.add(...)` first)."""
    def start(**overrides: Any) -> Any:
        path = write_config(tmp_path / "nebula.toml", AGENT,
                            {"homeassistant": ha_config(ha_url, **overrides)})
        doc = tomlkit.parse(path.read_text())
        doc["jarvis"] = {"base_url": model.base_url, "max_retries": 0, "timeout": 10}
        path.write_text(tomlkit.dumps(doc))
        return run_agent(load(path), {"homeassistant": plugin}, schedule=False)
    return start
