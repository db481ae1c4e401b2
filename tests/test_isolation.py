"""One misbehaving plugin never takes down the agent or another plugin.

Through real entry points: the `nebula-faulty-plugins` wheel (tests/fixtures/faulty_plugins)
installed into a venv, served by `nebula run` in a subprocess. In-process: the misbehaving
classes of tests/sample_plugins.py handed to the agent next to a good plugin."""

from __future__ import annotations

import json
import urllib.request

import pytest
import tomlkit

from nebula.api import Check, Job, Manifest, Panel, hookimpl
from nebula.testing import write_config
from tests.agent_process import isolated_env, nebula
from tests.sample_plugins import (
    BadChecks,
    HangsInStartup,
    NoManifest,
    RaisesInHook,
    RaisesInStartup,
    Switchable,
    UnknownHook,
    WrongApi,
)

# --- through entry points, in a real agent process ----------------------------------------

FAILED_FROM_WHEEL = {
    "import_error": "import failed: ModuleNotFoundError: No module named "
                    "'libfoo_missing_dependency'",
    "wrong_api": "written for plugin API 9.0; this agent provides 1.2",
    "hook_raises": "startup failed: RuntimeError: hook exploded",
    "startup_hangs": "startup failed: timed out",
}
LOADED_FROM_WHEEL = ("check_raises", "check_hangs", "danger")
# Every plugin of the wheel is switched on: failing must come from the plugin, not config.
FAULTY_CONFIG = {name: {} for name in (*FAILED_FROM_WHEEL, *LOADED_FROM_WHEEL)}


@pytest.fixture(scope="module")
def faulty_agent(faulty_python, start_agent, tmp_path_factory):
    agent = start_agent(faulty_python, tmp_path_factory.mktemp("faulty-agent"), FAULTY_CONFIG,
                        {"startup_timeout": 1, "flap_threshold": 1})
    yield agent
    agent.stop()


def assert_alive(agent):
    assert agent.proc.poll() is None, agent.log()
    with urllib.request.urlopen(agent.url + "/healthz", timeout=5) as resp:
        assert resp.status == 200


def plugin_states(agent):
    status, body = agent.get("/api/v1/plugins")
    assert status == 200, body
    return {p["name"]: p for p in body["plugins"]}


@pytest.mark.parametrize("name", FAILED_FROM_WHEEL)
def test_bad_plugin_from_a_wheel_fails_with_its_reason(faulty_agent, name):
    plugin = plugin_states(faulty_agent)[name]
    assert plugin["state"] == "failed"
    assert FAILED_FROM_WHEEL[name] in plugin["error"]
    assert plugin["distribution"] == "nebula-faulty-plugins"
    assert_alive(faulty_agent)


def test_good_plugins_load_beside_bad_ones(faulty_agent):
    states = plugin_states(faulty_agent)
    for name in ("system", *LOADED_FROM_WHEEL):
        assert (states[name]["state"], states[name]["error"]) == ("loaded", None), name
    # A failed plugin contributes nothing, even what it declared before failing.
    _, body = faulty_agent.get("/api/v1/checks")
    assert {c["plugin"] for c in body["checks"]} == {"system", *LOADED_FROM_WHEEL}
    assert_alive(faulty_agent)


def test_raising_and_hanging_checks_are_unknown_with_the_error(faulty_agent):
    status, body = faulty_agent.post("/api/v1/checks/run",
                                     {"names": ["check_raises.fire", "check_hangs.stuck"]})
    assert status == 200, body
    fire, stuck = body["checks"]
    assert (fire["last_status"], fire["summary"]) == (
        "unknown", "check raised OSError: disk on fire")
    assert (stuck["last_status"], stuck["summary"]) == (
        "unknown", "check timed out after 0.5s")
    assert_alive(faulty_agent)


