"""Containers' settings read from a real Podman engine through its Docker API: one container
with every risky setting (privileged, host network, the engine's socket mounted, root, no
memory limit) and one without any, side by side."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from nebula_security.containers import assess_containers, judge, read

pytestmark = pytest.mark.e2e  # a real Podman engine


def ctx(url: str, **extra: Any) -> Any:
    """What assess_containers reads of a plugin context: its config and peers."""
    config = {"docker_url": url, "command_timeout": 30, "image_max_age_days": 90, **extra}
    return SimpleNamespace(config=config, peer_config=lambda _name: None)


@pytest.fixture
def pair(podman, run_container) -> tuple[str, str]:
    risky = run_container(["sleep", "300"], privileged=True, network_mode="host",
                          volumes={str(podman.socket): {"bind": "/var/run/docker.sock"}})
    tidy = run_container(["sleep", "300"], user="1000:1000", mem_limit="64m")
    return risky.name, tidy.name


async def test_risky_settings_each_lose_points_a_tidy_container_none(podman, pair):
    risky, tidy = pair
    found = await assess_containers(ctx(podman.base_url))
    reasons = [f.reason for f in found.findings]
    mine = [r for r in reasons if r.startswith(f"container {risky} ")]
    assert sorted(r.split(" (")[0] for r in mine) == sorted([
        f"container {risky} runs privileged",
        f"container {risky} has the engine's socket {podman.socket} mounted",
        f"container {risky} uses the host's network",
        f"container {risky} runs as root",
        f"container {risky} has no memory limit"])
    assert not [r for r in reasons if r.startswith(f"container {tidy} ")]
    assert found.status.value == "critical"
    fixes = {f.reason.split(" (")[0]: f.fix for f in found.findings}
    assert "drop `privileged: true`" in fixes[f"container {risky} runs privileged"]
    assert "mem_limit" in fixes[f"container {risky} has no memory limit"]
    assert found.lost <= 15


async def test_an_image_older_than_the_limit(podman, pair):
    _, tidy = pair
    containers = [c for c in read(podman.base_url, 30) if c.name == tidy]
    assert containers[0].image_created is not None
    assert judge(containers, 90, time.time()) == []  # the test image was built today
    later = judge(containers, 90, time.time() + 100 * 86400)
    assert [f.reason.split(": ")[0] for f in later] == [
        f"container {tidy}'s image {containers[0].image} was built 100 days ago"]
    assert f"docker pull {containers[0].image}" in later[0].fix


async def test_no_engine_is_not_applicable(tmp_path):
    found = await assess_containers(ctx(f"unix://{tmp_path}/none.sock"))
    assert found.lost == 0 and "no container engine answers" in found.summary
