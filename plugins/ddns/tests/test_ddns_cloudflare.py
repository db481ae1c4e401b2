"""Cloudflare through its API's wire protocol (a local stand-in publishing into a real BIND):
zone lookup by name, one PATCH of `content` per host and change, the proxied flag kept,
429/971 backoff, a refused token (10000) pausing the account, the token shown nowhere."""

from __future__ import annotations

import pytest
from ddns_api import check, everything_shown, panel, update
from ddns_standins import CLOUDFLARE_EDGE, NEW_IP, OLD_IP, cloudflare_entry

pytestmark = pytest.mark.e2e


async def test_ip_change_patches_each_record_once_and_keeps_proxied(
        start_ddns, bind, cloudflare) -> None:
    async with start_ddns(cloudflare=[cloudflare_entry(cloudflare)]) as agent:
        results = await update(agent)
        www, app = results[("www.cf.test", "ipv4")], results[("app.cf.test", "ipv4")]
        assert (www["action"], www["verified"]) == ("updated", True)
        # The proxied name serves Cloudflare's edge in DNS: verified through the API.
        assert (app["action"], app["verified"]) == ("updated", True)
        assert "proxied" in app["message"]
        assert len(cloudflare.updates()) == 2
        assert all(m == "PATCH" for m, p in cloudflare.requests if "/dns_records/" in p)
        # In sync now: nothing more is sent.
        again = await update(agent)
        assert {r["action"] for r in again.values()} == {"in_sync"}
        assert len(cloudflare.updates()) == 2
        assert await check(agent) == ("ok", f"2 record(s) match public IP {NEW_IP}")
        records = {r["host"]: r for r in await panel(agent, "records")}
        assert records["app.cf.test"]["served"] == f"Cloudflare API (proxied) serves {NEW_IP}"
    assert cloudflare.record("app.cf.test")["proxied"] is True
    assert cloudflare.record("www.cf.test")["proxied"] is False
    assert cloudflare.record("app.cf.test")["content"] == NEW_IP
    assert bind.query("www.cf.test") == {NEW_IP}
    assert bind.query("app.cf.test") == {CLOUDFLARE_EDGE}
    # One zone lookup by name, then the records: the other zone was never listed.
    assert ("GET", "/client/v4/zones") in cloudflare.requests


async def test_disagreeing_echo_services_send_nothing(start_ddns, cloudflare, echo) -> None:
    echo.set(NEW_IP, trace="203.0.113.99")
    async with start_ddns(cloudflare=[cloudflare_entry(cloudflare)]) as agent:
        results = await update(agent, force=True)
    assert {r["action"] for r in results.values()} == {"skipped"}
    assert cloudflare.requests == []


async def test_rate_limit_backs_off_for_what_cloudflare_asked(start_ddns, cloudflare) -> None:
    cloudflare.rate_limited = True
    async with start_ddns(cloudflare=[cloudflare_entry(cloudflare, hosts=["www.cf.test"])]
                          ) as agent:
        first = (await update(agent))[("www.cf.test", "ipv4")]
        assert (first["outcome"], first["code"]) == ("rate_limited", 971)
        assert "throttling your request speed" in first["message"]
        again = (await update(agent))[("www.cf.test", "ipv4")]
        assert again["action"] == "skipped"
        assert "backing off after a rate-limit answer for another 3" in again["message"]
        status, summary = await check(agent)
        assert status == "critical" and "backing off" in summary
    assert len(cloudflare.requests) == 1


async def test_a_refused_token_pauses_the_account_and_is_never_shown(
        start_ddns, cloudflare, creds, capfd) -> None:
    cloudflare.token = "the-right-token-is-another-one"
    async with start_ddns(cloudflare=[cloudflare_entry(cloudflare)]) as agent:
        results = await update(agent)
        first = results[("www.cf.test", "ipv4")]
        assert (first["outcome"], first["code"]) == ("bad_auth", 10000)
        assert "Cloudflare refused the API token" in first["message"]
        assert results[("app.cf.test", "ipv4")]["action"] == "skipped"
        status, summary = await check(agent)
        assert status == "critical" and "Cloudflare 10000: Authentication error" in summary
        seen = await everything_shown(agent, list(results.values()))
    out, err = capfd.readouterr()
    assert "ddns.update" in out + err
    for text in [*seen, out, err]:
        assert creds["cloudflare"] not in text
    assert len(cloudflare.requests) == 1
    assert cloudflare.record("www.cf.test")["content"] == OLD_IP


async def test_a_missing_record_is_reported_per_host(start_ddns, cloudflare) -> None:
    entry = cloudflare_entry(cloudflare, hosts=["www.cf.test", "new.cf.test"])
    async with start_ddns(cloudflare=[entry]) as agent:
        results = await update(agent)
    assert results[("new.cf.test", "ipv4")]["outcome"] == "unknown_host"
    assert "no A record named new.cf.test" in results[("new.cf.test", "ipv4")]["message"]
    assert results[("www.cf.test", "ipv4")]["action"] == "updated"


async def test_a_rate_limit_without_retry_after_waits_the_quota_window(start_ddns,
                                                                      cloudflare) -> None:
    cloudflare.rate_limited, cloudflare.retry_after = True, None
    async with start_ddns(cloudflare=[cloudflare_entry(cloudflare, hosts=["www.cf.test"])]
                          ) as agent:
        await update(agent)
        again = (await update(agent))[("www.cf.test", "ipv4")]
    assert "backing off after a rate-limit answer for another 300s" in again["message"] or \
        "for another 299s" in again["message"]
