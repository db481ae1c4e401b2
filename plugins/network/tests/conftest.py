"""Fixtures for the network plugin's tests: a second host in a network namespace."""

from __future__ import annotations

from collections.abc import Iterator

import network_netns
import pytest


@pytest.fixture(scope="module")
def netns() -> Iterator[network_netns.Netns]:
    ns = network_netns.create()
    try:
        yield ns
    finally:
        ns.delete()
