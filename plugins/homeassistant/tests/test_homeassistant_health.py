"""What the checks say when Home Assistant is unhealthy or cannot be reached properly:
unavailable entities, broken automations, an invalid configuration, recovery mode, a
wrong URL, a name that does not resolve, a timeout, TLS failures and a proxy's 401 (a
rejected token and a non-admin one: test_homeassistant_ban.py)."""

from __future__ import annotations

import ssl

import pytest
import trustme
from aiohttp import web
from homeassistant_helpers import DAMPED, check, check_state, live, panel, run, runtime_of

from tests.loopback import serving


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


async def test_https_to_a_plain_http_port_names_the_cause(start_ha, ha_url) -> None:
    url = ha_url.replace("http", "https")
    async with start_ha(url=url) as agent:
        status, summary = await check(agent, "api")
        where = url.removeprefix("https://")
        assert (status, summary) == ("critical", (
            f"TLS handshake failed: the server does not speak TLS on this port? ({where}; if "
            f"it serves plain HTTP, the URL must start with http://)"))
        overview = await panel(agent, "overview")
        assert overview["websocket"].startswith("down: TLS handshake failed")


async def test_a_host_name_that_does_not_resolve_is_a_name_lookup_failure(start_ha) -> None:
    # .invalid never resolves (RFC 6761): what a typo or a missing mDNS resolver gives.
    async with start_ha(url="http://homeassistant.invalid:8123") as agent:
        status, summary = await check(agent, "api")
        assert status == "critical"
        assert summary.startswith("cannot resolve host homeassistant.invalid (")
        assert summary.endswith("): check the host name in the URL")
        overview = await panel(agent, "overview")
        assert overview["websocket"].startswith("down: cannot resolve host")


NGINX_401 = """<html>
<head><title>401 Authorization Required</title></head>
<body>
<center><h1>401 Authorization Required</h1></center>
<hr><center>nginx/1.24.0</center>
</body>
</html>
"""


async def test_a_proxy_asking_for_its_own_login_is_not_called_a_bad_token(start_ha) -> None:
    asked: list[str] = []

    def proxy() -> web.Application:
        async def basic_auth(request: web.Request) -> web.Response:
            asked.append(request.path)
            return web.Response(status=401, text=NGINX_401, content_type="text/html",
                                headers={"WWW-Authenticate": 'Basic realm="Home"'})
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", basic_auth)
        return app

    async with serving(proxy) as url, start_ha(url=url) as agent:
        for _ in range(5):
            status, summary = await check(agent, "api")
            await runtime_of(agent).observe(max_age=0)
        assert status == "critical"
        assert "answered 401 Unauthorized, but not as Home Assistant does (WWW-Authenticate: " \
               "Basic realm=\"Home\"): a reverse proxy or an auth gateway in front of it " \
               "wants a login of its own" in summary
        assert "access token" not in summary
        # Not asked again: an auth gateway bans too (fail2ban, Authelia's regulation).
        assert 1 <= len(asked) <= 2, asked


async def test_recovery_mode_is_critical(start_ha, ha) -> None:
    ha.recovery_mode = True
    async with start_ha() as agent:
        status, summary = await check(agent, "api")
        assert status == "critical"
        assert summary.startswith("Home Assistant 2024.5.3 (Home) is in recovery mode: its "
                                  "configuration failed to load")
        assert (await panel(agent, "overview"))["mode"] == "recovery mode"
        ha.recovery_mode, ha.safe_mode = False, True
        await runtime_of(agent).observe(max_age=0)
        status, summary = await check(agent, "api")
        assert status == "warning" and summary.endswith("but it runs in safe mode: custom "
                                                        "integrations and frontend resources "
                                                        "are off until it restarts normally")


async def test_buttons_and_scenes_never_used_are_not_problems(start_ha, ha) -> None:
    # As a fresh HA has them: a stateless entity's state is when it was last used.
    for entity_id in ("button.restart_router", "input_button.reset_filter",
                      "scene.movie_night", "event.doorbell_ring", "notify.kitchen_display"):
        ha.add(entity_id, "unknown")
    ha.add("button.gate_opener", "unavailable")   # its device is gone: that is a problem
    ha.add("sensor.hallway_humidity", "unknown")  # never reported: a problem too
    async with start_ha(unavailable_threshold=1) as agent:
        status, summary = await check(agent, "entities")
        assert (status, summary) == ("warning", (
            "2 of 17 entities unavailable or unknown (warning above 1): button.gate_opener "
            "(unavailable), sensor.hallway_humidity (unknown)"))
        rows = await panel(agent, "unavailable")
        assert [r["entity_id"] for r in rows] == ["button.gate_opener",
                                                  "sensor.hallway_humidity"]
        assert (await panel(agent, "overview"))["unavailable"] == 2


async def test_the_config_tile_says_what_its_status_says(start_ha, ha) -> None:
    """The tile shows the reported (damped) status with the latest summary: an hourly
    check needing two agreeing results said "critical" over "configuration valid" for an
    hour or two after the config was fixed and checked by hand."""
    ha.check = {"result": "invalid", "warnings": None,
                "errors": "Invalid config for 'automation' at automations.yaml, line 12"}
    async with start_ha(agent=DAMPED, interval=60, check_config_interval=7200) as agent:
        assert (await check_state(agent, "config"))[0] == "critical"
        ha.check = {"result": "valid", "errors": None, "warnings": None}
        _, body = await run(agent, "check_config")  # the owner checks by hand
        assert body["result"]["status"] == "ok"
        # The next time the check runs (every poll interval), the tile agrees with it.
        assert await check_state(agent, "config") == ("ok", "configuration valid")
        assert (await panel(agent, "overview"))["config"] == "valid"
        checks = {c["name"]: c for c in (await agent.get("/api/v1/checks"))[1]["checks"]}
        # It reads HA's answer every poll interval; HA is asked every check_config_interval.
        assert checks["homeassistant.config"]["interval"] == 60
    assert sum(r["path"] == "/api/config/core/check_config" for r in ha.requests) == 2
