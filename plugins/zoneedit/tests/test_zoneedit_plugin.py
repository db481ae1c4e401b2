"""The zoneedit plugin in a real agent, against dnsmasq, the ZoneEdit stand-in and echo
services on loopback, driven through the HTTP API."""

from __future__ import annotations

import json
import re
import time

from zoneedit_standins import HOSTS, NEW_IP, OLD_IP

from tests.engines.dnsmasq import free_udp_port, running
from tests.waiting import eventually


async def update(agent, **params):
    status, body = await agent.post("/api/v1/actions/zoneedit.update/run", {"params": params})
    assert status == 200, body
    assert body["status"] == "ok", body
    return {r["host"]: r for r in body["result"]}


async def check(agent):
    status, body = await agent.post("/api/v1/checks/run", {"names": ["zoneedit.records"]})
    assert status == 200, body
    state = body["checks"][0]
    return state["last_status"], state["summary"]


async def panel(agent, name):
    status, body = await agent.get(f"/api/v1/panels/zoneedit.{name}")
    assert status == 200, body
    return body["data"]


async def test_ip_change_updates_each_host_once_and_verifies_in_dns(
        start_zoneedit, zoneedit, dns) -> None:
    # The scheduled job does the work: nobody asks for it.
    async with start_zoneedit(schedule=True, interval=1, min_interval=0) as agent:
        history = await eventually(lambda: _verified(agent), timeout=10)
        assert sorted(zoneedit.updates()) == sorted((h, NEW_IP) for h in HOSTS)
        # The host more than one label below its zone is sent with its zone.
        deep = next(r for r in zoneedit.requests if r["query"]["host"] == "deep.sub.zone.test")
        assert deep["query"]["zone"] == "zone.test" and deep["authorized"]
        for host in HOSTS:
            assert dns.query(host) == {NEW_IP}
        assert {r["host"] for r in history} == set(HOSTS)
        assert all(r["outcome"] == "updated" and OLD_IP in r["previous"] for r in history)
        # Later cycles find DNS in sync and leave ZoneEdit alone.
        runs = await _job_runs(agent)
        await eventually(lambda: _job_runs(agent, runs + 2), timeout=5)
        assert len(zoneedit.requests) == len(HOSTS)
        assert await check(agent) == ("ok", f"3 record(s) match public IP {NEW_IP}")


async def _verified(agent):
    rows = await panel(agent, "history")
    return rows if len(rows) == len(HOSTS) and all(r["verified"] for r in rows) else None


async def _job_runs(agent, at_least=None):
    _, body = await agent.get("/api/v1/jobs")
    job = next(j for j in body["jobs"] if j["name"] == "job:zoneedit.sync")
    assert job["last_error"] is None
    return job["runs"] if at_least is None else job["runs"] >= at_least


async def test_the_action_updates_only_differing_hosts_and_respects_the_min_interval(
        start_zoneedit, zoneedit, dns) -> None:
    async with start_zoneedit(min_interval=600) as agent:
        assert (await check(agent))[0] == "critical"
        results = await update(agent)
        assert {h: r["action"] for h, r in results.items()} == dict.fromkeys(HOSTS, "updated")
        assert all(r["verified"] for r in results.values())
        assert (await update(agent)) == {
            h: {"host": h, "family": "ipv4", "action": "in_sync", "ip": NEW_IP,
                "message": f"DNS serves {NEW_IP}"} for h in HOSTS}
        # Forcing still waits for the minimum interval: nothing reaches ZoneEdit.
        forced = await update(agent, force=True, hosts=["home.zone.test"])
        assert forced["home.zone.test"]["action"] == "skipped"
        assert "minimum interval" in forced["home.zone.test"]["message"]
        assert len(zoneedit.requests) == len(HOSTS)
        records = {r["host"]: r for r in await panel(agent, "records")}
        assert records["home.zone.test"]["match"] is True
        assert abs(records["home.zone.test"]["next_update"] - (time.time() + 600)) < 10


async def test_disagreeing_echo_services_stop_any_update(start_zoneedit, zoneedit, echo,
                                                         dns) -> None:
    echo.set(NEW_IP, aws="203.0.113.99")
    async with start_zoneedit() as agent:
        results = await update(agent, force=True)
        assert {r["action"] for r in results.values()} == {"skipped"}
        assert "disagree" in results["home.zone.test"]["message"]
        status, summary = await check(agent)
        assert status == "warning" and "echo services disagree" in summary
        status, body = await agent.post("/api/v1/actions/zoneedit.public_ip/run", {})
        assert body["result"]["ipv4"]["agreed"] is False
    assert zoneedit.requests == []
    assert dns.query("home.zone.test") == {OLD_IP}


async def test_captive_portal_answers_leave_too_few_voices(start_zoneedit, zoneedit,
                                                           echo) -> None:
    echo.set(None, ipify=NEW_IP)  # one real answer, the rest are login pages
    async with start_zoneedit() as agent:
        results = await update(agent)
        assert "2 must agree" in results["www.zone.test"]["message"]
    assert zoneedit.requests == []


