"""The settings pages over real HTTP with a signed-in browser session: the plugin list with
its switches, and a plugin's settings form saved to nebula.toml (comments kept), checked
by the config's own validation first, applied by a reload, audited; secrets sealed."""

from __future__ import annotations

import re
from typing import Any

from nebula.api import Manifest, PluginContext, hookimpl
from tests.sample_plugins import Switchable
from tests.web.test_auth_http import add_user, session_of


class Locked:
    """A plugin with a secret in its config, to see what the form does with one."""

    manifest = Manifest(api_version="1.0", description="holds a password")

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}

    @hookimpl
    def nebula_config_schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False, "properties": {
            "host": {"type": "string", "default": "nas"},
            "password": {"type": "string", "writeOnly": True},
            "mode": {"enum": ["fast", "safe"], "default": "safe"},
            "shares": {"type": "array", "items": {"type": "string"}},
            "channels": {"type": "array", "description": "no writeOnly word here", "items": {
                "type": "object", "properties": {"url": {"type": "string",
                                                         "writeOnly": True}}}},
        }}

    @hookimpl
    async def nebula_startup(self, ctx: PluginContext) -> None:
        self.config = dict(ctx.config)


async def _browser(a: Any) -> dict[str, str]:
    await add_user(a)
    cookie, _ = await session_of(a)
    return {"Cookie": cookie}


async def _page(a: Any, path: str, headers: dict[str, str]) -> tuple[int, str]:
    async with a.session.get(a.url + path, headers=headers) as resp:
        return resp.status, await resp.text()


