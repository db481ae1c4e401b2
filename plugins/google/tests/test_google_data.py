"""What the owner sees once connected: calendar events over several pages, unread mail
without any message content, the Drive quota check, and clear errors when Google cannot
be reached."""

from __future__ import annotations

import datetime as dt
import json
import socket

from google_server import SCOPE
from google_steps import check, connect, panel, panel_data

EVENTS = "/calendar/v3/calendars/primary/events"


def _calendar(google) -> dt.datetime:
    """Events around today, added out of order; returns local midnight."""
    midnight = dt.datetime.now().astimezone().replace(hour=0, minute=0, second=0,
                                                      microsecond=0)
    day = dt.timedelta(days=1)
    today = midnight.date()
    google.add_event("In six days", midnight + 6 * day + dt.timedelta(hours=10),
                     midnight + 6 * day + dt.timedelta(hours=11))
    google.add_event("Late show", midnight + dt.timedelta(hours=23),
                     midnight + dt.timedelta(hours=23, minutes=30))
    google.add_event("Yesterday off", today - day, today)  # ends where today begins
    google.add_event("Dentist", midnight + day + dt.timedelta(hours=9),
                     midnight + day + dt.timedelta(hours=9, minutes=30), location="High St")
    google.add_event("Next month", midnight + 30 * day, midnight + 30 * day + day)
    google.add_event("Bin day", today, today + day)
    google.add_event(None, midnight + 3 * day + dt.timedelta(hours=12),
                     midnight + 3 * day + dt.timedelta(hours=13))  # private: no summary
    google.add_event("Early call", midnight + dt.timedelta(minutes=1),
                     midnight + dt.timedelta(minutes=2))
    return midnight


async def test_events_follow_every_page_in_start_order(start_google, google) -> None:
    midnight = _calendar(google)
    async with start_google(page_size=2) as agent:
        await connect(agent)
        upcoming = await panel_data(agent, "upcoming")
        assert [e["summary"] for e in upcoming] == [
            "Bin day", "Early call", "Late show", "Dentist", "(busy)", "In six days"]
        assert upcoming[0] == {"start": midnight.date().isoformat(), "all_day": True,
                               "end": (midnight.date() + dt.timedelta(days=1)).isoformat(),
                               "summary": "Bin day", "location": ""}
        assert upcoming[3]["location"] == "High St" and upcoming[3]["all_day"] is False
        today = await panel_data(agent, "today")
        assert [e["summary"] for e in today] == ["Bin day", "Early call", "Late show"]
        calls = google.calls(EVENTS)
        assert len(calls) == 3  # the panels share one poll
        assert ["pageToken" in c["params"] for c in calls] == [False, True, True]
        first = calls[0]["params"]
        assert first["singleEvents"] == "true" and first["orderBy"] == "startTime"
        assert first["maxResults"] == "2"
        assert dt.datetime.fromisoformat(first["timeMin"]) == midnight
        status, body = await agent.post("/api/v1/tools/google.upcoming_events/run",
                                        {"today_only": True, "limit": 2})
        assert status == 200, body
        assert [e["summary"] for e in body["result"]["events"]] == ["Bin day", "Early call"]
        assert body["result"]["more"] == 1
    async with start_google(page_size=2, max_events=3) as agent:
        assert len(await panel_data(agent, "upcoming")) == 3
    assert len(google.calls(EVENTS)) == 3 + 2


