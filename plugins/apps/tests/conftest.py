"""Fixtures for the apps tests: the session's throwaway Podman engine (its local busybox
image, no registry), a folder of test templates built on it, and the plugin in a real
agent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nebula_apps import plugin
from tests.app_template import WEB
from tests.engines import podman_fixtures, postgres_fixtures
from tests.engines.caddy import Caddy, running, site
from tests.engines.podman import Podman

podman = podman_fixtures.podman
client = podman_fixtures.client


@pytest.fixture
def templates_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "web.toml").write_text(WEB)
    return folder


@pytest.fixture
def start_apps(nebula_agent: Callable[..., Any], podman: Podman,
               templates_dir: Path) -> Callable[..., Any]:
    def start(**overrides: Any) -> Any:
        return nebula_agent({"apps": plugin}, config={"apps": {
            "base_url": podman.base_url, "templates_dir": str(templates_dir), **overrides}},
            schedule=False)
    return start


@pytest.fixture
def caddy(tmp_path: Path) -> Iterator[Caddy]:
    """A real Caddy already serving `taken.test` (a name a deploy cannot have)."""
    with running(tmp_path / "caddy", site("taken.test", "{port}", "127.0.0.1:9")) as server:
        yield server


@pytest.fixture
def start_apps_with_caddy(nebula_agent: Callable[..., Any], podman: Podman,
                          templates_dir: Path, caddy: Caddy) -> Callable[..., Any]:
    import nebula_caddy.plugin

    def start(**caddy_config: Any) -> Any:
        return nebula_agent({"apps": plugin, "caddy": nebula_caddy.plugin}, config={
            "apps": {"base_url": podman.base_url, "templates_dir": str(templates_dir)},
            "caddy": {"admin_url": caddy.admin_url, "timeout": 3, **caddy_config}},
            schedule=False)
    return start


cluster = postgres_fixtures.cluster


@pytest.fixture
def start_apps_with_postgres(nebula_agent: Callable[..., Any], podman: Podman,
                             templates_dir: Path, cluster: Any) -> Callable[..., Any]:
    """The apps plugin beside the postgres plugin on the session's throwaway cluster, with
    the test template `webdb` (the web template with a database)."""
    import nebula_postgres.plugin

    (templates_dir / "webdb.toml").write_text(
        WEB.replace('name = "web"', 'name = "webdb"') + '[database]\nenv = "DATABASE_URL"\n')

    def start() -> Any:
        return nebula_agent({"apps": plugin, "postgres": nebula_postgres.plugin}, config={
            "apps": {"base_url": podman.base_url, "templates_dir": str(templates_dir)},
            "postgres": cluster.config()}, schedule=False)
    return start
