"""`nebula plugin new`: the scaffolded package builds, installs with `nebula plugin install`,
loads with all four kinds of contribution and passes its own tests straight away."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from nebula.api import PLUGIN_API_VERSION
from tests import wheel_venvs
from tests.agent_process import isolated_env, nebula
from tests.wheel_venvs import ROOT, build_wheel, config_with_comment

plugin_venv = wheel_venvs.plugin_venv
TEMPLATES = ROOT / "core" / "nebula" / "scaffold" / "template"


def scaffold(venv, tmp_path, name):
    body = venv.nebula_json(tmp_path, "plugin", "new", name, "--dir", tmp_path)
    return body, Path(body["path"])


def test_scaffold_builds_installs_loads_and_passes_its_own_tests(
        plugin_venv, start_agent, tmp_path):
    body, root = scaffold(plugin_venv, tmp_path, "weather-probe")
    assert (body["plugin"], body["distribution"]) == ("weather_probe", "nebula-weather-probe")
    assert root == tmp_path / "nebula-weather-probe"
    assert body["files"] == ["README.md", "nebula_weather_probe/__init__.py",
                             "nebula_weather_probe/hooks.py", "nebula_weather_probe/plugin.py",
                             "nebula_weather_probe/schema.py", "pyproject.toml",
                             "tests/test_plugin.py"]
    assert "{{" not in "".join(p.read_text() for p in root.rglob("*.*"))

    wheel = build_wheel(root, tmp_path / "wheels")
    config = config_with_comment(tmp_path / "nebula.toml", tmp_path / "data")
    installed = plugin_venv.nebula_json(tmp_path, "--config", config, "plugin", "install",
                                        "--no-index", wheel)
    assert installed["plugins"] == ["weather_probe"]
    (tmp_path / "agent").mkdir()
    try:
        agent = start_agent(plugin_venv.python, tmp_path / "agent",
                            {"weather_probe": {"warn_above": 3}})
        status, plugin = agent.get("/api/v1/plugins/weather_probe")
        agent.stop()
        assert (status, plugin["state"], plugin["error"]) == (200, "loaded", None), plugin
        assert plugin["api_version"] == PLUGIN_API_VERSION
        assert {kind: names for kind, names in plugin["contributions"].items() if names} == {
            "checks": ["weather_probe.count"], "actions": ["weather_probe.bump"],
            "panels": ["weather_probe.count"], "tools": ["weather_probe.count"]}

        result = plugin_venv.run_tests(root / "tests", cwd=root)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "2 passed" in result.stdout
    finally:
        plugin_venv.nebula_json(tmp_path, "--config", config, "plugin", "uninstall",
                                "weather_probe")
    assert plugin_venv.version("nebula-weather-probe") is None


def test_scaffold_installs_from_its_source_folder(plugin_venv, tmp_path):
    _, root = scaffold(plugin_venv, tmp_path, "from_source")
    config = config_with_comment(tmp_path / "nebula.toml", tmp_path / "data")
    body = plugin_venv.nebula_json(tmp_path, "--config", config, "plugin", "install",
                                   "--no-index", "--no-build-isolation", root)
    try:
        assert (body["distribution"], body["plugins"]) == ("nebula-from-source",
                                                           ["from_source"])
    finally:
        plugin_venv.nebula_json(tmp_path, "--config", config, "plugin", "uninstall",
                                "from_source")


def test_new_refuses_a_bad_name_and_an_existing_folder(tmp_path):
    env = isolated_env(tmp_path)
    result = nebula("plugin", "new", "9lives", "--dir", str(tmp_path), "--json", env=env)
    assert result.returncode == 1
    assert "must be letters, digits and _ or -" in json.loads(result.stdout)["error"]
    assert list(tmp_path.glob("nebula-*")) == []

    assert nebula("plugin", "new", "twice", "--dir", str(tmp_path), env=env).returncode == 0
    readme = tmp_path / "nebula-twice" / "README.md"
    readme.write_text("mine")
    result = nebula("plugin", "new", "twice", "--dir", str(tmp_path), env=env)
    assert result.returncode == 1
    assert "already exists" in result.stderr
    assert readme.read_text() == "mine"


def test_project_wheel_ships_the_templates(tmp_path):
    wheel = build_wheel(ROOT, tmp_path)
    shipped = set(zipfile.ZipFile(wheel).namelist())
    templates = {f"nebula/scaffold/template/{p.relative_to(TEMPLATES)}"
                 for p in TEMPLATES.rglob("*.tmpl")}
    assert len(templates) == 7
    assert templates <= shipped
