"""Built-in plugins and the hooks they use, which any plugin can use too: CLI commands,
API endpoints under /api/v1/<plugin>, panel pages and assets, reconfiguring in place.

Jarvis and remediation are plugins: always registered (also when a test hands plugins
in), started, stopped, failed and reported like any other; the layers below them do not
import them."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from aiohttp import web

from nebula.api import Manifest, Status, hookimpl
from nebula.config import load
from nebula.surfaces import ADMIN, OVERVIEW, Endpoint, WebPage
from nebula.testing import run_agent, write_config
from tests.remediation_helpers import Fixable, cycle, policy_config, wait_events
from tests.sample_plugins import Switchable

CORE = Path(__file__).resolve().parents[1] / "core" / "nebula"
BUILTIN_CODE = ("nebula.jarvis", "nebula.remediation", "nebula.builtins.jarvis",
                "nebula.builtins.remediation", "nebula.builtins.service",
                "nebula.builtins.backup", "nebula.builtins.installer",
                "nebula.builtins.openapi", "nebula.builtins.prometheus",
                "nebula.builtins.maintenance")


# --- layers ---------------------------------------------------------------------------------


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


LOWER_LAYERS = sorted([CORE / "config.py", CORE / "plugins.py", CORE / "agent.py",
                       CORE / "manifests.py", *(CORE / "http").glob("*.py"),
                       *(CORE / "web").glob("*.py"), *(CORE / "cli").glob("*.py")])


@pytest.mark.parametrize("path", LOWER_LAYERS, ids=lambda p: str(p.relative_to(CORE)))
def test_the_core_below_the_builtins_does_not_import_them(path):
    reached = {m for m in imported_modules(path) if m.startswith(BUILTIN_CODE)}
    assert reached == set(), f"{path.name} imports a built-in plugin's code: {reached}"


def test_help_lists_the_builtin_commands_without_importing_them():
    code = textwrap.dedent("""
        import sys
        from nebula.cli import main
        try:
            main(["--help"])
        except SystemExit:
            pass
        print("MODULES", sorted(m for m in sys.modules
                                if m.endswith(".cli") and m.startswith("nebula.builtins")
                                or m in ("asyncio", "aiohttp", "openai")))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert "  jarvis " in result.stdout and "  remediation " in result.stdout
    for name in ("service", "backup", "restore"):
        assert f"  {name} " in result.stdout
    assert result.stdout.splitlines()[-1] == "MODULES []", result.stdout


