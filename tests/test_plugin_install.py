"""`nebula plugin install|uninstall` in a fresh venv: the n8n example from its wheel end to
end, a running agent reloaded, and broken plugins refused with nothing left behind."""

from __future__ import annotations

import json
import shutil

import pytest
import tomlkit

from nebula.api import PLUGIN_API_VERSION
from tests import wheel_venvs
from tests.wheel_venvs import (
    HELLO_COMMENT,
    ROOT,
    build_wheel,
    config_with_comment,
    copy_tests,
    write_package,
)

plugin_venv = wheel_venvs.plugin_venv

PLUGIN_MODULE = "from nebula.api import Manifest\nmanifest = Manifest(api_version={!r})\n"

# case: (distribution, import package, modules, entry points, what the refusal says)
BROKEN = {
    "no_entry_point": ("nebula-not-a-plugin", "nebula_not_a_plugin",
                       {"nebula_not_a_plugin/__init__.py": "VALUE = 1\n"}, {},
                       "provides no `nebula.plugins` entry point"),
    "wrong_api": ("nebula-from-the-future", "nebula_future",
                  {"nebula_future/__init__.py": "",
                   "nebula_future/plugin.py": PLUGIN_MODULE.format("2.0")},
                  {"future": "nebula_future.plugin"},
                  f"future: written for plugin API 2.0; this agent provides "
                  f"{PLUGIN_API_VERSION}"),
    "import_error": ("nebula-needs-libfoo", "nebula_needs_libfoo",
                     {"nebula_needs_libfoo/__init__.py": "",
                      "nebula_needs_libfoo/plugin.py": "import libfoo_not_installed\n"},
                     {"needs_libfoo": "nebula_needs_libfoo.plugin"},
                     "needs_libfoo: import failed: ModuleNotFoundError: No module named "
                     "'libfoo_not_installed'"),
}


@pytest.fixture(scope="module")
def broken_wheels(tmp_path_factory):
    root = tmp_path_factory.mktemp("broken")
    return {case: build_wheel(write_package(root / case, dist, "0.1.0", modules, eps),
                              root / "wheels" / case)
            for case, (dist, _, modules, eps, _) in BROKEN.items()}


@pytest.fixture(scope="module")
def n8n_wheel(tmp_path_factory):
    return build_wheel(ROOT / "examples" / "n8n", tmp_path_factory.mktemp("n8n-wheel"))


def install(venv, home, config, *target, ok=True):
    return venv.nebula_json(home, "--config", config, "plugin", "install", "--no-index",
                            *target, ok=ok)


def listed(venv, home, config):
    body = venv.nebula_json(home, "--config", config, "plugin", "list")
    return {p["name"]: p for p in body["plugins"]}


def test_n8n_example_installs_loads_passes_its_tests_and_uninstalls(
        plugin_venv, n8n_wheel, tmp_path):
    config = config_with_comment(tmp_path / "nebula.toml", tmp_path / "data")
    original = config.read_bytes()

    body = install(plugin_venv, tmp_path, config, n8n_wheel)
    assert (body["distribution"], body["version"], body["plugins"]) == (
        "nebula-n8n", "0.1.0", ["n8n"])
    assert body["pip_installed"] == ["nebula-n8n"]
    assert body["agent_running"] is False
    text = config.read_text()
    assert text.startswith(HELLO_COMMENT)
    assert tomlkit.parse(text).unwrap()["plugins"]["n8n"] == {"enabled": True}

    n8n = listed(plugin_venv, tmp_path, config)["n8n"]
    assert (n8n["state"], n8n["error"], n8n["distribution"]) == ("loaded", None, "nebula-n8n")
    assert n8n["api_version"] == "1.2"  # what the example declares

    # Its own tests, against the installed wheel (the copy has no package beside them).
    suite = copy_tests(ROOT / "examples" / "n8n", tmp_path / "n8n-tests")
    result = plugin_venv.run_tests(suite / "tests", cwd=suite)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout

    body = plugin_venv.nebula_json(tmp_path, "--config", config, "plugin", "uninstall", "n8n")
    assert (body["distribution"], body["config_section_removed"]) == ("nebula-n8n", True)
    assert config.read_bytes() == original
    assert plugin_venv.version("nebula-n8n") is None
    assert "n8n" not in listed(plugin_venv, tmp_path, config)


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_plugin_is_refused_uninstalled_and_config_untouched(
        case, plugin_venv, broken_wheels, tmp_path):
    dist, package, _, eps, why = BROKEN[case]
    config = config_with_comment(tmp_path / "nebula.toml", tmp_path / "data")
    original = config.read_bytes()

    result = plugin_venv.nebula(tmp_path, "--config", config, "plugin", "install",
                                "--no-index", broken_wheels[case], "--json")
    assert result.returncode == 1, result.stderr
    body = json.loads(result.stdout)
    assert body["ok"] is False
    assert why in body["error"]
    assert f"removed {dist}" in body["error"]
    assert why in result.stderr  # the person at the terminal reads it too
    assert "Successfully installed" in result.stderr  # pip's progress went to stderr

    assert config.read_bytes() == original
    assert plugin_venv.version(dist) is None
    assert not (plugin_venv.site_packages / package).exists()
    assert not set(eps) & set(listed(plugin_venv, tmp_path, config))


