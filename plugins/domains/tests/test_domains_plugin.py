"""The domains plugin in a real agent, against dnsmasq and real TLS/HTTP servers on
loopback, driven through the HTTP API."""

from __future__ import annotations

import asyncio
import time

from domains_api import name, run_checks, table
from domains_zone import LAGGARD, LAGGING, PRIMARY, SILENT

from tests.engines.dnsmasq import free_udp_port, running


async def test_a_healthy_host_with_redirects_keyword_and_certificate(start_domains,
                                                                     sites) -> None:
    hosts = [{"name": name("valid"), "path": "/start", "keyword": "Welcome to valid"},
             {"name": name("www"), "records": ["CNAME", "A"],
              "expect": {"CNAME": name("valid"), "A": ["127.0.0.1"]}},
             {"name": name("dual"), "records": ["A", "AAAA"], "https": False,
              "http_redirect": False, "expect": {"AAAA": ["::1"]}}]
    async with start_domains(hosts) as agent:
        results = await run_checks(agent, "valid", "www", "dual")
        assert results["dual"] == ("ok", f"{name('dual')}: A 127.0.0.1; AAAA ::1")
        assert results["valid"][0] == "ok", results
        assert "A 127.0.0.1" in results["valid"][1] and "HTTPS 200" in results["valid"][1]
        assert "certificate 90 days left (Nebula Test CA, TLSv1.3)" in results["valid"][1]
        assert results["www"][0] == "ok", results
        assert f"CNAME {name('valid')}." in results["www"][1]
        row = (await table(agent))["valid"]
        port = sites["https_port"]
        assert row["redirects"] == [f"302 https://{name('valid')}:{port}/start",
                                    f"301 https://{name('valid')}:{port}/middle"]
        assert row["http_status"] == 200 and row["https_redirect"] is True
        assert 89 < row["tls_days_left"] <= 90 and row["tls_version"] in ("TLSv1.2", "TLSv1.3")
        assert row["latency_ms"] > 0 and row["problem"] == ""


async def test_dns_failures_are_told_apart(start_domains) -> None:
    web_off = {"https": False, "http_redirect": False}
    hosts = [{"name": name("missing"), **web_off}, {"name": "x.broken.test", **web_off},
             {"name": name("txt"), **web_off},
             {"name": name("valid"), "expect": {"A": ["127.0.0.5"]}, **web_off}]
    async with start_domains(hosts) as agent:
        _, body = await agent.post("/api/v1/checks/run", {})
        results = {c["title"]: (c["last_status"], c["summary"]) for c in body["checks"]}
    assert results[name("missing")] == (
        "critical", f"{name('missing')}: A: NXDOMAIN (no such name) on all 1 resolvers "
                    f"({PRIMARY}: NXDOMAIN (no such name))")
    assert results["x.broken.test"][0] == "critical"
    assert "SERVFAIL (server failure) on all 1 resolvers" in results["x.broken.test"][1]
    assert results[name("txt")][0] == "critical"
    assert "no record of this type" in results[name("txt")][1]
    assert results[name("valid")] == (
        "critical", f"{name('valid')}: A: wrong answer, expected 127.0.0.5: {PRIMARY} serves "
                    "127.0.0.1")


async def test_timeouts_and_propagation_across_resolvers(start_domains) -> None:
    web_off = {"https": False, "http_redirect": False}
    hosts = [{"name": name("valid"), **web_off}, {"name": name("moved"), **web_off}]
    async with start_domains(hosts, resolvers=[PRIMARY, SILENT]) as agent:
        status, summary = (await run_checks(agent, "valid"))["valid"]
        assert status == "warning"
        assert f"{SILENT}: timeout: no answer within 0.5s" in summary
    async with start_domains(hosts, resolvers=[SILENT]) as agent:
        status, summary = (await run_checks(agent, "valid"))["valid"]
        assert status == "critical" and "timeout on all 1 resolvers" in summary
    async with start_domains(hosts, resolvers=[PRIMARY, LAGGARD]) as agent:
        results = await run_checks(agent, "valid", "moved")
        assert results["moved"] == (
            "warning", f"{name('moved')}: A: resolvers disagree ({PRIMARY}: 127.0.0.1; "
                       f"{LAGGARD}: 127.0.0.9)")
        # One resolver failing while another answers is a warning, not an outage.
        assert results["valid"] == (
            "warning", f"{name('valid')}: A: {LAGGARD}: NXDOMAIN (no such name)")


