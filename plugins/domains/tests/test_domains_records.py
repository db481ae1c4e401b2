"""TXT, MX, SRV and CAA records, with expected values, against the records dnsmasq serves
(domains_zone.py), in a real agent driven through the HTTP API."""

from __future__ import annotations

from domains_api import name
from domains_zone import DKIM, LAGGARD, PRIMARY, ZONE

WEB_OFF = {"https": False, "http_redirect": False}
SIP = f"_sip._tcp.{ZONE}"


async def all_checks(agent) -> dict[str, tuple[str, str]]:
    _, plugin = await agent.get("/api/v1/plugins/domains")
    assert plugin["state"] == "loaded", plugin
    status, body = await agent.post("/api/v1/checks/run", {})
    assert status == 200, body
    return {c["title"]: (c["last_status"], c["summary"]) for c in body["checks"]}


async def test_each_record_type_meets_its_expected_values(start_domains) -> None:
    hosts = [
        # Other TXT records may stand beside the expected one (a site verification here).
        {"name": name("txt"), "expect": {"TXT": ["v=spf1 -all"]}, **WEB_OFF},
        # Served in two strings, expected as one text.
        {"name": name("dkim"), "expect": {"TXT": [DKIM]}, **WEB_OFF},
        # Written as in a zone file; names compared without regard to case or final dot.
        {"name": name("mail"), "expect": {"MX": ["20 MX2.site.test", "10 mx1.site.test."]},
         **WEB_OFF},
        {"name": SIP, "expect": {"SRV": [f"0 5 5060 sip.{ZONE}"]}, **WEB_OFF},
        {"name": name("caa"), "expect": {"CAA": ["0 issue letsencrypt.org",
                                                 f'0 iodef "mailto:admin@{ZONE}"']},
         **WEB_OFF},
        # Resolved without expectations; an address beside them.
        {"name": name("valid"), "records": ["A", "TXT", "MX"], **WEB_OFF},
    ]
    async with start_domains(hosts) as agent:
        results = await all_checks(agent)
    assert results == {
        name("txt"): ("ok", f'{name("txt")}: TXT "site-verification=abc123", "v=spf1 -all"'),
        name("dkim"): ("ok", f'{name("dkim")}: TXT "{DKIM[:100]}…" ({len(DKIM)} chars)'),
        name("mail"): ("ok", f"{name('mail')}: MX 10 mx1.{ZONE}., 20 mx2.{ZONE}."),
        SIP: ("ok", f"{SIP}: SRV 0 5 5060 sip.{ZONE}."),
        name("caa"): ("ok", f'{name("caa")}: CAA 0 iodef "mailto:admin@{ZONE}", '
                            '0 issue "letsencrypt.org"'),
        name("valid"): ("critical", f"{name('valid')}: TXT: no record of this type on all 1 "
                                    f"resolvers ({PRIMARY}: no record of this type); MX: no "
                                    f"record of this type on all 1 resolvers ({PRIMARY}: no "
                                    "record of this type)"),
    }


async def test_a_record_set_that_differs_is_a_wrong_answer(start_domains) -> None:
    hosts = [
        {"name": name("txt"), "expect": {"TXT": ["v=spf1 include:_spf.example.com -all"]},
         **WEB_OFF},
        # One exchanger too many is as wrong as one missing.
        {"name": name("mail"), "expect": {"MX": ["10 mx1.site.test"]}, **WEB_OFF},
        {"name": SIP, "expect": {"SRV": [f"0 5 5061 sip.{ZONE}"]}, **WEB_OFF},
        {"name": name("caa"), "expect": {"CAA": ["0 issue pki.goog",
                                                 f'0 iodef "mailto:admin@{ZONE}"']},
         **WEB_OFF},
    ]
    async with start_domains(hosts) as agent:
        results = await all_checks(agent)
    assert results == {
        name("txt"): ("critical", f'{name("txt")}: TXT: wrong answer, expected "v=spf1 '
                                  'include:_spf.example.com -all" among the records: '
                                  f'{PRIMARY} serves "site-verification=abc123", '
                                  '"v=spf1 -all"'),
        name("mail"): ("critical", f"{name('mail')}: MX: wrong answer, expected 10 "
                                   f"mx1.{ZONE}.: {PRIMARY} serves 10 mx1.{ZONE}., 20 "
                                   f"mx2.{ZONE}."),
        SIP: ("critical", f"{SIP}: SRV: wrong answer, expected 0 5 5061 sip.{ZONE}.: "
                          f"{PRIMARY} serves 0 5 5060 sip.{ZONE}."),
        name("caa"): ("critical", f'{name("caa")}: CAA: wrong answer, expected 0 iodef '
                                  f'"mailto:admin@{ZONE}", 0 issue "pki.goog": {PRIMARY} '
                                  f'serves 0 iodef "mailto:admin@{ZONE}", 0 issue '
                                  '"letsencrypt.org"'),
    }


async def test_resolvers_that_disagree_on_a_record_set_show_propagation(start_domains) -> None:
    async with start_domains([{"name": name("mail"), "records": ["MX"], **WEB_OFF}],
                             resolvers=[PRIMARY, LAGGARD]) as agent:
        results = await all_checks(agent)
    assert results[name("mail")] == (
        "warning", f"{name('mail')}: MX: resolvers disagree ({PRIMARY}: 10 mx1.{ZONE}., 20 "
                   f"mx2.{ZONE}.; {LAGGARD}: 10 mx0.{ZONE}.)")


async def test_expectations_that_cannot_be_met_fail_the_plugin_with_the_reason(
        start_domains) -> None:
    hosts = [{"name": name("mail"), "expect": {"MX": ["mx1.site.test"]}},
             {"name": name("caa"), "expect": {"CAA": ["0 issue"]}},
             {"name": name("txt"), "records": ["A"], "expect": {"TXT": ["v=spf1 -all"]}}]
    async with start_domains(hosts) as agent:
        body = await agent.plugin("domains")
    assert body["state"] == "failed"
    for reason in (f"{name('mail')}: expect.MX: 'mx1.site.test' is not a valid MX value "
                   "(preference and exchange, e.g. \"10 mail.example.com\")",
                   f"{name('caa')}: expect.CAA: '0 issue' is not a valid CAA value",
                   f"{name('txt')}: expect has TXT but records does not list it"):
        assert reason in body["error"], body["error"]
