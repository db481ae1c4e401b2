"""Fixtures for the homeassistant tests: the Home Assistant stand-in on loopback (plain
HTTP, or TLS with a trustme CA) and the plugin in a real agent."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from nebula_homeassistant import plugin
from tests.plugins.homeassistant.ha_helpers import AGENT, WEBHOOK_SECRET
from tests.plugins.homeassistant.ha_server import HomeAssistant, serving


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
    """`async with start_ha(url=..., schedule=False, **config) as agent:`."""
    def start(url: str | None = None, schedule: bool = False, **overrides: Any) -> Any:
        return nebula_agent({"homeassistant": plugin},
                            config={"homeassistant": ha_config(url or ha_url, **overrides)},
                            schedule=schedule, agent=AGENT)
    return start