async def test_each_resolver_may_name_its_own_port(start_domains, zone, tmp_path) -> None:
    web_off = {"https": False, "http_redirect": False}
    port = free_udp_port(("::1",))
    # A second server on another port (and IPv6), serving `moved` on its old address.
    with running(tmp_path / "dns6", LAGGING, address="::1", port=port):
        # The first takes dns_port (the zone's), the second its own.
        async with start_domains([{"name": name("moved"), **web_off}],
                                 resolvers=[PRIMARY, f"[::1]:{port}"],
                                 dns_port=zone.port) as agent:
            results = await run_checks(agent, "moved")
        assert results["moved"] == (
            "warning", f"{name('moved')}: A: resolvers disagree ({PRIMARY}: 127.0.0.1; "
                       f"[::1]:{port}: 127.0.0.9)")
        async with start_domains([{"name": name("valid"), **web_off}], dns_port=9,
                                 resolvers=[f"{PRIMARY}:{zone.port}"]) as agent:
            assert (await run_checks(agent, "valid"))["valid"] == (
                "ok", f"{name('valid')}: A 127.0.0.1")
    async with start_domains([name("valid")],
                             resolvers=["127.0.0.1:dns", "dns.google"]) as agent:
        body = await agent.plugin("domains")
    assert body["state"] == "failed"
    # Each entry at its own key path (and line), as `nebula config validate` shows them.
    assert ("plugins.domains.resolvers.0: '127.0.0.1:dns': the port must be a number from "
            "1 to 65535") in body["error"]
    assert ("plugins.domains.resolvers.1: 'dns.google' is not an IP address, address:port "
            "or [IPv6]:port") in body["error"]


async def test_certificate_cases(start_domains) -> None:
    labels = ["valid", "warning", "expiring", "expired", "wrongname", "selfsigned"]
    async with start_domains([name(label) for label in labels]) as agent:
        results = await run_checks(agent, *labels)
        rows = await table(agent)
    assert results["valid"][0] == "ok"
    assert results["warning"][0] == "warning"
    assert "certificate expires in 14.9 days (warning at 21)" in results["warning"][1] or \
        "certificate expires in 15.0 days (warning at 21)" in results["warning"][1]
    assert results["expiring"][0] == "critical"
    assert "(critical at 7)" in results["expiring"][1]
    assert results["expired"][0] == "critical"
    assert "certificate rejected: certificate has expired" in results["expired"][1]
    assert results["wrongname"][0] == "critical"
    assert "Hostname mismatch" in results["wrongname"][1]
    assert results["selfsigned"][0] == "critical"
    assert "self-signed certificate" in results["selfsigned"][1]
    # A rejected certificate is still read: its expiry and issuer are shown.
    assert rows["expired"]["tls_days_left"] < -1
    assert rows["selfsigned"]["tls_issuer"] == name("selfsigned")
    assert rows["expiring"]["tls_issuer"] == "Nebula Test CA"


async def test_the_system_store_does_not_trust_the_test_ca(start_domains, domains_config,
                                                           nebula_agent) -> None:
    from nebula_domains import plugin

    config = domains_config([name("valid")])
    del config["ca_bundle"]
    async with nebula_agent({"domains": plugin}, config={"domains": config},
                            schedule=False) as agent:
        status, summary = (await run_checks(agent, "valid"))["valid"]
    assert status == "critical" and "unable to get local issuer certificate" in summary


async def test_http_problems(start_domains) -> None:
    hosts = [name("error"), name("noredirect"), name("closed"), name("loop"),
             {"name": name("valid"), "keyword": "Goodbye"}]
    async with start_domains(hosts, max_redirects=3) as agent:
        results = await run_checks(agent, "error", "noredirect", "closed", "loop", "valid")
    assert results["error"][0] == "critical" and "final status 500" in results["error"][1]
    assert results["noredirect"][0] == "warning"
    assert "http:// does not redirect to https:// (answers 200)" in results["noredirect"][1]
    assert results["closed"][0] == "critical" and "cannot fetch" in results["closed"][1]
    assert results["loop"][0] == "critical" and "more than 3 redirects" in results["loop"][1]
    assert results["valid"][0] == "critical"
    assert "keyword 'Goodbye' not found" in results["valid"][1]


