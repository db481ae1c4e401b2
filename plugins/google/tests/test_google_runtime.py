"""The plugin's runtime is what its start shares, and stopping the plugin closes it at once:
a consent's loopback listener and a poll still waiting on Google end with it."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from google_steps import connect, result_of

from nebula.config_edit import set_plugin_enabled
from nebula_google.runtime import Google


async def test_disabling_the_plugin_closes_its_runtime_promptly(start_google, google) -> None:
    async with start_google() as agent:
        await connect(agent)
        record = agent.agent.manager.records["google"]
        runtime = record.ctx.runtime
        assert isinstance(runtime, Google)
        google.delay = 30.0  # Google stops answering: the next poll hangs
        polling = asyncio.ensure_future(runtime.poll.refresh())
        started = await result_of(agent, "connect")  # a second consent, listening
        assert runtime.connector.pending is not None
        set_plugin_enabled(agent.agent.config.path, "google", False)
        before = time.monotonic()
        status, body = await agent.post("/api/v1/reload")
        assert status == 200 and body["changes"]["google"] == "stopped", body
        assert time.monotonic() - before < 5, "the stop waited for Google"
        assert record.ctx.runtime is None and runtime.connector.pending is None
        with pytest.raises(asyncio.CancelledError):
            await polling
        async with aiohttp.ClientSession() as browser:
            with pytest.raises(aiohttp.ClientConnectionError):
                await browser.get(started["redirect_uri"], timeout=aiohttp.ClientTimeout(2))


async def test_a_quota_warning_above_critical_fails_the_start_with_both(start_google) -> None:
    async with start_google(quota_warning=96, quota_critical=95) as agent:
        plugin = await agent.plugin("google")
    assert plugin["state"] == "failed"
    assert plugin["error"].startswith("invalid config: ")
    assert plugin["error"].endswith("plugins.google.quota_warning: quota_warning (96) is "
                                    "above quota_critical (95)")