async def _post(a: Any, path: str, headers: dict[str, str], data: dict[str, str]
                ) -> tuple[int, str, str]:
    _, page = await _page(a, "/settings", headers)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    async with a.session.post(a.url + path, headers=headers, data={"csrf": csrf, **data},
                              allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Location", ""), await resp.text()


async def test_the_list_shows_every_plugin_with_its_switch_for_admins_only(nebula_agent):
    async with nebula_agent({"switch": Switchable()}) as a:
        headers = await _browser(a)
        status, page = await _page(a, "/settings", headers)
        assert status == 200
        assert 'href="/settings/plugin?name=switch"' in page and "Disable switch" in page
        # Built-ins are listed, not switched from here.
        assert "built in" in page
        status, body = await a.post("/api/v1/users", {"name": "viewer", "role": "viewer",
                                                     "password": "another long password"})
        assert status == 201, body
        cookie, _ = await session_of(a, user="viewer", password="another long password")
        assert (await _page(a, "/settings", {"Cookie": cookie}))[0] == 403


async def test_saving_writes_only_changed_keys_keeps_comments_reloads_and_audits(
        nebula_agent, monkeypatch):
    monkeypatch.setenv("SWITCH_LABEL", "from-env")
    plugin = Switchable()
    async with nebula_agent({"switch": plugin}, config={"switch": {"threshold": 5}}) as a:
        path = a.agent.config.path
        text = path.read_text().replace("threshold = 5",
                                        '# how many before it trips\nthreshold = 5\n'
                                        'label = "${SWITCH_LABEL}"')
        path.write_text(text)
        await a.post("/api/v1/reload")
        assert plugin.config["label"] == "from-env"
        headers = await _browser(a)
        status, page = await _page(a, "/settings/plugin?name=switch", headers)
        assert status == 200 and 'value="5"' in page and "${SWITCH_LABEL}" in page
        status, where, _ = await _post(a, "/settings/plugin?name=switch", headers,
                                       {"label": "${SWITCH_LABEL}", "threshold": "7"})
        assert status == 303 and where == "/settings/plugin?name=switch&saved=1"
        saved = path.read_text()
        assert "# how many before it trips\nthreshold = 7" in saved
        assert 'label = "${SWITCH_LABEL}"' in saved  # untouched, still from the environment
        assert plugin.config["threshold"] == 7
        status, audit = await a.get("/api/v1/audit")
        row = next(r for r in audit["audit"] if r["action"] == "settings.save")
        assert row["outcome"] == "ok" and row["params"] == {"plugin": "switch",
                                                           "keys": ["threshold"]}


async def test_a_refused_change_writes_nothing_and_keeps_what_was_typed(nebula_agent):
    plugin = Switchable()
    async with nebula_agent({"switch": plugin}, config={"switch": {"threshold": 5}}) as a:
        path = a.agent.config.path
        before = path.read_text()
        headers = await _browser(a)
        status, _, page = await _post(a, "/settings/plugin?name=switch", headers,
                                      {"threshold": "-1"})
        # The schema's own rule, as `nebula config validate` words it, with the key.
        assert status == 422 and "plugins.switch.threshold" in page
        assert "less than the minimum" in page and 'value="-1"' in page
        status, _, page = await _post(a, "/settings/plugin?name=switch", headers,
                                      {"threshold": "seven"})
        assert status == 422 and "must be a whole number" in page and 'value="seven"' in page
        assert path.read_text() == before and plugin.config["threshold"] == 5
        assert not list(path.parent.glob(".*candidate*"))
        status, audit = await a.get("/api/v1/audit")
        assert any(r["action"] == "settings.save" and r["outcome"] == "refused"
                   for r in audit["audit"])


async def test_a_secret_is_sealed_in_the_file_never_shown_and_kept_when_left_empty(
        nebula_agent):
    plugin = Locked()
    async with nebula_agent({"locked": plugin}, config={"locked": {"host": "nas"}}) as a:
        path = a.agent.config.path
        headers = await _browser(a)
        status, where, _ = await _post(a, "/settings/plugin?name=locked", headers,
                                       {"host": "nas2", "password": "hunter2-hunter2",
                                        "mode": '"fast"', "shares": '["media", "backup"]'})
        assert status == 303, where
        text = path.read_text()
        assert "hunter2" not in text and 'password = "${sealed:' in text
        assert plugin.config == {"host": "nas2", "password": "hunter2-hunter2",
                                 "mode": "fast", "shares": ["media", "backup"]}
        status, page = await _page(a, "/settings/plugin?name=locked", headers)
        assert "hunter2" not in page and "secret: set" in page
        # A list whose items hold a secret is left to the file: no input, a note instead.
        assert 'name="channels"' not in page and "<code>channels</code> in" in page
        assert 'name="shares"' in page
        # Left empty: the sealed value stays; the plugin still gets the password.
        status, _, _ = await _post(a, "/settings/plugin?name=locked", headers,
                                   {"host": "nas3", "mode": '"fast"',
                                    "shares": '["media", "backup"]'})
        assert status == 303 and plugin.config["password"] == "hunter2-hunter2"
        assert plugin.config["host"] == "nas3"
        status, audit = await a.get("/api/v1/audit")
        assert "hunter2" not in str(audit)


async def test_switching_a_plugin_off_and_on_edits_the_file_and_reloads(nebula_agent):
    plugin = Switchable()
    async with nebula_agent({"switch": plugin}) as a:
        headers = await _browser(a)
        status, where, _ = await _post(a, "/settings/switch", headers,
                                       {"plugin": "switch", "enabled": "false"})
        assert status == 303 and where == "/settings?saved=switch"
        assert "enabled = false" in a.agent.config.path.read_text()
        assert (await a.plugin("switch"))["state"] == "disabled"
        status, page = await _page(a, "/settings", headers)
        assert "Enable switch" in page
        await _post(a, "/settings/switch", headers, {"plugin": "switch", "enabled": "true"})
        assert (await a.plugin("switch"))["state"] == "loaded"
        status, _, _ = await _post(a, "/settings/switch", headers,
                                   {"plugin": "nosuch", "enabled": "true"})
        assert status == 404


def test_a_sealed_value_reads_with_the_agents_key_and_a_foreign_key_is_named(tmp_path):
    from nebula.config import read
    from nebula.secret_store import Sealer

    data = tmp_path / "data"
    token = Sealer(data / "secret.key").seal("s3cret-value")
    path = tmp_path / "nebula.toml"
    path.write_text(f'[agent]\ndata_dir = "{data}"\n\n[plugins.locked]\n'
                    f'password = "${{sealed:{token}}}"\n')
    config, problems = read(path)
    assert not problems and config.plugins["locked"]["password"] == "s3cret-value"
    (data / "secret.key").unlink()
    Sealer(data / "secret.key").seal("another key now")
    config, problems = read(path)
    assert [(p.path, p.line) for p in problems] == [("plugins.locked.password", 5)]
    assert "cannot be decrypted" in problems[0].message and "s3cret" not in str(problems)


async def test_an_agent_on_defaults_saves_to_the_users_own_file_owner_only(
        tmp_path, monkeypatch):
    from nebula.config import load
    from nebula.testing import run_agent

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "conf"))
    monkeypatch.chdir(tmp_path)
    plugin = Switchable()
    async with run_agent(load(None), {"switch": plugin}) as a:
        headers = await _browser(a)
        status, _, _ = await _post(a, "/settings/plugin?name=switch", headers,
                                   {"threshold": "9"})
        assert status == 303 and plugin.config["threshold"] == 9
        made = tmp_path / "conf" / "nebula" / "nebula.toml"
        assert a.agent.config.path == made.resolve()
        assert made.stat().st_mode & 0o777 == 0o600
        assert made.parent.stat().st_mode & 0o777 == 0o700