async def test_unread_mail_shows_senders_and_subjects_never_content(start_google,
                                                                    google) -> None:
    body_text = "Your one-time PIN is 4417 and the alarm code is under the mat"
    google.add_message("Bank <alerts@bank.example>", "Sign-in code", body_text, age=300)
    google.add_message("School <office@school.example>", "Trip on Friday",
                       "Dear parents, the permission slip is attached", age=200)
    google.add_message("Old <old@example.com>", "Already read", "nothing", unread=False,
                       age=100)
    google.add_message("Mum <mum@example.com>", "Sunday lunch?", "Roast at 1pm, bring wine",
                       age=10)
    # Even with a scope that would allow reading bodies, none is asked for.
    scopes = [f"{SCOPE}calendar.readonly", f"{SCOPE}gmail.readonly",
              f"{SCOPE}drive.metadata.readonly"]
    async with start_google(scopes=scopes, newest_unread=2) as agent:
        await connect(agent)
        assert await panel_data(agent, "unread") == {"value": 3}
        newest = await panel_data(agent, "newest_unread")
        assert [(m["from"], m["subject"]) for m in newest] == [
            ("Mum <mum@example.com>", "Sunday lunch?"),
            ("School <office@school.example>", "Trip on Friday")]
        assert set(newest[0]) == {"from", "subject", "received"}
        status, tool = await agent.post("/api/v1/tools/google.unread_mail/run", {})
        assert status == 200 and tool["result"]["unread"] == 3
        assert tool["result"]["newest"] == newest
    answered = json.dumps([newest, tool])
    for message in google.messages:
        assert message["body"][:20] not in answered
    gets = [c for c in google.log if c["path"].startswith("/gmail/v1/users/me/messages/")]
    assert len(gets) == 2 and all(c["params"]["format"] == "metadata" for c in gets)


async def test_drive_quota_over_thresholds_warns_then_is_critical(start_google,
                                                                  google) -> None:
    google.quota.update(limit="1000000000", usage="900000000")
    async with start_google(quota_warning=85, quota_critical=95) as agent:
        await connect(agent)
        assert await check(agent, "drive_quota") == (
            "warning", "90.0% of Drive storage used (0.84 GiB of 0.93 GiB), at or over 85%")
        quota = await panel_data(agent, "drive_quota")
        assert quota == {"account": "owner@example.com", "usage": 900000000,
                         "limit": 1000000000, "percent": 90.0, "usage_in_drive": 4294967296,
                         "usage_in_trash": 104857600}
        poll = agent.agent.scheduler.jobs["job:google.poll"]
        google.quota.update(usage="960000000")
        await poll.run()
        status, summary = await check(agent, "drive_quota")
        assert status == "critical" and summary.endswith("at or over 95%")
        del google.quota["limit"]  # an unlimited account
        await poll.run()
        assert await check(agent, "drive_quota") == (
            "ok", "0.89 GiB used of an unlimited quota")
    about = google.calls("/drive/v3/about")[0]["params"]
    assert about["fields"] == "storageQuota,user(displayName,emailAddress)"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_wrong_urls_and_timeouts_are_named(start_google, google) -> None:
    port = _closed_port()
    wrong = f"http://127.0.0.1:{port}/calendar/v3"
    async with start_google(calendar_url=wrong, drive_url=f"{google.base}/drive/v2",
                            timeout=0.5) as agent:
        await connect(agent)
        status, problem = await panel(agent, "upcoming")
        assert status == 502
        assert problem["detail"].endswith(
            f"connection refused by 127.0.0.1:{port}: Google Calendar is not listening "
            "there; check the URL's host and port, and that it is running")
        status, problem = await panel(agent, "drive_quota")
        assert status == 502 and problem["detail"].endswith(
            f"Google Drive answered 404: unexpected answer from {google.base}/drive/v2/about;"
            " is the URL right?")
        status, summary = await check(agent, "drive_quota")
        assert status == "unknown" and "is the URL right?" in summary
        # Gmail, on the right URL, is unaffected.
        assert await panel_data(agent, "unread") == {"value": 0}
    google.delay = 1.0
    async with start_google(timeout=0.3) as agent:
        status, problem = await panel(agent, "upcoming")
        assert status == 502 and problem["detail"].endswith(
            f"Google Calendar at {google.base}{EVENTS} did not answer within 0.3s")


async def test_unreachable_token_endpoint_warns_while_the_token_lasts(start_google,
                                                                      google) -> None:
    google.expires_in = 60
    async with start_google(refresh_margin=120, timeout=0.3) as agent:
        await connect(agent)
        google.token_delay = 1.0
        status, summary = await check(agent, "token")
        assert status == "warning"
        assert summary == (f"token refresh failed: Google's token endpoint at "
                           f"{google.base}/token did not answer within 0.3s")