async def test_a_name_that_does_not_resolve_gets_no_web_probes(start_domains) -> None:
    hosts = [name("missing"), {"name": name("txt"), "records": ["TXT"]},
             {"name": "x.broken.test", "http_redirect": False}, name("closed")]
    async with start_domains(hosts) as agent:
        _, body = await agent.post("/api/v1/checks/run", {})
        results = {c["title"]: (c["last_status"], c["summary"]) for c in body["checks"]}
        rows = await table(agent)
    assert results[name("missing")] == (
        "critical", f"{name('missing')}: A: NXDOMAIN (no such name) on all 1 resolvers "
                    f"({PRIMARY}: NXDOMAIN (no such name)); HTTPS and HTTP not probed: does "
                    "not resolve")
    # Its TXT record resolves, but there is no address to fetch the site from.
    assert results[name("txt")] == (
        "critical", f"{name('txt')}: HTTPS and HTTP not probed: does not resolve")
    assert results["x.broken.test"][0] == "critical"
    assert results["x.broken.test"][1].endswith("; HTTPS not probed: does not resolve")
    assert (rows["missing"]["http_status"], rows["missing"]["https_redirect"]) == (None, None)
    # A name that resolves to where nothing listens is probed, and the failure is named
    # without any object's repr.
    assert results[name("closed")][0] == "critical"
    assert f"cannot fetch: connection refused by {name('closed')}:" in results[name("closed")][1]
    for _, summary in results.values():
        assert " object at 0x" not in summary and "SSLContext" not in summary, summary


async def test_a_slow_host_does_not_delay_the_others(start_domains) -> None:
    hosts = [name("slow"), name("valid")]
    async with start_domains(hosts, http_timeout=10, concurrency=2) as agent:
        async def timed(label):
            started = time.perf_counter()
            result = (await run_checks(agent, label))[label]
            return result, time.perf_counter() - started

        slow, fast = await asyncio.gather(timed("slow"), timed("valid"))
    assert fast[0][0] == "ok" and fast[1] < 1.5, fast
    assert slow[1] >= 3, slow
    assert slow[0][0] == "warning" and "ms (warning at 3000 ms)" in slow[0][1]


async def test_concurrency_is_bounded(start_domains) -> None:
    # One slot: the second host waits for the first, which is what the bound means.
    async with start_domains([name("slow"), name("valid")], concurrency=1,
                             http_timeout=10) as agent:
        slow = asyncio.ensure_future(run_checks(agent, "slow"))
        await asyncio.sleep(0.5)
        started = time.perf_counter()
        assert (await run_checks(agent, "valid"))["valid"][0] == "ok"
        assert time.perf_counter() - started >= 2
        await slow


async def test_tools_check_one_domain_and_explain_failures(start_domains) -> None:
    async with start_domains([name("valid"), name("expired"), name("noredirect")]) as agent:
        tools = agent.agent.tools
        assert tools.keys() >= {"domains.check_domain", "domains.why_failing"}
        report = await tools["domains.check_domain"].run({"host": name("valid")})
        assert report["status"] == "ok" and report["problems"] == []
        assert report["resolvers"]["A"] == [{"resolver": PRIMARY, "outcome": "ok",
                                             "answer": "127.0.0.1",
                                             "ms": report["resolvers"]["A"][0]["ms"]}]
        assert report["tls"]["verified"] is True and report["tls"]["issuer"] == "Nebula Test CA"
        why = await tools["domains.why_failing"].run({"host": name("expired")})
        (failing,) = why["failing"]
        expired = next(p for p in failing["problems"] if p["code"] == "expired")
        assert expired["area"] == "tls" and "renewal failed" in expired["hint"]
        everything = await tools["domains.why_failing"].run({})
        assert {f["host"] for f in everything["failing"]} == {name("expired"),
                                                              name("noredirect")}
        redirect = everything["failing"][1]["problems"][0]
        assert redirect["code"] == "redirect" and "Caddy" in redirect["hint"]
        with_unknown = tools["domains.check_domain"].run({"host": "nope.example"})
        try:
            await with_unknown
        except KeyError as exc:
            assert "not a configured host" in str(exc)
        else:
            raise AssertionError("an unknown host must be refused")


async def test_bad_limits_fail_the_plugin_with_the_reason(start_domains) -> None:
    async with start_domains([name("valid")], tls_warning_days=3) as agent:
        _, body = await agent.get("/api/v1/plugins/domains")
    assert body["state"] == "failed"
    assert "tls_warning_days (3) is below tls_critical_days (7)" in body["error"]
