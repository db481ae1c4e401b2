"""The suite hashes passwords at argon2's least cost (tests/conftest.py); the agent itself
must not: a stored hash is argon2id at argon2-cffi's recommended cost (RFC 9106's
low-memory profile: 64 MiB, 3 passes, 4 lanes)."""

from __future__ import annotations

import argon2
import pytest
from argon2 import profiles

from nebula.builtins.auth import users


def test_the_agent_hashes_passwords_at_the_recommended_cost(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.undo()  # the production hasher, not the suite's cheap one
    stored = users._hasher().hash("correct horse 42")
    assert argon2.extract_parameters(stored) == profiles.RFC_9106_LOW_MEMORY
    assert stored.startswith("$argon2id$")


def test_the_suite_hashes_cheaply():
    """What every other test in this process gets, so the one above is not vacuous."""
    stored = users._hasher().hash("correct horse 42")
    assert argon2.extract_parameters(stored).memory_cost == 8
