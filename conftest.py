"""Markers for the whole suite (tests/, plugins/*/tests, examples/*/tests).

`e2e`: a test that starts a browser, a subprocess agent or CLI, a fresh venv, or a real
engine (PostgreSQL, Podman, dnsmasq). `make test` runs everything; `make test-fast`
leaves these out for a quick loop while editing.
"""

from __future__ import annotations

from fnmatch import fnmatch

import pytest

E2E_FIXTURES = frozenset({
    "browser", "page", "live_agent", "start_agent", "hello_python", "faulty_python",
    "plugin_wheels", "plugin_venv", "cluster", "pg_agent", "big_database", "podman",
    "client", "run_container", "rotating_podman", "slow_cleanup_podman", "zone", "dns",
    "zone_dns", "sites",
})
# Tests that drive the real `nebula` command in subprocesses without a fixture saying so.
E2E_FILES = ("tests/test_cli*.py", "tests/test_lifecycle.py", "tests/test_file_modes.py",
             "tests/test_plugin_new.py", "tests/test_plugin_install.py",
             "tests/test_thirdparty.py", "tests/jarvis/test_cli.py", "tests/jarvis/test_extra.py",
             "tests/web/test_user_cli.py", "tests/test_secrets.py", "tests/test_reverse_proxy.py")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: browser, subprocess, venv or real-engine test "
                                       "(left out by `make test-fast`)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        path = item.path.relative_to(root).as_posix()
        if (E2E_FIXTURES.intersection(getattr(item, "fixturenames", ()))
                or any(fnmatch(path, pattern) for pattern in E2E_FILES)):
            item.add_marker(pytest.mark.e2e)
