"""Apprise channels in a real agent, through the real apprise library, to local receivers:
Apprise's JSON webhook (json://), its form webhook (form://), an SMTP server (aiosmtpd,
mailto:// without TLS) and a Gotify-protocol stand-in (gotify://). The URLs hold
credentials: they never show in an API answer, an event, the history or the log."""

from __future__ import annotations

import json
import secrets
import sys

import pytest
from notify_agent import force
from notify_apprise_servers import Receivers
from notify_servers import smtp_server

from nebula.api import Status
from tests.loopback import serving
from tests.waiting import eventually

TITLE = "CRITICAL: switchable.switch"
BODY = "switch is critical (was ok)"


@pytest.fixture
def mail_plain():
    """A mail server as a LAN relay may be: no TLS, AUTH over plain text."""
    password = f"mail-{secrets.token_hex(8)}"
    with smtp_server("nebula", password) as (box, port):
        yield box, port, password


@pytest.fixture
async def receivers():
    found = Receivers(gotify_token=f"A{secrets.token_hex(7)}")
    async with serving(found.app()) as base:
        found.base = base
        yield found


def _hostport(receivers: Receivers) -> str:
    return receivers.base.removeprefix("http://")


def apprise_channels(receivers: Receivers, mail_port: int, mail_password: str,
                     hook_password: str) -> list[dict]:
    host = _hostport(receivers)
    return [
        {"name": "json", "type": "apprise",
         "urls": [f"json://hooker:{hook_password}@{host}/json/in"]},
        {"name": "form", "type": "apprise", "urls": [f"form://{host}/form/in"]},
        {"name": "mail", "type": "apprise",
         "urls": [f"mailto://nebula:{mail_password}@127.0.0.1:{mail_port}?smtp=127.0.0.1"
                  "&from=nebula@example.test&to=owner@example.test"]},
        {"name": "gotify", "type": "apprise",
         "urls": [f"gotify://{host}/{receivers.gotify_token}"]},
    ]


async def _everything_shown(agent) -> str:
    """What the agent shows about itself that a secret could leak into."""
    shown = []
    for path in ("/api/v1/panels/notify.recent", "/api/v1/panels/notify.channels",
                 "/api/v1/events?limit=200", "/api/v1/plugins", "/api/v1/checks",
                 "/api/v1/actions", "/api/v1/audit"):
        status, body = await agent.get(path)
        assert status == 200, (path, body)
        shown.append(json.dumps(body))
    return "\n".join(shown)


async def test_a_problem_reaches_every_apprise_service_in_its_wire_format(
        start_notify, receivers, mail_plain, capsys):
    box, mail_port, mail_password = mail_plain
    hook_password = f"hook-{secrets.token_hex(8)}"
    channels = apprise_channels(receivers, mail_port, mail_password, hook_password)
    async with start_notify(channels) as (agent, switch):
        await force(agent, switch, Status.CRITICAL)
        await eventually(lambda: (len(receivers.hooks), len(receivers.gotify),
                                  len(box.messages)) == (2, 1, 1), timeout=15)
        shown = await _everything_shown(agent)

    by_kind = {hook["kind"]: hook for hook in receivers.hooks}
    # json://: Apprise's JSON object, with basic auth from the URL's user and password.
    assert by_kind["json"]["content_type"] == "application/json"
    assert by_kind["json"]["path"] == "/json/in"
    assert {k: by_kind["json"]["body"][k] for k in ("title", "message", "type")} == {
        "title": TITLE, "message": BODY, "type": "failure"}
    assert by_kind["json"]["authorization"].startswith("Basic ")
    # form://: the same fields, form-encoded.
    assert by_kind["form"]["content_type"] in ("multipart/form-data",
                                               "application/x-www-form-urlencoded")
    assert {k: by_kind["form"]["body"][k] for k in ("title", "message", "type")} == {
        "title": TITLE, "message": BODY, "type": "failure"}
    # gotify://: POST /message, token in X-Gotify-Key, JSON title and message.
    [pushed] = receivers.gotify
    assert (pushed["title"], pushed["message"], pushed["key_header"],
            pushed["content_type"]) == (TITLE, BODY, receivers.gotify_token,
                                        "application/json")
    # mailto://: plain SMTP with AUTH, the title as subject.
    [mail] = box.messages
    assert (mail["subject"], mail["to"], mail["login"], mail["tls"]) == (
        TITLE, ["owner@example.test"], "nebula", False)
    assert BODY in mail["body"]
    # The credentials inside the URLs are nowhere the agent shows things, nor in its log.
    logged = capsys.readouterr()
    for secret in (receivers.gotify_token, mail_password, hook_password):
        assert secret not in shown
        assert secret not in logged.out + logged.err


