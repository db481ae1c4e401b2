"""Plugin API 1.2: the manifest is read without importing the plugin's hooks, hooks are
real `@hookimpl` functions validated by pluggy, and the runtime startup returns is handed
to every hook and closed on stop."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from tests.api12 import hooks
from tests.api12.manifest import manifest, misspelt


@pytest.mark.e2e  # a fresh interpreter, where sys.modules tells
def test_reading_the_manifest_imports_no_hook_module():
    code = ("import sys\n"
            "from nebula.plugins import PluginManager\n"
            "from tests.api12.manifest import manifest\n"
            "m = PluginManager({'greeter': manifest}, discover=False)\n"
            "r = m.records['greeter']\n"
            "assert r.loadable and r.schema['properties']['greeting'], r\n"
            "print('tests.api12.hooks' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "False"


async def test_the_runtime_is_kept_handed_to_hooks_and_closed(nebula_agent):
    hooks.CLOSED.clear()
    async with nebula_agent({"greeter": manifest}, config={"greeter": {"greeting": "hi"}}) as a:
        first = await a.run_check("greeter.greet")
        second = await a.run_check("greeter.greet")
        assert (first["summary"], second["summary"]) == ("hi #1", "hi #2")
        record = a.agent.manager.records["greeter"]
        runtime = record.ctx.runtime
        assert isinstance(runtime, hooks.Runtime)
        # A reload with a new section restarts the plugin: the old runtime is closed.
        config = a.agent.config
        await a.agent.reload(replace(config, plugins={**config.plugins,
                                                       "greeter": {"greeting": "hey"}}))
        assert [runtime] == hooks.CLOSED
        assert (await a.run_check("greeter.greet"))["summary"] == "hey #1"
    assert len(hooks.CLOSED) == 2


async def test_a_misspelt_hook_is_refused_with_the_name_it_meant(nebula_agent):
    async with nebula_agent({"misspelt": misspelt}) as a:
        plugin = await a.plugin("misspelt")
    assert plugin["state"] == "failed"
    assert "nebula_chekcs" in plugin["error"]
    assert "did you mean 'nebula_checks'?" in plugin["error"]


def test_a_plugin_written_for_1_1_with_lazy_hooks_is_told_what_replaced_it():
    from nebula.plugins import PluginManager

    class EntryPoint:
        name, dist = "old", None

        @staticmethod
        def load() -> object:
            from nebula.api import lazy_hooks

            return lazy_hooks

    manager = PluginManager(discover=False)
    (record,) = manager.load_entry_points([EntryPoint()])
    assert record.state == "failed"
    assert "nebula.api.lazy_hooks moved out of nebula.api in plugin API 1.2" in record.error
    assert "Manifest(hooks=" in record.error