def test_good_checks_and_actions_still_work(faulty_agent, tmp_path):
    _, body = faulty_agent.get("/api/v1/checks")
    names = [c["name"] for c in body["checks"] if c["plugin"] in ("system", "danger")]
    assert "danger.armed" in names and "system.memory" in names
    status, body = faulty_agent.post("/api/v1/checks/run", {"names": names})
    assert status == 200, body
    for check in body["checks"]:
        assert check["last_status"] in ("ok", "warning", "critical"), check

    status, body = faulty_agent.post("/api/v1/actions/system.top_processes/run",
                                     {"params": {"n": 2}})
    assert status == 200, body
    assert len(body["result"]) == 2

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    status, body = faulty_agent.post("/api/v1/actions/danger.wipe/run",
                                     {"params": {"path": str(victim)}})
    assert (status, body["status"]) == (202, "pending_approval"), body
    assert victim.exists()
    status, body = faulty_agent.post(f"/api/v1/approvals/{body['approval']['id']}/approve")
    assert status == 200, body
    assert body["result"] == {"wiped": str(victim), "existed": True}
    assert not victim.exists()
    assert_alive(faulty_agent)


def test_reload_is_not_refused_for_plugins_that_cannot_load(faulty_agent):
    # The agent runs without them; refusing every reload for them would lock its config.
    status, body = faulty_agent.post("/api/v1/reload")
    assert status == 200, body
    # Unchanged running plugins are left alone; importable failed ones are retried.
    assert body["changes"] == {"hook_raises": "failed", "startup_hangs": "failed"}
    states = plugin_states(faulty_agent)
    for name, reason in FAILED_FROM_WHEEL.items():
        assert (states[name]["state"], reason in states[name]["error"]) == ("failed", True)
    assert_alive(faulty_agent)


# --- the CLI, one-shot, with a plugin that cannot import -----------------------------------


@pytest.fixture
def faulty_cli(faulty_python, tmp_path):
    config = write_config(tmp_path / "nebula.toml", None, FAULTY_CONFIG)
    env = isolated_env(tmp_path)

    def run(*args):
        result = nebula("--config", str(config), *args, env=env, python=faulty_python)
        return result, config

    return run