async def test_rate_limit_answer_backs_off(start_zoneedit, zoneedit, dns) -> None:
    zoneedit.rate_limited = True
    async with start_zoneedit(min_interval=0) as agent:
        first = await update(agent, hosts=["home.zone.test"])
        assert first["home.zone.test"]["outcome"] == "rate_limited"
        assert "backing off" in first["home.zone.test"]["message"]
        again = await update(agent, hosts=["home.zone.test"])
        assert again["home.zone.test"]["action"] == "skipped"
        assert "backing off after a rate-limit answer for another 6" in \
            again["home.zone.test"]["message"]  # about 600 s, as ZoneEdit's PARAM asked
        assert len(zoneedit.requests) == 1
        status, summary = await check(agent)
        assert status == "critical" and "backing off" in summary
        history = await panel(agent, "history")
        assert [(r["outcome"], r["code"]) for r in history] == [("rate_limited", 702)]


async def test_too_frequent_answer_backs_off_too(start_zoneedit, zoneedit, dns) -> None:
    zoneedit.last["www.zone.test/ipv4"] = (time.time(), "203.0.113.1")
    async with start_zoneedit(min_interval=0) as agent:
        result = (await update(agent, hosts=["www.zone.test"]))["www.zone.test"]
        assert (result["outcome"], result["code"]) == ("rate_limited", 707)
        assert (await update(agent, hosts=["www.zone.test"]))["www.zone.test"][
            "action"] == "skipped"
    assert len(zoneedit.requests) == 1


async def test_bad_credentials_are_a_clear_critical_and_stop_further_requests(
        start_zoneedit, zoneedit, credentials, capfd) -> None:
    zoneedit.token = "the-right-token-is-another-one"
    async with start_zoneedit() as agent:
        results = await update(agent)
        assert results["home.zone.test"]["outcome"] == "bad_auth"
        assert "rejected the credentials" in results["home.zone.test"]["message"]
        # One refusal is enough: the other hosts are not sent (no 702 loops).
        assert len(zoneedit.requests) == 1 and not zoneedit.requests[0]["authorized"]
        assert {r["action"] for h, r in results.items() if h != "home.zone.test"} == {"skipped"}
        status, summary = await check(agent)
        assert status == "critical"
        assert "ZoneEdit rejected the credentials" in summary and "708" in summary
        # The secrets were sent, but nothing shows them: not the API, the audit, the logs.
        assert zoneedit.requests[0]["user"] == credentials["username"]
        seen = [json.dumps(await agent.get(path)) for path in (
            "/api/v1/panels/zoneedit.history", "/api/v1/audit", "/api/v1/config",
            "/api/v1/plugins/zoneedit", "/api/v1/events")]
        seen.append(json.dumps(results))
    out, err = capfd.readouterr()
    assert "zoneedit.update" in out + err  # the update was logged...
    for text in [*seen, out, err]:
        assert credentials["token"] not in text  # ...without the secrets
        assert credentials["username"] not in text


async def test_public_ip_action_reports_each_service(start_zoneedit, echo) -> None:
    async with start_zoneedit() as agent:
        status, body = await agent.post("/api/v1/actions/zoneedit.public_ip/run", {})
        assert status == 200 and body["status"] == "ok"
        ipv4 = body["result"]["ipv4"]
        assert ipv4["ip"] == NEW_IP and ipv4["agreed"]
        assert {a["url"] for a in ipv4["answers"]} == set(echo.urls())
        tools = agent.agent.tools
        assert (await tools["zoneedit.public_ip"].run({}))["ipv4"]["ip"] == NEW_IP
        status = await tools["zoneedit.record_status"].run({})
        assert status["status"] == "critical" and len(status["records"]) == 3


async def test_unknown_host_is_reported_per_host(start_zoneedit, zoneedit) -> None:
    del zoneedit.hosts["www.zone.test"]
    async with start_zoneedit(min_interval=0) as agent:
        results = await update(agent)
        assert results["www.zone.test"]["outcome"] == "unknown_host"
        assert "does not know this host" in results["www.zone.test"]["message"]
        assert results["home.zone.test"]["outcome"] == "updated"


async def test_the_minimum_interval_survives_a_restart(start_zoneedit, zoneedit, dns) -> None:
    async with start_zoneedit(min_interval=600) as agent:
        await update(agent, hosts=["home.zone.test"])
    dns.set_hosts({host: [OLD_IP] for host in HOSTS})  # as if the address moved again
    async with start_zoneedit(min_interval=600) as agent:  # same store
        result = (await update(agent, hosts=["home.zone.test"]))["home.zone.test"]
        assert result["action"] == "skipped" and "minimum interval" in result["message"]
        assert len(await panel(agent, "history")) == 1
    assert len(zoneedit.requests) == 1


