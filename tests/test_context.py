"""What a plugin's context reaches besides its own config: peers' settings and redaction."""

from __future__ import annotations

from typing import Any

from nebula.api import KeyValue, Manifest, PluginContext, hookimpl
from tests.sample_plugins import Switchable


class Peek:
    """Keeps the context it was started with, so the test can use it like a plugin would."""

    manifest = Manifest(api_version="1.1")

    def __init__(self) -> None:
        self.ctx: PluginContext | None = None

    @hookimpl
    async def nebula_startup(self, ctx: PluginContext) -> None:
        self.ctx = ctx


async def test_peer_config_is_a_copy_of_a_running_plugins_settings(nebula_agent):
    peek = Peek()
    config: dict[str, Any] = {"switch": {"label": "lamp", "api_token": "tok-9f8e7d6c5b4a"},
                              "peek": {}}
    async with nebula_agent({"switch": Switchable(), "peek": peek}, config=config):
        assert peek.ctx is not None
        seen = peek.ctx.peer_config("switch")
        assert seen == {"label": "lamp", "api_token": "tok-9f8e7d6c5b4a", "threshold": 5}
        seen["label"] = "changed"
        assert peek.ctx.peer_config("switch")["label"] == "lamp"
        assert peek.ctx.peer_config("absent") is None


async def test_peer_config_is_none_for_a_disabled_plugin(nebula_agent):
    peek = Peek()
    config = {"switch": {"enabled": False}, "peek": {}}
    async with nebula_agent({"switch": Switchable(), "peek": peek}, config=config):
        assert peek.ctx is not None
        assert peek.ctx.peer_config("switch") is None


async def test_agent_config_is_a_copy_of_the_agents_own_section(nebula_agent, tmp_path):
    peek = Peek()
    async with nebula_agent({"peek": peek}, agent={"bind": "0.0.0.0", "port": 18766},
                            config={"peek": {}}):
        assert peek.ctx is not None
        seen = peek.ctx.agent_config()
        assert seen is not None
        assert (seen["bind"], seen["port"]) == ("0.0.0.0", 18766)
        assert seen["data_dir"] == str(tmp_path / "data")
        assert seen["trusted_proxies"] == []  # defaults filled in
        seen["bind"] = "changed"
        assert peek.ctx.agent_config()["bind"] == "0.0.0.0"
    assert PluginContext("x", {}, KeyValue(None, "x")).agent_config() is None


async def test_a_secret_learnt_at_run_time_is_masked_in_api_answers(nebula_agent):
    peek = Peek()
    async with nebula_agent({"peek": peek}, config={"peek": {}}) as running:
        assert peek.ctx is not None
        runtime_token = "ya29.runtime-access-token-123456"
        assert peek.ctx.redact({"a": [runtime_token]}) == {"a": [runtime_token]}
        peek.ctx.add_secret(runtime_token)
        assert runtime_token not in str(peek.ctx.redact({"a": [f"x {runtime_token} y"]}))
        await peek.ctx.emit("token", {"note": f"again {runtime_token}"})
        status, body = await running.get("/api/v1/events?topic=peek.token")
        assert status == 200
        assert [e["data"]["note"] for e in body["events"]] == ["again ***"]
