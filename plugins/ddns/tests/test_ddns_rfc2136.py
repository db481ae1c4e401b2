"""RFC 2136 with TSIG against a real BIND 9 on loopback: the plugin updates each host once
per change, verifies by asking the same server, and stops on a refused key or zone."""

from __future__ import annotations

import pytest
from ddns_api import check, everything_shown, panel, update
from ddns_standins import NEW_IP, NEW_IP6, OLD_IP, OLD_IP6, RFC_HOSTS, rfc2136_entry

from tests.engines.bind import new_secret
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


async def test_ip_change_updates_each_host_once_verified_on_the_server(
        start_ddns, bind, tmp_path, creds, capfd) -> None:
    serial = bind.serial("home.test")
    async with start_ddns(schedule=True, interval=1,
                          rfc2136=[rfc2136_entry(bind, tmp_path)]) as agent:
        async def verified():
            rows = await panel(agent, "history")
            return rows if len(rows) == 2 and all(r["verified"] for r in rows) else None
        history = await eventually(verified, timeout=15)
        assert {r["host"] for r in history} == set(RFC_HOSTS)
        assert all(r["outcome"] == "updated" and r["code"] == "NOERROR" for r in history)
        assert {r["provider"] for r in history} == {f"DNS server 127.0.0.1:{bind.port}"}
        # Later cycles find DNS in sync: BIND's serial grew by exactly one per host.
        _, jobs = await agent.get("/api/v1/jobs")
        runs = next(j for j in jobs["jobs"] if j["name"] == "job:ddns.sync")["runs"]

        async def two_more_cycles():
            _, body = await agent.get("/api/v1/jobs")
            job = next(j for j in body["jobs"] if j["name"] == "job:ddns.sync")
            assert job["last_error"] is None
            return job["runs"] >= runs + 2
        await eventually(two_more_cycles, timeout=10)
        assert len(await panel(agent, "history")) == 2
        assert await check(agent) == ("ok", f"2 record(s) match public IP {NEW_IP}")
        seen = await everything_shown(agent)
    out, err = capfd.readouterr()
    assert "ddns.update" in out + err
    for text in [*seen, out, err]:  # the TSIG secret signed every update, and shows nowhere
        assert creds["tsig"] not in text
    for host in RFC_HOSTS:
        assert bind.query(host) == {NEW_IP}
    assert bind.serial("home.test") == serial + 2
    assert bind.query("gw.home.test", "AAAA") == {OLD_IP6}  # the other family untouched


async def test_disagreeing_echo_services_send_no_update(start_ddns, bind, echo,
                                                        tmp_path) -> None:
    echo.set(NEW_IP, aws="203.0.113.99")
    serial = bind.serial("home.test")
    async with start_ddns(rfc2136=[rfc2136_entry(bind, tmp_path)]) as agent:
        results = await update(agent, force=True)
        assert {r["action"] for r in results.values()} == {"skipped"}
        assert "echo services disagree" in results[("gw.home.test", "ipv4")]["message"]
        status, summary = await check(agent)
        assert status == "warning" and "echo services disagree" in summary
    assert bind.serial("home.test") == serial
    assert bind.query("gw.home.test") == {OLD_IP}


async def test_a_wrong_key_is_refused_and_pauses_the_account_without_showing_secrets(
        start_ddns, bind, tmp_path, capfd) -> None:
    wrong = new_secret()
    (tmp_path / "tsig").write_text(wrong)
    serial = bind.serial("home.test")
    async with start_ddns(rfc2136=[rfc2136_entry(bind, tmp_path)]) as agent:
        results = await update(agent)
        first = results[("gw.home.test", "ipv4")]
        assert (first["outcome"], first["code"]) == ("bad_auth", "BADSIG")
        assert "refused key 'ddns-key'" in first["message"]
        # One refusal is enough: the other host is not sent with the same key.
        other = results[("nas.home.test", "ipv4")]
        assert other["action"] == "skipped" and other["message"].startswith("not retrying")
        status, summary = await check(agent)
        assert status == "critical" and "BADSIG" in summary
        seen = await everything_shown(agent, list(results.values()))
    out, err = capfd.readouterr()
    assert "ddns.update" in out + err
    for text in [*seen, out, err]:
        assert wrong not in text
    assert bind.serial("home.test") == serial
    assert "bad signature" in bind.output().lower() or "tsig" in bind.output().lower()


async def test_a_zone_the_key_may_not_update_is_refused(start_ddns, bind, tmp_path) -> None:
    entry = rfc2136_entry(bind, tmp_path, zone="locked.test", hosts=["gw.locked.test"])
    async with start_ddns(rfc2136=[entry]) as agent:
        result = (await update(agent))[("gw.locked.test", "ipv4")]
        assert (result["outcome"], result["code"]) == ("bad_auth", "REFUSED")
        assert "key 'ddns-key' may not update zone locked.test" in result["message"]
        again = (await update(agent))[("gw.locked.test", "ipv4")]
        assert again["action"] == "skipped" and "not retrying" in again["message"]
        history = await panel(agent, "history")
    assert [(r["outcome"], r["code"]) for r in history] == [("bad_auth", "REFUSED")]
    assert bind.query("gw.locked.test") == {OLD_IP}


async def test_aaaa_records_follow_the_public_ipv6(start_ddns, bind, echo, tmp_path) -> None:
    echo.ips6 = dict.fromkeys(echo.ips, NEW_IP6)
    serial = bind.serial("home.test")
    async with start_ddns(ipv6=True, rfc2136=[rfc2136_entry(bind, tmp_path,
                                                            hosts=["gw.home.test"])]) as agent:
        results = await update(agent)
        assert results[("gw.home.test", "ipv6")]["action"] == "updated"
        assert results[("gw.home.test", "ipv6")]["verified"] is True
        assert results[("gw.home.test", "ipv4")]["verified"] is True
        # A disagreement on IPv6 stops the AAAA update only.
        echo.ips6["aws"] = "2001:db8::99"
        await bind.publish("home.test", "gw.home.test", "AAAA", [OLD_IP6])
        results = await update(agent)
        assert results[("gw.home.test", "ipv6")]["action"] == "skipped"
        assert results[("gw.home.test", "ipv4")]["action"] == "in_sync"
    assert bind.query("gw.home.test", "AAAA") == {OLD_IP6}
    assert bind.query("gw.home.test") == {NEW_IP}
    assert bind.serial("home.test") == serial + 3  # A, AAAA, and the reset above
