"""Bad notify config is refused with the key at fault; the plugin fails, the agent runs."""

from __future__ import annotations

import pytest

from nebula_notify import plugin


@pytest.mark.parametrize("channels,expected", [
    ([{"name": "d", "type": "discord"}], "plugins.notify.channels.0: 'url' is a required"),
    ([{"name": "m", "type": "email", "host": "smtp.example.test", "sender": "a@b.c"}],
     "plugins.notify.channels.0: 'to' is a required"),
    ([{"name": "n", "type": "ntfy", "topic": "t", "severities": ["bad"]}],
     "plugins.notify.channels.0.severities.0: 'bad' is not one of"),
    ([{"name": "n", "type": "ntfy", "topic": "t"}, {"name": "n", "type": "ntfy", "topic": "u"}],
     "channel name 'n' is used twice"),
])
async def test_bad_channels_fail_the_plugin_with_the_key(nebula_agent, channels, expected):
    async with nebula_agent({"notify": plugin}, config={"notify": {"channels": channels}},
                            schedule=False) as agent:
        status, body = await agent.get("/api/v1/plugins/notify")
        assert status == 200
        assert body["state"] == "failed"
        assert expected in body["error"], body["error"]