def test_a_builtins_group_named_like_a_core_group_adds_its_commands_to_it():
    code = textwrap.dedent("""
        import sys
        from nebula.cli import main
        try:
            main(["plugin", "--help"])
        except SystemExit:
            pass
        print("MODULES", sorted(m for m in sys.modules
                                if m.startswith("nebula.builtins.installer.")
                                and not m.endswith((".plugin", ".hooks"))
                                or m in ("asyncio", "aiohttp")))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    listed = re.findall(r"^  (\w+) ", result.stdout, re.MULTILINE)
    assert {"list", "info", "enable", "disable", "install", "uninstall", "new"} <= set(listed)
    assert "taken" not in result.stderr
    assert result.stdout.splitlines()[-1] == "MODULES []", result.stdout


def test_an_installed_plugins_group_joins_the_core_group_when_asked_for(monkeypatch):
    import click
    from click.testing import CliRunner

    import nebula.cli as cli

    core = cli.main.commands["plugin"]
    assert isinstance(core, click.Group)
    monkeypatch.setattr(core, "commands", dict(core.commands))

    @click.command()
    def publish() -> None:
        click.echo("published")

    @click.command(name="list")
    def shadow() -> None:
        click.echo("not the core's")

    def installed(taken, groups):
        found: dict[str, click.Command] = {}
        cli._adopt(found, taken, "hub", [click.Group("plugin", commands=[publish, shadow])],
                   groups)
        return found

    monkeypatch.setattr(cli, "installed_commands", installed)
    monkeypatch.setattr(cli.main, "_installed", None)
    result = CliRunner().invoke(cli.main, ["plugin", "publish"])
    assert (result.exit_code, result.stdout) == (0, "published\n"), result.output
    assert "plugin hub: command 'list' is taken; skipped" in result.stderr
    assert core.commands["list"].callback is not shadow.callback


# --- always there, reported like any plugin --------------------------------------------------


async def test_builtins_load_beside_plugins_handed_in(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        _, body = await a.get("/api/v1/plugins")
        plugins = {p["name"]: p for p in body["plugins"]}
        for name in ("jarvis", "remediation"):
            assert plugins[name]["state"] == "loaded" and plugins[name]["builtin"] is True
            assert plugins[name]["distribution"] == "nebula-command"
            assert plugins[name]["api_version"] == "1.2"
        assert plugins["switchable"]["builtin"] is False
        assert a.agent.runtime("jarvis") is not None
        assert a.agent.runtime("switchable") is None  # it returned no runtime


async def test_a_plugin_handed_in_under_a_builtins_name_replaces_it(nebula_agent):
    async with nebula_agent({"jarvis": Switchable()}) as a:
        _, body = await a.get("/api/v1/plugins")
        plugins = {p["name"]: p for p in body["plugins"]}
        assert plugins["jarvis"]["builtin"] is False
        assert plugins["jarvis"]["contributions"]["checks"] == ["jarvis.switch"]
        status, _ = await a.get("/api/v1/jarvis/status")
        assert status == 404


def test_the_plugins_section_of_a_claiming_builtin_only_switches_it(tmp_path):
    from nebula.plugins import PluginManager, validate_plugins

    path = write_config(tmp_path / "nebula.toml", None,
                        {"jarvis": {"enabled": True, "model": "x"}})
    problems = validate_plugins(load(path), PluginManager(discover=False))
    assert [str(p) for p in problems] == [
        f"{path}:6: plugins.jarvis.model: unknown key 'model'; jarvis is configured in its "
        "[jarvis] section, this one only switches it off"]


async def test_a_disabled_builtin_serves_nothing_and_its_runtime_is_closed(tmp_path):
    plugin = Fixable()
    policy = {"name": "heal", "check": "switchable.switch", "action": "switchable.fix",
              "cycles": 1}
    path = policy_config(tmp_path / "nebula.toml", [policy])
    async with run_agent(load(path), {"switchable": plugin}, schedule=False) as a:
        remediation = a.agent.runtime("remediation")
        assert remediation.observe in a.agent.health.listeners
        policy_config(path, [policy], {"remediation": {"enabled": False}})
        status, body = await a.post("/api/v1/reload")
        assert (status, body["changes"]) == (200, {"remediation": "stopped"})
        # Closed: it no longer listens to results, so a failing check runs nothing.
        assert remediation.observe not in a.agent.health.listeners
        await cycle(a, plugin, Status.CRITICAL, 2)
        assert plugin.fixes == 0 and a.agent.runtime("remediation") is None
        status, problem = await a.get("/api/v1/remediation")
        assert status == 503 and problem["detail"] == "plugin remediation is disabled"
        _, doc = await a.get("/api/v1/openapi.json")
        assert "/api/v1/remediation" not in doc["paths"]


async def test_metrics_and_the_openapi_document_go_with_their_builtins(tmp_path):
    path = write_config(tmp_path / "nebula.toml")
    async with run_agent(load(path), {"switchable": Switchable()}, schedule=False) as a:
        metrics = a.agent.runtime("prometheus")
        assert metrics.observe in a.agent.health.listeners
        status, text = await a.get("/metrics")
        assert status == 200 and "nebula_check_status" in text
        status, doc = await a.get("/api/v1/openapi.json")
        assert status == 200 and doc["paths"]["/metrics"]["get"]["operationId"] == \
            "prometheus_get_metrics"
        write_config(path, plugins={"prometheus": {"enabled": False},
                                    "openapi": {"enabled": False}})
        status, body = await a.post("/api/v1/reload")
        assert (status, body["changes"]) == (200, {"openapi": "stopped",
                                                   "prometheus": "stopped"})
        # Closed: it no longer times checks.
        assert metrics.observe not in a.agent.health.listeners
        status, problem = await a.get("/metrics")
        assert status == 503 and problem["detail"] == "plugin prometheus is disabled"
        status, problem = await a.get("/api/v1/openapi.json")
        assert status == 503 and problem["detail"] == "plugin openapi is disabled"


async def test_jarvis_closes_its_turns_when_it_stops(tmp_path):
    from tests.jarvis.conftest import ask, write_jarvis_config
    from tests.jarvis.openai_server import FakeOpenAI, tool_call
    from tests.jarvis.ops_plugin import Ops

    async with FakeOpenAI() as model:
        model.add(tool_call("ops__restart", {"name": "web"}))
        path = write_jarvis_config(tmp_path / "nebula.toml", {"base_url": model.base_url,
                                                             "max_retries": 0})
        async with run_agent(load(path), {"ops": Ops()}, schedule=False) as a:
            _, conversation = await ask(a, "restart web")
            assert conversation["state"] == "waiting_approval"
            jarvis = a.agent.runtime("jarvis")
            [turn] = jarvis._tasks.values()  # waiting for the approval
            config = path.read_text() + "\n[plugins.jarvis]\nenabled = false\n"
            path.write_text(config)
            status, body = await a.post("/api/v1/reload")
            assert (status, body["changes"]) == (200, {"jarvis": "stopped"})
            assert turn.cancelled() and jarvis._tasks == {}


# --- reconfigure in place ---------------------------------------------------------------------


async def test_a_reload_keeps_an_unchanged_policys_breaker(tmp_path):
    plugin = Fixable()
    plugin.broken = True
    heal = {"name": "heal", "check": "switchable.switch", "action": "switchable.fix",
            "cycles": 1, "breaker_failures": 1, "breaker_reset": 0}
    path = policy_config(tmp_path / "nebula.toml", [heal])
    async with run_agent(load(path), {"switchable": plugin}, schedule=False) as a:
        await cycle(a, plugin, Status.CRITICAL)
        await wait_events(a, "remediation.breaker_opened", 1)
        runtime = a.agent.runtime("remediation")
        policy_config(path, [heal, {**heal, "name": "other", "enabled": False}])
        status, body = await a.post("/api/v1/reload")
        assert (status, body["changes"]) == (200, {"remediation": "reconfigured"})
        assert a.agent.runtime("remediation") is runtime
        _, listing = await a.get("/api/v1/remediation")
        policies = {p["name"]: p for p in listing["policies"]}
        assert set(policies) == {"heal", "other"}
        assert policies["heal"]["breaker"] == "open"  # not reset by someone else's edit


# --- a plugin's endpoints, pages and assets ---------------------------------------------------


class Gadget:
    """A plugin adding to every interface: endpoints, a page, an overview section (one
    that fails), and a script."""

    manifest = Manifest(api_version="1.2", description="gadgets")

    def __init__(self, asset: Path) -> None:
        self.asset = asset
        self.items = {"7": {"id": "7", "name": "sprocket"}}

    @hookimpl
    def nebula_api_endpoints(self) -> list[Endpoint]:
        async def items(_request: web.Request) -> web.Response:
            return web.json_response(sorted(self.items))

        async def item(request: web.Request) -> web.Response:
            return web.json_response(self.items[request.match_info["id"]])

        async def add(request: web.Request) -> web.Response:
            body = await request.json()
            self.items[body["id"]] = body
            return web.json_response(body, status=201)

        return [Endpoint("GET", "/items", items, "Every gadget"),
                Endpoint("GET", "/items/{id}", item, "One gadget"),
                Endpoint("POST", "/items", add, "Add a gadget", role=ADMIN,
                         body={"type": "object"})]

    @hookimpl
    def nebula_web_pages(self) -> list[WebPage]:
        async def listing(_request: web.Request) -> str:
            return "<h1>Gadgets</h1><p>" + ", ".join(i["name"] for i in self.items.values())

        async def section(_request: web.Request) -> str:
            return '<section class="glass" data-gadgets><h2>Gadgets</h2></section>'

        async def broken(_request: web.Request) -> str:
            raise RuntimeError("no gadget data")

        return [WebPage("Gadgets", listing, nav=True),
                WebPage("Secrets", listing, path="/vault", role=ADMIN),
                WebPage("Gadget summary", section, slot=OVERVIEW),
                WebPage("Broken", broken, slot=OVERVIEW)]

    @hookimpl
    def nebula_web_assets(self) -> list[Path]:
        return [self.asset]


@pytest.fixture
def gadget(tmp_path):
    asset = tmp_path / "gadget.js"
    asset.write_text('window.nebula.onEvent(() => {});\n')
    return Gadget(asset)


async def test_a_plugins_endpoints_are_served_guarded_and_documented(nebula_agent, gadget):
    async with nebula_agent({"gadget": gadget, "switchable": Switchable()}) as a:
        assert await a.get("/api/v1/gadget/items") == (200, ["7"])
        assert await a.get("/api/v1/gadget/items/7") == (200, {"id": "7",
                                                               "name": "sprocket"})
        status, _ = await a.post("/api/v1/gadget/items", {"id": "8", "name": "cog"})
        assert status == 201 and "8" in gadget.items
        viewer = (await a.agent.tokens.create("reader", "viewer"))["token"]
        assert (await a.get("/api/v1/gadget/items", token=viewer))[0] == 200
        status, _ = await a.post("/api/v1/gadget/items", {"id": "9"}, token=viewer)
        assert status == 403 and "9" not in gadget.items
        async with a.session.get(a.url + "/api/v1/gadget/items") as resp:
            assert resp.status == 401
        status, problem = await a.request("DELETE", "/api/v1/gadget/items")
        assert status == 405 and problem["allow"] == ["GET", "POST"]
        assert (await a.get("/api/v1/gadget/nope"))[0] == 404
        assert (await a.get("/api/v1/nobody/items"))[0] == 404
        # The core's own paths are not a plugin's: still 405 with the core's methods.
        assert (await a.request("DELETE", "/api/v1/checks"))[0] == 405
        _, doc = await a.get("/api/v1/openapi.json")
        items = doc["paths"]["/api/v1/gadget/items"]
        assert items["get"]["summary"] == "Every gadget" and "403" in items["post"]["responses"]
        assert "/api/v1/gadget/items/{id}" in doc["paths"]


async def test_a_plugins_pages_and_assets_are_in_the_panel(nebula_agent, gadget):
    async with nebula_agent({"gadget": gadget, "switchable": Switchable()}) as a:
        status, overview = await a.get("/")
        assert status == 200
        assert '<a href="/gadget">Gadgets</a>' in overview  # in the navigation
        script = re.search(r'<script src="(/static/gadget/gadget\.js\?v=\w+)" defer>',
                           overview).group(1)
        assert "data-gadgets" in overview  # its overview section
        assert "RuntimeError: no gadget data" in overview  # the broken one, in its place
        status, page = await a.get("/gadget")
        assert status == 200 and "<h1>Gadgets</h1><p>sprocket" in page
        assert 'aria-current="page">Gadgets' in page  # inside the frame
        async with a.session.get(a.url + script,
                                 headers={"Authorization": f"Bearer {a.token}"}) as resp:
            assert resp.status == 200 and resp.content_type == "text/javascript"
            assert "onEvent" in await resp.text()
        async with a.session.get(a.url + script) as resp:
            assert resp.status == 401  # only for signed-in users
        async with a.session.get(a.url + "/gadget", allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"].startswith("/login")
        viewer = (await a.agent.tokens.create("reader", "viewer"))["token"]
        assert (await a.get("/gadget/vault", token=viewer))[0] == 403
        assert (await a.get("/gadget/vault"))[0] == 200
        assert (await a.get("/gadget/nope"))[0] == 404


async def test_a_plugin_named_like_a_core_path_cannot_add_endpoints(nebula_agent, gadget):
    async with nebula_agent({"events": gadget}) as a:
        state = await a.plugin("events")
        assert state["state"] == "failed"
        assert "the core serves the paths under the name 'events'" in state["error"]
        assert (await a.get("/api/v1/events?limit=1"))[0] == 200


@pytest.mark.parametrize("bad,reason", [
    (Endpoint("GET", "items", None, "x"), "path 'items' must start with /"),
    (Endpoint("FETCH", "/x", None, "x"), "method 'FETCH' is not one of"),
    (Endpoint("GET", "/x", None, "x", role="root"), "role 'root' is not one of"),
    ("GET /x", "returned a str, not a Endpoint"),
])
async def test_a_malformed_endpoint_fails_its_plugin_alone(nebula_agent, bad, reason):
    class Bad:
        manifest = Manifest(api_version="1.2")

        @hookimpl
        def nebula_api_endpoints(self) -> list:
            return [bad]

    async with nebula_agent({"bad": Bad(), "switchable": Switchable()}) as a:
        state = await a.plugin("bad")
        assert state["state"] == "failed" and reason in state["error"], state["error"]
        assert (await a.plugin("switchable"))["state"] == "loaded"
