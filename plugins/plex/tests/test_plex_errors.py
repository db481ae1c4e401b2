"""Clear errors for what goes wrong between the agent and Plex: a rejected token, a wrong
URL (refused port, unknown host, not a Plex server), a timeout and an untrusted TLS
certificate; and the token never shows in logs or API answers."""

from __future__ import annotations

import json
import re
import socket

from aiohttp import web
from plex_api import events, panel, run_action, run_checks
from plex_server import serving

from tests.waiting import eventually


async def test_a_rejected_token_is_critical_with_a_clear_message(start_plex, plex,
                                                                 tmp_path) -> None:
    plex.token = "the-server-now-wants-another-token"  # after a password reset, say
    async with start_plex() as agent:
        checks = await run_checks(agent)
        # /identity needs no token: the server is up, the token is what is wrong.
        assert checks["reachable"]["status"] == "ok"
        assert checks["token"]["status"] == "critical"
        assert checks["token"]["summary"].startswith(
            "Plex rejected the token (HTTP 401 Unauthorized on /): it is wrong or was revoked")
        assert "token_file" in checks["token"]["summary"]
        assert checks["transcodes"]["status"] == "unknown"
        status, body = await agent.get("/api/v1/panels/plex.libraries")
        assert status == 502 and "Plex rejected the token" in body["detail"]
    refused = [r for r in plex.requests if r["path"] == "/"]
    assert refused and not any(r["authorized"] for r in refused)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _reachable(start_plex, **config):
    async with start_plex(**config) as agent:
        return (await run_checks(agent))["reachable"]


async def test_wrong_url_refused_port(start_plex) -> None:
    port = _free_port()
    result = await _reachable(start_plex, url=f"http://127.0.0.1:{port}")
    assert result == {"status": "critical", "metrics": {"reachable": 0},
                      "summary": f"Plex unreachable: connection refused by 127.0.0.1:{port}: "
                                 "Plex is not listening there; check the URL's host and port, "
                                 "and that it is running"}


async def test_wrong_url_unknown_host(start_plex) -> None:
    result = await _reachable(start_plex, url="http://plex.invalid:32400")
    assert result["status"] == "critical"
    # The resolver's own words in the brackets ("name or service not known", ...).
    assert re.fullmatch(r"Plex unreachable: cannot resolve host plex\.invalid \([a-z -]+\): "
                        r"check the host name in the URL", result["summary"]), result["summary"]


async def test_wrong_url_another_web_server(start_plex) -> None:
    async def welcome(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Welcome to nginx!</body></html>",
                            content_type="text/html")

    def app() -> web.Application:
        other = web.Application()
        other.router.add_get("/{tail:.*}", welcome)
        return other

    async with serving(app) as site:
        result = await _reachable(start_plex, url=site.url)
    assert result["status"] == "critical"
    assert result["summary"] == (f"Plex unreachable: {site.url} is not a Plex Media Server: "
                                 "/identity answered text/html, not a MediaContainer; check url")


async def test_a_server_that_does_not_answer_times_out(start_plex, plex, plex_site) -> None:
    plex.delay = 0.8
    result = await _reachable(start_plex, timeout=0.2)
    assert result["status"] == "critical"
    assert result["summary"] == (f"Plex unreachable: Plex at {plex_site.url}/identity did not "
                                 "answer within 0.2s")


async def test_an_untrusted_certificate_is_a_clear_tls_failure(
        start_plex, plex_tls_site, ca_file) -> None:
    result = await _reachable(start_plex, url=plex_tls_site.url)
    assert result["status"] == "critical"
    assert result["summary"].startswith(
        f"Plex unreachable: TLS certificate of 127.0.0.1:{plex_tls_site.port} not trusted: ")
    # OpenSSL's reason: the test CA is not among the system's.
    assert result["summary"].endswith("not trusted: unable to get local issuer certificate; "
                                      "set ca_bundle to the CA that signed it (or fix the "
                                      "certificate)")
    # Trusting the CA that signed it, or not verifying at all, both reach the server.
    assert (await _reachable(start_plex, url=plex_tls_site.url, ca_bundle=ca_file))[
        "status"] == "ok"
    assert (await _reachable(start_plex, url=plex_tls_site.url, verify_tls=False))[
        "status"] == "ok"


async def test_a_ca_bundle_that_cannot_be_used_fails_the_plugin_clearly(
        start_plex, tmp_path, ca_file) -> None:
    missing = tmp_path / "nowhere.pem"
    for config, reason in (
            ({"ca_bundle": str(missing)}, "startup failed: ValueError: cannot load ca_bundle: "),
            ({"ca_bundle": ca_file, "verify_tls": False},
             f"startup failed: ValueError: ca_bundle ({ca_file}) is set but verify_tls is "
             "false: keep one")):
        async with start_plex(**config) as agent:
            _, plugin = await agent.get("/api/v1/plugins/plex")
        assert plugin["state"] == "failed"
        assert plugin["error"].startswith(reason)


async def test_plain_http_to_a_tls_port_is_a_tls_failure(start_plex, plex_tls_site) -> None:
    result = await _reachable(start_plex, url=plex_tls_site.url.replace("https:", "http:"))
    assert result["status"] == "critical"
    assert result["summary"] == (f"Plex unreachable: 127.0.0.1:{plex_tls_site.port} closed the "
                                 "connection without answering; if it only speaks TLS, the "
                                 "URL must start with https://")


async def test_the_token_never_shows_in_logs_or_api_answers(
        start_plex, plex, plex_site, plex_token, monkeypatch, capfd) -> None:
    monkeypatch.setenv("PLEX_TEST_TOKEN", plex_token)
    plex.play("1", "alice", plex.libraries["1"].items[0], player="TV")
    async with start_plex(interval=1, token_file=None, token="${PLEX_TEST_TOKEN}") as agent:
        answers = [await run_checks(agent)]
        for name in ("server", "sessions", "libraries", "recently_added", "streams"):
            answers.append(await panel(agent, name))
        answers.append(await run_action(agent, "scan_library", library="Movies"))
        answers.append(await run_action(agent, "empty_trash"))
        for path in ("/api/v1/config", "/api/v1/plugins/plex", "/api/v1/audit",
                     "/api/v1/actions", "/api/v1/tools", "/api/v1/checks"):
            answers.append(await agent.get(path))
        await plex_site.stop()  # a failure logs too
        answers.append(await eventually(lambda: _unreachable(agent), timeout=5))
        answers.append(await events(agent, "*"))
        text = json.dumps(answers)
    # The token was used (the stand-in accepted it) ...
    assert any(r["authorized"] and r["path"] == "/" for r in plex.requests)
    # ... and shows nowhere: not in an answer, not in the logs.
    out, err = capfd.readouterr()
    assert plex_token not in text
    assert plex_token not in out + err
    assert "plex.poll_failed" in out + err


async def _unreachable(agent):
    checks = await run_checks(agent)
    return checks if checks["reachable"]["status"] == "critical" else None
