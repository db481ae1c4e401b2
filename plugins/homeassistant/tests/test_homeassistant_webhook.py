"""The webhook HA automations call, over real HTTP, and the secrets the plugin holds."""

from __future__ import annotations

import json

from homeassistant_helpers import WEBHOOK_SECRET, check, panel, run

HOOK = "/plugins/homeassistant/hooks/events"


async def _post_hook(agent, body, secret):
    headers = {"X-Webhook-Secret": secret} if secret is not None else {}
    data = body if isinstance(body, str) else json.dumps(body)
    async with agent.session.post(agent.url + HOOK, data=data, headers={
            **headers, "Content-Type": "application/json"}) as resp:
        return resp.status, await resp.json(content_type=None)


async def _webhook_events(agent):
    _, body = await agent.get("/api/v1/events?topic=homeassistant.webhook")
    return [e["data"] for e in body["events"]]


async def test_the_webhook_takes_events_only_with_the_right_secret(start_ha) -> None:
    doorbell = {"event": "doorbell_pressed", "entity_id": "binary_sensor.doorbell",
                "at": "2024-05-30T21:43:29+00:00"}
    async with start_ha() as agent:
        assert await _post_hook(agent, doorbell, WEBHOOK_SECRET) == (
            202, {"status": "accepted"})
        assert await _webhook_events(agent) == [doorbell]
        rows = await panel(agent, "webhook_events")
        assert [r["data"] for r in rows] == [doorbell]
        for wrong in ("x" * len(WEBHOOK_SECRET), WEBHOOK_SECRET[:-1], None):
            status, body = await _post_hook(agent, {"event": "forged"}, wrong)
            assert status == 401 and "X-Webhook-Secret" in body["detail"]
        status, body = await _post_hook(agent, "not json", WEBHOOK_SECRET)
        assert (status, body["detail"]) == (400, "the body must be JSON")
        status, body = await _post_hook(agent, [1, 2], WEBHOOK_SECRET)
        assert (status, body["detail"]) == (400, "the body must be a JSON object")
        status, body = await _post_hook(agent, {"blob": "x" * 70_000}, WEBHOOK_SECRET)
        assert (status, body["detail"]) == (413, "the body is over 64 KiB")
        assert await _webhook_events(agent) == [doorbell]


async def test_no_secret_no_webhook_and_a_short_one_is_refused(start_ha) -> None:
    async with start_ha(webhook_secret=None) as agent:
        assert (await _post_hook(agent, {}, WEBHOOK_SECRET))[0] == 401
    async with start_ha(webhook_secret="too-short") as agent:
        _, plugin = await agent.get("/api/v1/plugins/homeassistant")
    assert plugin["state"] == "failed" and "webhook_secret" in plugin["error"]


async def test_secrets_never_reach_logs_or_api_answers(start_ha, ha, ha_token,
                                                       monkeypatch, capfd) -> None:
    monkeypatch.setenv("HA_TEST_TOKEN", ha_token)
    seen = []
    async with start_ha(token_file=None, token="${HA_TEST_TOKEN}") as agent:
        await check(agent, "api")
        await run(agent, "call_service", domain="light", service="toggle",
                  target={"entity_id": "light.kitchen"})
        await _post_hook(agent, {"token": "ignored"}, WEBHOOK_SECRET)
        for path in ("/api/v1/config", "/api/v1/plugins/homeassistant", "/api/v1/audit",
                     "/api/v1/events", "/api/v1/checks", "/api/v1/panels/homeassistant.overview"):
            seen.append(json.dumps(await agent.get(path)))
    ha.token = "another-token-entirely"  # the agent's token is now rejected
    async with start_ha() as agent:
        _, summary = await check(agent, "api")
        assert "rejected the access token" in summary
        seen.append(json.dumps(await agent.get("/api/v1/plugins/homeassistant")))
    out, err = capfd.readouterr()
    assert "homeassistant.websocket_up" in out + err  # the plugin did log...
    for text in [*seen, out, err]:
        assert ha_token not in text  # ...without the secrets
        assert WEBHOOK_SECRET not in text