async def test_ipv6_records_follow_the_public_ipv6(start_zoneedit, zoneedit, echo,
                                                   dns) -> None:
    old6, new6 = "2001:db8::1", "2001:db8::7"
    dns.set_hosts({host: [OLD_IP, old6] for host in HOSTS})
    echo.ips6 = dict.fromkeys(echo.ips, new6)
    async with start_zoneedit(ipv6=True, hosts=["home.zone.test"], min_interval=0,
                              ipv6_services=echo.urls(v6=True)) as agent:
        status, body = await agent.post("/api/v1/actions/zoneedit.update/run", {"params": {}})
        assert status == 200, body
        rows = {r["family"]: r for r in body["result"]}
    assert rows["ipv4"]["action"] == "updated" and rows["ipv4"]["verified"]
    assert rows["ipv6"]["action"] == "updated" and rows["ipv6"]["verified"], rows
    assert dns.query("home.zone.test", "AAAA") == {new6}
    assert dns.query("home.zone.test") == {NEW_IP}


async def test_settings_that_could_never_agree_fail_the_plugin(start_zoneedit, echo) -> None:
    async with start_zoneedit(ipv4_services=echo.urls("ipify"), min_agreeing=2) as agent:
        _, body = await agent.get("/api/v1/plugins/zoneedit")
    assert body["state"] == "failed"
    assert "min_agreeing is 2 but only 1 ipv4 echo service(s) are configured" in body["error"]


async def test_force_sends_even_when_dns_matches(start_zoneedit, zoneedit, dns) -> None:
    async with start_zoneedit(min_interval=0) as agent:
        await update(agent, hosts=["home.zone.test"])
        assert (await update(agent, hosts=["home.zone.test"]))["home.zone.test"][
            "action"] == "in_sync"
        forced = (await update(agent, force=True, hosts=["home.zone.test"]))["home.zone.test"]
        # ZoneEdit calls a repeat of the same address a duplicate: no change, not an error.
        assert (forced["action"], forced["code"], forced["verified"]) == ("unchanged", 707, True)
        history = await panel(agent, "history")
        assert [(r["trigger"], r["outcome"]) for r in history] == [
            ("action", "unchanged"), ("action", "updated")]
    assert zoneedit.updates() == [("home.zone.test", NEW_IP)] * 2


async def test_a_failed_update_shows_in_the_check(start_zoneedit, zoneedit, dns) -> None:
    del zoneedit.hosts["www.zone.test"]  # ZoneEdit answers 709 for it
    dns.set_hosts({"home.zone.test": [OLD_IP], "deep.sub.zone.test": [OLD_IP]})  # www: none
    async with start_zoneedit(min_interval=600) as agent:
        result = (await update(agent, hosts=["www.zone.test"]))["www.zone.test"]
        assert result["outcome"] == "unknown_host"
        status, summary = await check(agent)
    assert status == "critical"
    # Each resolver's answer is a sentence about that resolver: nothing reads as if its
    # own address were served.
    assert f"home.zone.test: {dns.address} serves {OLD_IP}; " in summary
    assert re.search(
        rf"www\.zone\.test: {re.escape(dns.address)} has no A record — last update failed "
        r"\d+s ago: ZoneEdit does not know this host or zone in this account \(ZoneEdit 709: "
        r"invalid hostname\), next attempt in (599|600)s", summary), summary
    assert f"serves {dns.address}" not in summary and "no record" not in summary


async def test_an_update_zoneedit_did_not_take_shows_until_one_succeeds(
        start_zoneedit, zoneedit) -> None:
    unreachable = "http://127.0.0.1:9/auth/dynamic.html"
    async with start_zoneedit(min_interval=0, update_url=unreachable,
                              hosts=["home.zone.test"]) as agent:
        assert (await update(agent))["home.zone.test"]["outcome"] == "failed"
        status, summary = await check(agent)
        assert status == "critical"
        assert "home.zone.test: 127.0.0.1 serves 198.51.100.1 — last update failed " in summary
        assert "connection refused by 127.0.0.1:9" in summary
    # ZoneEdit answers again; the store remembers the failure across the restart.
    async with start_zoneedit(min_interval=0, hosts=["home.zone.test"]) as agent:
        assert "last update failed" in (await check(agent))[1]
        assert (await update(agent))["home.zone.test"]["action"] == "updated"
        assert await check(agent) == ("ok", f"1 record(s) match public IP {NEW_IP}")


async def test_each_resolver_may_name_its_own_port(start_zoneedit, dns, tmp_path) -> None:
    port = free_udp_port(("::1",))
    with running(tmp_path / "dns6", hosts={host: [OLD_IP] for host in HOSTS}, address="::1",
                 port=port):
        resolvers = [f"{dns.address}:{dns.port}", f"[::1]:{port}"]
        async with start_zoneedit(resolvers=resolvers, dns_port=9,
                                  hosts=["home.zone.test"]) as agent:
            assert await check(agent) == (
                "critical", f"1 record(s) differ from public IP {NEW_IP}: home.zone.test: "
                            f"{dns.address}:{dns.port} serves {OLD_IP}, [::1]:{port} serves "
                            f"{OLD_IP}")
    async with start_zoneedit(resolvers=["127.0.0.1:dns"]) as agent:
        body = await agent.plugin("zoneedit")
    assert body["state"] == "failed"
    assert "plugins.zoneedit.resolvers.0: '127.0.0.1:dns': the port must be a number from " \
        "1 to 65535" in body["error"]
