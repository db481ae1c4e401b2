"""The config edits and verdicts as pure functions: what a site is in Caddy's JSON, what
add/remove change (and leave alone), and when a certificate is near expiry."""

from __future__ import annotations

import pytest

from nebula.api import Status
from nebula.helpers.tlscert import CertState
from nebula_caddy import checks, sites
from nebula_caddy.admin import etag

LIMITS = {"cert_warning": 0.2, "cert_critical": 0.05}


def config() -> dict:
    """What the Caddyfile adapter makes of `a.test, b.test { reverse_proxy x:1 }` plus a
    plain-HTTP site, with an internal-CA policy for both names."""
    route = {"match": [{"host": ["a.test", "b.test"]}], "terminal": True,
             "handle": [{"handler": "subroute", "routes": [{"handle": [
                 {"handler": "reverse_proxy", "upstreams": [{"dial": "x:1"}]}]}]}]}
    plain = {"match": [{"host": ["p.test"]}],
             "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": "y:2"}]}]}
    return {"apps": {"http": {"servers": {
        "srv0": {"listen": [":443"], "routes": [route]},
        "srv1": {"listen": [":80"], "routes": [plain]}}},
        "tls": {"automation": {"policies": [
            {"subjects": ["a.test", "b.test"], "issuers": [{"module": "internal"}]}]}}}}


def test_sites_are_read_through_subroutes_with_their_tls() -> None:
    found = {(s.host, s.server): s for s in sites.sites(config())}
    assert set(found) == {("a.test", "srv0"), ("b.test", "srv0"), ("p.test", "srv1")}
    assert found[("a.test", "srv0")].upstreams == ("x:1",)
    assert found[("a.test", "srv0")].tls and not found[("p.test", "srv1")].tls
    assert found[("p.test", "srv1")].port() == 80


def test_removing_one_name_of_a_shared_route_keeps_the_other() -> None:
    after = sites.remove_site(config(), "a.test")
    assert {s.host for s in sites.sites(after)} == {"b.test", "p.test"}
    policies = after["apps"]["tls"]["automation"]["policies"]
    assert policies == [{"subjects": ["b.test"], "issuers": [{"module": "internal"}]}]
    # Removing the last name drops the route and the policy (an empty subjects list would
    # apply the policy to every name).
    gone = sites.remove_site(after, "b.test")
    assert gone["apps"]["http"]["servers"]["srv0"]["routes"] == []
    assert gone["apps"]["tls"]["automation"]["policies"] == []
    assert sites.summary(config(), gone)["removed"] == ["a.test (srv0)", "b.test (srv0)"]


def test_a_new_site_goes_first_on_the_only_https_server() -> None:
    before = config()
    server = sites.pick_server(before, None)
    assert server == "srv0"
    after = sites.add_site(before, "n.test", ["127.0.0.1:9"], server, internal_tls=True)
    assert after["apps"]["http"]["servers"]["srv0"]["routes"][0]["@id"] == "nebula-site-n.test"
    assert after["apps"]["tls"]["automation"]["policies"][0]["subjects"] == ["n.test"]
    assert before == config()  # the running config's copy is not changed
    assert sites.summary(before, after) == {"added": ["n.test (srv0)"], "removed": [],
                                            "changed": []}
    with pytest.raises(sites.EditError, match=r"already serves a\.test"):
        sites.add_site(before, "a.test", ["z:1"], "srv0", internal_tls=False)
    with pytest.raises(sites.EditError, match="has no server 'nope'"):
        sites.pick_server(before, "nope")


def test_two_https_servers_need_the_server_named() -> None:
    two = config()
    two["apps"]["http"]["servers"]["srv1"]["listen"] = [":8443"]
    with pytest.raises(sites.EditError, match=r"2 HTTPS servers \(srv0, srv1\)"):
        sites.pick_server(two, None)


def test_the_version_tag_is_fnv1a_of_the_body() -> None:
    assert etag("/config/", b"") == '"/config/ 811c9dc5"'  # FNV-1a 32 offset basis
    assert etag("/config/", b"a") == '"/config/ e40c292c"'  # the published test vector


@pytest.mark.parametrize(("left", "status"), [
    (0.5, Status.OK), (0.2, Status.WARNING), (0.1, Status.WARNING),
    (0.05, Status.CRITICAL), (-0.1, Status.CRITICAL)])
def test_near_expiry_is_a_fraction_of_the_lifetime(left: float, status: Status) -> None:
    now, life = 1_000_000.0, 12 * 3600.0  # a 12-hour internal certificate
    state = CertState("a.test", "127.0.0.1:443", True, None, "CA", now - (1 - left) * life,
                      now + left * life)
    assert checks.certificate(state, now, LIMITS)[0] is status
