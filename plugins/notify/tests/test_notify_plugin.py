"""The notify plugin in a real agent, telling local stand-ins for Discord, ntfy, a JSON
webhook and an SMTP server about a check the test drives, through the HTTP API."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from datetime import datetime, timedelta

from notify_agent import SMTP_USER, force
from notify_servers import smtp_server

from nebula.api import Status
from nebula.config_edit import set_plugin_enabled
from nebula_notify.runtime import Notifier
from tests.waiting import eventually

TITLE = "CRITICAL: switchable.switch"


async def settle(services, counts, quiet_for=0.3):
    """Wait until the services hold `counts` messages, then make sure no more arrive."""
    await eventually(lambda: services.counts() == counts, timeout=5)
    await asyncio.sleep(quiet_for)
    assert services.counts() == counts


async def panel(agent, name):
    status, body = await agent.get(f"/api/v1/panels/notify.{name}")
    assert status == 200, body
    return body["data"]


async def test_a_critical_check_reaches_every_channel_once(start_notify, services):
    async with start_notify() as (agent, switch):
        await force(agent, switch, Status.CRITICAL)
        await settle(services, (1, 1, 1, 1))
        # Still critical: nothing new is said.
        await force(agent, switch, Status.CRITICAL)
        await settle(services, (1, 1, 1, 1))

    assert services.discord.messages == [{
        "content": f"**{TITLE}**\nswitch is critical (was ok)", "username": "Nebula",
        "allowed_mentions": {"parse": []}}]
    [ntfy] = services.ntfy.messages
    assert ntfy == {"topic": "nebula-alerts", "body": "switch is critical (was ok)",
                    "title": TITLE, "priority": "5", "tags": "rotating_light",
                    "authorization": f"Bearer {services.ntfy_token}"}
    [hook] = services.webhook.messages
    assert hook["secret"] == services.webhook_secret
    assert {k: hook["json"][k] for k in ("title", "message", "severity", "kind", "topic",
                                         "subject")} == {
        "title": TITLE, "message": "switch is critical (was ok)", "severity": "critical",
        "kind": "problem", "topic": "check.changed", "subject": "switchable.switch"}
    [mail] = services.mail.messages
    assert (mail["subject"], mail["body"].strip(), mail["to"], mail["login"], mail["tls"]) == (
        f"[nebula] {TITLE}", "switch is critical (was ok)", ["owner@example.test"],
        SMTP_USER, True)


async def test_routing_by_severity_and_deduplication(start_notify, services):
    channels = services.channels()
    channels["ntfy"]["severities"] = ["critical"]
    channels["hook"]["severities"] = ["warning"]
    async with start_notify([channels["discord"], channels["ntfy"], channels["hook"]]) as (
            agent, switch):
        for status in (Status.CRITICAL, Status.UNKNOWN, Status.CRITICAL):
            await force(agent, switch, status)
        await settle(services, (3, 1, 0, 0))
        await force(agent, switch, Status.WARNING)
        await settle(services, (4, 1, 1, 0))
    assert [c.split("\n")[0] for c in services.discord.contents()] == [
        f"**{TITLE}**", "**UNKNOWN: switchable.switch**", f"**{TITLE}**",
        "**WARNING: switchable.switch**"]
    # ntfy only takes critical, and was told that once: the second critical is no news.
    assert services.ntfy.titles() == [TITLE]
    assert services.webhook.titles() == ["WARNING: switchable.switch"]


async def test_recovery_goes_to_the_channels_that_were_told(start_notify, services):
    channels = services.channels()
    channels["hook"]["severities"] = ["warning", "ok"]  # never told of the critical
    channels["ntfy"]["severities"] = ["critical"]  # told, but takes no recoveries
    async with start_notify([channels["discord"], channels["ntfy"], channels["hook"]]) as (
            agent, switch):
        await force(agent, switch, Status.CRITICAL)
        await settle(services, (1, 1, 0, 0), quiet_for=0)
        await force(agent, switch, Status.OK)
        await settle(services, (2, 1, 0, 0))
    assert services.discord.contents()[1].startswith(
        "**RECOVERED: switchable.switch**\nswitch is ok (was critical for ")


async def test_reminders_while_failing_stop_at_recovery(start_notify, services):
    channels = services.channels()
    async with start_notify([channels["discord"]], repeat_interval=0.4) as (agent, switch):
        await force(agent, switch, Status.CRITICAL)
        await eventually(lambda: len(services.discord.messages) >= 3, timeout=5)
        await force(agent, switch, Status.OK)
        await eventually(lambda: services.discord.contents()[-1].startswith("**RECOVERED"))
        told = len(services.discord.messages)
        await asyncio.sleep(0.8)  # two repeat intervals: no reminder after the recovery
        assert len(services.discord.messages) == told
    titles = [c.split("\n")[0] for c in services.discord.contents()]
    assert titles[0] == f"**{TITLE}**"
    assert set(titles[1:-1]) == {"**Still CRITICAL: switchable.switch**"}
    assert len(titles[1:-1]) >= 2


def _window(start: timedelta, end: timedelta) -> tuple[dict[str, str], datetime]:
    """Quiet hours from now+start to now+end (local time), and when they end."""
    now = datetime.now()
    return {"start": (now + start).strftime("%H:%M:%S"),
            "end": (now + end).strftime("%H:%M:%S")}, now + end


async def test_quiet_hours_hold_all_but_critical(start_notify, services):
    channels = services.channels()
    channels["mail"]["quiet_hours"] = False  # e-mail may arrive at night
    quiet, _ = _window(timedelta(hours=-1), timedelta(hours=1))
    async with start_notify([channels["discord"], channels["mail"]], quiet_hours=quiet) as (
            agent, switch):
        await force(agent, switch, Status.WARNING)
        await settle(services, (0, 0, 0, 1))
        await force(agent, switch, Status.CRITICAL)  # bypasses quiet hours
        await settle(services, (1, 0, 0, 2))
        rows = await panel(agent, "recent")
        assert [(r["channel"], r["severity"], r["outcome"]) for r in rows][::-1] == [
            ("discord", "warning", "held"), ("mail", "warning", "sent"),
            ("discord", "critical", "sent"), ("mail", "critical", "sent")]
    quiet["critical_bypass"] = False
    services.discord.messages.clear()
    async with start_notify([channels["discord"]], quiet_hours=quiet) as (agent, switch):
        await force(agent, switch, Status.CRITICAL)
        await asyncio.sleep(0.3)
        assert services.discord.messages == []


class _Clock(datetime):
    """The quiet-hours clock, set by the test: on a loaded machine a window a few seconds
    long could end before the held notification was even decided."""

    at = datetime(2026, 1, 1, 1, 30)

    @classmethod
    def now(cls, tz=None):
        return cls.at


async def test_a_problem_held_by_quiet_hours_is_told_when_they_end(start_notify, services,
                                                                    monkeypatch):
    monkeypatch.setattr("nebula_notify.quiet.datetime", _Clock)
    channels = services.channels()
    quiet = {"start": "01:00", "end": "02:00"}
    async with start_notify([channels["discord"]], quiet_hours=quiet, repeat_interval=0) as (
            agent, switch):
        await force(agent, switch, Status.WARNING)

        async def held():
            rows = await panel(agent, "recent")
            return [(r["channel"], r["outcome"]) for r in rows] == [("discord", "held")]

        await eventually(held)
        assert services.discord.messages == []
        _Clock.at = datetime(2026, 1, 1, 2, 0)
        # Without a repeat interval the reminder timer runs once a minute; run it now.
        await agent.agent.scheduler.jobs["job:notify.reminders"].run()
        await eventually(lambda: len(services.discord.messages) == 1)
    assert services.discord.contents()[0].startswith("**WARNING: switchable.switch**")


async def test_secrets_never_reach_a_service(start_notify, services, switch_token):
    async with start_notify() as (agent, switch):
        await force(agent, switch, Status.CRITICAL)
        await settle(services, (1, 1, 1, 1), quiet_for=0)
        # Action params are not redacted on the way in: the plugin must mask them itself.
        status, body = await agent.post("/api/v1/actions/notify.test/run", {"params": {
            "message": f"token={switch_token} url={services.discord.url}"}})
        assert status == 200 and body["status"] == "ok", body
        assert {r["outcome"] for r in body["result"]} == {"sent"}
        await settle(services, (2, 2, 2, 2), quiet_for=0)
        answers = [await agent.get(path) for path in (
            "/api/v1/plugins/notify", "/api/v1/panels/notify.recent",
            "/api/v1/panels/notify.channels", "/api/v1/config", "/api/v1/events?limit=200")]
    api = json.dumps(answers)
    for secret in (switch_token, services.discord.webhook_token, services.ntfy_token,
                   services.webhook_secret, services.smtp_password):
        assert secret not in api
    assert services.discord.contents()[1] == (
        "**Nebula test notification**\ntoken=*** url=***")
    received = services.everything()
    for secret in (switch_token, services.discord.webhook_token, services.ntfy_token,
                   services.webhook_secret, services.smtp_password):
        assert secret not in received.replace(f"Bearer {services.ntfy_token}", "Bearer")\
            .replace(f'"secret": "{services.webhook_secret}"', "")
    assert services.mail.messages[1]["body"].strip() == "token=*** url=***"


async def test_test_action_to_one_channel(start_notify, services):
    async with start_notify(schedule=False) as (agent, _switch):
        status, body = await agent.post("/api/v1/actions/notify.test/run",
                                        {"params": {"channel": "ntfy", "message": "hello"}})
        assert status == 200 and body["result"] == [
            {"ts": body["result"][0]["ts"], "channel": "ntfy", "kind": "test",
             "severity": "info", "title": "Nebula test notification", "outcome": "sent",
             "detail": "1 attempt(s)"}]
        status, body = await agent.post("/api/v1/actions/notify.test/run",
                                        {"params": {"channel": "nope"}})
        assert status == 422, body
    assert services.counts() == (0, 1, 0, 0)
    assert services.ntfy.messages[0]["body"] == "hello"


async def test_a_service_without_an_answer_is_named_without_the_webhook_token(
        start_notify, services):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = services.discord.webhook_token
    channels = [{"name": "down", "type": "discord",
                 "url": f"http://127.0.0.1:{port}/api/webhooks/1/{token}"},
                {**services.channels()["ntfy"], "server": f"http://127.0.0.1:{port}"}]
    async with start_notify(channels, schedule=False) as (agent, _):
        status, body = await agent.post("/api/v1/actions/notify.test/run", {})
        assert status == 200, body
    details = {row["channel"]: (row["outcome"], row["detail"]) for row in body["result"]}
    assert details == {
        "down": ("failed", f"connection refused by 127.0.0.1:{port}: Discord is not "
                           "listening there; check the URL's host and port, and that it is "
                           "running"),
        "ntfy": ("failed", f"connection refused by 127.0.0.1:{port}: ntfy is not listening "
                           "there; check the URL's host and port, and that it is running")}
    assert token not in json.dumps(body)


async def test_failed_delivery_warns_and_a_429_is_waited_out(start_notify, services):
    channels = services.channels()
    # Critical only: notify.delivery's own warning is not for this channel.
    channels["discord"]["severities"] = ["critical"]
    services.discord.script = [500, 429]
    async with start_notify([channels["discord"]], retries=0, schedule=False) as (
            agent, switch):
        await force(agent, switch, Status.CRITICAL)
        rows = await eventually(lambda: panel(agent, "recent"))
        assert (rows[0]["outcome"], rows[0]["detail"]) == (
            "failed", 'HTTP 500: {"message": "server error"}')
        _, body = await agent.post("/api/v1/checks/run", {"names": ["notify.delivery"]})
        assert body["checks"][0]["status"] == "warning", body
        assert "discord: last send failed: HTTP 500" in body["checks"][0]["summary"]
        assert services.discord.webhook_token not in str(body)
    # With retries, a 429 waits retry_after (0.2 s) and the next attempt is delivered.
    async with start_notify([channels["discord"]], retries=1, schedule=False) as (
            agent, switch):
        await force(agent, switch, Status.CRITICAL)
        rows = await eventually(lambda: panel(agent, "recent"))
        assert (rows[0]["outcome"], rows[0]["detail"]) == ("sent", "2 attempt(s)")
        _, body = await agent.post("/api/v1/checks/run", {"names": ["notify.delivery"]})
        assert body["checks"][0]["status"] == "ok", body
        channels_panel = await panel(agent, "channels")
        assert (channels_panel[0]["sent"], channels_panel[0]["failed"]) == (1, 0)
    assert len(services.discord.messages) == 1


async def test_a_failed_problem_is_retried_by_the_timer(start_notify, services):
    channels = services.channels()
    channels["discord"]["severities"] = ["critical"]  # not notify.delivery's warning
    services.discord.script = [503]
    # The timer looks every repeat_interval / 4 = 0.5 s; the first reminder would be at 2 s.
    async with start_notify([channels["discord"]], repeat_interval=2) as (agent, switch):
        await force(agent, switch, Status.CRITICAL)
        await eventually(lambda: len(services.discord.messages) == 1)
        rows = await panel(agent, "recent")
        assert [(r["kind"], r["outcome"]) for r in rows][::-1] == [
            ("problem", "failed"), ("problem", "sent")]
    assert services.discord.contents()[0].startswith(f"**{TITLE}**")


async def test_email_over_implicit_tls(start_notify, services, smtp_ca):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    smtp_ca[0].issue_cert("127.0.0.1").configure_cert(context)
    # aiosmtpd 1.4 offers no AUTH over implicit TLS, so this server takes mail without it.
    mail = {k: v for k, v in services.channels()["mail"].items()
            if k not in ("username", "password")}
    mail["security"] = "ssl"
    with smtp_server(tls=context, implicit_tls=True) as (box, port):
        async with start_notify([{**mail, "port": port}], schedule=False) as (agent, switch):
            await force(agent, switch, Status.CRITICAL)
            await eventually(lambda: len(box.messages) == 1)
    # The server speaks nothing but TLS (aiosmtpd leaves session.ssl unset in this mode):
    # a plain connection would never get as far as a message.
    assert box.messages[0]["subject"] == f"[nebula] {TITLE}"
    assert services.mail.messages == []


async def test_reminders_stop_when_the_checks_plugin_is_disabled(start_notify, services):
    async with start_notify([services.channels()["discord"]], repeat_interval=0.4) as (
            agent, switch):
        await force(agent, switch, Status.CRITICAL)
        await eventually(lambda: len(services.discord.messages) >= 2)  # problem, reminder
        set_plugin_enabled(agent.agent.config.path, "switchable", False)
        status, body = await agent.post("/api/v1/reload")
        assert status == 200 and body["changes"]["switchable"] == "stopped", body
        await asyncio.sleep(0.2)  # a reminder already on its way may still land
        told = len(services.discord.messages)
        await asyncio.sleep(0.9)
        assert len(services.discord.messages) == told


async def test_a_check_failing_from_its_first_result_is_told(start_notify, services):
    channels = services.channels()
    async with start_notify([channels["discord"]], first=Status.CRITICAL, schedule=False) as (
            agent, switch):
        await eventually(lambda: len(services.discord.messages) == 1)
        await force(agent, switch, Status.OK)
        await eventually(lambda: len(services.discord.messages) == 2)
    assert services.discord.contents()[0] == f"**{TITLE}**\nswitch is critical (first result)"
    assert services.discord.contents()[1].startswith("**RECOVERED: switchable.switch**")


async def test_disabling_notify_closes_its_runtime_and_stops_every_worker(start_notify,
                                                                          services):
    async with start_notify([services.channels()["discord"], services.channels()["hook"]],
                            schedule=False) as (agent, _):
        record = agent.agent.manager.records["notify"]
        notifier = record.ctx.runtime
        assert isinstance(notifier, Notifier)
        workers = [c.worker for c in notifier.channels.values()]
        assert len(workers) == 2 and not any(w.done() for w in workers)
        set_plugin_enabled(agent.agent.config.path, "notify", False)
        status, body = await agent.post("/api/v1/reload")
        assert status == 200 and body["changes"]["notify"] == "stopped", body
        assert all(w.cancelled() for w in workers)
        assert record.ctx.runtime is None
