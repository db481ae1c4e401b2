"""DuckDNS through its update URL's wire protocol (a local stand-in publishing into a real
BIND): one request per host and change, OK/KO, and a token that travels in the query string
yet shows nowhere."""

from __future__ import annotations

import pytest
from ddns_api import check, everything_shown, update
from ddns_standins import NEW_IP, NEW_IP6, OLD_IP, duckdns_entry

pytestmark = pytest.mark.e2e


async def test_ip_change_updates_once_and_is_verified_in_dns(start_ddns, bind, duckdns,
                                                             echo, tmp_path) -> None:
    echo.ips6 = dict.fromkeys(echo.ips, NEW_IP6)
    async with start_ddns(ipv6=True, duckdns=[duckdns_entry(duckdns, tmp_path)]) as agent:
        results = await update(agent)
        v4, v6 = results[("myhome.duckdns.org", "ipv4")], results[("myhome.duckdns.org", "ipv6")]
        assert (v4["action"], v4["code"], v4["verified"]) == ("updated", "OK", True)
        assert (v6["action"], v6["verified"]) == ("updated", True)
        again = await update(agent)
        assert {r["action"] for r in again.values()} == {"in_sync"}
        assert await check(agent) == ("ok", f"2 record(s) match public IP {NEW_IP}, {NEW_IP6}")
    assert sorted(duckdns.updates()) == sorted([("myhome", NEW_IP), ("myhome", NEW_IP6)])
    assert all(r["verbose"] == "true" for r in duckdns.requests)
    assert bind.query("myhome.duckdns.org") == {NEW_IP}
    assert bind.query("myhome.duckdns.org", "AAAA") == {NEW_IP6}


async def test_disagreeing_echo_services_send_nothing(start_ddns, duckdns, echo,
                                                      tmp_path) -> None:
    echo.set(NEW_IP, ipify="203.0.113.99")
    async with start_ddns(duckdns=[duckdns_entry(duckdns, tmp_path)]) as agent:
        results = await update(agent, force=True)
    assert {r["action"] for r in results.values()} == {"skipped"}
    assert duckdns.requests == []


async def test_ko_pauses_the_account_and_the_token_shows_nowhere(
        start_ddns, bind, duckdns, creds, tmp_path, capfd) -> None:
    duckdns.token = "another-token"
    async with start_ddns(duckdns=[duckdns_entry(duckdns, tmp_path)]) as agent:
        result = (await update(agent))[("myhome.duckdns.org", "ipv4")]
        assert (result["outcome"], result["code"]) == ("bad_auth", "KO")
        assert "DuckDNS answered KO" in result["message"]
        again = (await update(agent))[("myhome.duckdns.org", "ipv4")]
        assert again["action"] == "skipped" and "not retrying" in again["message"]
        status, summary = await check(agent)
        assert status == "critical" and "KO" in summary
        seen = await everything_shown(agent, [result, again])
    out, err = capfd.readouterr()
    assert "ddns.update" in out + err
    # The token was sent (in the query string, as DuckDNS takes it)...
    assert duckdns.requests[0]["token"] == creds["duckdns"]
    for text in [*seen, out, err]:
        assert creds["duckdns"] not in text  # ...and shows nowhere
    assert len(duckdns.requests) == 1
    assert bind.query("myhome.duckdns.org") == {OLD_IP}


async def test_the_minimum_interval_holds_between_two_updates(start_ddns, bind, duckdns,
                                                              tmp_path) -> None:
    async with start_ddns(duckdns=[duckdns_entry(duckdns, tmp_path, min_interval=300)]
                          ) as agent:
        assert (await update(agent))[("myhome.duckdns.org", "ipv4")]["action"] == "updated"
        await bind.publish("duckdns.org", "myhome.duckdns.org", "A", [OLD_IP])
        again = (await update(agent))[("myhome.duckdns.org", "ipv4")]
    assert again["action"] == "skipped" and "minimum interval" in again["message"]
    assert len(duckdns.requests) == 1
