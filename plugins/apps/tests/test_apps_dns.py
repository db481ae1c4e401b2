"""An app with a domain gets its DNS record in the same approved deploy: the ddns plugin's
add_host (RFC 2136 to a real BIND) runs as a covered call, the record serves the public IP
before the Caddy site is added, a failure at or after the DNS step deletes it again, and
remove deletes it. A DNS server that refuses the update fails the deploy with nothing left
behind."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from apps_leftovers import nothing_left

from tests.agent_process import free_port
from tests.echo_services import EchoServices, echo_services
from tests.engines.bind import Bind, new_secret, running
from tests.engines.caddy import Caddy

pytestmark = pytest.mark.e2e

KEY = "apps-key"
OLD_IP, PUBLIC_IP = "198.51.100.1", "203.0.113.7"
# apps.test takes updates signed with KEY; locked.test refuses every update (REFUSED).
ZONES = {"apps.test": {"gw": [OLD_IP]}, "locked.test": {"gw": [OLD_IP]}}


@pytest.fixture(scope="module")
def tsig() -> str:
    return new_secret()


@pytest.fixture(scope="module")
def bind(tmp_path_factory: pytest.TempPathFactory, tsig: str) -> Iterator[Bind]:
    with running(tmp_path_factory.mktemp("apps-bind"), ZONES, keys={KEY: tsig},
                 updaters={"apps.test": [KEY]}) as server:
        yield server


@pytest.fixture
async def echo() -> AsyncIterator[EchoServices]:
    async with echo_services(PUBLIC_IP) as services:
        yield services


@pytest.fixture
def start_apps_with_dns(nebula_agent: Callable[..., Any], podman: Any, templates_dir: Path,
                        caddy: Caddy, bind: Bind, echo: EchoServices, tsig: str,
                        tmp_path: Path) -> Callable[..., Any]:
    """apps, caddy and ddns (two RFC 2136 accounts on the BIND: apps.test and the
    refusing locked.test) in one agent."""
    import nebula_caddy.plugin
    import nebula_ddns.plugin
    from nebula_apps import plugin

    (tmp_path / "tsig").write_text(tsig + "\n")
    entry = {"server": f"127.0.0.1:{bind.port}", "key_name": KEY,
             "key_secret_file": str(tmp_path / "tsig")}

    def start() -> Any:
        return nebula_agent(
            {"apps": plugin, "caddy": nebula_caddy.plugin, "ddns": nebula_ddns.plugin},
            config={"apps": {"base_url": podman.base_url, "templates_dir": str(templates_dir),
                             "resolvers": [f"127.0.0.1:{bind.port}"], "dns_timeout": 2},
                    "caddy": {"admin_url": caddy.admin_url, "timeout": 3},
                    "ddns": {"ipv4_services": echo.urls(), "interval": 3600, "timeout": 2,
                             "verify_timeout": 3, "rfc2136": [
                                 {**entry, "zone": "apps.test", "hosts": ["gw.apps.test"]},
                                 {**entry, "zone": "locked.test",
                                  "hosts": ["gw.locked.test"]}]}},
            schedule=False)
    return start



async def added_hosts(agent: Any) -> list[str]:
    return list(await agent.agent.manager.records["ddns"].ctx.kv.get("added_hosts", []))


async def test_deploy_sets_the_record_under_the_one_approval_and_remove_deletes_it(
        start_apps_with_dns, bind: Bind, client) -> None:
    app, port, domain = f"dns-{uuid.uuid4().hex[:6]}", free_port(), "web.apps.test"
    async with start_apps_with_dns() as agent:
        pending = await agent.run_action("apps.deploy", {
            "template": "web", "name": app, "port": port, "domain": domain,
            "tls": "internal"}, expect=202)
        plan = pending["approval"]["plan"]
        assert plan["covers"][:2] == [
            {"action": "ddns.add_host", "params": {"host": domain}},
            {"action": "ddns.remove_host", "params": {"host": domain}}]
        assert f"DNS record {domain} on the public IP, by ddns.add_host under this " \
               "approval" in plan["steps"]
        assert bind.query(domain) == set()
        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "ok", done
        # One approval: none filed for the record or the site.
        _, approvals = await agent.get("/api/v1/approvals?status=pending")
        assert approvals["approvals"] == []
        assert bind.query(domain) == {PUBLIC_IP}
        assert await added_hosts(agent) == [domain]
        # The ddns plugin keeps it from now on: its records panel shows it in sync.
        _, records = await agent.get("/api/v1/panels/ddns.records")
        rows = {r["host"]: r for r in records["data"]}
        assert domain in rows, rows

        removal = await agent.run_action("apps.remove", {"name": app, "volumes": True},
                                         expect=202)
        assert {"action": "ddns.remove_host", "params": {"host": domain}} in \
            removal["approval"]["plan"]["covers"]
        assert (await agent.approve(removal["approval"]["id"]))["status"] == "ok"
        assert bind.query(domain) == set()
        assert await added_hosts(agent) == []
        assert nothing_left(client, app)


async def test_a_failure_after_the_dns_step_deletes_the_record(
        start_apps_with_dns, bind: Bind, caddy: Caddy, client, templates_dir) -> None:
    # The site is added but never answers (tls auto: no public CA here): the deploy fails
    # after the record was set, and the record goes with the rest.
    (templates_dir / "web.toml").write_text(
        (templates_dir / "web.toml").read_text().replace("timeout = 20", "timeout = 3"))
    app, domain = f"dnf-{uuid.uuid4().hex[:6]}", "auto.apps.test"
    async with start_apps_with_dns() as agent:
        pending = await agent.run_action("apps.deploy", {
            "template": "web", "name": app, "port": free_port(), "domain": domain,
            "tls": "auto"}, expect=202)
        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "error", done
        assert f"https://{domain} through Caddy failed" in done["error"], done["error"]
        assert f"DNS record {domain}" in done["error"].split("rolled back")[1]
        assert bind.query(domain) == set()
        assert await added_hosts(agent) == []
        assert nothing_left(client, app)


@pytest.mark.parametrize(("domain", "why"), [
    ("web.locked.test", "REFUSED"),  # the server's policy: this key may not update the zone
    ("web.elsewhere.test", "no configured host's zone holds web.elsewhere.test"),
])
async def test_a_refused_dns_update_leaves_nothing(start_apps_with_dns, bind: Bind,
                                                   caddy: Caddy, client, domain: str,
                                                   why: str) -> None:
    app = f"dnr-{uuid.uuid4().hex[:6]}"
    serial = bind.serial("locked.test")
    async with start_apps_with_dns() as agent:
        pending = await agent.run_action("apps.deploy", {
            "template": "web", "name": app, "port": free_port(), "domain": domain,
            "tls": "internal"}, expect=202)
        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "error", done
        assert f"DNS record {domain} failed" in done["error"], done["error"]
        assert why in done["error"], done["error"]
        assert bind.query(domain) == set() and bind.serial("locked.test") == serial
        assert await added_hosts(agent) == []
        assert domain not in caddy.hosts() and nothing_left(client, app)
        runtime = agent.agent.manager.records["apps"].ctx.runtime
        assert await runtime.ctx.secrets.get(f"{app}.TOKEN") is None
        assert await agent.panel("apps.apps") == []


async def test_the_dns_check_sees_a_domain_off_the_public_ip(
        start_apps_with_dns, bind: Bind, echo: EchoServices, client) -> None:
    """apps.dns asks the configured resolvers (the BIND here) for each app's domain and
    compares with the public IP its DDNS plugin published: a record moved behind our back,
    or a public IP that moved (the ddns plugin's public_ip event) while the record did not,
    is critical and names the app and what is served."""
    app, domain = f"dnc-{uuid.uuid4().hex[:6]}", "chk.apps.test"
    served_by = f"127.0.0.1:{bind.port}"
    async with start_apps_with_dns() as agent:
        pending = await agent.run_action("apps.deploy", {
            "template": "web", "name": app, "port": free_port(), "domain": domain,
            "tls": "internal"}, expect=202)
        assert (await agent.approve(pending["approval"]["id"]))["status"] == "ok"
        check = await agent.run_check("apps.dns")
        assert (check["last_status"], check["summary"]) == (
            "ok", "1 domain(s) resolve to the public IP"), check

        await bind.publish("apps.test", domain, "A", [OLD_IP])  # someone else's change
        check = await agent.run_check("apps.dns")
        assert (check["last_status"], check["summary"]) == (
            "critical", f"{app}: {domain} should serve {PUBLIC_IP}: {served_by} serves "
                        f"{OLD_IP}"), check
        await bind.publish("apps.test", domain, "A", [PUBLIC_IP])
        assert (await agent.run_check("apps.dns"))["last_status"] == "ok"

        # The public IP moves; the ddns plugin sees it updating another host only.
        echo.set("203.0.113.9")
        done = await agent.run_action("ddns.update", {"hosts": ["gw.apps.test"]})
        assert done["status"] == "ok", done
        check = await agent.run_check("apps.dns")
        assert (check["last_status"], check["summary"]) == (
            "critical", f"{app}: {domain} should serve 203.0.113.9: {served_by} serves "
                        f"{PUBLIC_IP}"), check

        removal = await agent.run_action("apps.remove", {"name": app, "volumes": True},
                                         expect=202)
        assert (await agent.approve(removal["approval"]["id"]))["status"] == "ok"
        assert (await agent.run_check("apps.dns"))["summary"] == \
            "0 domain(s) resolve to the public IP"
        assert nothing_left(client, app)
