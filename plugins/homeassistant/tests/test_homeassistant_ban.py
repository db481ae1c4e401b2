"""The plugin never gets its host banned (issue 15, 3b): Home Assistant counts every 401
as a failed login, a wrong token's and a non-admin token's on an admin-only endpoint
alike, and bans the address at `login_attempts_threshold` of them. A rejected token is
presented once and never again until the config changes; a non-admin token makes no
admin-only call at all."""

from __future__ import annotations

import pytest
from homeassistant_helpers import (
    check,
    job_runs,
    live,
    panel,
    reload_with,
    run,
    runtime_of,
)

from tests.waiting import eventually

CHECK_CONFIG = "/api/config/core/check_config"


async def test_a_rejected_token_is_presented_once_and_never_again(start_ha, ha) -> None:
    good = ha.token
    ha.token = "the-token-was-revoked"
    ha.login_attempts_threshold = 5
    # auth_retry = 0 and a WebSocket backoff of 50 ms: nothing holds the plugin back but
    # its own rule.
    async with start_ha(interval=0.1, schedule=True, auth_retry=0, ws_min_backoff=0.05,
                        ws_max_backoff=0.05) as agent:
        # Many poll rounds, checks and a configuration check asked for by hand.
        await eventually(lambda: _ran(agent, 25), timeout=15)
        runtime = runtime_of(agent)
        for _ in range(10):
            await runtime.observe(max_age=0)
            await check(agent, "entities")
        _, body = await run(agent, "check_config")
        assert body["result"]["status"] == "unknown", body
        status, summary = await check(agent, "api")
        assert status == "critical"
        assert "rejected the access token" in summary
        assert summary.endswith("fix the token (create a long-lived access token in your HA "
                                "profile, Security tab, and put it in token or token_file), "
                                "then reload the agent (SIGHUP, or POST /api/v1/reload)")
        overview = await panel(agent, "overview")
        assert overview["websocket"].startswith("down: Home Assistant rejected the access "
                                                "token")
        assert not runtime.live.running  # it gave up instead of retrying
        # One failed login, the one that told: far from the ban.
        assert len(ha.failed_logins) == 1, ha.failed_logins
        assert ha.banned == set()
        assert not any(r["path"] == CHECK_CONFIG for r in ha.requests)

        # The owner fixes the token and reloads: the plugin starts over with it.
        await reload_with(agent, token=ha.token)
        await live(agent)
        assert (await check(agent, "api"))[0] == "ok"
        assert len(ha.failed_logins) == 1
    assert good != ha.token


async def _ran(agent, rounds: int) -> bool:
    return await job_runs(agent, "job:homeassistant.poll") >= rounds


async def test_ha_bans_a_client_that_retries(start_ha, ha) -> None:
    """The stand-in bans as HA does, WebSocket included, so the test above means
    something."""
    ha.login_attempts_threshold = 2
    ha.token = "wrong"
    async with start_ha(websocket=False) as agent:
        await check(agent, "api")
        assert len(ha.failed_logins) == 1 and ha.banned == set()
        runtime = runtime_of(agent)
        runtime.access.rejected = None  # as if the plugin tried again
        await runtime.observe(max_age=0)
        assert ha.banned == {"127.0.0.1"}
        ha.token = runtime.client.token  # even the right token is refused now
        runtime.access.rejected = None
        snapshot = await runtime.observe(max_age=0)
        assert str(snapshot.error).startswith("Home Assistant refused this host (403 "
                                              "Forbidden): its IP was probably banned")


@pytest.mark.parametrize("websocket", [True, False], ids=["websocket", "rest only"])
async def test_a_non_admin_token_makes_no_admin_only_call(start_ha, ha, websocket) -> None:
    ha.admin = False
    ha.login_attempts_threshold = 5
    async with start_ha(websocket=websocket, interval=0.1, schedule=True) as agent:
        if websocket:
            await live(agent)
        assert (await check(agent, "api"))[0] == "ok"
        for _ in range(3):
            status, summary = await check(agent, "config")
        assert status == "warning"
        assert summary == ("configuration not checked: the token's user (Nebula) is not an "
                           "administrator, and Home Assistant answers its admin-only calls "
                           "(the configuration check) with 401, which counts as a failed "
                           "login towards an IP ban; so they are not made: use an "
                           "administrator's token, or set check_config_interval = 0")
        _, body = await run(agent, "check_config")
        assert body["result"]["status"] == "warning", body
        assert (await panel(agent, "overview"))["user"] == "Nebula (not admin)"
        await eventually(lambda: _ran(agent, 10), timeout=10)
    assert not any(r["path"] == CHECK_CONFIG for r in ha.requests)
    assert ha.failed_logins == []


async def test_an_admin_token_checks_the_config(start_ha, ha) -> None:
    async with start_ha() as agent:
        assert await check(agent, "config") == ("ok", "configuration valid")
        assert (await panel(agent, "overview"))["user"] == "Nebula (admin)"
    assert [r["authorized"] for r in ha.requests if r["path"] == CHECK_CONFIG] == [True]