async def test_a_failing_apprise_channel_fails_alone_and_is_reported(
        start_notify, receivers):
    host = _hostport(receivers)
    wrong = f"W{secrets.token_hex(7)}"
    channels = [{"name": "gotify", "type": "apprise", "urls": [f"gotify://{host}/{wrong}"]},
                {"name": "json", "type": "apprise", "urls": [f"json://{host}/json/ok"]}]
    async with start_notify(channels) as (agent, switch):
        await force(agent, switch, Status.CRITICAL)
        await eventually(lambda: len(receivers.hooks) == 1, timeout=15)

        async def delivery():
            status, body = await agent.post("/api/v1/checks/run",
                                            {"names": ["notify.delivery"]})
            assert status == 200, body
            return body["checks"][0]

        async def warned():
            return (await delivery())["status"] == "warning"

        await eventually(warned, timeout=15)
        check = await delivery()
        _, recent = await agent.get("/api/v1/panels/notify.recent")
        shown = await _everything_shown(agent)
    assert receivers.gotify == []
    assert check["summary"].startswith("gotify: last send failed: URL 1 (Gotify)")
    assert "401" in check["summary"] or "Unauthorized" in check["summary"]
    outcomes = {(r["channel"], r["outcome"]) for r in recent["data"]}
    assert outcomes == {("gotify", "failed"), ("json", "sent")}
    assert wrong not in shown


async def test_an_admin_adds_an_apprise_channel_tests_it_and_it_stays(
        start_notify, receivers, tmp_path):
    url = f"gotify://{_hostport(receivers)}/{receivers.gotify_token}"
    channels = [{"name": "json", "type": "apprise",
                 "urls": [f"json://{_hostport(receivers)}/json/base"]}]
    data = tmp_path / "kept"
    async with start_notify(channels, data_dir=data) as (agent, _switch):
        status, body = await agent.post("/api/v1/actions/notify.add_channel/run", {
            "params": {"name": "phone", "url": url, "severities": ["critical", "ok"]}})
        assert status == 200, body
        assert body["result"]["test"]["outcome"] == "sent", body
        [test] = receivers.gotify
        assert test["title"] == "Nebula test notification"
        # A config file's channel cannot be replaced from here.
        status, body = await agent.post("/api/v1/actions/notify.add_channel/run", {
            "params": {"name": "json", "url": url}})
        assert status == 422, body
        shown = await _everything_shown(agent)
    assert receivers.gotify_token not in shown
    assert url not in shown

    # The same host started again: the added channel is still there, and routes.
    async with start_notify(channels, data_dir=data) as (agent, switch):
        _, panel = await agent.get("/api/v1/panels/notify.channels")
        assert {(c["channel"], c["added"]) for c in panel["data"]} == {
            ("json", False), ("phone", True)}
        await force(agent, switch, Status.CRITICAL)
        await eventually(lambda: len(receivers.gotify) == 2, timeout=15)
        assert receivers.gotify[1]["title"] == TITLE
        status, body = await agent.post("/api/v1/actions/notify.remove_channel/run",
                                        {"params": {"name": "phone"}})
        assert status == 200 and body["result"] == {"removed": "phone"}, body
        status, body = await agent.post("/api/v1/actions/notify.test/run",
                                        {"params": {"channel": "phone"}})
        assert status == 422, body


async def test_the_plugin_page_offers_adding_a_channel_with_the_url_hidden(start_notify,
                                                                           receivers):
    channels = [{"name": "json", "type": "apprise",
                 "urls": [f"json://{_hostport(receivers)}/json/page"]}]
    async with start_notify(channels) as (agent, _switch):
        status, page = await agent.get("/plugin/notify")
    assert status == 200
    form = page.split('data-action="notify.add_channel"')[1].split("</form>")[0]
    assert 'type="password"' in form and 'name="url"' in form
    assert 'data-action="notify.test"' in page


async def test_without_apprise_installed_only_the_apprise_channel_fails(
        start_notify, services, receivers, monkeypatch):
    monkeypatch.setitem(sys.modules, "apprise", None)  # `import apprise` now fails
    channels = [services.channels()["hook"],
                {"name": "gotify", "type": "apprise",
                 "urls": [f"gotify://{_hostport(receivers)}/{receivers.gotify_token}"]}]
    async with start_notify(channels) as (agent, switch):
        await force(agent, switch, Status.CRITICAL)
        await eventually(lambda: len(services.webhook.messages) == 1)
        status, body = await agent.post("/api/v1/actions/notify.test/run",
                                        {"params": {"channel": "gotify"}})
    assert status == 200, body
    [outcome] = body["result"]
    assert (outcome["outcome"], outcome["detail"]) == (
        "failed", "the apprise package is not installed: install nebula-command[apprise]")
    assert receivers.gotify == []
