"""What the checks say when Home Assistant is unhealthy or cannot be reached properly:
a rejected token, unavailable entities, broken automations, an invalid configuration, a
wrong URL, a timeout and a TLS failure."""

from __future__ import annotations

import ssl

import pytest
import trustme
from homeassistant_helpers import check, live, panel, run

from tests.loopback import serving
from tests.waiting import eventually


async def test_a_rejected_token_is_critical_and_not_retried(start_ha, ha) -> None:
    ha.token = "the-token-was-revoked"
    async with start_ha(auth_retry=300, interval=0.1, schedule=True) as agent:
        status, summary = await check(agent, "api")
        assert status == "critical"
        assert summary.startswith("Home Assistant rejected the access token (401 "
                                  "Unauthorized): create a long-lived access token")
        assert (await check(agent, "entities"))[0] == "unknown"
        # Asking again would feed HA's IP ban: the polls remember the verdict instead.
        status, summary = await eventually(lambda: _blocked(agent), timeout=5)
        assert status == "critical" and "(not asking again for 30" in summary
        assert (await check(agent, "config"))[0] == "unknown"
        assert [(r["path"], r["authorized"]) for r in ha.requests] in (
            [("/api/websocket", False), ("/api/config", False)],
            [("/api/config", False), ("/api/websocket", False)])
        overview = await panel(agent, "overview")
        assert overview["websocket"].startswith("down: Home Assistant rejected the access "
                                                "token on the WebSocket (Invalid access "
                                                "token or password)")


async def _blocked(agent):
    status, summary = await check(agent, "api")
    return (status, summary) if "not asking again" in summary else None


async def test_unavailable_entities_over_the_threshold_warn_and_are_listed(start_ha,
                                                                            ha) -> None:
    for entity_id in ("sensor.outside_temperature", "light.kitchen", "switch.coffee_maker"):
        ha.states[entity_id]["state"] = "unavailable"
    ha.states["lock.front_door"]["state"] = "unknown"
    async with start_ha(unavailable_threshold=3) as agent:
        status, summary = await check(agent, "entities")
        assert status == "warning"
        assert summary == ("4 of 10 entities unavailable or unknown (warning above 3): "
                           "light.kitchen (unavailable), lock.front_door (unknown), "
                           "sensor.outside_temperature (unavailable), switch.coffee_maker "
                           "(unavailable)")
        rows = await panel(agent, "unavailable")
        assert [(r["entity_id"], r["state"]) for r in rows] == [
            ("light.kitchen", "unavailable"), ("lock.front_door", "unknown"),
            ("sensor.outside_temperature", "unavailable"),
            ("switch.coffee_maker", "unavailable")]
        assert (await panel(agent, "overview"))["unavailable"] == 4
    async with start_ha(unavailable_threshold=3, ignore_entities=["sensor.*"]) as agent:
        status, summary = await check(agent, "entities")
        assert status == "ok" and summary.startswith("3 of 10 entities unavailable")


async def test_automations_that_failed_to_load_are_named(start_ha, ha) -> None:
    ha.states["automation.night_lock"]["state"] = "unavailable"
    async with start_ha() as agent:
        status, summary = await check(agent, "automations")
        assert status == "warning"
        assert summary.startswith("1 of 2 automations failed to load")
        assert summary.endswith(": Night Lock (automation.night_lock)")
        rows = {r["entity_id"]: r["state"] for r in await panel(agent, "automations")}
        assert rows == {"automation.morning_lights": "on",
                        "automation.night_lock": "unavailable"}


async def test_an_invalid_configuration_is_critical(start_ha, ha) -> None:
    ha.check = {"result": "invalid", "warnings": None, "errors":
                "Invalid config for 'automation' at automations.yaml, line 12: required "
                "key 'triggers' not provided"}
    async with start_ha() as agent:
        status, summary = await check(agent, "config")
        assert status == "critical"
        assert summary == ("configuration invalid (Home Assistant would start in recovery "
                           "mode after a restart): Invalid config for 'automation' at "
                           "automations.yaml, line 12: required key 'triggers' not provided")
        ha.check = {"result": "valid", "errors": None, "warnings": None}
        status, body = await run(agent, "check_config")
        assert body["result"]["status"] == "ok" and body["result"]["result"] == "valid"
        assert (await check(agent, "config"))[0] == "ok"


async def test_a_non_admin_token_cannot_check_the_config(start_ha, ha) -> None:
    ha.admin = False
    async with start_ha() as agent:
        assert (await check(agent, "api"))[0] == "ok"
        status, summary = await check(agent, "config")
        assert status == "unknown"
        assert "the token's user is not an administrator" in summary


# --- reaching Home Assistant ---------------------------------------------------------------


async def _api_verdict(start_ha, url, **config):
    async with start_ha(url=url, **config) as agent:
        return await check(agent, "api")


async def test_a_wrong_url_nothing_listens_on(start_ha, unused_tcp_port) -> None:
    status, summary = await _api_verdict(start_ha, f"http://127.0.0.1:{unused_tcp_port}")
    assert status == "critical"
    assert summary == (f"connection refused by 127.0.0.1:{unused_tcp_port}: Home Assistant "
                       f"is not listening there; check the URL's host and port, and that it "
                       f"is running")


async def test_a_wrong_url_that_is_not_home_assistant(start_ha, ha_url) -> None:
    status, summary = await _api_verdict(start_ha, f"{ha_url}/lovelace")
    assert status == "critical"
    assert summary == (f"{ha_url}/lovelace/api/config answered 404: is url Home Assistant's "
                       f"base URL (as in the browser, without /api)?")


async def test_a_stalled_instance_times_out(start_ha, ha) -> None:
    ha.stall = 3
    status, summary = await _api_verdict(start_ha, None, timeout=0.3)
    assert status == "critical" and summary.endswith("did not answer within 0.3s")


@pytest.fixture(scope="session")
def ha_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def ha_tls_url(ha, ha_ca) -> str:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ha_ca.issue_cert("127.0.0.1").configure_cert(server)
    async with serving(ha.app, tls=server) as base:
        yield base


async def test_an_untrusted_certificate_is_a_clear_tls_failure(start_ha, ha_tls_url,
                                                               ha_ca, tmp_path) -> None:
    status, summary = await _api_verdict(start_ha, ha_tls_url)
    assert status == "critical"
    where = ha_tls_url.removeprefix("https://")
    assert summary == (f"TLS certificate of {where} not trusted: unable to get local issuer "
                       f"certificate; set ca_bundle to the CA that signed it (or fix the "
                       f"certificate)")
    bundle = tmp_path / "ha-ca.pem"
    ha_ca.cert_pem.write_to_path(str(bundle))
    async with start_ha(url=ha_tls_url, ca_bundle=str(bundle)) as agent:
        await live(agent)  # wss:// with the same CA
        assert (await check(agent, "api"))[0] == "ok"


async def test_plain_http_to_a_tls_port_is_a_clear_failure(start_ha, ha_tls_url) -> None:
    url = ha_tls_url.replace("https", "http")
    status, summary = await _api_verdict(start_ha, url)
    where = url.removeprefix("http://")
    assert (status, summary) == ("critical", f"{where} closed the connection without "
                                             f"answering; if it only speaks TLS, the URL must "
                                             f"start with https://")