def test_pip_failure_installs_nothing(plugin_venv, tmp_path):
    config = config_with_comment(tmp_path / "nebula.toml", tmp_path / "data")
    original = config.read_bytes()
    body = install(plugin_venv, tmp_path, config, "nebula-no-such-plugin", ok=False)
    assert body["error"].startswith("pip install failed")
    assert "nebula-no-such-plugin" in body["error"]
    assert config.read_bytes() == original


def test_refused_upgrade_puts_the_previous_version_back(plugin_venv, tmp_path):
    """nebula-hello 0.3.1 is installed; 0.4.0 was written for API 2.0, so the upgrade is
    refused and 0.3.1 reinstalled from the same find-links folder."""
    links = tmp_path / "links"
    links.mkdir()
    shutil.copy(plugin_venv.hello_wheel, links)
    source = write_package(tmp_path / "hello-0.4", "nebula-hello", "0.4.0",
                           {"nebula_hello/__init__.py": "",
                            "nebula_hello/plugin.py": PLUGIN_MODULE.format("2.0")},
                           {"hello": "nebula_hello.plugin"})
    build_wheel(source, links)
    config = config_with_comment(tmp_path / "nebula.toml", tmp_path / "data")
    original = config.read_bytes()
    try:
        body = install(plugin_venv, tmp_path, config, "--find-links", links, "--upgrade",
                       "nebula-hello", ok=False)
        assert "hello: written for plugin API 2.0" in body["error"]
        assert "restored nebula-hello==0.3.1" in body["error"]
        assert plugin_venv.version("nebula-hello") == "0.3.1"
        assert config.read_bytes() == original
        hello = listed(plugin_venv, tmp_path, config)["hello"]
        assert (hello["version"], hello["error"]) == ("0.3.1", None)
    finally:
        plugin_venv.restore_hello()


def test_install_and_uninstall_reload_a_running_agent(plugin_venv, start_agent, tmp_path):
    """nebula-hello is installed but not enabled: installing it again has nothing for pip
    to do, enables it and starts it in the running agent; uninstalling stops it there."""
    agent = start_agent(plugin_venv.python, tmp_path)
    try:
        assert agent.get("/api/v1/plugins/hello")[1]["state"] == "disabled"
        body = install(plugin_venv, tmp_path, agent.config, plugin_venv.hello_wheel)
        assert body["pip_installed"] == []
        assert (body["agent_running"], body["reload"]) == (True, {"hello": "started"})
        assert agent.get("/api/v1/plugins/hello")[1]["state"] == "loaded"

        body = plugin_venv.nebula_json(tmp_path, "--config", agent.config, "plugin",
                                       "uninstall", "hello")
        assert body["reload"] == {"hello": "stopped"}
        assert agent.get("/api/v1/plugins/hello")[1]["state"] == "disabled"
        assert plugin_venv.version("nebula-hello") is None
        assert "plugins" not in tomlkit.parse(agent.config.read_text())
    finally:
        agent.stop()
        plugin_venv.restore_hello()


def test_bundled_plugins_cannot_be_uninstalled(plugin_venv, tmp_path):
    config = config_with_comment(tmp_path / "nebula.toml", tmp_path / "data")
    body = plugin_venv.nebula_json(tmp_path, "--config", config, "plugin", "uninstall",
                                   "system", ok=False)
    assert "nebula-command is Nebula itself" in body["error"]
    body = plugin_venv.nebula_json(tmp_path, "--config", config, "plugin", "uninstall",
                                   "helo", ok=False)
    assert body["error"] == "no plugin named 'helo'; did you mean 'hello'?"
    assert plugin_venv.version("nebula-command") is not None


def test_a_new_plugin_installed_under_a_running_agent_starts_without_a_restart(
        plugin_venv, start_agent, tmp_path):
    source = write_package(tmp_path / "greet", "nebula-greet", "0.1.0",
                           {"nebula_greet/__init__.py": "",
                            "nebula_greet/plugin.py": PLUGIN_MODULE.format(PLUGIN_API_VERSION)},
                           {"greet": "nebula_greet.plugin"})
    wheel = build_wheel(source, tmp_path / "wheels")
    agent = start_agent(plugin_venv.python, tmp_path)
    try:
        assert agent.get("/api/v1/plugins/greet")[0] == 404
        body = install(plugin_venv, tmp_path, agent.config, wheel)
        assert (body["reload"], body.get("restart_needed")) == ({"greet": "started"}, None)
        assert agent.get("/api/v1/plugins/greet")[1]["state"] == "loaded"
        body = plugin_venv.nebula_json(tmp_path, "--config", agent.config, "plugin",
                                       "uninstall", "greet")
        assert body["reload"] == {"greet": "stopped"}
        assert plugin_venv.version("nebula-greet") is None
    finally:
        agent.stop()