def test_plugin_list_works_when_a_plugin_cannot_import(faulty_cli):
    result, _ = faulty_cli("plugin", "list", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    for name in ("import_error", "wrong_api"):
        assert plugins[name]["state"] == "failed"
        assert FAILED_FROM_WHEEL[name] in plugins[name]["error"]
    assert plugins["danger"]["state"] == "loaded"
    assert plugins["system"]["state"] == "loaded"


def validate(faulty_cli):
    result, _ = faulty_cli("config", "validate", "--json")
    return result.returncode, [p["path"] for p in json.loads(result.stdout)["problems"]]


def test_plugin_that_cannot_import_can_be_disabled(faulty_cli):
    assert validate(faulty_cli) == (2, ["plugins.import_error", "plugins.wrong_api"])

    result, config = faulty_cli("plugin", "disable", "import_error", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["enabled"] is False
    assert tomlkit.parse(config.read_text())["plugins"]["import_error"]["enabled"] is False

    # Switched off, it no longer makes the config invalid; the other one still does.
    assert validate(faulty_cli) == (2, ["plugins.wrong_api"])
    # And it reads as disabled, keeping the reason it could not load.
    result, _ = faulty_cli("plugin", "info", "import_error", "--json")
    info = json.loads(result.stdout)
    assert info["state"] == "disabled"
    assert FAILED_FROM_WHEEL["import_error"] in info["error"]


# --- in-process, plugins handed to the agent ----------------------------------------------


async def _never():
    raise AssertionError("refused when declared, so never run")


class Declares:
    """Starts fine, then declares exactly the contributions it is given."""

    manifest = Manifest(api_version="1.0")

    def __init__(self, checks=(), jobs=(), panels=()):
        self.checks, self.jobs, self.panels = list(checks), list(jobs), list(panels)

    @hookimpl
    def nebula_checks(self):
        return self.checks

    @hookimpl
    def nebula_jobs(self):
        return self.jobs

    @hookimpl
    def nebula_panels(self):
        return self.panels


class SchemaRaises:
    manifest = Manifest(api_version="1.0")

    @hookimpl
    def nebula_config_schema(self):
        raise KeyError("schema file missing")

    @hookimpl
    def nebula_checks(self):
        raise AssertionError("a plugin without a schema must never start")


# name: (plugin factory, the reason its `failed` state must give)
BROKEN = {
    "raises_in_hook": (RaisesInHook, "startup failed: RuntimeError: hook exploded"),
    "raises_in_startup": (RaisesInStartup,
                          "startup failed: ValueError: cannot reach the service"),
    "hangs_in_startup": (HangsInStartup, "startup failed: timed out"),
    "wrong_api": (WrongApi, "written for plugin API 2.0; this agent provides 1.2"),
    "no_manifest": (NoManifest, "declares no `manifest = Manifest(api_version=...)`"),
    "unknown_hook": (UnknownHook, "invalid hooks: PluginValidationError: unknown hook "
                                  "'nebula_chekcs'"),
    "schema_raises": (SchemaRaises, "nebula_config_schema raised KeyError: 'schema file "
                                    "missing'"),
    "wrong_type": (lambda: Declares(checks=[Panel("oops", "stat", _never)]),
                   "startup failed: PluginError: nebula_checks returned a Panel, not a Check"),
    "bad_name": (lambda: Declares(checks=[Check("Not A Name", _never)]),
                 "startup failed: ValueError: contribution name 'Not A Name'"),
    "duplicate_names": (lambda: Declares(checks=[Check("twin", _never)] * 2),
                        "startup failed: PluginError: nebula_checks returned two "
                        "contributions named 'twin'"),
    "zero_interval": (lambda: Declares(checks=[Check("zero", _never, interval=0)]),
                      "startup failed: ValueError: job zero_interval.zero: interval must be "
                      "positive"),
    "unscheduled_job": (lambda: Declares(jobs=[Job("never", _never)]),
                        "startup failed: ValueError: job unscheduled_job.never: give exactly "
                        "one of interval or cron"),
    "unknown_panel_kind": (lambda: Declares(panels=[Panel("pie", "pie", _never)]),
                           "startup failed: PluginError: panel 'unknown_panel_kind.pie' has "
                           "kind 'pie', not one of keyvalue"),
}


async def assert_switchable_answers(a):
    async with a.session.get(a.url + "/healthz") as resp:
        assert resp.status == 200
    status, body = await a.post("/api/v1/checks/run", {"names": ["switchable.switch"]})
    assert (status, body["checks"][0]["last_status"]) == (200, "ok")
    status, body = await a.post("/api/v1/actions/switchable.echo/run",
                                {"params": {"word": "still here"}})
    assert (status, body["result"]) == (200, {"echo": {"word": "still here"}})


@pytest.mark.parametrize("name", BROKEN)
async def test_broken_plugin_fails_alone(nebula_agent, name):
    make, reason = BROKEN[name]
    async with nebula_agent({"switchable": Switchable(), name: make()},
                            agent={"startup_timeout": 0.3}) as a:
        status, body = await a.get("/api/v1/plugins")
        assert status == 200
        states = {p["name"]: p for p in body["plugins"]}
        assert states[name]["state"] == "failed"
        assert reason in states[name]["error"], states[name]["error"]
        assert not any(states[name]["contributions"].values())
        assert states["switchable"]["state"] == "loaded"
        await assert_switchable_answers(a)
        # A reload retries what can be retried, and a broken plugin fails again the same way.
        status, body = await a.post("/api/v1/reload")
        assert status == 200, body
        _, body = await a.get(f"/api/v1/plugins/{name}")
        assert (body["state"], reason in body["error"]) == ("failed", True), body
        await assert_switchable_answers(a)


async def test_bad_checks_are_unknown_and_their_plugin_stays_loaded(nebula_agent):
    async with nebula_agent({"switchable": Switchable(), "bad": BadChecks()},
                            agent={"flap_threshold": 1}) as a:
        _, body = await a.get("/api/v1/plugins/bad")
        assert body["state"] == "loaded"
        status, body = await a.post("/api/v1/checks/run", {"names": [
            "bad.raises", "bad.hangs", "bad.garbage"]})
        assert status == 200
        assert [(c["status"], c["summary"]) for c in body["checks"]] == [
            ("unknown", "check raised OSError: disk on fire"),
            ("unknown", "check timed out after 0.3s"),
            ("unknown", "check returned str, not a CheckResult"),
        ]
        await assert_switchable_answers(a)
