"""A bundled plugin's SDK is an extra of nebula-command (`[docker]`, `[postgres]`, `[dns]`):
installed without it, the plugin is `failed` saying which extra to install, and the others
run. The manifest names the extra (`Manifest(extra=...)`), so the message is exact."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nebula.api import Manifest
from nebula.plugins import FAILED, PluginManager
from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, nebula
from tests.hidden_package import env_without

pytestmark = pytest.mark.e2e

@pytest.fixture
def env_without_docker(tmp_path):
    return env_without("docker", tmp_path)


def test_a_plugin_without_its_extra_fails_naming_it_and_the_others_run(
        tmp_path, env_without_docker):
    config = write_config(tmp_path / "nebula.toml", {"port": free_port()},
                          {"docker": {"enabled": True}})
    agent = AgentProcess(config, tmp_path / "data", env_without_docker)
    try:
        agent.start()
        status, body = agent.get("/api/v1/plugins")
        assert status == 200
        plugins = {p["name"]: p for p in body["plugins"]}
        docker = plugins["docker"]
        assert docker["state"] == "failed"
        assert "install nebula-command[docker]" in docker["error"], docker["error"]
        assert "docker package" in docker["error"]
        assert plugins["system"]["state"] == "loaded"
        assert plugins["auth"]["state"] == "loaded"
        assert agent.get("/api/v1/status")[0] == 200
        # The CLI asks the running agent and shows the same reason.
        listed = nebula("--config", str(config), "plugin", "list", env=env_without_docker)
        assert listed.returncode == 0, listed.stderr
        assert "install nebula-command[docker]" in listed.stdout
    finally:
        agent.stop()


def _package(tmp_path, monkeypatch, name: str, hooks_code: str) -> None:
    """A throwaway plugin package `name` on sys.path whose hooks module is `hooks_code`."""
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "hooks.py").write_text(hooks_code)
    monkeypatch.syspath_prepend(str(tmp_path))


def _failure(name: str, extra: str | None, distribution: str | None = None) -> str:
    manager = PluginManager({name: Manifest(api_version="1.2", hooks=f"{name}.hooks",
                                            extra=extra)}, discover=False)
    record = manager.records[name]
    record.distribution = distribution
    assert not manager.load_hooks(record)
    assert record.state == FAILED and record.error is not None
    return record.error


def test_only_a_missing_third_party_package_is_blamed_on_the_extra(tmp_path, monkeypatch):
    _package(tmp_path, monkeypatch, "extras_probe_sdk",
             "import extras_probe_missing_sdk  # noqa: F401\n")
    assert _failure("extras_probe_sdk", "probe", "nebula-probe") == (
        "needs the extras_probe_missing_sdk package, which is not installed: install "
        "nebula-probe[probe] (pip install 'nebula-probe[probe]')")
    # Handed in, it has no distribution to name.
    assert _failure("extras_probe_sdk", "probe").endswith("install its [probe] extra")
    # No extra declared: the import error as it was.
    assert _failure("extras_probe_sdk", None).startswith(
        "import of extras_probe_sdk.hooks failed: ModuleNotFoundError")

    # A module of the plugin itself is missing: a bug, which no extra would fix.
    _package(tmp_path, monkeypatch, "extras_probe_own",
             "from extras_probe_own import gone  # noqa: F401\n")
    assert "install" not in _failure("extras_probe_own", "probe", "nebula-probe")


HOOKS_WITHOUT = r"""
import importlib, sys
from nebula.plugins import PluginManager
name = sys.argv[1]
manifest = importlib.import_module(f"nebula_{name}.plugin").manifest
manager = PluginManager({name: manifest}, discover=False)
record = manager.records[name]
record.distribution = "nebula-command"
manager.load_hooks(record)
print("=", record.state, record.error)
"""


@pytest.mark.parametrize(("plugin", "package", "extra"), [
    ("docker", "docker", "docker"), ("apps", "docker", "apps"),
    ("postgres", "psycopg", "postgres"),
    ("domains", "dns", "dns"), ("zoneedit", "dns", "dns"), ("network", "dns", "dns"),
    ("nas", "smbprotocol", "nas"),
    ("media", "filetype", "media")])
def test_a_plugin_that_loads_its_sdk_lazily_still_fails_at_start_without_it(
        tmp_path, plugin, package, extra):
    """Their hooks modules do not import the SDK (tests/test_idle_imports.py); they still
    refuse to start on an install without it, naming the extra, before any call needs it."""
    done = subprocess.run([sys.executable, "-c", HOOKS_WITHOUT, plugin], capture_output=True,
                          text=True, env=env_without(package, tmp_path), timeout=60,
                          cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    [line] = [line for line in done.stdout.splitlines() if line.startswith("= ")]
    assert line == (f"= failed needs the {package} package, which is not installed: install "
                    f"nebula-command[{extra}] (pip install 'nebula-command[{extra}]')")
